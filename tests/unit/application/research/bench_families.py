"""Shared setup of the benchmark tests (frame arguments, request) and test-local model families: a no-skill prior, a recorder that wraps
another family, and a windowed model that needs history (like a deep model)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ghtrader.application.ports.models import (
    FeatureFrame,
    ModelFamily,
    OnnxSignature,
    TrainConfig,
    TrainedModel,
)
from ghtrader.application.progress import ProgressCallback
from ghtrader.application.research.benchmark import BenchmarkRequest

# 5 s snapshots keep a day at ~5.5k rows; 8 trading days give 5 one-day test folds.
FRAME_ARGS: dict[str, Any] = {"days": 8, "horizon": 10, "tick_interval_ms": 5000}
TRAIN = TrainConfig(horizon=10, max_train_rows=4000, params={"l2_path": [0.01]})
REQUEST = BenchmarkRequest(
    horizon=10, train=TRAIN, latency_samples=50, throughput_batch=128, throughput_batches=4, prefer_gpu=False
)


@dataclass
class PriorModel:
    """Predicts the training class frequencies for every row (no skill); cannot export ONNX."""

    prior: np.ndarray
    feature_names: tuple[str, ...]
    family: str = "prior"
    kind: str = "tabular"
    window: int = 1

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        return np.tile(self.prior, (len(frame), 1))

    def inputs(self, frame: FeatureFrame) -> tuple[np.ndarray, np.ndarray]:
        return frame.features.astype(np.float32), np.arange(len(frame), dtype=np.int64)

    def save(self, directory: Path) -> list[Path]:
        raise NotImplementedError

    def export_onnx(self, path: Path) -> OnnxSignature:
        raise NotImplementedError("the prior has no graph")

    def describe(self) -> dict[str, Any]:
        return {"prior": self.prior.tolist()}


class PriorFamily:
    name = "prior"
    kind = "tabular"

    def default_params(self) -> dict[str, Any]:
        return {}

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback
    ) -> PriorModel:
        y = train.labels[np.isfinite(train.labels)].astype(np.int64)
        counts = np.bincount(y, minlength=3).astype(np.float64) + 1.0
        return PriorModel(counts / counts.sum(), train.feature_names)

    def load(self, directory: Path) -> PriorModel:
        raise NotImplementedError


@dataclass
class RecordingFamily:
    """Wraps a family and records the ``datetime_ns`` of every train / valid frame it gets."""

    inner: ModelFamily
    name: str = ""
    train_times: list[np.ndarray] = field(default_factory=list)
    valid_times: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.name or self.inner.name
        self.kind = self.inner.kind

    def default_params(self) -> dict[str, Any]:
        return self.inner.default_params()

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback
    ) -> TrainedModel:
        self.train_times.append(train.datetime_ns.copy())
        self.valid_times.append(valid.datetime_ns.copy())
        return self.inner.fit(train, valid, config, progress)

    def load(self, directory: Path) -> TrainedModel:
        return self.inner.load(directory)


@dataclass
class WindowedModel:
    """Needs ``window`` rows of the same segment: NaN before that; records what it is asked."""

    window: int
    feature_names: tuple[str, ...]
    seen_first_times: list[int] = field(default_factory=list)
    family: str = "windowed"
    kind: str = "deep"

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        self.seen_first_times.append(int(frame.datetime_ns[0]))
        n = len(frame)
        out = np.full((n, 3), 1.0 / 3.0)
        seg = frame.segment_id
        start = np.r_[0, np.flatnonzero(np.diff(seg) != 0) + 1]
        pos = np.arange(n) - np.repeat(start, np.diff(np.r_[start, n]))
        out[pos < self.window - 1] = np.nan
        return out

    def inputs(self, frame: FeatureFrame) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(self.window - 1, len(frame), dtype=np.int64)
        return np.zeros((rows.shape[0], self.window, len(self.feature_names)), dtype=np.float32), rows

    def save(self, directory: Path) -> list[Path]:
        raise NotImplementedError

    def export_onnx(self, path: Path) -> OnnxSignature:
        raise NotImplementedError("no graph")

    def describe(self) -> dict[str, Any]:
        return {"window": self.window}


@dataclass
class WindowedFamily:
    window: int = 20
    name: str = "windowed"
    kind: str = "deep"
    models: list[WindowedModel] = field(default_factory=list)

    def default_params(self) -> dict[str, Any]:
        return {}

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback
    ) -> WindowedModel:
        model = WindowedModel(self.window, train.feature_names)
        self.models.append(model)
        return model

    def load(self, directory: Path) -> WindowedModel:
        raise NotImplementedError


def bayes_frame(frame: FeatureFrame, *, strength: float = 1.5, sample: float = 0.5, seed: int = 0) -> FeatureFrame:
    """``frame`` with labels redrawn from known class probabilities and those probabilities as
    Bayes oracle extras on a random ``sample`` of rows (NaN elsewhere, as a sampled oracle).

    ``p = softmax(-s z, 0.5, s z)`` with ``z`` the first feature standardised, so a linear model
    can learn them; the realized move ``dmid_h{horizon}`` is the label's direction times four ticks
    plus noise of half a tick (NaN where the label is)."""
    rng = np.random.default_rng(seed)
    x = frame.features[:, 0].astype(np.float64)
    z = np.nan_to_num((x - np.nanmean(x)) / (np.nanstd(x) or 1.0))
    logits = np.column_stack([-strength * z, np.full(z.shape[0], 0.5), strength * z])
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    drawn = (rng.random(z.shape[0])[:, None] > np.cumsum(p, axis=1)).sum(axis=1).clip(0, 2).astype(np.float64)
    labels = np.where(np.isfinite(frame.labels), drawn, np.nan)
    tick = frame.price_tick
    dmid = (labels - 1.0) * 4.0 * tick + rng.normal(0.0, 0.5 * tick, z.shape[0])
    sampled = rng.random(z.shape[0]) < sample
    extras = dict(frame.extras)
    extras[f"dmid_h{frame.horizon}"] = dmid
    for k, name in enumerate(("bayes_p_down", "bayes_p_flat", "bayes_p_up")):
        extras[name] = np.where(sampled, p[:, k], np.nan)
    extras["bayes_se"] = np.where(sampled, 0.005, np.nan)
    return replace(frame, labels=labels, extras=extras)


@dataclass
class SharpenedModel:
    """Another model's probabilities, with an over-confident version as the uncalibrated one."""

    inner: TrainedModel

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        return np.asarray(self.inner.predict_proba(frame), dtype=np.float64)

    def predict_proba_uncalibrated(self, frame: FeatureFrame) -> np.ndarray:
        p = self.predict_proba(frame) ** 4
        return p / p.sum(axis=1, keepdims=True)


@dataclass
class SharpenedFamily:
    """Fits ``inner`` and wraps its model in :class:`SharpenedModel`."""

    inner: ModelFamily
    name: str = "sharpened"
    kind: str = "tabular"

    def default_params(self) -> dict[str, Any]:
        return self.inner.default_params()

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback
    ) -> SharpenedModel:
        return SharpenedModel(self.inner.fit(train, valid, config, progress))

    def load(self, directory: Path) -> SharpenedModel:
        raise NotImplementedError
