"""Latency percentiles and throughput."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghtrader.domain.evaluation import EvaluationError, latency_stats


def _interpolated(sorted_x: list[float], q: float) -> float:
    pos = (len(sorted_x) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_x) - 1)
    return sorted_x[lo] + (sorted_x[hi] - sorted_x[lo]) * (pos - lo)


def test_percentiles_by_hand_and_by_interpolation() -> None:
    ms = np.arange(1, 101, dtype=float)
    rng = np.random.default_rng(0)
    s = latency_stats(rng.permutation(ms) / 1e3)
    # (n - 1) q = 49.5 -> between 50 and 51 ms; 94.05 -> 95.05 ms; 98.01 -> 99.01 ms
    assert (s.p50_s, s.p95_s, s.p99_s) == pytest.approx((0.0505, 0.09505, 0.09901))
    assert (s.min_s, s.max_s, s.n) == (0.001, 0.1, 100)
    assert s.mean_s == pytest.approx(0.0505) and s.total_s == pytest.approx(5.05)

    x = sorted(rng.lognormal(-6, 1, 257).tolist())
    t = latency_stats(np.array(x))
    for q, got in ((0.5, t.p50_s), (0.95, t.p95_s), (0.99, t.p99_s)):
        assert got == pytest.approx(_interpolated(x, q), rel=1e-12)


def test_throughput_counts_items_per_second_of_busy_time() -> None:
    s = latency_stats([0.5, 0.25, 0.25], items_per_call=np.array([100, 50, 50]))
    assert s.items == 200 and s.throughput_per_s == pytest.approx(200.0)
    assert latency_stats([0.1, 0.3]).throughput_per_s == pytest.approx(5.0)
    ms = s.to_ms_dict()
    assert ms["p50_ms"] == pytest.approx(250.0) and ms["throughput_per_s"] == pytest.approx(200.0)


def test_empty_and_invalid() -> None:
    e = latency_stats([])
    assert e.n == 0 and math.isnan(e.p99_s)
    with pytest.raises(EvaluationError):
        latency_stats([0.1, -0.2])
    with pytest.raises(EvaluationError):
        latency_stats([0.1, float("nan")])
    with pytest.raises(EvaluationError):
        latency_stats([0.1], items_per_call=np.array([1.5]))
