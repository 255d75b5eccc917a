"""The SQLite update ledger (claims race across processes) and the server's APScheduler
(persistent SQLite job store, coalesce and misfire grace, removal of unconfigured schedules)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ghtrader.adapters.scheduling import ServerScheduler, SqliteUpdateLedger
from ghtrader.adapters.scheduling import scheduler as scheduler_module

DAY = date(2024, 3, 13)


_CLAIM = """
import sys, time
from datetime import date
from pathlib import Path
from ghtrader.adapters.scheduling import SqliteUpdateLedger
ledger = SqliteUpdateLedger(Path(sys.argv[1]))
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
print(ledger.claim("SHFE:cu", date(2024, 3, 13), time.time_ns()))
"""


def test_ledger_claims_once_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "schedules.db"
    SqliteUpdateLedger(path)
    start = time.time() + 3.0
    procs = [
        subprocess.Popen([sys.executable, "-c", _CLAIM, str(path), str(start)], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    got = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(got) == ["False"] * 5 + ["True"]


def test_ledger_attach_release_entries(tmp_path: Path) -> None:
    ledger = SqliteUpdateLedger(tmp_path / "s.db")
    assert ledger.claim("SHFE:cu", DAY, 1) and not ledger.claim("SHFE:cu", DAY, 2)
    assert ledger.claim("SHFE:au", DAY, 3)
    ledger.attach("SHFE:cu", DAY, 42)
    assert [(e.target, e.job_id) for e in ledger.entries()] == [("SHFE:au", 0), ("SHFE:cu", 42)]
    ledger.release("SHFE:au", DAY)
    assert ledger.claim("SHFE:au", DAY, 4)  # a released claim can be made again
    assert len(SqliteUpdateLedger(tmp_path / "s.db").entries()) == 2  # persisted


def test_schedules_persist_and_unconfigured_ones_are_removed(tmp_path: Path) -> None:
    db = tmp_path / "schedules.db"
    calls: list[str] = []
    first = ServerScheduler(db, misfire_grace_s=600)
    first.add_cron("daily_update", "30 16 * * mon-fri", "daily update", lambda: calls.append("u") or "ok")
    first.add_cron("old", "0 1 * * *", "something retired", lambda: "old")
    first.start()
    listed = {s.schedule_id: s for s in first.schedules()}
    assert set(listed) == {"daily_update", "old"}
    s = listed["daily_update"]
    assert s.coalesce and s.misfire_grace_s == 600 and s.timezone == "Asia/Shanghai"
    nxt = datetime.fromtimestamp(s.next_run_ns / 1e9, ZoneInfo("Asia/Shanghai"))
    assert (nxt.hour, nxt.minute) == (16, 30) and nxt.weekday() < 5
    assert first.run_now("daily_update") == "ok" and calls == ["u"]
    with pytest.raises(KeyError):
        first.run_now("nope")
    first.shutdown()

    # a restarted server: the stored schedule is found; the one it no longer configures goes
    second = ServerScheduler(db, misfire_grace_s=600)
    second.add_cron("daily_update", "30 16 * * mon-fri", "daily update", lambda: "ok")
    second.start()
    try:
        assert [s.schedule_id for s in second.schedules()] == ["daily_update"]
        assert second.schedules()[0].next_run_ns == s.next_run_ns
    finally:
        second.shutdown()


def test_a_bad_crontab_is_refused(tmp_path: Path) -> None:
    sched = ServerScheduler(tmp_path / "s.db")
    with pytest.raises(ValueError):
        sched.add_cron("x", "61 25 * * *", "bad", lambda: "")


def _wait(cond, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(
    ("grace_s", "late", "fired_expected"),
    [(3600, timedelta(minutes=5), True), (60, timedelta(hours=2), False)],
    ids=["within-grace-coalesced", "beyond-grace-missed"],
)
def test_missed_runs_coalesce_within_the_grace_and_are_skipped_beyond_it(
    tmp_path: Path, grace_s: int, late: timedelta, fired_expected: bool
) -> None:
    """A server down over firings: within the grace time the backlog runs once (coalesce);
    beyond it the run is skipped and recorded as missed."""
    db = tmp_path / "s.db"
    calls: list[int] = []

    def callback() -> str:
        calls.append(1)
        return "fired"

    past = (datetime.now(ZoneInfo("Asia/Shanghai")) - late).replace(second=0, microsecond=0)
    # within the grace: every minute (five missed minutes); beyond it: daily at the missed minute
    crontab = "* * * * *" if fired_expected else f"{past.minute} {past.hour} * * *"
    sched = ServerScheduler(db, misfire_grace_s=grace_s)
    sched.add_cron("job", crontab, "test", callback)
    sched.start()
    sched.shutdown()
    # as if the server had been down: the stored next run lies in the past
    back = ServerScheduler(db, misfire_grace_s=grace_s)
    back.add_cron("job", crontab, "test", callback)
    back._scheduler.start(paused=True)  # noqa: SLF001 - set the stored run time before firing
    back.job("job").modify(next_run_time=past)
    back._scheduler.resume()  # noqa: SLF001
    try:
        assert _wait(lambda: scheduler_module._LAST.get("job", (0, ""))[0] > 0)  # noqa: SLF001
        said = scheduler_module._LAST["job"][1]  # noqa: SLF001
        if fired_expected:
            assert said == "fired" and len(calls) == 1  # five missed minutes ran once
        else:
            assert said.startswith("missed the run of") and calls == []
    finally:
        back.shutdown()
        scheduler_module._LAST.clear()  # noqa: SLF001
