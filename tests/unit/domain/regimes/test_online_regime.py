"""Online observations and regime state: tick-by-tick == batch, and the regime scales sizes."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.regimes import GaussianHmmParams, ObservationConfig, build_observations, forward_filter
from ghtrader.domain.regimes.online import OnlineObservations, OnlineRegime
from ghtrader.domain.ticks import TICK_DTYPE


def _ticks(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.zeros(n, dtype=TICK_DTYPE)
    vol = np.repeat(rng.choice([5.0, 30.0], size=n // 250 + 1), 250)[:n]
    mid = 70_000 + np.cumsum(np.round(rng.normal(0, vol) / 10) * 10)
    t["bid_price1"] = mid - 5
    t["ask_price1"] = mid + 5
    t["bid_volume1"] = rng.integers(1, 60, n)
    t["ask_volume1"] = rng.integers(1, 60, n)
    day = np.repeat([20260302, 20260303, 20260304], n // 3 + 1)[:n]
    t["volume"] = np.concatenate([np.cumsum(rng.integers(0, 30, (day == d).sum())) for d in np.unique(day)])
    t["bid_price1"][[100, 1500]] = np.nan  # a broken quote
    t["bid_volume1"][700] = np.nan
    return t, day


def test_online_observations_equal_the_batch_rows():
    t, day = _ticks()
    cfg = ObservationConfig(window=50, min_periods=10)
    batch = build_observations(t, day, cfg)
    on = OnlineObservations(cfg)
    rows = np.array(
        [on.update(r["bid_price1"], r["ask_price1"], r["bid_volume1"], r["ask_volume1"], r["volume"], d)
         for r, d in zip(t, day, strict=True)]
    )  # fmt: skip
    assert np.array_equal(np.isnan(rows), np.isnan(batch))
    np.testing.assert_allclose(rows, batch, rtol=0, atol=1e-9)


def _params() -> GaussianHmmParams:
    return GaussianHmmParams(
        means=np.array([[-9.0, 2.0], [-7.5, 2.5]]),
        covars=np.array([np.eye(2) * 0.3, np.eye(2) * 0.3]),
        transmat=np.array([[0.99, 0.01], [0.01, 0.99]]),
        startprob=np.array([0.5, 0.5]),
        obs_mean=np.zeros(2),
        obs_scale=np.ones(2),
        feature_names=("log_rvol", "volume"),
    )


def test_online_regime_equals_the_batch_filter_and_scales_lots():
    t, day = _ticks()
    cfg = ObservationConfig(window=50, min_periods=10)
    p = _params()
    online = OnlineRegime(p, ("log_rvol", "volume"), cfg)
    assert online.regime == -1 and online.scaled_lots(5, {"hmm_0": 1.0}, 10) == 0
    probs = np.array(
        [online.update(r["bid_price1"], r["ask_price1"], r["bid_volume1"], r["ask_volume1"], r["volume"], d)
         for r, d in zip(t, day, strict=True)]
    )  # fmt: skip
    batch, _ = forward_filter(p, build_observations(t, day, cfg)[:, [1, 2]])
    np.testing.assert_allclose(probs, batch, rtol=0, atol=1e-9)
    scales = {"hmm_0": 1.0, "hmm_1": 0.5}
    expect = {0: 6, 1: 3}[int(np.argmax(batch[-1]))]
    assert online.scaled_lots(6, scales, 10) == expect
    with pytest.raises(ValueError):
        online.scaled_lots(6, {}, 10)


def test_online_regime_rejects_features_the_model_does_not_have():
    with pytest.raises(ValueError):
        OnlineRegime(_params(), ("log_rvol",))
    with pytest.raises(ValueError):
        OnlineRegime(_params(), ("log_rvol", "nope"))
