"""Benchmark request and report types: what RunBenchmark / CompareModels take and return."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np

from ghtrader.application.ports.models import TrainConfig
from ghtrader.application.reporting import to_jsonable
from ghtrader.domain.evaluation import (
    DEFAULT_DECAY_HORIZONS,
    CostModel,
    SignalRule,
    WalkForwardPlan,
)

__all__ = [
    "MIN_SPLITS",
    "BenchmarkReport",
    "BenchmarkRequest",
    "FoldResult",
    "MetricSummary",
    "plan_fingerprint",
    "summarize",
]

#: The fewest folds a benchmark may ask for (mean and spread need several out-of-sample blocks).
MIN_SPLITS = 5


@dataclass(frozen=True)
class BenchmarkRequest:
    """What to benchmark and how.

    Data: either pass a frame to :meth:`RunBenchmark.__call__` or name ``symbol`` /
    ``ticks_lake`` / days / ``feature_names`` for the FrameSource (default features:
    ``CORE_L5_FACTORS``). ``horizon`` is the label horizon the model learns and the holding
    period of the costed signal; ``decay_horizons`` the horizons of the alpha-decay curve.
    ``purge_ticks`` None means the longest of them (the walk-forward purge gap).
    ``train`` is the family's TrainConfig (horizon and seed are set from this request).
    """

    family: str = ""
    symbol: str = ""
    ticks_lake: str = "main_l5"
    start_day: date | None = None
    end_day: date | None = None
    feature_names: tuple[str, ...] = ()
    horizon: int = 10
    decay_horizons: tuple[int, ...] = DEFAULT_DECAY_HORIZONS
    n_splits: int = 5
    valid_days: int = 1
    test_days: int | None = None
    window_mode: Literal["expanding", "rolling"] = "expanding"
    purge_ticks: int | None = None
    seed: int = 0
    train: TrainConfig | None = None
    costs: CostModel = field(default_factory=CostModel)
    signal: SignalRule = field(default_factory=SignalRule)
    entry: Literal["grid", "on_signal"] = "grid"
    multiplier: float | None = None
    calibration_bins: int = 15
    latency_samples: int = 200
    throughput_batch: int = 256
    throughput_batches: int = 8
    prefer_gpu: bool = True
    write_report: bool = True
    report_id: str | None = None


@dataclass(frozen=True)
class MetricSummary:
    """Mean, sample standard deviation (ddof=1) and count of one metric over folds."""

    mean: float
    std: float
    n: int


@dataclass
class FoldResult:
    """One fold: where it sits and what it scored."""

    fold: int
    train_days: tuple[date, date]
    valid_days: tuple[date, date] | None
    test_days: tuple[date, date]
    train_rows: tuple[int, int, int]  # first, last, count
    valid_rows: tuple[int, int, int]
    test_rows: tuple[int, int, int]
    metrics: dict[str, float]
    classification: dict[str, Any]
    trading: dict[str, Any]
    decay: dict[str, Any]
    by_regime: dict[str, dict[str, Any]]
    by_session: dict[str, dict[str, Any]]
    expected_move_rule: dict[str, Any] | None  # threshold on the generator's expected move (no ceiling)
    latency: dict[str, Any] | None
    regime_edges: dict[str, float]
    model: dict[str, Any]
    fit_seconds: float
    ceiling: dict[str, Any] | None = None  # prior, cost-aware policies, Bayes decision rule fitted


@dataclass
class BenchmarkReport:
    """The benchmark of one family: folds, their mean / std, and the pooled test rows."""

    report_id: str
    family: str
    symbol: str
    horizon: int
    decay_horizons: tuple[int, ...]
    n_splits_requested: int
    n_splits: int
    purge: int
    plan_fingerprint: str
    rows: int
    days: int
    feature_names: tuple[str, ...]
    folds: list[FoldResult]
    summary: dict[str, MetricSummary]
    pooled: dict[str, Any]
    curves: dict[str, Any]
    notes: list[str]
    config: dict[str, Any]
    duration_s: float
    provenance: dict[str, Any] | None = None
    report_paths: dict[str, Any] | None = None

    @property
    def note(self) -> str | None:
        """All notes in one line (fewer folds than asked, no Bayes oracle, skipped latency ...)."""
        return "; ".join(self.notes) or None

    def to_payload(self) -> dict[str, Any]:
        """JSON-ready dict of the whole report."""
        out = to_jsonable(self)
        out["note"] = self.note
        return out


def summarize(values: Sequence[Mapping[str, float]]) -> dict[str, MetricSummary]:
    """Mean / std (ddof=1) / count of every metric over folds, ignoring NaN and infinities."""
    keys: list[str] = []
    for v in values:
        keys.extend(k for k in v if k not in keys)
    out: dict[str, MetricSummary] = {}
    for k in keys:
        x = np.array([v.get(k, math.nan) for v in values], dtype=np.float64)
        x = x[np.isfinite(x)]
        n = int(x.shape[0])
        mean = float(x.mean()) if n else math.nan
        std = float(x.std(ddof=1)) if n >= 2 else math.nan
        out[k] = MetricSummary(mean, std, n)
    return out


def plan_fingerprint(plan: WalkForwardPlan) -> str:
    """sha256 of every fold's train / valid / test row positions (equal plans, equal hash)."""
    h = hashlib.sha256()
    for s in plan.splits:
        for part in (s.train_index, s.valid_index, s.test_index):
            h.update(np.ascontiguousarray(part, dtype=np.int64).tobytes())
            h.update(b"|")
    return h.hexdigest()
