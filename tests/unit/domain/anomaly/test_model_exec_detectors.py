"""Model, drift, execution and cross-asset detectors on synthetic streams; thresholds and the
batch / step parity of the rolling kernels."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.anomaly import AnomalyConfig, AnomalyConfigError, Severity, episodes
from ghtrader.domain.anomaly import _kernels as k
from ghtrader.domain.anomaly.execution import (
    fill_rate_events,
    latency_events,
    rejection_burst_events,
    slippage_events,
    slippage_ticks,
)
from ghtrader.domain.anomaly.market import correlation_break_events, rolling_corr
from ghtrader.domain.anomaly.model import (
    concept_drift_events,
    confidence_collapse_events,
    feature_drift_events,
    prediction_shift_events,
    prior_shift_events,
    rolling_accuracy_events,
)

CFG = AnomalyConfig()
NS = 1_000_000_000


def _ts(n: int) -> np.ndarray:
    return 1_790_000_000 * NS + np.arange(n, dtype=np.int64) * NS


def _worst(events):  # type: ignore[no-untyped-def]
    return max((e.severity for e in events), default=None)


def test_confidence_collapse() -> None:
    rng = np.random.default_rng(1)
    n = 2000
    confident = rng.dirichlet([8, 1, 1], n)
    uniform = np.full((n, 3), 1 / 3) + rng.normal(0, 0.002, (n, 3))
    probs = np.vstack([confident, uniform])
    ref_margin = float(np.mean(confident.max(axis=1) - 1 / 3))
    events = confidence_collapse_events(_ts(2 * n), probs, ref_margin, "m", CFG)
    assert _worst(events) == Severity.CRITICAL
    assert min(e.datetime_ns for e in events if e.severity >= Severity.WARNING) > _ts(2 * n)[n]
    assert confidence_collapse_events(_ts(n), confident, ref_margin, "m", CFG) == []
    nan_rows = confident.copy()
    nan_rows[500:] = np.nan  # a broken model: no probabilities at all
    assert _worst(confidence_collapse_events(_ts(n), nan_rows, ref_margin, "m", CFG)) == Severity.CRITICAL


def test_prediction_shift_and_prior_shift() -> None:
    rng = np.random.default_rng(2)
    ref = np.array([0.3, 0.4, 0.3])
    same = rng.choice(3, 6000, p=ref)
    shifted = rng.choice(3, 6000, p=[0.05, 0.15, 0.8])
    assert prediction_shift_events(_ts(6000), same, ref, "m", CFG) == []
    ev = prediction_shift_events(_ts(6000), shifted, ref, "m", CFG)
    assert ev and all(e.severity == Severity.WARNING for e in ev) and ev[0].details["kl"] > 0
    labels = np.concatenate([same, shifted])
    labels[::7] = -1  # unresolved rows are skipped
    pe = prior_shift_events(_ts(12000), labels, ref, "m", CFG)
    assert pe and min(e.datetime_ns for e in pe) > _ts(12000)[6000]


def test_rolling_accuracy_drop_is_critical() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    labels = rng.integers(0, 3, n)
    pred = labels.copy()
    pred[n // 2 :] = (labels[n // 2 :] + 1) % 3  # always wrong from half way
    events = rolling_accuracy_events(_ts(n), pred, labels, "m", CFG)
    assert _worst(events) == Severity.CRITICAL
    assert all(e.datetime_ns >= _ts(n)[n // 2] for e in events)


def test_feature_drift_names_the_drifted_feature() -> None:
    rng = np.random.default_rng(4)
    ref = rng.normal(0, 1, (5000, 3))
    live = rng.normal(0, 1, (4000, 3))
    assert feature_drift_events(_ts(4000), live, ["a", "b", "c"], ref, "m", CFG) == []
    live[:, 1] += 1.5
    ev = feature_drift_events(_ts(4000), live, ["a", "b", "c"], ref, "m", CFG)
    assert ev and {e.details["feature"] for e in ev} == {"b"} and ev[0].severity == Severity.WARNING
    assert ev[0].details["ks"] > 0.3 and ev[0].details["kl"] > 0.1


@pytest.mark.parametrize("method", ["adwin", "ddm", "page_hinkley"])
def test_concept_drift_fires_after_the_error_rate_jumps(method: str) -> None:
    rng = np.random.default_rng(5)
    errors = np.concatenate([rng.random(3000) < 0.3, rng.random(3000) < 0.8]).astype(float)
    ev = concept_drift_events(_ts(6000), errors, "m", CFG, methods=(method,))
    assert ev and ev[0].severity == Severity.WARNING and ev[0].detection_method == method
    assert ev[0].datetime_ns >= _ts(6000)[3000]


def test_correlation_break() -> None:
    rng = np.random.default_rng(6)
    n = 1200
    common = rng.normal(0, 1, n)
    cu = common + 0.3 * rng.normal(0, 1, n)
    au = common + 0.3 * rng.normal(0, 1, n)
    au[600:] = -common[600:] + 0.3 * rng.normal(0, 1, 600)
    ref = float(np.corrcoef(cu[:600], au[:600])[0, 1])
    assert rolling_corr(cu, au, 120)[300] == pytest.approx(np.corrcoef(cu[181:301], au[181:301])[0, 1])
    ev = correlation_break_events(_ts(n), {"cu": cu, "au": au}, {("cu", "au"): ref}, CFG)
    assert ev and _worst(ev) == Severity.WARNING and ev[0].symbol == "cu/au"
    assert min(e.datetime_ns for e in ev) > _ts(n)[600]


def test_execution_detectors() -> None:
    n = 60
    side = np.where(np.arange(n) % 2, 1, -1)
    mid = np.full(n, 70_000.0)
    fill = mid + side * 5.0  # half a tick: the expected cost
    fill[40:] = mid[40:] + side[40:] * 125.0  # 12.5 ticks from fill 40 on
    excess = slippage_ticks(side, fill, mid, 10.0, 0.5)
    ev = slippage_events(_ts(n), excess, "SHFE.cu2612", CFG)
    assert _worst(ev) == Severity.CRITICAL and ev[0].datetime_ns >= _ts(n)[40]
    filled = np.concatenate([np.ones(40), np.zeros(40)])
    assert _worst(fill_rate_events(_ts(80), filled, "x", CFG)) == Severity.WARNING
    rejections = np.concatenate([_ts(5) * 1, _ts(5)[-1] + 600 * NS + np.arange(25, dtype=np.int64) * NS])
    ev = rejection_burst_events(rejections, "x", CFG)
    assert _worst(ev) == Severity.CRITICAL
    lat = np.full(300, 100.0) + np.arange(300) % 7
    lat[250] = 50_000.0
    ev = latency_events(_ts(300), lat, "x", CFG)
    assert [e.severity for e in ev] == [Severity.CRITICAL] and ev[0].datetime_ns == _ts(300)[250]


def test_robust_z_batch_equals_its_step_kernel_and_is_causal() -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_t(3, 3000)
    x[100] = np.nan
    batch = k.robust_z(x, 200, 0.1, 50)
    ring, ordered, st = np.zeros(200), np.zeros(200), np.zeros(2, dtype=np.int64)
    step = np.array([k.robust_z_step(ring, ordered, st, v, 0.1, 50) for v in x])
    np.testing.assert_array_equal(batch, step)
    y = x.copy()
    y[2000:] *= 100  # the future never changes the past
    np.testing.assert_array_equal(k.robust_z(y, 200, 0.1, 50)[:2000], batch[:2000])
    med = k.rolling_median_causal(x, 200, 50)
    i = 1500
    window = x[i - 200 : i]
    assert med[i] == pytest.approx(np.median(window[np.isfinite(window)]))


def test_episodes_compact_runs_and_thresholds_validate() -> None:
    sev = np.array([-1, 0, 1, 0, -1, -1, 2, -1])
    score = np.array([0, 1, 5, 2, 0, 0, 9, 0], dtype=float)
    ev = episodes(_ts(8), sev, score, anomaly_type="price_spike", symbol="s", method="m")
    assert [(e.severity, e.drift_score, e.details["rows"]) for e in ev] == [
        (Severity.WARNING, 5.0, 3), (Severity.CRITICAL, 9.0, 1)
    ]  # fmt: skip
    assert (
        ev[0].event_id == episodes(_ts(8), sev, score, anomaly_type="price_spike", symbol="s", method="m")[0].event_id
    )
    cfg = AnomalyConfig.from_mapping({"price_spike": {"critical": 99}, "window": 900})
    assert cfg.threshold("price_spike").critical == 99 and cfg.window == 900
    for bad in ({"nope": 1}, {"price_spike": {"critical": 1}}, {"window": 1}, {"price_spike": 3}):
        with pytest.raises(AnomalyConfigError):
            AnomalyConfig.from_mapping(bad)
