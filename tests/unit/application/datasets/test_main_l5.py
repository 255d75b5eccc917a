"""BuildMainL5: KQ.m@SHFE.cu spliced from the scheduled contracts' raw ticks (a few synthetic days
around a roll)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ghtrader.application.audit import AuditStoreRequest
from ghtrader.application.datasets.main_l5 import BuildMainL5Request
from ghtrader.application.datasets.schedule import BuildMainScheduleRequest
from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.stores import NoDataDay
from ghtrader.domain.ticks import MARKET_FIELDS, row_hash
from tests.unit.application.datasets.conftest import DatasetWorld

ALIAS = "KQ.m@SHFE.cu"
CONTRACTS = ["SHFE.cu2403", "SHFE.cu2404", "SHFE.cu2405"]
FAR = (date(2000, 1, 1), date(2100, 1, 1))


@pytest.fixture
def days(dworld: DatasetWorld) -> list[date]:
    days = dworld.cal.trading_days(date(2024, 2, 15), date(2024, 2, 23))
    dworld.store_market_days(days, CONTRACTS)
    dworld.add_catalog(days)
    dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu"))
    return days


def assert_equals_raw(world: DatasetWorld) -> None:
    """Every main_l5 day is exactly the raw day of its scheduled contract, with provenance."""
    schedule = world.schedules.load_schedule("SHFE", "cu")
    assert schedule is not None
    for row in schedule.rows:
        main = world.ticks.read_ticks(ALIAS, "main_l5", row.trading_day, row.trading_day)
        raw = world.ticks.read_ticks(row.main_contract, "raw", row.trading_day, row.trading_day)
        assert len(main) == len(raw) > 0
        for name in ("datetime_ns", *MARKET_FIELDS):
            np.testing.assert_array_equal(main.ticks[name], raw.ticks[name], err_msg=f"{row.trading_day} {name}")
        np.testing.assert_array_equal(main.row_hash, raw.row_hash)
        np.testing.assert_array_equal(main.row_hash, row_hash(main.ticks))
        assert set(main.underlying_contract.tolist()) == {row.main_contract}  # type: ignore[union-attr]
        assert set(main.segment_id.tolist()) == {row.segment_id}  # type: ignore[union-attr]


def test_main_l5_rows_equal_the_scheduled_raw_rows(dworld: DatasetWorld, days: list[date]) -> None:
    result = dworld.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))
    schedule = dworld.schedules.load_schedule("SHFE", "cu")
    assert schedule is not None
    assert len({r.main_contract for r in schedule.rows}) == 2  # the window holds a roll
    assert result.days_built == len(schedule) == len(days) - 1 and result.missing_days == []
    assert_equals_raw(dworld)
    stored = dworld.ticks.read_ticks(ALIAS, "main_l5", *FAR)
    assert set(stored.schedule_hash.tolist()) == {schedule.schedule_hash}  # type: ignore[union-attr]
    assert result.rows_written == len(stored)

    # manifests LAST and right; provenance per day; build metadata
    manifests = dworld.index.manifests(ALIAS, "main_l5")
    assert [m.trading_day for m in manifests] == list(schedule.days)
    fresh = compute_manifests(ALIAS, "main_l5", stored.trading_day, stored.row_hash, stored.ticks, 0)
    assert all(a.same_content(b) for a, b in zip(manifests, fresh, strict=True))
    prov = dworld.datasets.main_l5_provenance(ALIAS)
    assert [(p.trading_day, p.underlying_contract, p.segment_id, p.rows_total) for p in prov] == [
        (r.trading_day, r.main_contract, r.segment_id, m.rows_total)
        for r, m in zip(schedule.rows, manifests, strict=True)
    ]
    assert all(p.source_rows == p.rows_total and p.schedule_hash == schedule.schedule_hash for p in prov)
    meta = dworld.datasets.get_build(result.build_id or "")
    assert meta is not None and meta.kind == "main_l5" and meta.config_hash == schedule.schedule_hash

    # the audit's main_l5-vs-raw check passes on the result
    audit = dworld.audit()(AuditStoreRequest(symbols=(ALIAS,), ticks_lakes=("main_l5",)))
    assert audit.ok, audit.findings
    assert audit.checks["main_l5"].checked == len(schedule) and audit.checks["index"].errors == 0


def test_rerun_is_idempotent_and_incremental(dworld: DatasetWorld, days: list[date]) -> None:
    first = dworld.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))
    before = dworld.ticks.read_ticks(ALIAS, "main_l5", *FAR)
    builds_before = len(dworld.datasets.builds("main_l5"))

    again = dworld.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))
    assert (again.days_built, again.days_unchanged, again.build_id) == (0, first.days_built, None)
    after = dworld.ticks.read_ticks(ALIAS, "main_l5", *FAR)
    np.testing.assert_array_equal(after.ticks, before.ticks)
    assert len(dworld.datasets.builds("main_l5")) == builds_before

    # two more days: the schedule grows, only the new days are built
    more = dworld.cal.trading_days(date(2024, 2, 26), date(2024, 2, 27))
    dworld.store_market_days(more, CONTRACTS)
    dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu"))
    grown = dworld.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))
    assert grown.built == more and grown.days_unchanged == first.days_built
    assert_equals_raw(dworld)

    forced = dworld.main_l5_use_case()(BuildMainL5Request("SHFE.cu", force=True))
    assert forced.days_built == first.days_built + 2
    np.testing.assert_array_equal(dworld.ticks.read_ticks(ALIAS, "main_l5", *FAR).ticks[: len(before)], before.ticks)


def test_changed_raw_day_and_schedule_change_are_rebuilt(dworld: DatasetWorld, days: list[date]) -> None:
    dworld.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))
    schedule = dworld.schedules.load_schedule("SHFE", "cu")
    assert schedule is not None
    day = schedule.rows[2].trading_day
    contract = schedule.rows[2].main_contract
    # the raw day is re-downloaded with fewer rows: main_l5 follows it
    raw = dworld.ticks.read_ticks(contract, "raw", day, day).ticks
    dworld.ticks.delete_days(contract, "raw", [day])
    dworld.store(contract, raw[::2].copy())
    result = dworld.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))
    assert result.built == [day]
    assert_equals_raw(dworld)

    # a schedule that no longer covers the first days: those main_l5 days are removed
    later = schedule.rows[3].trading_day
    dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu", start_day=schedule.rows[2].trading_day))
    shrunk = dworld.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))
    assert shrunk.removed_days == list(schedule.days[:3])  # the new first input day only seeds the main
    assert dworld.ticks.tick_days(ALIAS, "main_l5")[0] == later
    assert dworld.index.manifests(ALIAS, "main_l5")[0].trading_day == later
    assert dworld.datasets.main_l5_provenance(ALIAS)[0].trading_day == later
    # segment ids restart at 0 in the new schedule: the kept days were rewritten with them
    assert_equals_raw(dworld)


def test_missing_underlying_day_is_reported(dworld: DatasetWorld, days: list[date]) -> None:
    schedule = dworld.schedules.load_schedule("SHFE", "cu")
    assert schedule is not None
    gap = schedule.rows[1]
    dworld.index.delete_manifests(gap.main_contract, "raw", [gap.trading_day])  # uncommitted raw day
    result = dworld.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))
    assert result.missing_days == [gap.trading_day]
    assert gap.trading_day not in dworld.ticks.tick_days(ALIAS, "main_l5")


def test_underlying_without_ticks_is_a_recorded_no_data_day(dworld: DatasetWorld, days: list[date]) -> None:
    schedule = dworld.schedules.load_schedule("SHFE", "cu")
    assert schedule is not None
    gap = schedule.rows[1]
    main_l5 = dworld.main_l5_use_case()
    assert gap.trading_day in [d for d in main_l5(BuildMainL5Request("SHFE.cu")).built]
    # The vendor now has no ticks for that contract-day: the raw day goes to the no-data ledger.
    dworld.index.delete_manifests(gap.main_contract, "raw", [gap.trading_day])
    dworld.ticks.delete_days(gap.main_contract, "raw", [gap.trading_day])
    dworld.index.record_no_data([NoDataDay(gap.main_contract, gap.trading_day, "raw", "provider returned no ticks")])
    result = main_l5(BuildMainL5Request("SHFE.cu"))
    assert result.missing_days == []
    assert [(g.trading_day, g.underlying_contract) for g in result.no_data_days] == [
        (gap.trading_day, gap.main_contract)
    ]
    assert "provider returned no ticks" in result.no_data_days[0].reason
    assert gap.trading_day not in dworld.ticks.tick_days(ALIAS, "main_l5")
    (ledger,) = dworld.index.no_data_days(ALIAS, "main_l5")
    assert ledger.trading_day == gap.trading_day and gap.main_contract in ledger.reason

    # The data arrives later: the day is built and leaves the derived ledger.
    dworld.index.clear_no_data(gap.main_contract, "raw", [gap.trading_day])
    dworld.store(gap.main_contract, dworld.market.ticks(gap.main_contract, gap.trading_day))
    again = main_l5(BuildMainL5Request("SHFE.cu"))
    assert again.no_data_days == [] and gap.trading_day in again.built
    assert dworld.index.no_data_days(ALIAS, "main_l5") == []


def test_without_a_schedule_it_fails_clearly(dworld: DatasetWorld) -> None:
    with pytest.raises(FailedPrecondition, match="main-schedule"):
        dworld.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))


def test_a_schedule_built_with_another_ratio_needs_no_ratio_again(dworld: DatasetWorld, days: list[date]) -> None:
    dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu", switch_ratio=1.3))
    built = dworld.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))  # the stored ratio is used
    assert built.days_built > 0
    with pytest.raises(FailedPrecondition, match="built with switch_ratio=1.3"):
        dworld.main_l5_use_case()(BuildMainL5Request("SHFE.cu", switch_ratio=1.1))
