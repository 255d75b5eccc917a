"""The TqSdk executors driving the real TqApi + TqSim against the local fake Shinny services.

One TqApi (a SharedTqApi on a TqSim account) serves every test here; the fake serves auth,
instruments and a quote inside the SHFE day session (TQSDK_RUN_TEST=1 makes TqSim judge trading
hours by the quote's time, not the wall clock).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from datetime import date, datetime

import numpy as np
import pytest

from ghtrader.adapters.tqsdk import TqSdkConfig
from ghtrader.adapters.tqsdk.account import TqAccountSpec
from ghtrader.adapters.tqsdk.execution import SharedTqApi, TqSdkDirectExecution, TqSdkTargetPosExecution
from ghtrader.adapters.tqsdk.loader import import_tqsdk
from ghtrader.application.errors import FailedPrecondition, NotFound
from ghtrader.application.ports.execution import ExecutionProvider
from ghtrader.domain.calendar import beijing_datetime_to_ns
from ghtrader.domain.microsim import codes
from ghtrader.domain.ticks import empty_ticks, level_fields
from ghtrader.domain.trading.orders import ExecutionEvent, OrderRequest, OrderState
from tests.fakes.shinny import FakeShinny, future_instrument

import_tqsdk()  # a missing tqsdk fails here, never skips

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore:coroutine 'TqApi._notify_watcher' was never awaited:RuntimeWarning"),
]

CU = "SHFE.cu2402"
CU2 = "SHFE.cu2403"
BID, ASK = 68000.0, 68010.0
FEE = 10.0  # the fake instruments' commission per lot


def _book(symbol_mid: float, when: datetime, n: int = 3) -> np.ndarray:
    t = empty_ticks(n)
    t["datetime_ns"] = beijing_datetime_to_ns(when) + np.arange(n, dtype=np.int64) * 500_000_000
    t["last_price"] = symbol_mid
    t["average"] = symbol_mid
    t["highest"] = symbol_mid + 500
    t["lowest"] = symbol_mid - 500
    t["volume"] = np.arange(n, dtype=float) + 100
    t["amount"] = t["volume"] * symbol_mid * 5
    t["open_interest"] = 100_000.0
    for i in range(1, 6):
        bp, bv, ap, av = level_fields(i)
        t[bp] = symbol_mid - 10.0 * (i - 1) - 0.0
        t[bv] = 20.0
        t[ap] = symbol_mid + 10.0 * i
        t[av] = 20.0
    return t


@pytest.fixture(scope="module")
def shared() -> Iterator[SharedTqApi]:
    fake = FakeShinny(quote_datetime="2024-01-03 10:00:00.000000")
    fake.add_instruments(
        future_instrument(CU, expire_day=date(2024, 2, 19), expired=False),
        future_instrument(CU2, expire_day=date(2024, 3, 15), expired=False),
    )
    fake.set_ticks(CU, _book(BID, datetime(2024, 1, 3, 10, 0, 0)))
    fake.set_ticks(CU2, _book(BID, datetime(2024, 1, 3, 10, 0, 0)))
    with pytest.MonkeyPatch.context() as mp:
        for key, value in fake.env().items():
            mp.setenv(key, value)
        mp.setenv("TQSDK_RUN_TEST", "1")
        for key in ("TQ_TD_URL", "TQ_ACTION", "TQ_WEB_GUI", "TQ_INIT_BALANCE", "TQ_ACCOUNT"):
            mp.delenv(key, raising=False)
        mp.setitem(sys.modules, "tqsdk.changelog_notification", types.ModuleType("tqsdk.changelog_notification"))
        with fake:
            config = TqSdkConfig(fake.user, fake.password, md_url=fake.md_url, auth_url=fake.auth_url,
                                 ins_url=fake.ins_url)  # fmt: skip
            s = SharedTqApi(config, TqAccountSpec("sim", init_balance=1_000_000.0))
            with s.attach():  # held for the module, as a live feed would hold it
                yield s


@pytest.fixture(scope="module")
def direct(shared: SharedTqApi) -> Iterator[TqSdkDirectExecution]:
    ex = TqSdkDirectExecution(shared)
    yield ex
    ex.close()


def _until(ex, done: Callable[[list[ExecutionEvent]], bool], timeout_s: float = 15.0) -> list[ExecutionEvent]:  # noqa: ANN001
    events: list[ExecutionEvent] = []
    deadline = datetime.now().timestamp() + timeout_s
    while datetime.now().timestamp() < deadline:
        events.extend(ex.poll(0.2))
        if done(events):
            return events
    raise AssertionError(f"timed out; events so far: {events}")


def _final(events: list[ExecutionEvent], oid: str) -> OrderState:
    return [e.order for e in events if e.order.order_id == oid][-1]


def _finished(oid: str) -> Callable[[list[ExecutionEvent]], bool]:
    return lambda evs: any(e.order.order_id == oid and not e.order.alive for e in evs)


def test_direct_executor_is_an_execution_provider(direct: TqSdkDirectExecution) -> None:
    assert isinstance(direct, ExecutionProvider)


def test_limit_order_fills_then_closetoday_flattens(direct: TqSdkDirectExecution) -> None:
    before = direct.account(0).balance
    buy = direct.submit(OrderRequest(CU, codes.BUY, 2, ASK, codes.LIMIT, codes.OPEN, "b"), 1)
    assert buy.status == codes.PENDING
    events = _until(direct, _finished(buy.order_id))
    fills = [e for e in events if e.kind == "trade_fill" and e.order.order_id == buy.order_id]
    assert sum(f.fill_qty for f in fills) == 2 and {f.fill_price for f in fills} == {ASK}
    assert sum(f.fee for f in fills) == pytest.approx(2 * FEE)
    final = _final(events, buy.order_id)
    assert (final.status, final.filled_qty, final.avg_price) == (codes.FILLED, 2, ASK)
    assert final.request.client_id == "b"
    pos = direct.position(CU)
    assert (pos.long_today, pos.long_yd, pos.net) == (2, 0, 2)
    assert [p.symbol for p in direct.positions()] == [CU]
    snap = direct.account(123)
    assert snap.time_ns == 123 and snap.margin > 0 and snap.positions[0].long_today == 2
    assert snap.balance == pytest.approx(before - 2 * FEE + snap.position_profit)

    close = direct.submit(OrderRequest(CU, codes.SELL, 2, BID, codes.FAK, codes.CLOSETODAY), 2)
    events = _until(direct, _finished(close.order_id))
    final = _final(events, close.order_id)
    assert (final.status, final.filled_qty, final.request.offset) == (codes.FILLED, 2, codes.CLOSETODAY)
    assert direct.position(CU).net == 0 and direct.positions() == []
    assert not direct.orders_alive()


def test_fak_that_cannot_fill_is_cancelled(direct: TqSdkDirectExecution) -> None:
    fak = direct.submit(OrderRequest(CU, codes.BUY, 1, BID - 50, codes.FAK), 3)
    events = _until(direct, _finished(fak.order_id))
    final = _final(events, fak.order_id)
    assert (final.status, final.filled_qty) == (codes.CANCELLED, 0)
    assert not [e for e in events if e.kind == "trade_fill"]
    assert direct.position(CU).net == 0


def test_resting_limit_order_is_cancelled_on_request(direct: TqSdkDirectExecution) -> None:
    rest = direct.submit(OrderRequest(CU, codes.SELL, 1, ASK + 100, codes.LIMIT), 4)
    _until(direct, lambda evs: any(e.order.order_id == rest.order_id and e.order.status == codes.LIVE for e in evs))
    assert [o.order_id for o in direct.orders_alive()] == [rest.order_id]
    direct.cancel(rest.order_id, 5)
    events = _until(direct, _finished(rest.order_id))
    assert _final(events, rest.order_id).status == codes.CANCELLED
    assert not direct.orders_alive()
    with pytest.raises(NotFound):
        direct.cancel("no-such-order", 6)


def test_close_without_a_position_is_rejected(direct: TqSdkDirectExecution) -> None:
    bad = direct.submit(OrderRequest(CU, codes.SELL, 1, BID, codes.LIMIT, codes.CLOSETODAY), 7)
    events = _until(direct, _finished(bad.order_id))
    final = _final(events, bad.order_id)
    assert final.status == codes.REJECTED and final.reason
    assert direct.position(CU).net == 0


def test_target_executor_reaches_its_target_and_mixing_is_refused(
    shared: SharedTqApi, direct: TqSdkDirectExecution
) -> None:
    target = TqSdkTargetPosExecution(shared)
    try:
        target.set_target(CU2, 3)
        events = _until(target, lambda evs: target.position(CU2).net == 3 and not target.orders_alive())
        fills = [e for e in events if e.kind == "trade_fill"]
        assert sum(f.fill_qty for f in fills) == 3 and all(f.order.request.symbol == CU2 for f in fills)
        assert target.position(CU2).long_today == 3
        target.set_target(CU2, -1)  # closes today's 3 lots (CLOSETODAY), then opens 1 short
        events = _until(target, lambda evs: target.position(CU2).net == -1 and not target.orders_alive())
        offsets = {e.order.request.offset for e in events if e.kind == "trade_fill"}
        assert offsets == {codes.CLOSETODAY, codes.OPEN}
        # never both executors on the same (account, symbol)
        with pytest.raises(FailedPrecondition, match="mixing"):
            direct.submit(OrderRequest(CU2, codes.BUY, 1, ASK), 8)
        with pytest.raises(FailedPrecondition, match="mixing"):
            target.set_target(CU, 1)
        with pytest.raises(FailedPrecondition):
            target.submit(OrderRequest(CU2, codes.BUY, 1, ASK), 9)
        target.set_target(CU2, 0)
        _until(target, lambda evs: target.position(CU2).net == 0 and not target.orders_alive())
    finally:
        target.close()
    assert shared.owner(CU2) == "target" and shared.owner(CU) == "direct"


def test_on_tick_reports_what_the_feeds_update_brought(shared: SharedTqApi, direct: TqSdkDirectExecution) -> None:
    """Inside a run the feed calls wait_update; on_tick only collects (stamped with the tick)."""
    tick = _book(BID, datetime(2024, 1, 3, 10, 0, 5), 1)[0]
    buy = direct.submit(OrderRequest(CU, codes.BUY, 1, ASK, codes.FAK), int(tick["datetime_ns"]) - 1)
    events: list[ExecutionEvent] = []
    api = shared.acquire()  # what the feed's loop holds
    try:
        for _ in range(50):
            api.wait_update(deadline=datetime.now().timestamp() + 0.2)
            events.extend(direct.on_tick(CU, tick))
            if _finished(buy.order_id)(events):
                break
    finally:
        shared.release()
    assert [e.kind for e in events] == ["trade_fill", "order_update"]
    assert events[-1].order.status == codes.FILLED and events[-1].time_ns == int(tick["datetime_ns"])
    assert direct.on_tick(CU, tick) == []  # reported once
    close = direct.submit(OrderRequest(CU, codes.SELL, 1, BID, codes.FAK, codes.CLOSETODAY), 0)
    _until(direct, _finished(close.order_id))
    assert direct.position(CU).net == 0
