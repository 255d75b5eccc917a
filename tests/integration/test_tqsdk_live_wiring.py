"""Live mode as the container wires it: the TqSdk direct executor on the profile's TqAccount and
the run's feed share ONE TqApi (one market-data and one trading connection to the fake Shinny
services), the account is read from the gateway's snapshot, and closing the executor after the
feed has let go closes the TqApi."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.tqsdk import TqSdkDirectExecution, TqSdkLiveFeed
from ghtrader.adapters.tqsdk.loader import import_tqsdk
from ghtrader.application.errors import FailedPrecondition, NotFound
from ghtrader.application.trading.request import TradingRunRequest
from ghtrader.container import _execution_factory, _LiveSessions, _trading_feed_factory
from ghtrader.domain.calendar import beijing_datetime_to_ns
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.microsim import codes
from ghtrader.domain.ticks import empty_ticks, level_fields
from ghtrader.domain.trading.orders import OrderRequest
from ghtrader.settings import Settings
from tests.fakes.shinny import FakeShinny, FakeTradeAccount, future_instrument, order_record, trade_record

import_tqsdk()  # a missing tqsdk fails here, never skips

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore:coroutine 'TqApi._notify_watcher' was never awaited:RuntimeWarning"),
]

CU = "SHFE.cu2402"
T0 = beijing_datetime_to_ns(datetime(2024, 1, 3, 9, 30))
# Placed by another client on the account: one resting, one filled.
RESTING = order_record("o1", CU, "SELL", "CLOSE", 1, 1, 68500.0, alive=True, insert_ns=T0)
DONE = order_record("o2", CU, "BUY", "OPEN", 2, 0, 67990.0, alive=False, insert_ns=T0 + 1)


def _ticks(n: int = 5) -> np.ndarray:
    t = empty_ticks(n)
    t["datetime_ns"] = beijing_datetime_to_ns(datetime(2024, 1, 3, 9, 59, 0)) + np.arange(n) * 500_000_000
    for name in ("last_price", "average", "highest", "lowest"):
        t[name] = 68000.0
    t["volume"], t["amount"], t["open_interest"] = 10.0, 3.4e6, 1000.0
    for i in range(1, 6):
        bp, bv, ap, av = level_fields(i)
        t[bp], t[bv], t[ap], t[av] = 68000.0 - 10 * (i - 1), 5.0, 68000.0 + 10 * i, 5.0
    return t


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeShinny]:
    fake = FakeShinny(quote_datetime="2024-01-03 10:00:00.000000")
    fake.add_instruments(future_instrument(CU, expire_day=date(2024, 2, 19), expired=False))
    fake.set_ticks(CU, _ticks())
    fake.add_trade_account(
        FakeTradeAccount("81234567", "pw-1", broker_id="FAKEBROKER", balance=500_000.0,
                         positions={CU: {"pos_long_his": 1}}, orders={"o1": RESTING, "o2": DONE},
                         trades={"t1": trade_record("t1", DONE, 2, 67990.0, T0 + 2)})
    )  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "tqsdk.changelog_notification", types.ModuleType("tqsdk.changelog_notification"))
    for key in list(__import__("os").environ):
        if key.startswith(("TQ_", "GHTRADER_")):
            monkeypatch.delenv(key)
    with fake:
        for key, value in fake.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("TQ_TD_URL", fake.td_url)
        monkeypatch.setenv("TQ_BROKER_ID", "FAKEBROKER")
        monkeypatch.setenv("TQ_ACCOUNT_ID", "81234567")
        monkeypatch.setenv("TQ_ACCOUNT_PASSWORD", "pw-1")
        yield fake


class _Calendar:
    def load(self) -> object:
        raise AssertionError("live mode needs no simulated venue")


def test_live_executor_and_feed_share_one_tqapi(fake: FakeShinny) -> None:
    settings = Settings(provider="synthetic", tqsdk_user=fake.user, tqsdk_password=fake.password)
    live = _LiveSessions()
    make_execution = _execution_factory(_Calendar(), settings, live)  # type: ignore[arg-type]
    make_feed = _trading_feed_factory(settings, lambda: None, lambda: None, None, live)  # type: ignore[arg-type]
    request = TradingRunRequest(mode="live", model_id="m", monitor_only=True)

    execution = make_execution(request, contract_spec(CU))
    feed = make_feed(0, 0.0)  # provider is synthetic, yet a live run's feed is TqSdk's, on the same TqApi
    assert isinstance(execution, TqSdkDirectExecution) and isinstance(feed, TqSdkLiveFeed)
    snap = execution.account(1)
    assert snap.balance == 500_000.0 and [(p.symbol, p.long_yd) for p in snap.positions] == [(CU, 1)]

    seen: list[int] = []
    events = []

    def on_ticks(symbol: str, batch: np.ndarray) -> None:
        for i in range(batch.shape[0]):
            events.extend(execution.on_tick(symbol, batch[i]))
            seen.append(int(batch["datetime_ns"][i]))

    feed.run([CU], on_ticks, lambda: len(seen) >= 5)
    assert len(seen) == 5
    # monitor-only observes the account's own orders and fills, whoever placed them
    assert [(e.kind, e.order.order_id) for e in events] == [
        ("order_update", "o1"), ("trade_fill", "o2"), ("order_update", "o2")
    ]  # fmt: skip
    assert events[1].fill_qty == 2 and events[1].fill_price == 67990.0 and events[1].time_ns == T0 + 2
    assert events[0].order.status == codes.LIVE and events[2].order.status == codes.FILLED
    assert [(o.order_id, o.request.side, o.request.offset) for o in execution.orders_alive()] == [
        ("o1", codes.SELL, codes.CLOSE)
    ]
    # ... and can send nothing: submit refused, cancel ignored
    with pytest.raises(FailedPrecondition, match="read-only"):
        execution.submit(OrderRequest(CU, codes.BUY, 1, 68010.0), 1)
    execution.cancel("o1", 1)
    execution.poll(0.3)
    assert not {"insert_order", "cancel_order"} & set(fake.stats.td_requests)
    assert (fake.stats.md_connections, fake.stats.td_connections) == (1, 1)  # one TqApi for both
    assert execution.api is not None  # the feed let go; the executor still holds the TqApi
    execution.close()
    assert "refs=0" in repr(execution.shared)
    assert live.take() is None  # the session went to this run's feed, and only once


def test_live_run_for_an_unknown_profile_is_refused(fake: FakeShinny) -> None:
    settings = Settings(tqsdk_user=fake.user, tqsdk_password=fake.password)
    make_execution = _execution_factory(_Calendar(), settings, _LiveSessions())  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="nosuch"):
        make_execution(TradingRunRequest(mode="live", model_id="m", account="nosuch"), contract_spec(CU))


def test_a_tqkq_account_logs_in_to_the_gateway(fake: FakeShinny) -> None:
    """TqKq logs in as the Shinny user itself (TqSdk uses the token's ``sub`` as the account id
    and as its password, broker "快期模拟")."""
    from ghtrader.adapters.tqsdk import SharedTqApi, TqAccountSpec, TqSdkConfig

    user = f"sub-{fake.user}"
    fake.add_trade_account(FakeTradeAccount(user, user, broker_id="快期模拟", balance=10_000_000.0))
    config = TqSdkConfig(fake.user, fake.password, md_url=fake.md_url, auth_url=fake.auth_url, ins_url=fake.ins_url)
    execution = TqSdkDirectExecution(SharedTqApi(config, TqAccountSpec("kq")))
    try:
        assert execution.account(0).balance == 10_000_000.0 and execution.positions() == []
    finally:
        execution.close()
    assert fake.stats.td_connections == 1


def test_a_session_released_before_its_feed_is_never_handed_to_a_later_run(fake: FakeShinny) -> None:
    """A live preflight failing after the executor (e.g. the risk engine) closes the executor; the
    next run's feed (paper: no executor) must not pick the broker session up."""
    settings = Settings(provider="synthetic", tqsdk_user=fake.user, tqsdk_password=fake.password)
    live = _LiveSessions()
    execution = _execution_factory(_Calendar(), settings, live)(  # type: ignore[arg-type]
        TradingRunRequest(mode="live", model_id="m", monitor_only=True), contract_spec(CU)
    )
    assert isinstance(execution, TqSdkDirectExecution)
    execution.close()  # what StartTradingRun does when the preflight fails
    feed = _trading_feed_factory(settings, lambda: None, lambda: None, None, live)(0, 0.0)  # type: ignore[arg-type]
    assert not isinstance(feed, TqSdkLiveFeed)  # the configured (synthetic) feed, not the broker session
    assert live.take() is None
