"""Property-based tests of the OI roll rule with data gaps, ties and single-day contracts."""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ghtrader.domain.schedule import build_main_schedule, choose_contracts

CONTRACTS = ("SHFE.cu2407", "SHFE.cu2408", "SHFE.cu2409", "SHFE.cu2410")
DAY0 = date(2024, 6, 3)


@st.composite
def panels(draw: st.DrawFn) -> tuple[list[date], dict[str, list[float]]]:
    """Days and a full OI panel: per contract a life (possibly a single day) with small integer
    OI values, so ties and near-threshold ratios are common."""
    n = draw(st.integers(1, 25))
    days = [DAY0 + timedelta(days=i) for i in range(n)]
    oi: dict[str, list[float]] = {}
    for c in draw(st.lists(st.sampled_from(CONTRACTS), min_size=1, max_size=4, unique=True)):
        first = draw(st.integers(0, n - 1))
        last = draw(st.integers(first, min(n - 1, first + draw(st.sampled_from([0, 0, 3, n])))))
        values = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
        oi[c] = [float(v * 10) if first <= i <= last else math.nan for i, v in enumerate(values)]
    return days, oi


def _mapping(days: list[date], oi: dict[str, list[float]], drop: set[tuple[str, int]] = frozenset()) -> dict:  # type: ignore[assignment, type-arg]
    return {d: {c: v[i] for c, v in oi.items() if v[i] == v[i] and (c, i) not in drop} for i, d in enumerate(days)}


def _expiry(days: list[date], oi: dict[str, list[float]]) -> dict[str, date]:
    return {c: days[max(i for i, x in enumerate(v) if not math.isnan(x))] for c, v in oi.items()}


@settings(max_examples=300, deadline=None)
@given(panels(), st.data())
def test_a_gap_of_the_main_never_makes_a_segment(panel, data) -> None:  # type: ignore[no-untyped-def]
    days, oi = panel
    expiry = _expiry(days, oi)
    full = build_main_schedule(_mapping(days, oi), exchange="SHFE", variety="cu", last_trading_day=expiry)
    # Remove the main's data on some days it was scheduled (a feed gap): the rule may only keep
    # the main longer (delay a switch), never switch to another contract because of the gap.
    rows = [r for r in full.rows if r.trading_day != days[-1]]
    gap_rows = data.draw(st.lists(st.sampled_from(rows), unique=True, max_size=3)) if rows else []
    drop = {(r.main_contract, days.index(r.trading_day)) for r in gap_rows}
    gapped = build_main_schedule(_mapping(days, oi, drop), exchange="SHFE", variety="cu", last_trading_day=expiry)
    assert gapped.days == full.days
    assert len(gapped.segments()) <= len(full.segments())
    mains_full = [r.main_contract for r in full.rows]
    for r in gapped.rows:
        assert r.main_contract in mains_full  # no contract is main because of a gap
    for a, b in itertools.pairwise(gapped.segments()):
        assert a.contract != b.contract


@settings(max_examples=300, deadline=None)
@given(panels())
def test_rule_invariants_with_ties_and_single_day_contracts(panel) -> None:  # type: ignore[no-untyped-def]
    days, oi = panel
    expiry = _expiry(days, oi)
    s = build_main_schedule(_mapping(days, oi), exchange="SHFE", variety="cu", last_trading_day=expiry)
    for prev, row in itertools.pairwise(s.rows):
        i = days.index(prev.trading_day)
        if row.main_contract == prev.main_contract:
            continue
        # A switch effective on row's day was decided on prev's day from that day's data.
        today = {c: v[i] for c, v in oi.items() if v[i] == v[i] and expiry[c] > prev.trading_day}
        assert row.main_contract in today
        best = max(today.values())
        assert today[row.main_contract] == best
        assert row.main_contract == min(c for c, v in today.items() if v == best)  # ties: alphabetical
        old = prev.main_contract
        if expiry[old] > prev.trading_day and old in today:
            assert best > 1.1 * today[old]
    for row in s.rows:  # a main outlives its expiry only while no live contract has data
        if row.trading_day > expiry[row.main_contract]:
            i = days.index(row.trading_day) - 1
            assert not any(v[i] == v[i] and expiry[c] > days[i] for c, v in oi.items())


@settings(max_examples=200, deadline=None)
@given(panels(), st.integers(1, 4))
def test_choice_holds_every_main_and_the_largest(panel, count) -> None:  # type: ignore[no-untyped-def]
    days, oi = panel
    expiry = _expiry(days, oi)
    mapping = _mapping(days, oi)
    start = days[len(days) // 2]
    choice = choose_contracts(mapping, start, count, exchange="SHFE", variety="cu", last_trading_day=expiry)
    s = build_main_schedule(mapping, exchange="SHFE", variety="cu", last_trading_day=expiry)
    assert list(choice.mains) == [(r.trading_day, r.main_contract) for r in s.rows if r.trading_day >= start]
    assert choice.next_main == s.next_main
    assert set(choice.by_open_interest[:count]) <= set(choice.contracts)
    assert {m for _, m in choice.mains} <= set(choice.contracts)
    last = mapping[days[-1]]
    assert sorted(choice.by_open_interest) == sorted(last)
    assert [last[c] for c in choice.by_open_interest] == sorted(last.values(), reverse=True)
