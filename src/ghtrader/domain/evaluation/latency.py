"""Latency percentiles and throughput of measured calls (durations in seconds).

Percentiles use linear interpolation between order statistics (NumPy's default): for sorted
``x`` of length ``n`` the ``q``-th percentile sits at fractional position ``(n - 1) q / 100``.
Throughput is items per second of busy time: ``sum(items) / sum(durations)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from ghtrader.domain.evaluation._checks import EvaluationError, as_vector

__all__ = ["LatencyStats", "latency_stats"]


@dataclass(frozen=True)
class LatencyStats:
    """Summary of ``n`` calls; durations in seconds."""

    n: int
    items: int
    total_s: float
    mean_s: float
    min_s: float
    p50_s: float
    p95_s: float
    p99_s: float
    max_s: float
    throughput_per_s: float

    def to_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_ms_dict(self) -> dict[str, float]:
        """Latencies in milliseconds (``*_ms`` keys), counts and throughput unchanged."""
        out: dict[str, float] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_s") and f.name != "throughput_per_s":
                out[f.name[:-2] + "_ms"] = value * 1e3
            else:
                out[f.name] = value
        return out


def latency_stats(durations_s: object, items_per_call: int | np.ndarray = 1) -> LatencyStats:
    """Summarise call durations (seconds, finite and >= 0); ``items_per_call`` is a count per
    call (scalar or one per call), e.g. the batch size of each inference."""
    d = as_vector(np.asarray(durations_s, dtype=np.float64), "durations_s")
    if not np.isfinite(d).all() or (d < 0).any():
        raise EvaluationError("invalid durations: expected finite seconds >= 0")
    n = int(d.shape[0])
    items_arr = np.broadcast_to(np.asarray(items_per_call), (n,))
    if items_arr.dtype.kind not in "iu" or (items_arr < 0).any():
        raise EvaluationError(f"invalid items_per_call={items_per_call!r}: expected counts >= 0")
    items = int(items_arr.sum())
    if n == 0:
        nan = math.nan
        return LatencyStats(0, 0, 0.0, nan, nan, nan, nan, nan, nan, nan)
    total = float(d.sum())
    p50, p95, p99 = (float(v) for v in np.percentile(d, [50.0, 95.0, 99.0]))
    return LatencyStats(
        n=n,
        items=items,
        total_s=total,
        mean_s=total / n,
        min_s=float(d.min()),
        p50_s=p50,
        p95_s=p95,
        p99_s=p99,
        max_s=float(d.max()),
        throughput_per_s=items / total if total > 0 else math.nan,
    )
