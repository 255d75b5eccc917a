"""Backtest equals sim: the same recorded ticks through ``RunBacktest`` (batch micro-sim) and through a
sim-mode ``TradingRun`` (the synthetic live feed at full speed, the simulated venue, a permissive but
real risk engine) give the same targets, orders, fills and PnL, tick for tick.

The window is two trading days with a day change that is also a roll (DAY1 on cu2612, DAY2 on
cu2701). Tolerated differences (docs/trading.md "Backtest and sim agree" explains each):

- order ids (``2 * change + slot`` vs ``sim-<n>``): orders are compared by (send time, side, qty,
  price, kind, offset), in order;
- the runner trades the dated contracts (one simulated book each), the backtest main_l5 as one
  series: both flat across the roll, so the net PnL is compared, to 1e-6 CNY (summation order);
- the equality holds while every order fills before the next tick (aggressive FAK, latencies
  shorter than the tick gap, feed_latency_ms=0, no risk refusal): the backtest plans from targets
  (open loop), the runner from the venue's position (closed loop).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ghtrader.adapters.host.clock import ReplayClock
from ghtrader.adapters.simulated import SimulatedExecutionProvider
from ghtrader.adapters.synthetic.live import SyntheticLiveFeed
from ghtrader.application.research.backtest import BacktestRequest
from ghtrader.application.research.backtest_plan import flat_before_close, flat_mask
from ghtrader.application.research.policy_fit import day_close_ns
from ghtrader.application.trading.risk_setup import risk_limits
from ghtrader.domain.evaluation import CostModel
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.microsim import Latency
from ghtrader.domain.microsim.codes import KIND_NAMES, OFFSET_NAMES
from ghtrader.domain.risk.engine import RiskEngine
from ghtrader.domain.risk.sessions import CalendarSessions
from tests.fakes.system import FakeClock

from .world import DAY1, DAY2, FIT_DAY, MAIN, NEW, OLD, TradingWorld

FLAT_S = 120.0  # the causal flat window; it contains the backtest's last flat_rows rows of each day
COMMISSION_BP = 0.1
INITIAL = 1_000_000.0
# real limits, wide enough that none refuses an order of this strategy (1 lot, at most 2 per change)
PERMISSIVE = {
    "max_net_position": 2, "max_order_size": 2, "max_orders_per_second": 50, "max_daily_loss": 1e9,
    "max_drawdown": 1e9, "per_symbol_loss_limit": 1e9, "max_consecutive_losses": 10_000,
}  # fmt: skip


def _full_speed_feed(world: TradingWorld) -> Any:
    """The synthetic live feed on a fake wall clock whose sleeps return at once (full speed)."""
    wall = FakeClock()

    def sleep(s: float) -> None:
        wall.mono += s

    def make(replay_from_ns: int, speedup: float) -> SyntheticLiveFeed:
        clock = ReplayClock(wall, replay_from_ns, 1000.0)
        return SyntheticLiveFeed(world.market, world.market.calendar, clock, speedup=1000.0, sleep=sleep)

    return make


def _backtest(world: TradingWorld, **kw: Any) -> Any:
    request = BacktestRequest(model_id=world.model_id, start_day=DAY1, end_day=DAY2,
                              costs=CostModel(commission_bp=COMMISSION_BP), flat_s=FLAT_S, write_report=False,
                              **kw)  # fmt: skip
    return world.backtest(request)


def _sim(
    world: TradingWorld, last_ns: int, first_ns: int, latency_ms: float
) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    cal = world.market.calendar
    lat = Latency(int(latency_ms * 1e6))
    venue = SimulatedExecutionProvider(initial_cash=INITIAL, queue_model="prob_log", calendar=cal,
                                       entry_latency=lat, cancel_latency=lat)  # fmt: skip
    risk = RiskEngine(risk_limits(PERMISSIVE), CalendarSessions(cal))
    # online_calibration off: the backtest has no online calibrator
    request = world.request(mode="sim", replay_from_ns=first_ns - 1, end_ns=last_ns, max_ticks=0, flat_s=FLAT_S,
                            commission_bp=COMMISSION_BP, initial_balance=INITIAL,
                            online_calibration=False)  # fmt: skip
    run = world.start(venue=venue, risk=risk, feed=_full_speed_feed(world))(request)
    status = run.run()
    return status, world.store.tail_events(run.run_id, 0), venue


def _sim_targets(events: list[dict[str, Any]], ticks_ns: np.ndarray) -> np.ndarray:
    """The runner's target at each backtest tick, from its target_change events."""
    changes = [(e["time_ns"], e["target"]) for e in events if e["kind"] == "target_change"]
    at = np.array([t for t, _ in changes], dtype=np.int64)
    val = np.array([0] + [v for _, v in changes], dtype=np.int64)
    return val[np.searchsorted(at, ticks_ns, side="right")]


def _bt_orders(report: Any) -> list[tuple]:
    o = report.result.orders
    return [
        (int(o["send_ns"][i]), int(o["side"][i]), int(o["qty"][i]), float(o["price"][i]),
         KIND_NAMES[int(o["kind"][i])], OFFSET_NAMES[int(o["offset"][i])])
        for i in np.argsort(o["send_ns"], kind="stable")
    ]  # fmt: skip


def _sim_orders(events: list[dict[str, Any]]) -> list[tuple]:
    return [
        (int(e["time_ns"]), int(e["order"]["side"]), int(e["order"]["qty"]), float(e["order"]["price"]),
         e["order"]["kind"], e["order"]["offset"])
        for e in events if e["kind"] == "order_new"
    ]  # fmt: skip


def _bt_fills(report: Any) -> list[tuple]:
    f = report.result.fills
    return [(int(f["datetime_ns"][i]), float(f["price"][i]), int(round(f["qty"][i])), float(f["fee"][i]))
            for i in range(f.shape[0])]  # fmt: skip


def _sim_fills(events: list[dict[str, Any]]) -> list[tuple]:
    return [(int(e["time_ns"]), float(e["fill_price"]), int(e["fill_qty"]), float(e["fee"]))
            for e in events if e["kind"] == "trade_fill"]  # fmt: skip


def _first_difference(a: list, b: list) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"first difference at {i}: backtest {x} vs sim {y}"
    return f"lengths {len(a)} vs {len(b)}"


@pytest.mark.parametrize("latency_ms", [0.0, 40.0])
def test_backtest_and_sim_agree_tick_for_tick_across_a_day_change_and_a_roll(
    world: TradingWorld, latency_ms: float
) -> None:
    report = _backtest(world, entry_latency_ms=latency_ms, cancel_latency_ms=latency_ms)
    assert report.fit_days == [FIT_DAY]
    stored = world.tick_store.read_ticks(MAIN, "main_l5", DAY1, DAY2)
    ns = stored.ticks["datetime_ns"].astype(np.int64)
    np.testing.assert_array_equal(report.ticks_ns, ns)
    # the precondition of equal targets: the backtest's flat_rows last rows of each day (and so of
    # the contract before the roll) lie inside the runner's causal flat_s window
    cal, spec = world.market.calendar, contract_spec(MAIN)
    tday = np.asarray(stored.trading_day, dtype="datetime64[D]")
    seg = np.asarray(stored.segment_id, dtype=np.int64)
    rows_flat = flat_mask(tday, seg, BacktestRequest.flat_rows)
    assert not (rows_flat & ~flat_before_close(ns, day_close_ns(cal, spec, tday), FLAT_S)).any()
    status, events, venue = _sim(world, int(ns[-1]), int(ns[0]), latency_ms)

    # the same ticks decided on, the same contracts traded, a roll between the days
    assert status["stop_reason"] == "end_time", status
    assert status["ticks"] == ns.shape[0], (status["ticks"], ns.shape[0])
    kinds = [e["kind"] for e in events]
    assert kinds.count("roll") == 1 and "risk_refused" not in kinds and "risk_kill" not in kinds
    assert {e["order"]["symbol"] for e in events if e["kind"] == "order_new"} == {OLD, NEW}

    # targets, tick for tick
    targets = _sim_targets(events, ns)
    bad = np.flatnonzero(targets != report.targets)
    assert bad.size == 0, (
        f"{bad.size} ticks differ, first at {bad[:5]}: sim {targets[bad[:5]]} bt {report.targets[bad[:5]]}"
    )
    assert report.target_changes > 20

    # orders and fills, in order
    bt_orders, sim_orders = _bt_orders(report), _sim_orders(events)
    assert sim_orders == bt_orders, _first_difference(bt_orders, sim_orders)
    bt_fills, sim_fills = _bt_fills(report), _sim_fills(events)
    assert len(bt_fills) > 20
    assert sim_fills == bt_fills, _first_difference(bt_fills, sim_fills)

    # PnL: flat at the end on both sides, the same net PnL (fees included)
    assert all(p.net == 0 for p in venue.positions())
    final = venue.account(int(ns[-1]))
    # equal up to float summation order (the venue's balance carries the initial cash)
    assert final.balance - INITIAL == pytest.approx(report.summary["pnl_net"], abs=1e-6)
    assert sum(f[3] for f in sim_fills) == pytest.approx(report.summary["fees"], abs=1e-6)
    assert report.summary["pnl_net"] != 0.0
