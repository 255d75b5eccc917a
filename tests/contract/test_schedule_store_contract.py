"""ScheduleStore contract: one schedule per variety, saved atomically, loaded with its hash checked."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.datasets import ScheduleStore
from ghtrader.application.ports.stores import StoreBundle
from ghtrader.domain.schedule import MainSchedule, ScheduleRow


@pytest.fixture
def schedules(stores: StoreBundle) -> ScheduleStore:
    return stores.schedules


def _schedule(n: int, *, variety: str = "cu", roll_at: int = 3, ratio: float = 1.1) -> MainSchedule:
    day0 = date(2024, 3, 4)
    rows = []
    for i in range(n):
        contract = f"SHFE.{variety}2404" if i < roll_at else f"SHFE.{variety}2405"
        rows.append(ScheduleRow(day0 + timedelta(days=i), contract, 0 if i < roll_at else 1))
    return MainSchedule.from_rows(rows, exchange="SHFE", variety=variety, switch_ratio=ratio)


def test_save_load_round_trip_keeps_rows_and_hash(schedules: ScheduleStore) -> None:
    assert schedules.load_schedule("SHFE", "cu") is None
    assert schedules.schedule_hashes("SHFE", "cu") == []
    s = _schedule(6)
    schedules.save_schedule(s)
    got = schedules.load_schedule("SHFE", "cu")
    assert got is not None
    assert got.rows == s.rows and got.schedule_hash == s.schedule_hash
    assert schedules.schedule_hashes("SHFE", "cu") == [s.schedule_hash]
    schedules.save_schedule(s)  # idempotent
    assert schedules.schedule_hashes("SHFE", "cu") == [s.schedule_hash]


def test_a_new_schedule_replaces_the_old_one_per_variety(schedules: ScheduleStore) -> None:
    schedules.save_schedule(_schedule(6))
    au = _schedule(4, variety="au", roll_at=2)
    schedules.save_schedule(au)
    longer = _schedule(9, roll_at=5)
    schedules.save_schedule(longer)
    got = schedules.load_schedule("SHFE", "cu")
    assert got is not None and got.rows == longer.rows
    assert schedules.schedule_hashes("SHFE", "cu") == [longer.schedule_hash]
    got_au = schedules.load_schedule("SHFE", "au")
    assert got_au is not None and got_au.schedule_hash == au.schedule_hash


def test_the_switch_ratio_is_stored_and_another_one_is_refused(schedules: ScheduleStore) -> None:
    s = _schedule(5, ratio=1.2)
    schedules.save_schedule(s)
    got = schedules.load_schedule("SHFE", "cu")  # no ratio named: the stored one
    assert got is not None and got.switch_ratio == 1.2 and got.schedule_hash == s.schedule_hash
    with pytest.raises(FailedPrecondition, match=r"switch_ratio=1\.1.*built with switch_ratio=1\.2"):
        schedules.load_schedule("SHFE", "cu", switch_ratio=1.1)
    got = schedules.load_schedule("SHFE", "cu", switch_ratio=1.2)
    assert got is not None and got.schedule_hash == s.schedule_hash
