"""A TrainModel wired to fakes and light adapters: in-memory registry, artifacts in a temp dir,
a frame source serving one frame, the CPU ONNX runtime."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from ghtrader.adapters.filesystem.artifacts import FilesystemArtifactStore
from ghtrader.adapters.lightgbm import LightGBMFamily
from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.memory import InMemoryModelRegistry
from ghtrader.adapters.onnx import OnnxInferenceRuntime
from ghtrader.adapters.xgboost import XGBoostFamily
from ghtrader.application.ports.models import (
    FeatureFrame,
    FrameProvenance,
    ModelRegistry,
    TrainConfig,
)
from ghtrader.application.research.families import FamilyRegistry
from ghtrader.application.research.train import TrainModel, TrainRequest
from tests.fakes.system import FakeClock

PROVENANCE = FrameProvenance(
    feature_build_id="fb-1",
    label_build_id="lb-1",
    schedule_hash="sched-abc",
    ticks_lake="main_l5",
    lake_version="v2",
    config_hash="ds-cfg-1",
)
FAST_PARAMS: dict[str, dict[str, Any]] = {
    "logistic": {"l2_path": [0.01]},
    "lightgbm": {"num_boost_round": 40, "early_stopping_rounds": 5, "learning_rate": 0.2, "num_threads": 1},
    "xgboost": {"num_boost_round": 40, "early_stopping_rounds": 5, "learning_rate": 0.3, "num_threads": 1},
}


@dataclass
class StaticFrames:
    """FrameSource serving one frame; records what it was asked."""

    frame: FeatureFrame
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def load(self, symbol, ticks_lake, start_day, end_day, horizon, feature_names):  # type: ignore[no-untyped-def]
        self.calls.append((symbol, ticks_lake, start_day, end_day, horizon, tuple(feature_names)))
        return self.frame, PROVENANCE


@dataclass
class TrainWorld:
    trainer: TrainModel
    store: FilesystemArtifactStore
    registry: ModelRegistry
    frames: StaticFrames
    families: FamilyRegistry
    runtime: OnnxInferenceRuntime

    def nothing_written(self) -> bool:
        """No registry entry, no published version, no staging left."""
        root = self.store.root
        staging = root / ".staging"
        published = [p for p in root.iterdir() if p.is_dir() and p.name != ".staging"] if root.exists() else []
        versions = [v for p in published for v in p.iterdir()]
        return not self.registry.list() and not versions and (not staging.exists() or not any(staging.iterdir()))


def train_world(
    tmp_path: Path,
    frame: FeatureFrame,
    *,
    families: FamilyRegistry | None = None,
    registry: ModelRegistry | None = None,
    **kwargs: Any,
) -> TrainWorld:
    families = families or FamilyRegistry([LogisticFamily(), LightGBMFamily(), XGBoostFamily()])
    store = FilesystemArtifactStore(tmp_path / "artifacts" / "models")
    registry = registry or InMemoryModelRegistry()
    frames = StaticFrames(frame)
    runtime = OnnxInferenceRuntime()
    trainer = TrainModel(
        families,
        frames,
        store,
        registry,
        FakeClock(),
        runtime=runtime,
        code_version="abc123",
        code_dirty=True,
        **kwargs,
    )
    return TrainWorld(trainer, store, registry, frames, families, runtime)


def request(frame: FeatureFrame, family: str = "logistic", **kwargs: Any) -> TrainRequest:
    base = TrainRequest(
        family=family,
        symbol="SHFE.cu2612",
        start_day=date(2026, 11, 2),
        end_day=date(2026, 11, 4),
        horizon=frame.horizon or 10,
        feature_names=tuple(frame.feature_names),
        config=TrainConfig(horizon=frame.horizon or 10, params=FAST_PARAMS.get(family, {})),
    )
    return replace(base, **kwargs)
