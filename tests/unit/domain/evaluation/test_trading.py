"""Cost-adjusted trading evaluation: hand-worked trades, run boundaries, statistics, cost flag."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghtrader.domain.evaluation import (
    CostModel,
    EvaluationError,
    SignalRule,
    evaluate_positions,
    evaluate_signal,
    max_drawdown,
    pnl_stats,
    positions_from_probs,
    profit_factor,
)

DAY = np.datetime64("2024-03-05", "D")


def _ctx(n: int, **over: object) -> dict[str, object]:
    ctx: dict[str, object] = {
        "mid": np.full(n, 10_000.0),
        "spread": np.full(n, 10.0),
        "segment_id": np.zeros(n, dtype=np.int64),
        "trading_day": np.full(n, DAY),
        "multiplier": 5.0,
        "price_tick": 10.0,
    }
    ctx.update(over)
    return ctx


# The worked example: 10 rows, horizon 2, one run.
DMID = np.array([20.0, 0.0, -10.0, 0.0, 30.0, 0.0, 10.0, 0.0, np.nan, np.nan])
POS = np.array([1, 0, -1, 0, 0, 0, 1, 0, 1, 0])
SPREAD = np.array([10.0, 10, 10, 10, 10, 10, 20, 10, 10, 10])


def test_worked_example_by_hand() -> None:
    r = evaluate_positions(POS, DMID, 2, **_ctx(10, spread=SPREAD))
    # grid rows 0, 2, 4, 6 (8 exits past the run); row 4 has no signal
    assert r.trades.entry_index.tolist() == [0, 2, 6]
    assert r.trades.direction.tolist() == [1, -1, 1]
    assert r.trades.gross.tolist() == [100.0, 50.0, 50.0]  # d * dmid * 5
    # commission 1 bp of 10000 * 5 = 5; spread = entry spread * 5 (half at entry + half at exit)
    assert r.trades.cost.tolist() == pytest.approx([55.0, 55.0, 105.0])
    assert r.trades.net.tolist() == pytest.approx([45.0, -5.0, -55.0])
    assert r.gross.total == 200.0 and r.net.total == pytest.approx(-15.0)
    assert r.profitable_gross_not_net
    assert r.hit_rate == 1.0 and r.net.win_rate == pytest.approx(1 / 3)
    assert r.net.max_drawdown == pytest.approx(60.0)  # cum 45, 40, -15
    assert r.net.profit_factor == pytest.approx(45 / 60)
    # net: mean -5, deviations 50, 0, -50 -> std sqrt(5000 / 2) = 50
    assert r.net.sharpe_per_trade == pytest.approx(-0.1)
    assert r.net.sharpe_annualised == pytest.approx(-0.1 * math.sqrt(3 * 252))
    # winners only: p* = (L + C) / (W + L) = (0 + 215/3) / (200/3) > 1: unprofitable even if always right
    assert r.break_even_accuracy == pytest.approx(215 / 200)
    assert (r.n_trades, r.n_long, r.n_short, r.n_days, r.trades_per_day) == (3, 2, 1, 1, 3.0)
    assert r.cum_net.tolist() == pytest.approx([45.0, 40.0, -15.0])
    d = r.to_dict(with_curve=True)
    assert d["profitable_gross_not_net"] is True and d["commission_total"] == pytest.approx(15.0)
    assert d["spread_total"] == pytest.approx(200.0) and d["cum_gross"] == [100.0, 150.0, 200.0]


def test_exit_spread_slippage_and_free_costs() -> None:
    spread = SPREAD.copy()
    spread[8] = 30.0  # the exit row of the trade at 6
    exit_costs = CostModel(commission_bp=0.0, exit_spread="exit")
    r = evaluate_positions(POS, DMID, 2, costs=exit_costs, **_ctx(10, spread=spread))
    assert r.trades.spread_cost.tolist() == pytest.approx([50.0, 50.0, (10.0 + 15.0) * 5])
    slip = CostModel(commission_bp=0.0, slippage_ticks=2.0, cross_spread=False)
    r = evaluate_positions(POS, DMID, 2, costs=slip, **_ctx(10))
    assert r.trades.cost.tolist() == pytest.approx([100.0] * 3)  # 2 ticks * 10 * 5
    free = evaluate_positions(POS, DMID, 2, costs=CostModel.free(), **_ctx(10))
    assert free.net.total == free.gross.total == 200.0 and not free.profitable_gross_not_net


def test_commission_is_on_the_entry_notional() -> None:
    mid = np.linspace(9_000.0, 11_000.0, 10)
    r = evaluate_positions(POS, DMID, 2, costs=CostModel(commission_bp=2.0, cross_spread=False), **_ctx(10, mid=mid))
    assert r.trades.commission.tolist() == pytest.approx([2e-4 * mid[i] * 5 for i in (0, 2, 6)])


def test_on_signal_entries_differ_from_the_grid() -> None:
    pos = np.array([0, 1, 0, 1, 0, 0, 0, 1, 0, 0])
    dmid = np.zeros(10)
    assert evaluate_positions(pos, dmid, 2, **_ctx(10)).n_trades == 0  # grid rows 0, 2, 4, 6: no signal
    r = evaluate_positions(pos, dmid, 2, entry="on_signal", **_ctx(10))
    assert r.trades.entry_index.tolist() == [1, 3, 7]
    with pytest.raises(EvaluationError):
        evaluate_positions(pos, dmid, 2, entry="sometimes", **_ctx(10))  # type: ignore[arg-type]


def test_trades_restart_at_segment_and_day_changes() -> None:
    ones = np.ones(10, dtype=int)
    dmid = np.ones(10)
    seg = np.repeat([0, 1], 5)
    day = np.repeat([DAY, DAY + 1], 5)
    by_seg = evaluate_positions(ones, dmid, 2, **_ctx(10, segment_id=seg))
    by_day = evaluate_positions(ones, dmid, 2, **_ctx(10, trading_day=day))
    assert by_seg.trades.entry_index.tolist() == [0, 2, 5, 7] == by_day.trades.entry_index.tolist()
    assert by_day.n_days == 2 and by_day.trades_per_day == 2.0


@pytest.mark.parametrize("entry", ["grid", "on_signal"])
def test_random_trades_never_overlap_nor_leave_their_run(entry: str) -> None:
    rng = np.random.default_rng(8)
    n, h = 3_000, 7
    seg = np.cumsum(rng.random(n) < 0.003)
    day = DAY + np.cumsum(rng.random(n) < 0.004).astype("timedelta64[D]")
    pos = rng.choice([-1, 0, 0, 1], n)
    dmid = rng.normal(0, 10, n)
    dmid[rng.random(n) < 0.05] = np.nan
    spread = np.where(rng.random(n) < 0.02, np.nan, 10.0)
    r = evaluate_positions(pos, dmid, h, entry=entry, **_ctx(n, segment_id=seg, trading_day=day, spread=spread))
    at = r.trades.entry_index
    assert r.n_trades > 100
    assert np.all(np.diff(at) >= h)
    assert np.all(at + h < n)
    assert np.all(seg[at] == seg[at + h]) and np.all(day[at] == day[at + h])
    assert np.all(pos[at] != 0) and np.all(np.isfinite(dmid[at])) and np.all(np.isfinite(spread[at]))
    assert np.all(r.trades.direction == np.sign(pos[at]))


def test_statistics_match_independent_formulas() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(0.3, 2.0, 400)
    s = pnl_stats(x, trades_per_day=10.0, days_per_year=250)
    n = len(x)
    std = math.sqrt((float(np.sum(x**2)) - n * float(np.mean(x)) ** 2) / (n - 1))
    assert s.std == pytest.approx(std, rel=1e-9)
    assert s.sharpe_per_trade == pytest.approx(float(np.mean(x)) / std, rel=1e-9)
    assert s.sharpe_annualised == pytest.approx(float(np.mean(x)) / std * math.sqrt(2_500), rel=1e-9)
    peak, level, worst = 0.0, 0.0, 0.0
    for v in x:
        level += v
        peak = max(peak, level)
        worst = max(worst, peak - level)
    assert max_drawdown(x) == pytest.approx(worst, rel=1e-12)
    assert profit_factor(x) == pytest.approx(sum(v for v in x if v > 0) / -sum(v for v in x if v < 0))
    assert s.win_rate == pytest.approx(sum(1 for v in x if v > 0) / n)
    assert max_drawdown(np.array([-3.0])) == 3.0  # the curve starts at zero
    assert profit_factor(np.array([1.0, 0.0])) == math.inf and math.isnan(profit_factor(np.array([0.0])))
    assert math.isnan(pnl_stats(np.array([1.0]), 1.0).sharpe_per_trade)


def test_break_even_accuracy_separates_winning_from_losing_signals() -> None:
    rng = np.random.default_rng(4)
    n = 4_000
    dmid = rng.choice([-20.0, -10.0, 0.0, 10.0, 20.0], n)
    for p_right in (0.45, 0.55, 0.65, 0.8):
        right = rng.random(n) < p_right
        pos = np.where(right, np.sign(dmid), -np.sign(dmid)).astype(int)
        pos[dmid == 0] = 1
        r = evaluate_positions(pos, dmid, 1, **_ctx(n))
        g, c = r.trades.gross, r.trades.cost
        p = float(np.mean(g > 0))
        w, loss = float(g[g > 0].mean()), float(-g[g <= 0].mean())
        assert p * w - (1 - p) * loss - float(c.mean()) == pytest.approx(r.net.mean, abs=1e-9)
        assert (r.hit_rate > r.break_even_accuracy) == (r.net.mean > 0)


def test_costs_turn_a_gross_winner_into_a_net_loser() -> None:
    rng = np.random.default_rng(6)
    n = 5_000
    dmid = rng.choice([-10.0, 0.0, 10.0], n)  # one-tick moves
    pos = np.where(rng.random(n) < 0.6, np.sign(dmid), -np.sign(dmid)).astype(int)  # 60% right
    free = evaluate_positions(pos, dmid, 1, costs=CostModel.free(), **_ctx(n))
    costly = evaluate_positions(pos, dmid, 1, **_ctx(n))  # pays a one-tick spread per trade
    assert free.gross.total > 0 and not free.profitable_gross_not_net
    assert costly.gross.total == free.gross.total and costly.net.total < 0
    assert costly.profitable_gross_not_net


def test_a_perfect_signal_never_loses_gross() -> None:
    rng = np.random.default_rng(9)
    dmid = rng.normal(0, 10, 1_000).round(-1)
    r = evaluate_positions(np.sign(dmid), dmid, 3, **_ctx(1_000))
    assert r.n_trades > 0 and r.hit_rate == 1.0 and r.gross.max_drawdown == 0.0
    assert r.gross.profit_factor == math.inf


def test_rows_that_cannot_trade_and_eligibility() -> None:
    mid = np.full(10, 10_000.0)
    mid[2] = np.nan
    r = evaluate_positions(POS, DMID, 2, **_ctx(10, mid=mid))
    assert r.trades.entry_index.tolist() == [0, 6]
    eligible = np.ones(10, dtype=bool)
    eligible[0] = False
    assert evaluate_positions(POS, DMID, 2, eligible=eligible, **_ctx(10)).trades.entry_index.tolist() == [2, 6]
    none = evaluate_positions(np.zeros(10), DMID, 2, **_ctx(10))
    assert none.n_trades == 0 and none.gross.total == 0.0 and math.isnan(none.net.mean)
    assert not none.profitable_gross_not_net and math.isnan(none.break_even_accuracy)


def test_signal_from_probabilities_and_groups() -> None:
    rng = np.random.default_rng(12)
    n = 600
    probs = rng.dirichlet([1.0, 1.0, 1.0], n)
    dmid = rng.normal(0, 10, n)
    rule = SignalRule("edge", 0.2)
    r = evaluate_signal(probs, dmid, 4, rule=rule, **_ctx(n))
    direct = evaluate_positions(positions_from_probs(probs, rule), dmid, 4, **_ctx(n))
    assert r.trades.entry_index.tolist() == direct.trades.entry_index.tolist()
    assert r.net.total == direct.net.total
    codes = np.repeat([0, 1, 2], n // 3)
    groups = r.by_group(codes, {0: "a", 1: "b", 2: "c"})
    assert sum(g.n_trades for g in groups.values()) == r.n_trades
    assert sum(g.net.total for g in groups.values()) == pytest.approx(r.net.total)
    assert all(g.n_days == r.n_days for g in groups.values())
    assert np.all(codes[groups["b"].trades.entry_index] == 1)


def test_invalid_arguments() -> None:
    with pytest.raises(EvaluationError):
        CostModel(commission_bp=-1.0)
    with pytest.raises(EvaluationError):
        CostModel(exit_spread="mid")  # type: ignore[arg-type]
    with pytest.raises(EvaluationError, match="unknown cost model fields"):
        CostModel.from_mapping({"commission_bp": 0.5, "fee": 1.0})
    assert CostModel.from_mapping({"slippage_ticks": 1.0}).slippage_ticks == 1.0
    with pytest.raises(EvaluationError):
        evaluate_positions(POS, DMID, 0, **_ctx(10))
    with pytest.raises(EvaluationError):
        evaluate_positions(POS[:5], DMID, 2, **_ctx(10))
    with pytest.raises(EvaluationError):
        evaluate_positions(POS, DMID, 2, **_ctx(10, multiplier=0.0))


def test_cost_fields_must_be_numbers() -> None:
    with pytest.raises(EvaluationError):
        CostModel.from_mapping({"commission_bp": "1"})
    with pytest.raises(EvaluationError):
        CostModel(slippage_ticks=True)  # type: ignore[arg-type]
    with pytest.raises(EvaluationError):
        CostModel(commission_bp=math.inf)
