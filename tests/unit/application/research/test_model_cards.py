"""GetModelCard: the registry entry, this version's history and what the training wrote next to
the ONNX graph (meta sidecar, card); a missing sidecar is explained, not raised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghtrader.adapters.filesystem.artifacts import FilesystemArtifactStore
from ghtrader.adapters.host.directory_sizes import file_size
from ghtrader.adapters.memory.model_registry import InMemoryModelRegistry
from ghtrader.application.errors import NotFound
from ghtrader.application.ports.models import RegistryEntry, StatusChange
from ghtrader.application.research.artifacts import META_FORMAT
from ghtrader.application.research.model_cards import GetModelCard


def meta(version: str) -> dict[str, object]:
    return {
        "format": META_FORMAT, "model_id": "cu-lgbm", "version": version, "family": "lightgbm", "kind": "tabular",
        "symbol": "KQ.m@SHFE.cu", "horizon": 50, "window": 1, "enabled_factors": ["spread", "imbalance_l1"],
        "ticks_lake": "main_l5", "config_hash": "c",
        "data": {"start_day": "2026-01-05", "end_day": "2026-02-27", "train_rows": 9000, "valid_rows": 1000},
        "calibration": {"method": "isotonic", "brier_before": 0.21, "brier_after": 0.19},
        "onnx": {"input_name": "x", "input_shape": [None, 2], "output_name": "p", "opset": 17, "sha256": "s",
                 "input": "raw_features"},
        "weights": {"files": {}},
    }  # fmt: skip


def world(tmp_path: Path) -> tuple[GetModelCard, InMemoryModelRegistry, FilesystemArtifactStore]:
    registry, artifacts = InMemoryModelRegistry(), FilesystemArtifactStore(tmp_path / "models")
    for version in ("1", "2"):
        folder = artifacts.version_dir("lightgbm", version)
        artifacts.write_text(folder, "model_h50.meta.json", json.dumps(meta(version)))
        artifacts.write_text(folder, "model_card.md", f"# cu-lgbm v{version}")
        (folder / "model.onnx").write_bytes(b"o" * (100 * int(version)))
        registry.register(
            RegistryEntry("cu-lgbm", version, "lightgbm", "development", str(folder), "c", {"auc": 0.6}, 10)
        )
    return GetModelCard(registry=registry, artifacts=artifacts, file_size=file_size), registry, artifacts


def test_a_card_joins_the_registry_the_meta_and_the_history(tmp_path: Path) -> None:
    get_card, registry, _ = world(tmp_path)
    registry.change_statuses([StatusChange("cu-lgbm", "1", "development", "production", "gate passed", "cli", 20)])
    registry.change_statuses([StatusChange("cu-lgbm", "2", "development", "shadow", "try", "cli", 30)])
    card = get_card("cu-lgbm")  # no version: the production one
    assert card.entry.version == "1" and card.entry.status == "production"
    assert [(c.from_status, c.to_status, c.reason) for c in card.history] == [
        ("development", "production", "gate passed")
    ]
    assert (card.family, card.horizon, card.symbol, card.ticks_lake) == ("lightgbm", 50, "KQ.m@SHFE.cu", "main_l5")
    assert (card.train_start_day, card.train_end_day, card.train_rows, card.valid_rows) == (
        "2026-01-05", "2026-02-27", 9000, 1000,
    )  # fmt: skip
    assert card.features == ("spread", "imbalance_l1") and card.calibration["method"] == "isotonic"
    assert card.onnx_path.endswith("lightgbm/1/model.onnx") and card.onnx_bytes == 100
    assert card.card_markdown == "# cu-lgbm v1" and card.meta_error == ""


def test_without_production_the_newest_version_is_shown_and_a_version_can_be_named(tmp_path: Path) -> None:
    get_card, _, _ = world(tmp_path)
    assert get_card("cu-lgbm").entry.version == "2"
    assert get_card("cu-lgbm", "1").onnx_bytes == 100
    with pytest.raises(NotFound):
        get_card("cu-lgbm", "7")
    with pytest.raises(NotFound):
        get_card("nope")


def test_a_missing_sidecar_or_onnx_is_explained_on_the_card(tmp_path: Path) -> None:
    get_card, _, artifacts = world(tmp_path)
    folder = artifacts.version_dir("lightgbm", "2")
    (folder / "model_h50.meta.json").unlink()
    (folder / "model.onnx").unlink()
    card = get_card("cu-lgbm", "2")
    assert card.entry.metrics == {"auc": 0.6}  # the registry part is still there
    assert "expected one model_h<H>.meta.json" in card.meta_error and card.family == ""
    assert card.onnx_bytes is None
