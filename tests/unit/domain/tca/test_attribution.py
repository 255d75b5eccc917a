"""Post-trade attribution: hand-worked cases and the exact identity
spread + impact + timing + opportunity == implementation shortfall."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghtrader.domain.tca import Fills, ImpactModel, Parents, attribute, fit_impact, impact_observations, interval_vwap

TICK, MULT = 10.0, 5.0


def _parents(rows: list[tuple[int, float, float, float, float]]) -> Parents:
    """(side, qty, bid, ask, end_mid) per parent."""
    a = np.array(rows, dtype=np.float64).reshape(-1, 5)
    n = a.shape[0]
    return Parents(
        side=a[:, 0].astype(np.int64), qty=a[:, 1], decision_ns=np.arange(n, dtype=np.int64) * 10,
        end_ns=np.arange(n, dtype=np.int64) * 10 + 5, arrival_bid=a[:, 2], arrival_ask=a[:, 3], end_mid=a[:, 4],
    )  # fmt: skip


def _fills(rows: list[tuple[int, float, float]], fee: float = 0.0) -> Fills:
    """(parent, qty, price) per fill."""
    a = np.array(rows, dtype=np.float64).reshape(-1, 3)
    m = a.shape[0]
    return Fills(parent=a[:, 0].astype(np.int64), time_ns=np.arange(m, dtype=np.int64), qty=a[:, 1],
                 price=a[:, 2], fee=np.full(m, fee))  # fmt: skip


def test_a_buy_crossing_the_spread_with_no_drift_costs_exactly_the_half_spread() -> None:
    # bid 70000, ask 70010: mid 70005, half-spread 0.5 tick; 2 lots bought at the ask
    att = attribute(_parents([(1, 2, 70000, 70010, 70005)]), _fills([(0, 2, 70010)], fee=3.0),
                    tick=TICK, multiplier=MULT, impact=ImpactModel("sqrt", 0.0))  # fmt: skip
    r = att.records[0]
    assert r["spread_ticks"] == 1.0 and r["impact_ticks"] == 0.0 and r["timing_ticks"] == 0.0
    assert r["opportunity_ticks"] == 0.0 and r["shortfall_ticks"] == 1.0
    assert r["slippage_ticks"] == 0.5 and r["exec_vwap"] == 70010.0 and r["arrival_price"] == 70005.0
    t = att.totals()
    assert t["shortfall"] == pytest.approx(1.0 * TICK * MULT) and t["fees"] == 3.0
    assert t["total_cost"] == pytest.approx(53.0)


def test_impact_takes_its_share_and_timing_the_rest() -> None:
    # sell 3 lots: bid 100 / ask 102 (tick 1 here): mid 101, h0 1; fills at 100 (1 lot), 99 (2 lots)
    p = _parents([(-1, 3, 100, 102, 98)])
    f = _fills([(0, 1, 100), (0, 2, 99)])
    model = ImpactModel("linear", 0.25)  # 0.25 tick per lot per own lot executed
    att = attribute(p, f, tick=1.0, multiplier=1.0, impact=model)
    r = att.records[0]
    # execution: -1*(1*(100-101) + 2*(99-101)) = 5; spread 3*1 = 3; impact 1*0.25 + 2*0.75 = 1.75
    assert r["execution_ticks"] == 5.0 and r["spread_ticks"] == 3.0 and r["impact_ticks"] == 1.75
    assert r["timing_ticks"] == 0.25 and r["opportunity_ticks"] == 0.0 and r["shortfall_ticks"] == 5.0


def test_unfilled_lots_cost_the_mid_move_to_the_end() -> None:
    # buy 5, 2 filled at the ask 11 (mid 10.5 with bid 10); the mid ends at 13: 3 lots x 2.5 ticks
    att = attribute(_parents([(1, 5, 10, 11, 13)]), _fills([(0, 2, 11)]), tick=1.0, multiplier=1.0,
                    impact=ImpactModel())  # fmt: skip
    r = att.records[0]
    assert r["opportunity_ticks"] == 7.5 and r["shortfall_ticks"] == 1.0 + 7.5
    nothing = attribute(_parents([(-1, 4, 10, 11, 9)]), _fills([]), tick=1.0, multiplier=1.0, impact=ImpactModel())
    r = nothing.records[0]
    # a sell that never filled while the mid fell 1.5: a 6-tick-lot missed gain is a cost
    assert r["filled"] == 0 and r["opportunity_ticks"] == 6.0 and math.isnan(r["exec_vwap"])
    assert math.isnan(r["slippage_ticks"])


_prices = st.integers(min_value=-3000, max_value=3000)


@settings(max_examples=300, deadline=None)
@given(
    parents=st.lists(
        st.tuples(st.sampled_from([-1, 1]), st.integers(1, 40), st.integers(0, 6), _prices, _prices),
        min_size=1,
        max_size=8,
    ),
    fills=st.lists(st.tuples(st.integers(0, 7), st.integers(1, 15), _prices), max_size=30),
    eta=st.floats(0.0, 5.0, allow_nan=False),
    kind=st.sampled_from(["sqrt", "linear"]),
    tick=st.sampled_from([1.0, 10.0, 0.02, 0.05, 1.0 / 3.0]),
)
def test_components_sum_exactly_to_the_shortfall(parents, fills, eta, kind, tick) -> None:  # type: ignore[no-untyped-def]
    base = 500_000
    p = _parents([(s, q, (base + m) * tick, (base + m + w + 1) * tick, (base + e / 2) * tick)
                  for s, q, w, m, e in parents])  # fmt: skip
    f = _fills([(k % len(parents), q, (base + px) * tick) for k, q, px in fills])
    att = attribute(p, f, tick=tick, multiplier=MULT, impact=ImpactModel(kind, eta))
    r = att.records
    parts = r["spread_ticks"] + r["impact_ticks"] + r["timing_ticks"] + r["opportunity_ticks"]
    assert np.array_equal(parts, r["shortfall_ticks"])  # exact, not approximately
    t = att.totals_ticks()
    assert t["spread_ticks"] + t["impact_ticks"] + t["timing_ticks"] + t["opportunity_ticks"] == t["shortfall_ticks"]
    # the shortfall computed straight from its definition (float, so to rounding)
    side = r["side"].astype(float)
    mid0 = r["arrival_price"] / tick
    expect = np.zeros(len(parents))
    for k, q, px in fills:
        j = k % len(parents)
        expect[j] += side[j] * q * (base + px - mid0[j])
    left = r["qty"] - r["filled"]
    expect += side * np.maximum(left, 0) * (r["end_mid"] / tick - mid0)
    np.testing.assert_allclose(r["shortfall_ticks"], expect, rtol=1e-12, atol=1e-6)


def test_impact_fit_recovers_a_planted_square_root_law() -> None:
    rng = np.random.default_rng(3)
    n = 400
    parents = _parents([(int(rng.choice([-1, 1])), 6, 1000, 1001, 1000.5) for _ in range(n)])
    rows = []
    for k in range(n):
        cum = 0
        for q in (1, 2, 3):
            cum += q
            side = parents.side[k]
            excess = 0.8 * math.sqrt(cum) + rng.normal(0, 0.3)
            rows.append((k, q, 1000.5 + side * (0.5 + excess)))
    fills = _fills(rows)
    y, x, w = impact_observations(parents, fills, tick=1.0)
    assert list(x[:3]) == [1, 3, 6] and list(w[:3]) == [1, 2, 3]
    m = fit_impact(y, x, w, "auto")
    # fill prices are rounded to the tick grid, so the fit sees the law plus rounding noise
    assert m.kind == "sqrt" and m.eta == pytest.approx(0.8, abs=0.08) and m.n_obs == 3 * n
    assert fit_impact(-np.abs(y), x, w, "linear").eta == 0.0  # never a gain from own trading


def test_interval_vwap_from_the_cumulative_counters() -> None:
    t = np.array([0, 10, 20, 30], dtype=np.int64)
    vol = np.array([100.0, 102.0, 106.0, 1.0])  # the last tick starts a new day: counters reset
    amt = np.array([0.0, 2 * 70000 * 5, 2 * 70000 * 5 + 4 * 70010 * 5, 70000 * 5])
    v = interval_vwap(t, vol, amt, np.array([0, 10, 20, 25]), np.array([20, 20, 30, 30]), 5.0)
    assert v[0] == pytest.approx((2 * 70000 + 4 * 70010) / 6)
    assert v[1] == pytest.approx(70010.0)  # only the 4 lots between the ticks as of 10 and 20
    assert math.isnan(v[2]) and math.isnan(v[3])


def test_a_resting_order_filled_at_its_own_best_earns_the_half_spread() -> None:
    # buy 2 at the bid 100 (ask 102, mid 101, h0 1): paid -1 tick a lot = spread -1, no timing
    att = attribute(_parents([(1, 2, 100, 102, 101)]), _fills([(0, 2, 100)]), tick=1.0, multiplier=1.0,
                    impact=ImpactModel())  # fmt: skip
    r = att.records[0]
    assert r["spread_ticks"] == -2.0 and r["timing_ticks"] == 0.0 and r["shortfall_ticks"] == -2.0
    # a sell whose unfilled lots saw no move books 0 opportunity (never -0.0)
    flat = attribute(_parents([(-1, 3, 100, 102, 101)]), _fills([]), tick=1.0, multiplier=1.0, impact=ImpactModel())
    assert str(flat.records[0]["opportunity_ticks"]) == "0.0"
    y, _, _ = impact_observations(_parents([(1, 2, 100, 102, 101)]), _fills([(0, 1, 100), (0, 1, 103)]), 1.0)
    assert list(y) == [0.0, 1.0]  # own-best fill: nothing beyond its booked half-spread; 103: 1 tick beyond
