"""Counterfactual replay: a passive and an aggressive buy on the same hand-made snapshots.

cu: tick 10, multiplier 5, 2 currency per lot opened. Mids: 70005, 70005, 69995, 69985, 69985.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghtrader.domain.microsim import FeeRate, FeeTable, SimConfig, SimResult, make_commands, simulate
from ghtrader.domain.microsim.codes import BUY, FAK, LIMIT, OPEN
from ghtrader.domain.microsim.counterfactual import ab_markdown, compare_policies, policy_stats
from tests.unit.domain.microsim._book import TICK, book

FEES = FeeTable("cu", FeeRate(per_lot=2.0), FeeRate(), FeeRate())
CFG = SimConfig(tick=TICK, multiplier=5.0, fees=FEES)


def _ticks() -> np.ndarray:
    return book(
        [
            {"t_ms": 0, "bids": [(70000.0, 5)], "asks": [(70010.0, 1), (70020.0, 5)]},
            {"t_ms": 500, "bids": [(70000.0, 5)], "asks": [(70010.0, 1), (70020.0, 5)]},
            # sellers take the 70000 bid and offer at 70000: the resting buy is crossed
            {"t_ms": 1000, "bids": [(69990.0, 5)], "asks": [(70000.0, 3)], "trades": [(70000.0, 5)]},
            {"t_ms": 1500, "bids": [(69980.0, 5)], "asks": [(69990.0, 3)]},
            {"t_ms": 2000, "bids": [(69980.0, 5)], "asks": [(69990.0, 3)]},
        ]
    )


def _runs() -> tuple[SimResult, SimResult]:
    ticks = _ticks()
    passive = simulate(ticks, CFG, make_commands([(0, LIMIT, BUY, 70000.0, 1, 1, OPEN)]))
    # FAK for 2 lots at the ask: only 1 lot is displayed at 70010, the rest is cancelled
    aggressive = simulate(ticks, CFG, make_commands([(0, FAK, BUY, 70010.0, 2, 1, OPEN)]))
    return passive, aggressive


def test_passive_vs_aggressive_by_hand() -> None:
    passive, aggressive = _runs()
    table = compare_policies(passive, aggressive, tick=TICK, multiplier=5.0, horizon_snapshots=2)
    # passive: filled at 70000 on snapshot 2 (crossed); reference = snapshot 1's mid 70005
    # cost (70000 - 70005) * 5 + 2 = -23; adverse: mid of snapshot 4 = 69985 -> 20 / 10 = 2 ticks
    # pnl gross (69985 - 70000) * 5 = -75, net -77
    assert table["fill_rate"]["A"] == 1.0 and table["cost_per_lot"]["A"] == pytest.approx(-23.0)
    assert table["adverse_ticks"]["A"] == pytest.approx(2.0)
    assert table["pnl_gross"]["A"] == pytest.approx(-75.0) and table["pnl_net"]["A"] == pytest.approx(-77.0)
    # aggressive: 1 of 2 lots at 70010 at t 0 against snapshot 0 (mid 70005): cost 5 * 5 + 2 = 27
    # adverse: mid of snapshot 2 = 69995 -> 1 tick; pnl gross (69985 - 70010) * 5 = -125, net -127
    assert table["fill_rate"]["B"] == 0.5 and table["cost_per_lot"]["B"] == pytest.approx(27.0)
    assert table["adverse_ticks"]["B"] == pytest.approx(1.0)
    assert table["pnl_gross"]["B"] == pytest.approx(-125.0) and table["pnl_net"]["B"] == pytest.approx(-127.0)
    assert table["cost_per_lot"]["B-A"] == pytest.approx(50.0)
    md = ab_markdown(table, ("passive", "FAK"))
    assert md.splitlines()[0] == "| metric | passive | FAK | FAK - passive |"
    assert "| cost_per_lot | -23 | 27 | 50 |" in md


def test_no_fill_gives_nan_costs() -> None:
    ticks = _ticks()
    r = simulate(ticks, CFG, make_commands([(0, LIMIT, BUY, 69900.0, 1, 1, OPEN)]))
    s = policy_stats(r, tick=TICK, multiplier=5.0)
    assert s.lots_ordered == 1.0 and s.lots_filled == 0.0 and s.fill_rate == 0.0
    assert math.isnan(s.cost_per_lot) and math.isnan(s.adverse_ticks) and s.pnl_net == 0.0
    with pytest.raises(ValueError):
        policy_stats(r, tick=TICK, multiplier=5.0, horizon_snapshots=-1)
