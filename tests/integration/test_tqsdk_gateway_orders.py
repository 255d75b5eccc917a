"""Orders through the fake trading gateway: the real TqApi on a TqKq account (logged in to the
fake ``TQ_TD_URL``) and the project's TqSdk executors send orders and see them accepted, filled,
cancelled or refused, with the position and the account updated from the gateway's packets."""

from __future__ import annotations

import sys
import time
import types
from collections.abc import Callable, Iterator
from datetime import date, datetime

import numpy as np
import pytest

from ghtrader.adapters.tqsdk import SharedTqApi, TqAccountSpec, TqSdkConfig
from ghtrader.adapters.tqsdk.execution import TqSdkDirectExecution, TqSdkTargetPosExecution
from ghtrader.adapters.tqsdk.loader import import_tqsdk
from ghtrader.domain.calendar import beijing_datetime_to_ns
from ghtrader.domain.microsim import codes
from ghtrader.domain.ticks import empty_ticks, level_fields
from ghtrader.domain.trading.orders import ExecutionEvent, OrderRequest, OrderState
from tests.fakes.shinny import FakeShinny, FakeTradeAccount, future_instrument

import_tqsdk()  # a missing tqsdk fails here, never skips

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(90),
    pytest.mark.filterwarnings("ignore:coroutine 'TqApi._notify_watcher' was never awaited:RuntimeWarning"),
]

CU = "SHFE.cu2402"
CU2 = "SHFE.cu2403"  # driven by the target task (never by direct orders on the same account)
BID, ASK = 68000.0, 68010.0
FEE = 10.0


def _ticks(bid: float, n: int = 3, start: datetime = datetime(2024, 1, 3, 9, 59, 0)) -> np.ndarray:
    t = empty_ticks(n)
    t["datetime_ns"] = beijing_datetime_to_ns(start) + np.arange(n) * 500_000_000
    for name in ("last_price", "average", "highest", "lowest"):
        t[name] = bid
    t["volume"], t["amount"], t["open_interest"] = 10.0, 3.4e6, 1000.0
    for i in range(1, 6):
        bp, bv, ap, av = level_fields(i)
        t[bp], t[bv], t[ap], t[av] = bid - 10 * (i - 1), 5.0, bid + 10 * i, 5.0
    return t


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[FakeShinny, SharedTqApi, FakeTradeAccount]]:
    fake = FakeShinny(quote_datetime="2024-01-03 10:00:00.000000")
    fake.add_instruments(
        future_instrument(CU, expire_day=date(2024, 2, 19), expired=False),
        future_instrument(CU2, expire_day=date(2024, 3, 15), expired=False),
    )
    fake.set_ticks(CU, _ticks(BID))
    fake.set_ticks(CU2, _ticks(BID))
    user = f"sub-{fake.user}"  # TqKq logs in as the Shinny user's token subject
    account = FakeTradeAccount(user, user, broker_id="快期模拟", balance=10_000_000.0, available=10_000_000.0,
                               margin=0.0, float_profit=0.0, position_profit=0.0, commission_per_lot=FEE)  # fmt: skip
    fake.add_trade_account(account)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "tqsdk.changelog_notification", types.ModuleType("tqsdk.changelog_notification"))
        for key in list(__import__("os").environ):
            if key.startswith("TQ_"):
                mp.delenv(key)
        with fake:
            for key, value in fake.env().items():
                mp.setenv(key, value)
            mp.setenv("TQ_TD_URL", fake.td_url)
            config = TqSdkConfig(fake.user, fake.password, md_url=fake.md_url, auth_url=fake.auth_url,
                                 ins_url=fake.ins_url)  # fmt: skip
            shared = SharedTqApi(config, TqAccountSpec("kq"))
            with shared.attach():
                yield fake, shared, account


def _until(ex, done: Callable[[list[ExecutionEvent]], bool], timeout_s: float = 15.0) -> list[ExecutionEvent]:  # noqa: ANN001
    events: list[ExecutionEvent] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events.extend(ex.poll(0.2))
        if done(events):
            return events
    raise AssertionError(f"timed out; events so far: {events}")


def _finished(oid: str) -> Callable[[list[ExecutionEvent]], bool]:
    return lambda evs: any(e.order.order_id == oid and not e.order.alive for e in evs)


def _final(events: list[ExecutionEvent], oid: str) -> OrderState:
    return [e.order for e in events if e.order.order_id == oid][-1]


def test_direct_orders_are_filled_cancelled_and_refused_by_the_gateway(world) -> None:  # noqa: ANN001
    fake, shared, account = world
    ex = TqSdkDirectExecution(shared)
    try:
        before = ex.account(0).balance
        buy = ex.submit(OrderRequest(CU, codes.BUY, 2, ASK, codes.LIMIT, codes.OPEN, "b"), 1)
        events = _until(ex, _finished(buy.order_id))
        mine = [e for e in events if e.order.order_id == buy.order_id]
        # accepted (LIVE: an exchange id) in one packet, then filled at the ask in the next
        assert [(e.kind, e.order.status) for e in mine] == [
            ("order_update", codes.LIVE), ("trade_fill", codes.FILLED), ("order_update", codes.FILLED)
        ]  # fmt: skip
        fill = mine[1]
        assert (fill.fill_qty, fill.fill_price, fill.fee) == (2, ASK, 2 * FEE)
        assert ex.position(CU).long_today == 2
        assert ex.account(0).balance == pytest.approx(before - 2 * FEE)
        assert fake.stats.orders[-1]["limit_price"] == ASK and fake.stats.orders[-1]["time_condition"] == "GFD"

        # a FAK that does not reach the ask is cancelled, nothing filled
        fak = ex.submit(OrderRequest(CU, codes.BUY, 1, BID - 100, codes.FAK, codes.OPEN, "f"), 2)
        state = _final(_until(ex, _finished(fak.order_id)), fak.order_id)
        assert state.status == codes.CANCELLED and state.filled_qty == 0

        # a passive limit rests until cancelled: FINISHED with its volume left
        rest = ex.submit(OrderRequest(CU, codes.SELL, 1, ASK + 100, codes.LIMIT, codes.CLOSETODAY, "r"), 3)
        _until(ex, lambda evs: any(e.order.order_id == rest.order_id and e.order.status == codes.LIVE for e in evs))
        assert [o.order_id for o in ex.orders_alive()] == [rest.order_id]
        ex.cancel(rest.order_id, 4)
        state = _final(_until(ex, _finished(rest.order_id)), rest.order_id)
        assert state.status == codes.CANCELLED and state.filled_qty == 0 and ex.orders_alive() == []

        # closing yesterday's lots that are not there: refused by the gateway
        bad = ex.submit(OrderRequest(CU, codes.SELL, 1, BID, codes.FAK, codes.CLOSE, "x"), 5)
        assert _final(_until(ex, _finished(bad.order_id)), bad.order_id).status == codes.REJECTED

        # CLOSETODAY at the bid flattens
        close = ex.submit(OrderRequest(CU, codes.SELL, 2, BID, codes.FAK, codes.CLOSETODAY, "c"), 6)
        state = _final(_until(ex, _finished(close.order_id)), close.order_id)
        assert state.status == codes.FILLED and state.avg_price == BID
        assert ex.position(CU).net == 0 and account.positions[CU]["pos_long_today"] == 0
        assert ex.account(0).balance == pytest.approx(before - 4 * FEE)
    finally:
        ex.close()


def test_a_resting_order_fills_when_the_market_reaches_it(world) -> None:  # noqa: ANN001
    fake, shared, _account = world
    ex = TqSdkDirectExecution(shared)
    try:
        buy = ex.submit(OrderRequest(CU, codes.BUY, 1, BID, codes.LIMIT, codes.OPEN, "p"), 1)
        _until(ex, lambda evs: any(e.order.order_id == buy.order_id and e.order.status == codes.LIVE for e in evs))
        fake.push_ticks(CU, _ticks(BID - 20, n=1, start=datetime(2024, 1, 3, 10, 0, 5)))  # ask = BID - 10
        events = _until(ex, _finished(buy.order_id))
        fills = [e for e in events if e.kind == "trade_fill"]
        assert [(f.fill_qty, f.fill_price) for f in fills] == [(1, BID - 10)]
        close = ex.submit(OrderRequest(CU, codes.SELL, 1, BID - 100, codes.FAK, codes.CLOSETODAY, "c"), 2)
        assert _final(_until(ex, _finished(close.order_id)), close.order_id).status == codes.FILLED
        assert ex.position(CU).net == 0
    finally:
        ex.close()


def test_target_pos_task_reaches_its_target_through_the_gateway(world) -> None:  # noqa: ANN001
    fake, shared, _account = world
    ex = TqSdkTargetPosExecution(shared, price="ACTIVE", max_order=1)  # one lot per order
    try:
        sent = len(fake.stats.orders)
        ex.set_target(CU2, -2)
        deadline = time.monotonic() + 20
        events: list[ExecutionEvent] = []
        while time.monotonic() < deadline and ex.position(CU2).net != -2:
            events.extend(ex.poll(0.2))
        assert ex.position(CU2).net == -2
        orders = fake.stats.orders[sent:]
        assert [(o["instrument_id"], o["direction"], o["volume"], o["limit_price"]) for o in orders] == [
            ("cu2403", "SELL", 1, BID), ("cu2403", "SELL", 1, BID)
        ]  # fmt: skip
        fills = [e for e in events + ex.poll(0.2) if e.kind == "trade_fill"]
        assert sum(e.fill_qty for e in fills) == 2 and all(e.order.request.side == codes.SELL for e in fills)
    finally:
        ex.close()
