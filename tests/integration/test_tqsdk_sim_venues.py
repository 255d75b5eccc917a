"""``trade --mode sim --venue tqsim|tqkq`` as the container wires it, against the fake Shinny
services: the run's feed is TqSdk's live tick serial of the fake market (ticks pushed while the
run goes), its orders go to TqSdk's own TqSim account or, for TqKq, through the fake trading
gateway; the run writes its four files and says which account it traded."""

from __future__ import annotations

import json
import sys
import threading
import types
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.tqsdk import TqSdkDirectExecution, TqSdkLiveFeed, TqSdkTargetPosExecution
from ghtrader.adapters.tqsdk.loader import import_tqsdk
from ghtrader.application.trading.risk_setup import risk_engine_factory
from ghtrader.container import _execution_factory, _LiveSessions, _trading_feed_factory
from ghtrader.domain.instruments import contract_spec
from ghtrader.settings import Settings
from tests.fakes.shinny import FakeShinny, FakeTradeAccount, future_instrument
from tests.unit.application.trading.world import OLD, TradingWorld, _CalendarOf, bj, build_world

import_tqsdk()  # a missing tqsdk fails here, never skips

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(240),
    pytest.mark.filterwarnings("ignore:coroutine 'TqApi._notify_watcher' was never awaited:RuntimeWarning"),
]

START = bj(2026, 11, 23, 13, 40)  # DAY1's afternoon session: no roll before the run ends
LOOSE = {"max_daily_loss": 1e9, "max_drawdown": 1e9, "per_symbol_loss_limit": 1e9, "max_consecutive_losses": 1000}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> TradingWorld:
    return build_world(Path(tmp_path_factory.mktemp("venues")))


@pytest.fixture
def fake(world: TradingWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeShinny]:
    fake = FakeShinny(quote_datetime="2026-11-23 13:40:00.000000")
    fake.add_instruments(future_instrument(OLD, expire_day=date(2026, 12, 15), expired=False))
    ticks = world.ticks[OLD]
    fake.set_ticks(OLD, ticks[ticks["datetime_ns"] <= START])
    user = f"sub-{fake.user}"
    fake.add_trade_account(FakeTradeAccount(user, user, broker_id="快期模拟", balance=1_000_000.0,
                                            available=1_000_000.0, margin=0.0, float_profit=0.0,
                                            position_profit=0.0))  # fmt: skip
    monkeypatch.setitem(sys.modules, "tqsdk.changelog_notification", types.ModuleType("tqsdk.changelog_notification"))
    for key in list(__import__("os").environ):
        if key.startswith(("TQ_", "GHTRADER_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TQSDK_RUN_TEST", "1")  # TqSim judges trading hours by the quote's time
    with fake:
        for key, value in fake.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("TQ_TD_URL", fake.td_url)
        yield fake


def _pusher(fake: FakeShinny, ticks: np.ndarray, stop: threading.Event) -> threading.Thread:
    """Pushes the market after START in small batches (a live market at high speed)."""
    later = ticks[ticks["datetime_ns"] > START]

    def run() -> None:
        for i in range(0, later.shape[0], 10):
            if stop.wait(0.05):
                return
            fake.push_ticks(OLD, later[i : i + 10])

    return threading.Thread(target=run, name="pusher", daemon=True)


@pytest.mark.parametrize(("venue", "executor"), [("tqsim", "direct"), ("tqkq", "direct"), ("tqkq", "target")])
def test_a_sim_run_on_a_tqsdk_venue(world: TradingWorld, fake: FakeShinny, venue: str, executor: str) -> None:
    settings = Settings(provider="synthetic", tqsdk_user=fake.user, tqsdk_password=fake.password)
    live = _LiveSessions()
    make_execution = _execution_factory(_CalendarOf(world.market), settings, live)  # type: ignore[arg-type]
    make_feed = _trading_feed_factory(settings, lambda: None, lambda: None, world.clock, live)  # type: ignore[arg-type]
    limits = dict(LOOSE)
    request = world.request(mode="sim", venue=venue, executor=executor, replay_from_ns=0, max_ticks=400,
                            risk_limits=limits)  # fmt: skip
    execution = make_execution(request, contract_spec(OLD))  # logs in now (TqKq: the fake gateway)
    kind = TqSdkDirectExecution if executor == "direct" else TqSdkTargetPosExecution
    assert isinstance(execution, kind)
    feeds: list[object] = []

    def feed(replay_from_ns: int, speedup: float) -> object:
        f = make_feed(replay_from_ns, speedup)
        feeds.append(f)
        return f

    risk = risk_engine_factory(_CalendarOf(world.market))(limits, contract_spec(OLD))
    world.clock.now = START
    run = world.start(venue=execution, risk=risk, feed=feed)(request)
    assert isinstance(feeds[0], TqSdkLiveFeed)  # the run's feed shares the account's TqApi
    stop = threading.Event()
    pusher = _pusher(fake, world.ticks[OLD], stop)
    pusher.start()
    try:
        status = run.run()
    finally:
        stop.set()
        pusher.join(10)
    assert status["status"] == "finished" and status["stop_reason"] == "max_ticks", status.get("error")
    d = world.store.root / run.run_id
    for name in ("run_config.json", "snapshots.jsonl", "events.jsonl", "state.json"):
        assert (d / name).is_file(), name
    config = json.loads((d / "run_config.json").read_text())
    assert config["account_type"] == venue and config["venue"] == venue
    assert config["executor"] == ("direct/fak" if executor == "direct" else "target/ACTIVE")
    assert config["symbols"]["resolved"] == OLD
    events = [json.loads(x) for x in (d / "events.jsonl").read_text().splitlines()]
    kinds = [e["kind"] for e in events]
    sent = "order_new" if executor == "direct" else "executor_target"  # the task sends its own orders
    assert "target_change" in kinds and sent in kinds and "trade_fill" in kinds, sorted(set(kinds))
    fills = [e for e in events if e["kind"] == "trade_fill"]
    assert all(e["order"]["symbol"] == OLD for e in fills)
    if venue == "tqkq":
        assert fake.stats.orders, "the orders went through the trading gateway"
    else:
        assert fake.stats.orders == [] and fake.stats.td_connections == 0  # TqSim trades locally
    snaps = [json.loads(x) for x in (d / "snapshots.jsonl").read_text().splitlines()]
    assert snaps and snaps[-1]["account_meta"]["mode"] == "sim"
