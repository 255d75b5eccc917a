"""Online calibrator: learns over-confidence and an ignored factor, falls back on drift,
disables itself on instability, deterministic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghtrader.domain.online import (
    CALIBRATOR_ARMED,
    SIGNALS_DISABLED,
    CalibratorConfig,
    OnlineCalibrator,
    OnlineError,
)

N_FEATURES = 2


def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _stream(seed: int, n: int, temperature: float = 1.0, beta: float = 0.0, flip: bool = False):
    """Model probabilities ``softmax(base / temperature)`` of a latent signal; labels drawn from
    ``softmax(base + beta * factor)``; features ``[factor, noise]``. ``flip``: the model has the
    signal backwards (what a regime change does to a stale model)."""
    rng = np.random.default_rng(seed)
    g, x, noise = rng.normal(size=(3, n))
    base = np.stack([-g, np.full(n, 0.3), g], axis=1)
    true = _softmax(base + beta * np.stack([-x, np.zeros(n), x], axis=1))
    model = _softmax((-base if flip else base) / temperature)
    y = (rng.random(n)[:, None] > np.cumsum(true, axis=1)).sum(axis=1)
    return model, np.stack([x, noise], axis=1), y, true


def _run(cal: OnlineCalibrator, model, feats, y):
    """Predict then learn each row (as the runner does once its label resolves); per-row
    log-losses of what was served and of the raw model, and the events."""
    served, raw, events = [], [], []
    for i in range(y.shape[0]):
        q = cal.predict(model[i], feats[i])
        served.append(-math.log(q[y[i]]))
        raw.append(-math.log(model[i, y[i]]))
        ev = cal.update(model[i], feats[i], int(y[i]))
        if ev is not None:
            events.append((i, ev))
    return np.array(served), np.array(raw), events


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_away_over_confidence(seed: int) -> None:
    model, feats, y, true = _stream(seed, 12_000, temperature=0.5)
    cal = OnlineCalibrator(CalibratorConfig(n_features=N_FEATURES))
    served, raw, events = _run(cal, model, feats, y)
    tail = slice(4000, None)
    ll_true = float(np.mean(-np.log(true[np.arange(y.shape[0]), y][tail])))
    assert served[tail].mean() < raw[tail].mean() - 0.04
    assert served[tail].mean() < ll_true + 0.015  # close to the best possible
    assert [ev.event for _, ev in events] == [CALIBRATOR_ARMED]
    w, _ = cal.weights
    assert 0.3 < w[2, 2] < 0.85  # the weight on log p(UP) shrank towards the temperature 0.5
    state = cal.state()
    assert state.enabled and state.mode == "active" and state.n_updates == 12_000
    assert state.rolling_ll_cal < state.rolling_ll_raw
    logged = state.as_dict()
    assert logged["mode"] == "active" and logged["reason"] == "" and type(logged["rolling_ll_cal"]) is float
    assert OnlineCalibrator(CalibratorConfig(n_features=N_FEATURES)).state().as_dict()["rolling_ll_raw"] is None


def test_learns_a_factor_the_model_ignored() -> None:
    model, feats, y, true = _stream(3, 12_000, beta=1.0)
    cal = OnlineCalibrator(CalibratorConfig(n_features=N_FEATURES))
    served, raw, _ = _run(cal, model, feats, y)
    assert served[4000:].mean() < raw[4000:].mean() - 0.15
    w, _ = cal.weights
    factor, noise = w[:, 3], w[:, 4]
    assert factor[2] > 0.5 and factor[0] < -0.5  # the factor pushes UP / DOWN as in the truth
    assert np.abs(noise).max() < 0.1


def test_warm_up_serves_raw_probabilities_then_calibrated() -> None:
    model, feats, y, _ = _stream(4, 300, temperature=0.5)
    cal = OnlineCalibrator(CalibratorConfig(n_features=N_FEATURES, warmup=200))
    for i in range(200):
        assert np.array_equal(cal.predict(model[i], feats[i]), model[i])
        ev = cal.update(model[i], feats[i], int(y[i]))
        assert (ev is None) == (i < 199)
    assert ev is not None and ev.event == CALIBRATOR_ARMED and ev.n_updates == 200
    q = cal.predict(model[200], feats[200])
    assert cal.enabled and not np.allclose(q, model[200]) and math.isclose(q.sum(), 1.0)
    assert np.allclose(q, cal.calibrate(model[200], feats[200]))


def test_untrained_calibrator_is_the_identity() -> None:
    model, feats, _, _ = _stream(5, 10)
    cal = OnlineCalibrator(CalibratorConfig(n_features=N_FEATURES, warmup=0))
    assert cal.enabled
    for i in range(10):
        assert np.allclose(cal.predict(model[i], feats[i]), model[i], atol=1e-9)


def test_falls_back_on_drift_and_re_arms_after_the_cool_down() -> None:
    model, feats, y, _ = _stream(6, 8000)
    model2, feats2, y2, _ = _stream(7, 8000, flip=True)
    cfg = CalibratorConfig(n_features=N_FEATURES, cooldown=500)
    cal = OnlineCalibrator(cfg)
    _, _, events = _run(cal, model, feats, y)
    assert [ev.event for _, ev in events] == [CALIBRATOR_ARMED]
    rows = []
    for i in range(8000):
        ev = cal.update(model2[i], feats2[i], int(y2[i]))
        if ev is not None:
            rows.append((i, ev))
            if ev.event == SIGNALS_DISABLED:
                assert cal.mode == "fallback" and not cal.enabled
                assert ev.reason.startswith("drift: ") and cal.state().reason == ev.reason
                assert np.array_equal(cal.predict(model2[i], feats2[i]), model2[i])  # raw while falling back
    disabled = [i for i, ev in rows if ev.event == SIGNALS_DISABLED]
    armed = [i for i, ev in rows if ev.event == CALIBRATOR_ARMED]
    assert disabled and disabled[0] < 150  # the flip is seen quickly
    assert armed and armed[0] >= disabled[0] + cfg.cooldown
    assert cal.enabled and cal.state().n_drifts >= 1
    # after re-arming, the relearned calibrator beats the flipped model by far
    state = cal.state()
    assert state.rolling_ll_cal < state.rolling_ll_raw - 0.3


def test_stays_quiet_on_a_well_calibrated_stream() -> None:
    for seed in (8, 9):
        model, feats, y, _ = _stream(seed, 20_000)
        cal = OnlineCalibrator(CalibratorConfig(n_features=N_FEATURES))
        served, raw, events = _run(cal, model, feats, y)
        assert [ev.event for _, ev in events] == [CALIBRATOR_ARMED]
        assert served[2000:].mean() < raw[2000:].mean() + 0.005


def test_disables_on_injected_nans() -> None:
    model, feats, y, _ = _stream(10, 1000, temperature=0.5)
    cfg = CalibratorConfig(n_features=N_FEATURES, warmup=100, max_bad_rows=50)
    cal = OnlineCalibrator(cfg)
    _run(cal, model[:600], feats[:600], y[:600])
    w_before = cal.weights[0]
    bad = feats[600].copy()
    bad[0] = np.nan
    assert cal.update(model[600], bad, int(y[600])) is None  # one bad row is skipped
    assert np.array_equal(cal.weights[0], w_before) and cal.enabled
    assert np.array_equal(cal.predict(model[600], bad), model[600])  # raw for a bad row
    events = []
    for i in range(601, 700):
        probs = model[i].copy()
        probs[1] = np.nan
        ev = cal.update(probs, feats[i], int(y[i]))
        if ev is not None:
            events.append(ev)
    assert len(events) == 1 and events[0].event == SIGNALS_DISABLED
    assert events[0].reason.startswith("non_finite_inputs")
    state = cal.state()
    assert state.mode == "disabled" and not state.enabled and state.n_skipped == cfg.max_bad_rows
    assert np.isfinite(cal.weights[0]).all()
    # latched: good rows do not bring it back, reset() does
    for i in range(700, 800):
        assert cal.update(model[i], feats[i], int(y[i])) is None
    assert np.array_equal(cal.predict(model[800], feats[800]), model[800])
    cal.reset()
    assert cal.mode == "warmup" and cal.state().n_updates == 0


def test_disables_on_non_finite_weights() -> None:
    model, feats, y, _ = _stream(11, 200)
    cal = OnlineCalibrator(CalibratorConfig(n_features=N_FEATURES, learning_rate=1e308, warmup=10))
    with np.errstate(over="ignore"):  # the overflow is the point (seen when NUMBA_DISABLE_JIT=1)
        events = [ev for i in range(200) if (ev := cal.update(model[i], feats[i], int(y[i]))) is not None]
    assert events[-1].event == SIGNALS_DISABLED and events[-1].reason.startswith("non_finite_weights")
    assert cal.mode == "disabled"


def test_disables_when_worse_than_the_raw_model() -> None:
    model, feats, y, _ = _stream(12, 5000)
    cfg = CalibratorConfig(n_features=N_FEATURES, learning_rate=3.0, warmup=100, window=500)
    cal = OnlineCalibrator(cfg, loss_detectors=[], error_detectors=[])
    _, _, events = _run(cal, model, feats, y)
    assert [ev.event for _, ev in events] == [CALIBRATOR_ARMED, SIGNALS_DISABLED]
    i, ev = events[1]
    assert i == 100 + 500 - 1  # the first full window after warm-up
    assert ev.reason.startswith("worse_than_raw")
    state = cal.state()
    assert state.rolling_ll_cal > state.rolling_ll_raw + cfg.margin


def test_deterministic_and_fixed_standardisation() -> None:
    model, feats, y, _ = _stream(13, 3000, beta=1.0)
    runs = []
    for _ in range(2):
        cal = OnlineCalibrator(CalibratorConfig(n_features=N_FEATURES))
        served, _, _ = _run(cal, model, feats, y)
        runs.append((served, cal.weights[0]))
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])
    fixed = OnlineCalibrator(
        CalibratorConfig(n_features=N_FEATURES), feature_mean=np.zeros(2), feature_scale=np.ones(2)
    )
    served, raw, _ = _run(fixed, model, feats, y)
    assert served[1000:].mean() < raw[1000:].mean() - 0.1


def test_invalid_arguments() -> None:
    with pytest.raises(OnlineError):
        CalibratorConfig(n_features=-1)
    with pytest.raises(OnlineError):
        CalibratorConfig(n_features=2, learning_rate=0.0)
    with pytest.raises(OnlineError):
        OnlineCalibrator(CalibratorConfig(n_features=2), feature_mean=np.zeros(2))
    cal = OnlineCalibrator(CalibratorConfig(n_features=2))
    with pytest.raises(OnlineError):
        cal.update(np.ones(3) / 3, np.zeros(2), 3)
    with pytest.raises(OnlineError):
        cal.predict(np.ones(3) / 3, np.zeros(4))
