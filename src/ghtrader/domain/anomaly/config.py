"""Per-type thresholds of the anomaly detectors (one JSON setting, defaults below).

Each type has a :class:`Threshold`: the score at which a row is INFO, WARNING and CRITICAL
(``inf`` switches a level off); ``below=True`` flips the comparison (rolling accuracy, fill
rate: low is bad). Window and floor parameters sit beside them in :class:`AnomalyConfig`.
``AnomalyConfig.from_mapping({"price_spike": {"critical": 40}, "window": 900})`` overrides a
part and rejects unknown names, so a typo in the setting fails loudly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from ghtrader.domain.anomaly.events import ANOMALY_TYPES, NONE
from ghtrader.domain.errors import DomainError

__all__ = ["DEFAULT_THRESHOLDS", "AnomalyConfig", "AnomalyConfigError", "Threshold"]

INF = math.inf


class AnomalyConfigError(DomainError):
    """An anomaly threshold or window that cannot be used."""


@dataclass(frozen=True, slots=True)
class Threshold:
    """Scores at which a row becomes INFO / WARNING / CRITICAL (``below``: at or under them)."""

    info: float = INF
    warning: float = INF
    critical: float = INF
    below: bool = False

    def __post_init__(self) -> None:
        levels = [self.info, self.warning, self.critical]
        for name, v in zip(("info", "warning", "critical"), levels, strict=True):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
                raise AnomalyConfigError(f"invalid {name}={v!r}: expected a number (inf switches the level off)")
        if self.below:
            levels = [-v for v in levels]
        finite = [v for v in levels if math.isfinite(v)]
        if finite != sorted(finite):
            raise AnomalyConfigError(f"thresholds {self} must get worse from info to warning to critical")

    def _off(self, v: float) -> bool:
        return v == (-INF if self.below else INF)

    def grade(self, score: np.ndarray) -> np.ndarray:
        """Per-row severity codes of ``score`` (NONE where under every level or not finite)."""
        s = np.asarray(score, dtype=np.float64)
        out = np.full(s.shape, NONE, dtype=np.int8)
        ok = np.isfinite(s)
        for code, level in ((0, self.info), (1, self.warning), (2, self.critical)):
            if self._off(level):
                continue
            hit = ok & ((s <= level) if self.below else (s >= level))
            out[hit] = code
        return out

    def grade_one(self, score: float) -> int:
        return int(self.grade(np.array([score]))[0])


def _t(info: float = INF, warning: float = INF, critical: float = INF, below: bool = False) -> Threshold:
    return Threshold(float(info), float(warning), float(critical), below)


#: Defaults, tuned so clean synthetic days raise no CRITICAL (docs/alerts.md has the figures).
DEFAULT_THRESHOLDS: Mapping[str, Threshold] = {
    "price_spike": _t(8, 15, 40),  # |mid change| (1 and flash_rows ticks) in robust sigmas of the recent window
    "volume_spike": _t(25, 100, 300),  # traded lots per tick in robust sigmas
    "tick_gap": _t(60, 300, 1200),  # seconds without a tick inside a session
    "stale_quote": _t(120, 600, 1800),  # seconds the L1 quote and volume stay identical
    "crossed_book": _t(1, 1, 1),  # consecutive ticks with bid1 >= ask1
    "bad_price": _t(1, 1, 1),  # consecutive ticks with last / bid1 / ask1 <= 0 or last NaN
    "missing_quote": _t(1, 20),  # consecutive ticks with one side of L1 empty (limit moves do this)
    "ingestion_lag": _t(2, 10, 60),  # seconds between the exchange stamp and receipt
    "spread_widening": _t(8, 12, 30),  # spread / rolling median spread
    "depth_depletion": _t(2.5, 4, 8),  # rolling median L1-L5 depth / depth now (thinner side), held persist_rows
    "volume_profile": _t(4, 10, 50),  # max(observed / profile, profile / observed) per bucket
    "correlation_break": _t(0.4, 0.7, INF),  # |rolling corr - reference corr|
    "prediction_shift": _t(0.1, 0.25, INF),  # PSI of predicted classes vs the reference
    "confidence_collapse": _t(0.5, 0.8, 0.97),  # 1 - rolling margin over chance / reference margin
    "rolling_accuracy": _t(0.45, 0.35, 0.2, below=True),  # hit rate of resolved predictions
    "slippage": _t(1, 3, 10),  # mean slippage beyond expected, ticks, over a window of fills
    "fill_rate": _t(0.5, 0.2, -INF, below=True),  # fills / orders over a window of orders
    "rejection_burst": _t(2, 5, 20),  # rejections within burst_window_s
    "latency_spike": _t(5, 20, 200),  # latency / rolling median latency
    "feature_drift": _t(0.1, 0.25, INF),  # PSI of a feature window vs the training reference
    "concept_drift": _t(1, 1, INF),  # detections of ADWIN / DDM / Page-Hinkley on the model's errors
    "prior_shift": _t(0.1, 0.25, INF),  # PSI of the rolling label distribution vs the reference
}
assert set(DEFAULT_THRESHOLDS) == {t for ts in ANOMALY_TYPES.values() for t in ts}


@dataclass(frozen=True, slots=True)
class AnomalyConfig:
    """Thresholds per type plus the windows the detectors use."""

    thresholds: Mapping[str, Threshold] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    window: int = 600  # rows of the rolling baselines (robust scale, spread, depth)
    min_periods: int = 50  # rows a baseline needs before it judges
    flash_rows: int = 10  # ticks of the multi-tick price change (a flash move, not one jump)
    persist_rows: int = 20  # ticks a depth depletion must last (a sweep refills at once)
    spike_floor_ticks: float = 1.0  # robust scale floor of a mid change, in price ticks
    volume_floor: float = 2.0  # robust scale floor of per-tick volume, lots
    profile_bucket_s: int = 300  # seconds per volume-profile bucket
    drift_window: int = 2000  # rows of a drift window (features, predictions, labels)
    drift_bins: int = 10  # PSI bins
    model_window: int = 300  # rows of the rolling confidence / accuracy
    corr_window: int = 120  # aligned returns of the rolling correlation
    exec_window: int = 20  # orders / fills of the execution windows
    burst_window_s: float = 60.0  # seconds of a rejection burst

    def __post_init__(self) -> None:
        unknown = set(self.thresholds) - set(DEFAULT_THRESHOLDS)
        if unknown:
            raise AnomalyConfigError(f"unknown anomaly types {sorted(unknown)}: expected {sorted(DEFAULT_THRESHOLDS)}")
        for name in ("window", "min_periods", "flash_rows", "persist_rows", "profile_bucket_s", "drift_window", "drift_bins", "model_window",
                     "corr_window", "exec_window"):  # fmt: skip
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 2:
                raise AnomalyConfigError(f"invalid {name}={v!r}: expected an int >= 2")
        if self.min_periods > self.window:
            raise AnomalyConfigError(f"min_periods={self.min_periods} must not exceed window={self.window}")
        for name in ("spike_floor_ticks", "volume_floor", "burst_window_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise AnomalyConfigError(f"invalid {name}={v!r}: expected a finite number > 0")

    def threshold(self, anomaly_type: str) -> Threshold:
        return self.thresholds.get(anomaly_type, DEFAULT_THRESHOLDS[anomaly_type])

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> AnomalyConfig:
        """Defaults overridden by ``values``: a type name maps to a partial threshold dict, any
        other key to a window parameter (unknown names raise)."""
        values = dict(values or {})
        thresholds = dict(DEFAULT_THRESHOLDS)
        params: dict[str, Any] = {}
        names = {f.name for f in fields(cls)} - {"thresholds"}
        for key, v in values.items():
            if key in DEFAULT_THRESHOLDS:
                if not isinstance(v, Mapping) or set(v) - {"info", "warning", "critical", "below"}:
                    raise AnomalyConfigError(f"{key}: expected an object with info / warning / critical, got {v!r}")
                over: dict[str, Any] = {k: (bool(x) if k == "below" else float(x)) for k, x in v.items()}
                thresholds[key] = replace(thresholds[key], **over)
            elif key in names:
                params[key] = v
            else:
                raise AnomalyConfigError(f"unknown anomaly setting {key!r}")
        return cls(thresholds=thresholds, **params)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "thresholds"}
        out["thresholds"] = {k: {"info": t.info, "warning": t.warning, "critical": t.critical, "below": t.below}
                             for k, t in self.thresholds.items()}  # fmt: skip
        return out
