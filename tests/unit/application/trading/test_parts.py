"""The runner's small parts: the direct executor, the symbol resolver, the run store."""

from __future__ import annotations

import json
import threading
from datetime import date
from pathlib import Path

import pytest

from ghtrader.adapters.filesystem.trading_runs import FilesystemTradingRunStore
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.trading.executor import DirectExecutor
from ghtrader.application.trading.symbols import SymbolResolver
from ghtrader.domain.microsim.codes import BUY, CLOSE, CLOSETODAY, FAK, FOK, LIMIT, OPEN, SELL
from ghtrader.domain.schedule import MainSchedule
from ghtrader.domain.trading.orders import Position

SYM = "SHFE.cu2701"


def _o(orders):  # type: ignore[no-untyped-def]
    return [(o.side, o.qty, o.price, o.kind, o.offset) for o in orders]


def test_executor_closes_today_then_yesterday_then_opens() -> None:
    ex = DirectExecutor("fak", aggressive=True)
    pos = Position(SYM, short_today=1, short_yd=2)
    assert _o(ex.orders(2, pos, 100.0, 110.0)) == [
        (BUY, 1, 110.0, FAK, CLOSETODAY), (BUY, 2, 110.0, FAK, CLOSE), (BUY, 2, 110.0, FAK, OPEN),
    ]  # fmt: skip
    assert _o(ex.orders(-1, pos, 100.0, 110.0)) == [(BUY, 1, 110.0, FAK, CLOSETODAY), (BUY, 1, 110.0, FAK, CLOSE)]
    assert ex.orders(-3, pos, 100.0, 110.0) == []
    long_yd = Position(SYM, long_yd=1)
    assert _o(ex.orders(-1, long_yd, 100.0, 110.0)) == [(SELL, 1, 100.0, FAK, CLOSE), (SELL, 1, 100.0, FAK, OPEN)]


def test_executor_passive_limit_and_fok() -> None:
    assert _o(DirectExecutor("limit", aggressive=False).orders(1, Position(SYM), 100.0, 110.0)) == [
        (BUY, 1, 100.0, LIMIT, OPEN)
    ]
    assert _o(DirectExecutor("fok").orders(-1, Position(SYM), 100.0, 110.0)) == [(SELL, 1, 100.0, FOK, OPEN)]
    with pytest.raises(InvalidArgument):
        DirectExecutor("market")


def _schedule(next_main: str | None = None) -> MainSchedule:
    rows = [(date(2026, 11, 20), "SHFE.cu2612", 0), (date(2026, 11, 23), "SHFE.cu2612", 0),
            (date(2026, 11, 24), "SHFE.cu2701", 1)]  # fmt: skip
    return MainSchedule.from_rows(rows, exchange="SHFE", variety="cu", next_main=next_main)


def test_resolver_follows_the_schedule_and_past_it() -> None:
    r = SymbolResolver("KQ.m@SHFE.cu", _schedule(), allow_alias=False)
    assert r.resolve(date(2026, 11, 23)).execution == "SHFE.cu2612"
    b = r.resolve(date(2026, 11, 24))
    assert (b.execution, b.binding, b.segment_id) == ("SHFE.cu2701", "schedule", 1)
    assert r.resolve(date(2026, 11, 27)).binding == "schedule_last"
    nxt = SymbolResolver("KQ.m@SHFE.cu", _schedule("SHFE.cu2702"), allow_alias=False).resolve(date(2026, 11, 25))
    assert (nxt.execution, nxt.binding) == ("SHFE.cu2702", "schedule_next")
    with pytest.raises(FailedPrecondition, match="starts after"):
        r.resolve(date(2026, 11, 19))


def test_resolver_without_a_schedule() -> None:
    with pytest.raises(FailedPrecondition, match="order-enabled modes need one"):
        SymbolResolver("KQ.m@SHFE.cu", None, allow_alias=False)
    b = SymbolResolver("KQ.m@SHFE.cu", None, allow_alias=True).resolve(date(2026, 11, 24))
    assert (b.execution, b.binding) == ("KQ.m@SHFE.cu", "alias")
    c = SymbolResolver(SYM, None, allow_alias=False).resolve(date(2026, 11, 24))
    assert (c.execution, c.binding) == (SYM, "contract")
    with pytest.raises(InvalidArgument):
        SymbolResolver("cu", None, allow_alias=True)


def test_run_store_files_and_commands(tmp_path: Path) -> None:
    store = FilesystemTradingRunStore(tmp_path / "trading")
    assert store.list_runs() == []
    path = Path(store.create("r1", {"mode": "paper"}))
    with pytest.raises(FailedPrecondition):
        store.create("r1", {})
    with pytest.raises(InvalidArgument):
        store.create("../x", {})
    store.update_config("r1", {"mode": "paper", "x": 1})
    assert store.read_config("r1") == {"mode": "paper", "x": 1} and store.list_runs() == ["r1"]
    for i in range(5):
        store.append_event("r1", {"kind": "target_change", "i": i})
    assert [e["i"] for e in store.tail_events("r1", 2)] == [3, 4]
    store.append_snapshot("r1", {"schema_version": 2, "ts": date(2026, 1, 1)})
    assert json.loads((path / "snapshots.jsonl").read_text())["ts"] == "2026-01-01"
    store.write_state("r1", {"status": "running"})
    assert store.read_state("r1") == {"status": "running"} and not list(path.glob(".*.tmp"))

    cmds, off = store.read_commands("r1", 0)
    assert (cmds, off) == ([], 0)
    store.append_command("r1", {"command": "halt"})
    with (path / "commands.jsonl").open("a") as fh:
        fh.write('{"command": "resu')  # a writer in the middle of a line
    cmds, off = store.read_commands("r1", 0)
    assert cmds == [{"command": "halt"}]
    with (path / "commands.jsonl").open("a") as fh:
        fh.write('me"}\n')
    cmds, _ = store.read_commands("r1", off)
    assert cmds == [{"command": "resume"}]
    with pytest.raises(FailedPrecondition):
        store.append_command("nope", {"command": "halt"})


def test_state_is_never_seen_half_written(tmp_path: Path) -> None:
    store = FilesystemTradingRunStore(tmp_path)
    store.create("r", {})
    big = {"events": [{"kind": "x", "payload": "y" * 500}] * 200}
    store.write_state("r", big)
    stop = threading.Event()
    bad: list[Exception] = []

    def read() -> None:
        while not stop.is_set():
            try:
                assert store.read_state("r") == big
            except Exception as exc:  # noqa: BLE001
                bad.append(exc)

    t = threading.Thread(target=read)
    t.start()
    for _ in range(50):
        store.write_state("r", big)
    stop.set()
    t.join()
    assert bad == []
