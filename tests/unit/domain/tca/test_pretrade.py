"""Pre-trade: schedules sum to the order, urgency trades impact for timing risk, the profile
reads spread, volatility, volume and depth from ticks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghtrader.domain.tca import (
    ImpactModel,
    MarketProfile,
    expected_costs,
    is_schedule,
    market_profile,
    twap_schedule,
    urgency_curve,
    vwap_schedule,
)


def _profile(sigma: float = 1.0, half: float = 0.5) -> MarketProfile:
    return MarketProfile(half_spread_ticks=half, sigma_ticks=sigma, lots_per_s=1.0, minute_volume=np.ones(1440))


def test_schedules_slice_the_whole_order_into_lots() -> None:
    tw = twap_schedule(10, 100.0, 4)
    assert tw.lots.sum() == 10 and list(tw.times_s) == [0.0, 25.0, 50.0, 75.0]
    assert sorted(tw.lots.tolist()) == [2, 2, 3, 3]
    front = is_schedule(40, 100.0, 8, urgency=4.0)
    assert front.lots.sum() == 40 and front.lots[0] > front.lots[-1] and np.all(front.lots >= 0)
    assert np.array_equal(is_schedule(40, 100.0, 8, urgency=0.0).lots, twap_schedule(40, 100.0, 8).lots)
    profile = np.zeros(1440)
    profile[600] = 9.0  # all the volume in minute 600 of the day
    vw = vwap_schedule(10, 120.0, 2, profile, start_ns=600 * 60_000_000_000)
    assert vw.lots.tolist() == [10, 0]


def test_more_urgency_costs_more_impact_and_less_timing_risk() -> None:
    curve = urgency_curve(50, 600.0, 10, _profile(), ImpactModel("linear", 0.2), np.array([0.0, 1.0, 3.0, 8.0]))
    assert np.all(np.diff(curve["impact"]) >= 0) and curve["impact"][-1] > curve["impact"][0]
    assert np.all(np.diff(curve["timing"]) <= 0) and curve["timing"][-1] < curve["timing"][0]
    assert np.allclose(curve["spread"], 25.0)


def test_expected_costs_of_one_slice() -> None:
    c = expected_costs(twap_schedule(4, 0.0, 1), _profile(half=1.5), ImpactModel("sqrt", 1.0))
    # 4 lots at once: spread 4 x 1.5; impact 4 x sqrt(4); nothing left to drift
    assert c == {"spread": 6.0, "impact": 8.0, "timing": 0.0, "total": 14.0}


def test_market_profile_from_ticks() -> None:
    n = 601
    t = np.arange(n, dtype=np.int64) * 1_000_000_000  # one tick a second
    rng = np.random.default_rng(0)
    mid = 1000 + np.cumsum(np.r_[0, rng.choice([-1.0, 1.0], n - 1)])  # +-1 tick a second: sigma 1
    bid, ask = mid - 1, mid + 1  # spread 2 ticks
    vol = np.arange(n, dtype=np.float64) * 3  # 3 lots a second
    bp = np.stack([bid - k for k in range(5)], axis=1)
    ap = np.stack([ask + k for k in range(5)], axis=1)
    depth = np.full((n, 5), 4.0)
    p = market_profile(t, bid, ask, vol, 1.0, (bp, depth, ap, depth), depth_offsets_ticks=(0, 2))
    assert p.half_spread_ticks == 1.0 and p.sigma_ticks == pytest.approx(1.0) and p.lots_per_s == pytest.approx(3.0)
    assert p.depth_buy == (4.0, 12.0) and p.depth_sell == (4.0, 12.0)
    assert p.minute_volume.sum() == pytest.approx(1800.0) and p.ticks_used == n and math.isfinite(p.mid)
