"""Use case: a registered model's card, assembled from its registry entry, its status history
and the meta sidecar and card its training wrote next to the ONNX graph."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ghtrader.application.errors import FailedPrecondition, NotFound
from ghtrader.application.ports.models import ArtifactStore, ModelRegistry, RegistryEntry, StatusChange
from ghtrader.application.research.artifacts import CARD_FILE, ONNX_FILE, read_meta
from ghtrader.application.research.registry_entries import version_number


@dataclass(frozen=True)
class ModelCard:
    """What a person deciding whether to trust a model wants on one page. The fields read from
    the meta sidecar are empty (and ``meta_error`` says why) when it cannot be read."""

    entry: RegistryEntry
    history: tuple[StatusChange, ...]  # this version's status changes, oldest first
    family: str = ""
    horizon: int = 0
    window: int = 0
    symbol: str = ""
    ticks_lake: str = ""
    train_start_day: str = ""
    train_end_day: str = ""
    train_rows: int = 0
    valid_rows: int = 0
    features: tuple[str, ...] = ()
    calibration: Mapping[str, Any] = field(default_factory=dict)  # the probability calibrator; {} when none
    onnx_path: str = ""
    onnx_bytes: int | None = None  # None when the file is missing
    card_markdown: str = ""
    meta_error: str = ""


class GetModelCard:
    """``card(model_id, version)``; an empty version picks the production version, else the newest."""

    def __init__(
        self, *, registry: ModelRegistry, artifacts: ArtifactStore, file_size: Callable[[str], int | None]
    ) -> None:
        self._registry = registry
        self._artifacts = artifacts
        self._file_size = file_size

    def __call__(self, model_id: str, version: str = "") -> ModelCard:
        entry = self._entry(model_id, version)
        history = tuple(
            sorted((c for c in self._registry.history(model_id) if c.version == entry.version), key=lambda c: c.at_ns)
        )
        directory = Path(entry.artifact_path)
        onnx_path = str(directory / ONNX_FILE)
        base = ModelCard(entry=entry, history=history, onnx_path=onnx_path, onnx_bytes=self._file_size(onnx_path))
        try:
            meta = read_meta(self._artifacts, directory)
        except (FailedPrecondition, NotFound, OSError) as exc:
            return _with(base, meta_error=str(exc))
        raw = meta.raw
        found = raw.get("data")
        data: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        calibration = raw.get("calibration")
        try:
            card_text = self._artifacts.read_text(directory, CARD_FILE)
        except (NotFound, OSError):
            card_text = ""
        return _with(
            base,
            family=meta.family,
            horizon=meta.horizon,
            window=meta.window,
            symbol=str(raw.get("symbol", "")),
            ticks_lake=str(raw.get("ticks_lake", "")),
            train_start_day=str(data.get("start_day", "")),
            train_end_day=str(data.get("end_day", "")),
            train_rows=int(data.get("train_rows", 0) or 0),
            valid_rows=int(data.get("valid_rows", 0) or 0),
            features=meta.feature_names,
            calibration=dict(calibration) if isinstance(calibration, Mapping) else {},
            card_markdown=card_text,
        )

    def _entry(self, model_id: str, version: str) -> RegistryEntry:
        if version:
            entry = self._registry.get(model_id, version)
            if entry is None:
                raise NotFound(f"model {model_id!r} version {version} is not registered")
            return entry
        entries = [e for e in self._registry.list() if e.model_id == model_id]
        if not entries:
            raise NotFound(f"no model {model_id!r} is registered")
        production = [e for e in entries if e.status == "production"]
        return (production or sorted(entries, key=lambda e: version_number(e.version)))[-1]


def _with(card: ModelCard, **fields: Any) -> ModelCard:
    return replace(card, **fields)
