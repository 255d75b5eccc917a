"""The daily update rule: at most one scheduled update per trading day and target, none while
one is queued or running, a failed submission retried; over the whole bundled calendar."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghtrader.adapters.filesystem.calendar_cache import bundled_holidays_text
from ghtrader.application.daily_update import (
    LedgerEntry,
    ScheduleDailyTrain,
    ScheduleDailyUpdates,
    UpdateTarget,
    last_closed_trading_day,
    parse_targets,
    parse_train_symbols,
)
from ghtrader.application.errors import InvalidArgument
from ghtrader.domain.calendar import TradingCalendar, parse_holidays
from ghtrader.domain.instruments import contract_spec

BJ = ZoneInfo("Asia/Shanghai")
CAL = TradingCalendar(parse_holidays(bundled_holidays_text()))
CU, AU = UpdateTarget("SHFE", "cu"), UpdateTarget("SHFE", "au")


def _ns(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> int:
    return int(datetime(y, m, d, hh, mm, tzinfo=BJ).timestamp() * 1e9)


class MemoryLedger:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, date], LedgerEntry] = {}
        self._lock = threading.Lock()

    def claim(self, target: str, trading_day: date, now_ns: int) -> bool:
        with self._lock:
            if (target, trading_day) in self.rows:
                return False
            self.rows[(target, trading_day)] = LedgerEntry(target, trading_day, now_ns, 0)
            return True

    def attach(self, target: str, trading_day: date, job_id: int) -> None:
        e = self.rows[(target, trading_day)]
        self.rows[(target, trading_day)] = LedgerEntry(e.target, e.trading_day, e.claimed_ns, job_id)

    def release(self, target: str, trading_day: date) -> None:
        self.rows.pop((target, trading_day), None)

    def entries(self, limit: int = 50) -> list[LedgerEntry]:
        return sorted(self.rows.values(), key=lambda e: -e.claimed_ns)[:limit]


class FakeJobs:
    """Submitted jobs stay queued until ``finish_all``."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, int]] = []
        self.queued: dict[str, int] = {}
        self.fail_next = False

    def active_update(self, target: UpdateTarget) -> int | None:
        return self.queued.get(target.key)

    def submit_update(self, target: UpdateTarget, recent_expired_days: int) -> int:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("registry busy")
        self.submitted.append((target.key, recent_expired_days))
        self.queued[target.key] = len(self.submitted)
        return len(self.submitted)

    def finish_all(self) -> None:
        self.queued.clear()


def test_parse_targets() -> None:
    assert parse_targets("SHFE:cu, SHFE:au,SHFE:cu,") == (CU, AU)
    assert parse_targets("") == ()
    for bad in ("SHFE.cu", "DCE:m", "SHFE:zz"):
        with pytest.raises(InvalidArgument, match="daily update target"):
            parse_targets(bad)


def test_last_closed_trading_day_around_the_sessions() -> None:
    # Wednesday 2024-03-13: the day session closes at 15:00
    assert last_closed_trading_day(CAL, CU, _ns(2024, 3, 13, 14, 59)) == date(2024, 3, 12)
    assert last_closed_trading_day(CAL, CU, _ns(2024, 3, 13, 15, 0)) == date(2024, 3, 13)
    # Friday evening's night session belongs to Monday, which has not closed
    assert last_closed_trading_day(CAL, CU, _ns(2024, 3, 15, 22, 0)) == date(2024, 3, 15)
    assert last_closed_trading_day(CAL, CU, _ns(2024, 3, 17, 12, 0)) == date(2024, 3, 15)  # Sunday
    # the National Day week: the last trading day before it
    assert last_closed_trading_day(CAL, AU, _ns(2024, 10, 4, 16, 30)) == date(2024, 9, 30)


def test_one_update_per_trading_day_none_while_active_and_a_failure_is_retried() -> None:
    jobs, ledger = FakeJobs(), MemoryLedger()
    run = ScheduleDailyUpdates([CU, AU], CAL, jobs, ledger, recent_expired_days=10)
    first = run(_ns(2024, 3, 13, 16, 30))
    assert [(d.target, d.action, d.trading_day) for d in first] == [
        ("SHFE:cu", "submitted", date(2024, 3, 13)),
        ("SHFE:au", "submitted", date(2024, 3, 13)),
    ]
    assert jobs.submitted == [("SHFE:cu", 10), ("SHFE:au", 10)]
    again = run(_ns(2024, 3, 13, 17, 0))  # still queued
    assert [d.action for d in again] == ["already_active", "already_active"] and again[0].job_id == 1
    jobs.finish_all()
    done = run(_ns(2024, 3, 13, 18, 0))  # finished: the day already got its update
    assert [d.action for d in done] == ["already_done", "already_done"]
    jobs.fail_next = True
    nxt = run(_ns(2024, 3, 14, 16, 30))
    assert [d.action for d in nxt] == ["failed", "submitted"] and "registry busy" in nxt[0].reason
    assert (CU.key, date(2024, 3, 14)) not in ledger.rows  # the claim was given back
    retry = run(_ns(2024, 3, 14, 16, 45))
    assert [d.action for d in retry] == ["submitted", "already_active"]
    assert ledger.rows[(CU.key, date(2024, 3, 14))].job_id == retry[0].job_id


def test_two_schedulers_firing_together_submit_once() -> None:
    jobs, ledger = FakeJobs(), MemoryLedger()
    runs = [ScheduleDailyUpdates([CU], CAL, jobs, ledger) for _ in range(8)]
    barrier = threading.Barrier(len(runs))
    out: list[str] = []

    def go(r: ScheduleDailyUpdates) -> None:
        barrier.wait()
        out.extend(d.action for d in r(_ns(2024, 3, 13, 16, 30)))

    threads = [threading.Thread(target=go, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(jobs.submitted) == 1 and out.count("submitted") == 1


_START, _END = _ns(2018, 1, 2), _ns(2026, 12, 31)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(_START, _END), min_size=1, max_size=60),
    st.lists(st.booleans(), min_size=60, max_size=60),
)
def test_over_the_whole_calendar_at_most_one_update_per_trading_day(firings: list[int], finish: list[bool]) -> None:
    """Firings at random instants of 2018-2026 (jobs finishing or not in between): never two
    updates of one trading day, never one while another is active, every submission covers a
    trading day that had closed, and a firing after a new close with nothing active submits."""
    jobs, ledger = FakeJobs(), MemoryLedger()
    run = ScheduleDailyUpdates([CU], CAL, jobs, ledger)
    covered: list[date] = []
    for i, ns in enumerate(sorted(firings)):
        active_before = jobs.active_update(CU)
        (d,) = run(ns)
        assert CAL.is_trading_day(d.trading_day)
        assert d.trading_day < CAL.trading_day_of(ns) or (
            d.trading_day == CAL.trading_day_of(ns)
            and CAL.session_windows_ns(d.trading_day, contract_spec("SHFE.cu"))[-1][1] <= ns
        )
        if d.action == "submitted":
            assert active_before is None and d.trading_day not in covered
            covered.append(d.trading_day)
        elif active_before is None:
            assert d.action == "already_done" and d.trading_day in covered
        if finish[i % len(finish)]:
            jobs.finish_all()
    assert len(covered) == len(set(covered)) == len(jobs.submitted)


def test_a_negative_recent_expired_days_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="recent_expired_days"):
        ScheduleDailyUpdates([CU], CAL, FakeJobs(), MemoryLedger(), recent_expired_days=-1)


def test_last_closed_is_never_after_now_over_every_day() -> None:
    day = date(2018, 1, 1)
    while day < date(2027, 1, 1):
        for hh in (3, 15, 21):
            ns = _ns(day.year, day.month, day.day, hh, 5)
            got = last_closed_trading_day(CAL, CU, ns)
            assert CAL.is_trading_day(got) and got <= day
            assert (day - got) <= timedelta(days=12)  # the longest SHFE closure is about nine days
        day += timedelta(days=1)


class FakeTrainJobs:
    def __init__(self) -> None:
        self.submitted: list[str] = []
        self.active: dict[str, int] = {}

    def active_daily_train(self, symbol: str) -> int | None:
        return self.active.get(symbol)

    def submit_daily_train(self, symbol: str) -> int:
        self.submitted.append(symbol)
        self.active[symbol] = len(self.submitted)
        return len(self.submitted)


def test_daily_train_schedule_once_per_trading_day_per_symbol() -> None:
    assert parse_train_symbols("KQ.m@SHFE.cu, KQ.m@SHFE.au") == ("KQ.m@SHFE.cu", "KQ.m@SHFE.au")
    for bad in ("SHFE.cu2612", "KQ.m@DCE.m", "KQ.m@SHFE.zz"):
        with pytest.raises(InvalidArgument, match="daily-train symbol"):
            parse_train_symbols(bad)
    jobs, ledger = FakeTrainJobs(), MemoryLedger()
    run = ScheduleDailyTrain(["KQ.m@SHFE.cu"], CAL, jobs, ledger)
    (d,) = run(_ns(2024, 3, 13, 18, 0))
    assert (d.target, d.action, d.trading_day) == ("daily-train:KQ.m@SHFE.cu", "submitted", date(2024, 3, 13))
    assert run(_ns(2024, 3, 13, 18, 5))[0].action == "already_active"
    jobs.active.clear()
    assert run(_ns(2024, 3, 13, 19, 0))[0].action == "already_done"
    assert run(_ns(2024, 3, 14, 18, 0))[0].action == "submitted" and len(jobs.submitted) == 2
    # a daily-train claim does not block the update of the same variety's day, nor the reverse
    upd = ScheduleDailyUpdates([CU], CAL, FakeJobs(), ledger)
    assert upd(_ns(2024, 3, 14, 18, 30))[0].action == "submitted"
