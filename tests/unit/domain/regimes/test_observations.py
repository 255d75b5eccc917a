"""Regime observations and volatility buckets: values on a hand-made book and causality."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ghtrader.domain.regimes import (
    ObservationConfig,
    assign_vol_buckets,
    build_observations,
    fit_vol_buckets,
    realised_vol,
    vol_term_ratio,
)
from ghtrader.domain.ticks import TICK_DTYPE


def _ticks(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.zeros(n, dtype=TICK_DTYPE)
    mid = 70000 + np.cumsum(rng.choice([-10.0, 0.0, 10.0], size=n))
    t["datetime_ns"] = np.arange(n) * 500_000_000
    t["bid_price1"] = mid - 5
    t["ask_price1"] = mid + 5
    t["bid_volume1"] = rng.integers(1, 50, n)
    t["ask_volume1"] = rng.integers(1, 50, n)
    t["volume"] = np.cumsum(rng.integers(0, 20, n))
    return t


def test_observation_values_on_a_small_book():
    t = _ticks(6)
    day = np.array([1, 1, 1, 1, 2, 2])
    x = build_observations(t, day, ObservationConfig(window=2, min_periods=1))
    mid = 0.5 * (t["bid_price1"] + t["ask_price1"])
    assert np.isnan(x[0, 0]) and np.isnan(x[4, 0])  # a run's first row has no return
    r = np.log(mid[1:4] / mid[0:3])
    assert np.isclose(x[2, 0], (r[0] + r[1]) / 2) and np.isclose(x[5, 0], np.log(mid[5] / mid[4]))
    if np.sqrt((r[1] ** 2 + r[2] ** 2) / 2) > 0:
        assert np.isclose(x[3, 1], np.log(np.sqrt((r[1] ** 2 + r[2] ** 2) / 2)))
    spread = 10 / mid * 1e4
    assert np.isclose(x[1, 3], (spread[0] + spread[1]) / 2)
    dv = np.log1p(t["volume"][2] - t["volume"][1])
    assert np.isclose(x[2, 2], (np.log1p(t["volume"][1] - t["volume"][0]) + dv) / 2)
    assert x.shape == (6, 5)


def test_order_flow_imbalance_sign():
    t = _ticks(3)
    t["bid_price1"] = [100, 101, 101]
    t["ask_price1"] = [102, 102, 103]
    t["bid_volume1"] = [10, 4, 4]
    t["ask_volume1"] = [10, 6, 6]
    x = build_observations(t, np.zeros(3), ObservationConfig(window=1, min_periods=1))
    # t=1: bid up -> +4 buy pressure; ask same -> -6 + 10 ; depth before = 20
    assert np.isclose(x[1, 4], (4 - 6 + 10) / 20)
    # t=2: bid same (+4 - 4), ask up -> +6 ; depth before = 10
    assert np.isclose(x[2, 4], (4 - 4 + 6) / 10)


@settings(max_examples=20, deadline=None)
@given(cut=st.integers(1, 199), seed=st.integers(0, 1000))
def test_observations_are_causal(cut, seed):
    t = _ticks(200)
    u = t.copy()
    other = _ticks(200, seed=seed + 1)
    u[cut:] = other[cut:]
    day = np.repeat([1, 2], 100)
    a = build_observations(t, day, ObservationConfig(window=30, min_periods=5))
    b = build_observations(u, day, ObservationConfig(window=30, min_periods=5))
    np.testing.assert_array_equal(a[:cut], b[:cut])


def test_realised_vol_buckets_and_term_ratio():
    rng = np.random.default_rng(0)
    ret = np.concatenate([rng.normal(0, 1e-4, 500), rng.normal(0, 1e-3, 500)])
    code = np.zeros(1000)
    vol = realised_vol(ret, code, 50)
    assert np.isnan(vol[:24]).all() and np.isfinite(vol[25:]).all()
    ref = np.sqrt(np.mean(ret[100:150] ** 2))
    assert np.isclose(vol[149], ref)
    edges = fit_vol_buckets(vol[:800], 3)
    buckets = assign_vol_buckets(vol, edges)
    assert buckets[0] == -1
    train = buckets[25:800]
    assert all(abs((train == b).mean() - 1 / 3) < 0.01 for b in range(3))
    assert (buckets[100:450] <= 1).all() and (buckets[560:] >= 1).all()
    assert assign_vol_buckets(edges[:1], edges).tolist() == [0]  # an edge falls in the lower bucket
    ratio = vol_term_ratio(ret, code, 20, 200)
    assert ratio[520] > 2.0  # short window already sees the volatile half
    assert 0.5 < np.nanmedian(ratio[250:450]) < 1.5
