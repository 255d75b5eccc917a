"""The execution detectors' step forms score a stream as their batch forms score the whole of it."""

from __future__ import annotations

import numpy as np

from ghtrader.domain.anomaly import AnomalyConfig
from ghtrader.domain.anomaly.execution import (
    FillRateStep,
    LatencyStep,
    RejectionStep,
    SlippageStep,
    _rolling_mean,
    fill_rate_events,
    journal_events,
    latency_events,
)

CFG = AnomalyConfig.from_mapping({"exec_window": 7, "window": 40, "min_periods": 10, "burst_window_s": 5.0})


def _steps(step, xs) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([step.step(x) for x in xs])


def test_slippage_and_fill_rate_steps_equal_the_batch_rolling_means() -> None:
    rng = np.random.default_rng(0)
    slip = rng.normal(1.0, 2.0, 300)
    np.testing.assert_allclose(_steps(SlippageStep(CFG), slip), _rolling_mean(slip, 7), equal_nan=True, atol=1e-9)
    filled = (rng.random(300) < 0.6).astype(float)
    np.testing.assert_allclose(_steps(FillRateStep(CFG), filled), _rolling_mean(filled, 7), equal_nan=True, atol=1e-12)
    ts = np.arange(300, dtype=np.int64) * 1_000_000_000
    batch = fill_rate_events(ts, filled, "x", CFG)
    assert batch  # the same scores: the batch episodes' worst scores are step scores
    assert {round(e.drift_score, 12) for e in batch} <= {round(float(s), 12) for s in _rolling_mean(filled, 7)}


def test_rejection_step_counts_the_trailing_window_as_the_batch() -> None:
    rng = np.random.default_rng(1)
    ts = np.cumsum(rng.integers(1, 3_000_000_000, 200)).astype(np.int64)
    span = int(CFG.burst_window_s * 1e9)
    batch = np.arange(ts.shape[0]) - np.searchsorted(ts, ts - span, side="right") + 1
    np.testing.assert_array_equal(_steps(RejectionStep(CFG), ts), batch.astype(float))


def test_latency_step_equals_the_batch_ratio_to_the_causal_median() -> None:
    rng = np.random.default_rng(2)
    lat = rng.lognormal(3.0, 0.3, 200)
    lat[150] = 5_000.0  # a spike
    step = _steps(LatencyStep(CFG), lat)
    events = latency_events(np.arange(200, dtype=np.int64), lat, "x", CFG)
    spike = [e for e in events if e.datetime_ns == 150]
    assert spike and np.isclose(spike[0].drift_score, step[150]) and step[150] > 50
    assert np.isnan(step[: min(CFG.min_periods, 20)]).all() and np.isfinite(step[20:]).all()


def test_journal_events_read_the_journaled_slippage_and_latency() -> None:
    order = {"symbol": "SHFE.cu2701"}
    records = [{"kind": "trade_fill", "time_ns": i, "order": order, "slippage_ticks": 12.0, "latency_ms": 100.0}
               for i in range(10)]  # fmt: skip
    records.append({"kind": "order_update", "time_ns": 11, "order": order, "latency_ms": 100_000.0})
    kinds = {(e.anomaly_type, e.severity.name) for e in journal_events(records, CFG)}
    assert ("slippage", "CRITICAL") in kinds and ("latency_spike", "CRITICAL") in kinds
