"""SimulatedExecutionProvider: the ExecutionProvider port on the micro-simulator's stepper."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from ghtrader.adapters.simulated import SimulatedExecutionProvider
from ghtrader.application.ports.execution import ExecutionProvider
from ghtrader.domain.microsim import COMMAND_DTYPE, Latency, codes, simulate
from ghtrader.domain.trading.orders import ExecutionEvent, OrderRequest
from tests.unit.domain.microsim._book import MS, TICK, book, random_book

SYMBOL = "SHFE.cu2602"
BASE = int(datetime(2026, 12, 7, 1, 0, tzinfo=UTC).timestamp()) * 10**9  # Mon 09:00 Beijing
DAY = 86_400 * 10**9
_LAT = Latency(samples_ns=np.array([0, 1, 40, 300, 600, 1200]) * MS)


def _ticks(n: int, seed: int, day_break: int | None = None) -> np.ndarray:
    x = random_book(n, seed)
    x["datetime_ns"] += BASE
    if day_break is not None:
        x["datetime_ns"][day_break:] += DAY  # the next trading day (Tuesday), same clock time
    return x


def _flat_book(n: int, bid: float = 70000.0, size: int = 10) -> np.ndarray:
    """A still book: best bid ``bid``, best ask one tick up, no trades."""
    rows = [
        {
            "t_ms": 500 * i,
            "bids": [(bid - TICK * k, size) for k in range(5)],
            "asks": [(bid + TICK * (k + 1), size) for k in range(5)],
        }
        for i in range(n)
    ]
    x = book(rows)
    x["datetime_ns"] += BASE
    return x


def test_it_is_an_execution_provider() -> None:
    assert isinstance(SimulatedExecutionProvider(), ExecutionProvider)


def test_submit_gives_a_pending_order_with_an_id_and_refuses_aliases() -> None:
    sim = SimulatedExecutionProvider()
    s = sim.submit(OrderRequest(SYMBOL, codes.BUY, 1, 70000.0), BASE)
    assert s.status == codes.PENDING and s.order_id and s.alive
    assert sim.orders_alive() == [s]
    with pytest.raises(Exception, match="continuous alias"):
        sim.submit(OrderRequest("KQ.m@SHFE.cu", codes.BUY, 1, 70000.0), BASE)


def test_cancel_takes_effect_after_its_latency_and_a_fill_can_beat_it() -> None:
    ticks = _flat_book(6)
    sim = SimulatedExecutionProvider(cancel_latency=Latency(1200 * MS))
    sim.on_tick(SYMBOL, ticks[0])
    s = sim.submit(OrderRequest(SYMBOL, codes.BUY, 1, 69990.0), int(ticks["datetime_ns"][0]))
    ev = sim.on_tick(SYMBOL, ticks[1])
    assert [(e.kind, e.order.status) for e in ev] == [("order_update", codes.LIVE)]
    sim.cancel(s.order_id, int(ticks["datetime_ns"][1]))  # arrives 1.2 s later: after ticks 2 and 3
    assert sim.on_tick(SYMBOL, ticks[2]) == [] and sim.on_tick(SYMBOL, ticks[3]) == []
    assert sim.order(s.order_id).status == codes.LIVE
    ev = sim.on_tick(SYMBOL, ticks[4])
    assert [(e.kind, e.order.status, e.order.reason) for e in ev] == [("order_update", codes.CANCELLED, "cancelled")]
    assert ev[0].time_ns == int(ticks["datetime_ns"][1]) + 1200 * MS
    assert sim.orders_alive() == []

    # the same, but the ask comes down to the bid while the cancel is in flight: filled first
    moved = _flat_book(6)
    for lvl in range(1, 6):
        moved[f"ask_price{lvl}"][3:] -= 2 * TICK
    sim = SimulatedExecutionProvider(cancel_latency=Latency(1200 * MS))
    sim.on_tick(SYMBOL, moved[0])
    s = sim.submit(OrderRequest(SYMBOL, codes.BUY, 2, 69990.0), int(moved["datetime_ns"][0]))
    sim.on_tick(SYMBOL, moved[1])
    sim.cancel(s.order_id, int(moved["datetime_ns"][1]))
    sim.on_tick(SYMBOL, moved[2])
    ev = sim.on_tick(SYMBOL, moved[3])
    assert [e.kind for e in ev] == ["trade_fill", "order_update"]
    assert (ev[0].fill_qty, ev[0].fill_price) == (2, 69990.0) and ev[0].fee > 0
    assert ev[1].order.status == codes.FILLED and ev[1].order.avg_price == 69990.0


def test_aggressive_fill_positions_and_account() -> None:
    ticks = _flat_book(4)
    sim = SimulatedExecutionProvider(initial_cash=500_000.0, margin_rates={"cu": 0.1})
    sim.on_tick(SYMBOL, ticks[0])
    t0 = int(ticks["datetime_ns"][0])
    s = sim.submit(OrderRequest(SYMBOL, codes.BUY, 3, 70010.0, kind=codes.FAK), t0)
    ev = sim.on_tick(SYMBOL, ticks[1])  # arrives at t0 (no latency), replayed before tick 1
    fills = [e for e in ev if e.kind == "trade_fill"]
    assert [(e.fill_qty, e.fill_price, e.time_ns) for e in fills] == [(3, 70010.0, t0)]
    assert sim.order(s.order_id).status == codes.FILLED
    (pos,) = sim.positions()
    assert (pos.symbol, pos.long_today, pos.long_yd, pos.net) == (SYMBOL, 3, 0, 3)
    acct = sim.account(int(ticks["datetime_ns"][1]))
    mid, mult = 70005.0, 5.0
    fee = fills[0].fee
    assert acct.float_profit == pytest.approx((mid - 70010.0) * 3 * mult)
    assert acct.position_profit == acct.float_profit
    assert acct.balance == pytest.approx(500_000.0 + (mid - 70010.0) * 3 * mult - fee)
    assert acct.margin == pytest.approx(3 * mid * mult * 0.1)
    assert acct.available == pytest.approx(acct.balance - acct.margin)
    assert acct.risk_ratio == pytest.approx(acct.margin / acct.balance)
    assert acct.positions == (pos,)
    # no margin rate: margin 0
    assert SimulatedExecutionProvider().account(0).margin == 0.0


def test_a_new_trading_day_expires_resting_orders_and_rolls_the_position() -> None:
    ticks = _flat_book(4)
    ticks["datetime_ns"][2:] += DAY
    sim = SimulatedExecutionProvider()
    sim.on_tick(SYMBOL, ticks[0])
    t0 = int(ticks["datetime_ns"][0])
    sim.submit(OrderRequest(SYMBOL, codes.BUY, 2, 70010.0, kind=codes.FAK), t0)
    rest = sim.submit(OrderRequest(SYMBOL, codes.BUY, 1, 69950.0), t0)
    sim.on_tick(SYMBOL, ticks[1])
    assert sim.positions()[0].long_today == 2
    ev = sim.on_tick(SYMBOL, ticks[2])  # Tuesday (the calendar's trading day of the tick)
    assert [(e.order.order_id, e.order.status, e.order.reason) for e in ev] == [
        (rest.order_id, codes.CANCELLED, "expired at the trading day's end")
    ]
    p = sim.positions()[0]
    assert (p.long_today, p.long_yd) == (0, 2)
    t2 = int(ticks["datetime_ns"][2])
    today = sim.submit(OrderRequest(SYMBOL, codes.SELL, 1, 70000.0, kind=codes.FAK, offset=codes.CLOSETODAY), t2)
    yd = sim.submit(OrderRequest(SYMBOL, codes.SELL, 1, 70000.0, kind=codes.FAK, offset=codes.CLOSE), t2)
    sim.on_tick(SYMBOL, ticks[3])
    assert sim.order(today.order_id).status == codes.REJECTED
    assert sim.order(today.order_id).reason == "not enough position to close"
    assert sim.order(yd.order_id).status == codes.FILLED
    p = sim.positions()[0]
    assert (p.long_today, p.long_yd) == (0, 1)


def test_the_caller_may_name_the_trading_day() -> None:
    ticks = _flat_book(3)
    sim = SimulatedExecutionProvider()
    sim.on_tick(SYMBOL, ticks[0], trading_day=date(2026, 12, 7))
    sim.submit(OrderRequest(SYMBOL, codes.BUY, 1, 69950.0), int(ticks["datetime_ns"][0]))
    assert sim.on_tick(SYMBOL, ticks[1], trading_day=date(2026, 12, 7))[0].order.status == codes.LIVE
    ev = sim.on_tick(SYMBOL, ticks[2], trading_day=date(2026, 12, 8))  # same calendar day, told otherwise
    assert [e.order.status for e in ev] == [codes.CANCELLED]


def _drive(
    ticks: np.ndarray, seed: int, sim: SimulatedExecutionProvider
) -> tuple[list[ExecutionEvent], np.ndarray, list[str]]:
    """A random strategy on the adapter: after each tick it may cancel a working order and send
    limits / FAK / FOK at or through the touch with every offset. Returns the events, the
    equivalent command stream for ``simulate`` and the order ids in submission order."""
    rng = np.random.default_rng(seed)
    events: list[ExecutionEvent] = []
    rows = []
    ids: list[str] = []
    for i in range(ticks.size):
        t = int(ticks["datetime_ns"][i])
        events += sim.on_tick(SYMBOL, ticks[i])
        if i >= ticks.size - 4:
            continue  # nothing may arrive after the last tick (1.2 s max latency): the batch would replay it
        alive = [o.order_id for o in sim.orders_alive()]
        pool = alive if rng.random() < 0.8 else ids  # now and then a cancel of a finished order
        if pool and rng.random() < 0.3:
            oid = pool[int(rng.integers(len(pool)))]
            sim.cancel(oid, t)
            rows.append((t, codes.CANCEL, 0, 0.0, 0, int(oid.removeprefix("sim-")), 0))
        if rng.random() < 0.4:
            side = int(rng.choice([codes.BUY, codes.SELL]))
            best = ticks["bid_price1"][i] if side == codes.BUY else ticks["ask_price1"][i]
            price = float(best + side * TICK * int(rng.integers(-2, 3)))
            kind = int(rng.choice([codes.LIMIT, codes.LIMIT, codes.FAK, codes.FOK]))
            offset = int(rng.choice([codes.OPEN, codes.OPEN, codes.CLOSE, codes.CLOSETODAY]))
            qty = int(rng.integers(1, 5))
            s = sim.submit(OrderRequest(SYMBOL, side, qty, price, kind=kind, offset=offset), t)
            rows.append((t, kind, side, price, qty, int(s.order_id.removeprefix("sim-")), offset))
            ids.append(s.order_id)
    return events, np.array(rows, dtype=COMMAND_DTYPE), ids


@pytest.mark.parametrize("seed", range(8))
def test_the_adapter_fills_exactly_as_the_batch_backtest(seed: int) -> None:
    """Backtest equals sim: the same ticks and orders through the adapter, tick by tick, and
    through ``simulate`` give the same fills, order outcomes, positions and PnL."""
    n = 240
    ticks = _ticks(n, seed, day_break=n // 2)
    model = ["risk_averse", "prob_power", "prob_log"][seed % 3]
    sim = SimulatedExecutionProvider(
        initial_cash=1e6, queue_model=model, entry_latency=_LAT, cancel_latency=_LAT, seed=seed
    )
    events, cmds, ids = _drive(ticks, seed, sim)
    day_start = np.zeros(n, dtype=np.bool_)
    day_start[n // 2] = True
    batch = simulate(ticks, sim.config_for(SYMBOL), cmds, day_start=day_start)

    fills = [e for e in events if e.kind == "trade_fill"]
    assert len(fills) == batch.fills.size > 0
    got = [(e.time_ns, e.order.order_id, e.fill_price, e.fill_qty, e.fee) for e in fills]
    want = [
        (int(f["datetime_ns"]), f"sim-{f['order_id']}", float(f["price"]), int(f["qty"]), float(f["fee"]))
        for f in batch.fills
    ]
    assert got == want
    statuses = {o.order_id: o.status for o in (sim.order(i) for i in ids)}
    assert statuses == {f"sim-{o['order_id']}": int(o["status"]) for o in batch.orders}
    assert [sim.order(i).filled_qty for i in ids] == batch.orders["filled"].astype(int).tolist()
    assert {codes.FILLED, codes.CANCELLED, codes.REJECTED} <= set(statuses.values())
    p = sim.positions()[0]
    assert batch.positions == {
        "long_today": p.long_today, "long_yesterday": p.long_yd, "short_today": p.short_today,
        "short_yesterday": p.short_yd,
    }  # fmt: skip
    acct = sim.account(int(ticks["datetime_ns"][-1]))
    assert acct.balance == pytest.approx(1e6 + float(batch.equity["pnl_net"][-1]), abs=1e-6)
    # every status change reported once, in time order
    times = [e.time_ns for e in events]
    assert times == sorted(times)


def test_a_partial_aggressive_fill_reports_arrival_then_fill() -> None:
    ticks = _flat_book(3)
    for lvl in range(1, 6):
        ticks[f"ask_price{lvl}"][1:] += 2 * TICK  # the ask steps away: the rest does not cross at tick 1
    sim = SimulatedExecutionProvider()
    sim.on_tick(SYMBOL, ticks[0])
    s = sim.submit(OrderRequest(SYMBOL, codes.BUY, 25, 70010.0), int(ticks["datetime_ns"][0]))
    ev = sim.on_tick(SYMBOL, ticks[1])
    assert [(e.kind, e.order.status, e.order.filled_qty) for e in ev] == [
        ("order_update", codes.LIVE, 10),
        ("trade_fill", codes.LIVE, 10),
    ]
    assert ev[1].fill_qty == 10 and ev[1].fill_price == 70010.0
    assert [o.order_id for o in sim.orders_alive()] == [s.order_id]
