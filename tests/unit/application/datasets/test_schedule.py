"""BuildMainSchedule on a synthetic cu history (6 months of end-of-day open interest)."""

from __future__ import annotations

import itertools
import json
from datetime import date
from pathlib import Path

import pytest

from ghtrader.application.datasets.schedule import BuildMainScheduleRequest
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.stores import NoDataDay
from tests.unit.application.datasets.conftest import DatasetWorld

START, END = date(2024, 1, 2), date(2024, 6, 28)


def independent_mains(world: DatasetWorld, days: list[date]) -> dict[date, str]:
    """The OI rule recomputed straight from the simulator's end-of-day OI, without the domain
    code: the largest OI seeds the main; a challenger must beat 1.1x the main's OI; a contract
    is no candidate from its last trading day on; each decision is effective the next day."""
    mains: dict[date, str] = {}
    main: str | None = None
    for today, tomorrow in itertools.pairwise(days):
        oi = world.market.end_of_day_open_interest("SHFE.cu", today)
        live = {s: v for s, v in oi.items() if world.market.contract_life(s)[1] > today}
        ranked = sorted(live, key=lambda s: (-live[s], s))
        if main is None or main not in live:
            main = ranked[0]
        else:
            best = next(s for s in ranked if s != main)
            if live[best] > 1.1 * live[main]:
                main = best
        mains[tomorrow] = main
    return mains


@pytest.fixture
def history(dworld: DatasetWorld) -> list[date]:
    days = dworld.cal.trading_days(START, END)
    dworld.store_eod_only(days)
    dworld.add_catalog(days)
    return days


def test_schedule_follows_an_independent_oi_rule(dworld: DatasetWorld, history: list[date]) -> None:
    result = dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu"))
    expected = independent_mains(dworld, history)
    schedule = dworld.schedules.load_schedule("SHFE", "cu")
    assert schedule is not None and schedule.schedule_hash == result.schedule_hash

    assert [r.trading_day for r in schedule.rows] == history[1:]  # the first day only seeds the main
    assert {r.trading_day: r.main_contract for r in schedule.rows} == expected
    changes = [b.trading_day for a, b in itertools.pairwise(schedule.rows) if a.main_contract != b.main_contract]
    expected_changes = [d for p, d in itertools.pairwise(history[1:]) if expected[p] != expected[d]]
    assert changes == expected_changes and len(changes) >= 5  # cu rolls about monthly
    # segment ids step by one exactly at each change
    for a, b in itertools.pairwise(schedule.rows):
        assert b.segment_id == a.segment_id + (a.main_contract != b.main_contract)
    assert schedule.rows[0].segment_id == 0
    assert len(result.segments) == len(changes) + 1
    # once the seeding day is behind, the simulator's own roll agrees day by day
    after_first_roll = [r for r in schedule.rows if r.trading_day >= changes[0]]
    assert all(dworld.market.main_contract("SHFE.cu", r.trading_day) == r.main_contract for r in after_first_roll)
    assert result.expiry_source == "catalog" and result.changed
    assert result.contracts == sorted({s for d in history for s in dworld.market.listed_contracts("SHFE.cu", d)})


def test_rerun_is_deterministic_and_unchanged(dworld: DatasetWorld, history: list[date]) -> None:
    first = dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu"))
    second = dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu"))
    assert second.schedule_hash == first.schedule_hash
    assert second.previous_hashes == [first.schedule_hash] and not second.changed
    assert dworld.schedules.schedule_hashes("SHFE", "cu") == [first.schedule_hash]
    report = json.loads(Path(second.report_path or "").read_text())
    assert report["result"]["schedule_hash"] == first.schedule_hash

    # a new day changes the hash (the schedule grows by one row)
    nxt = dworld.cal.next_trading_day(END)
    dworld.store_eod_only([nxt])
    third = dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu"))
    assert third.changed and third.rows == first.rows + 1 and third.last_day == nxt


def test_schedule_starts_where_the_main_first_has_l5(dworld: DatasetWorld) -> None:
    days = dworld.cal.trading_days(START, END)
    expected = independent_mains(dworld, days)
    first_main = expected[days[1]]
    l5_from = days[20]
    dworld.store_eod_only(days, l1_only_before={s: l5_from for s in set(expected.values())})
    dworld.add_catalog(days)

    result = dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu"))
    schedule = result.schedule
    assert schedule is not None
    assert schedule.rows[0].trading_day == l5_from and schedule.rows[0].segment_id == 0
    assert {r.trading_day: r.main_contract for r in schedule.rows} == {
        d: c for d, c in expected.items() if d >= l5_from
    }
    assert first_main in dworld.market.listed_contracts("SHFE.cu", days[1])

    # without the L5 requirement the schedule starts on the second input day
    loose = dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu", require_l5=False))
    assert loose.first_day == days[1]


def test_range_and_errors(dworld: DatasetWorld, history: list[date]) -> None:
    part = dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu", date(2024, 2, 1), date(2024, 2, 29)))
    assert part.first_day is not None and part.first_day > date(2024, 2, 1) and part.last_day == date(2024, 2, 29)
    with pytest.raises(FailedPrecondition, match="download"):
        dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.au"))
    with pytest.raises(InvalidArgument):
        dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu", date(2024, 3, 1), date(2024, 2, 1)))
    with pytest.raises(InvalidArgument):
        dworld.schedule_use_case()(BuildMainScheduleRequest("SHFE.cu", switch_ratio=0.5))
    with pytest.raises(InvalidArgument):
        dworld.schedule_use_case()(BuildMainScheduleRequest("nonsense"))


class _RecordingWriter:
    """BenchmarkReportWriter that keeps what it was asked to draw."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def write(self, report_id, payload, figures, tables=(), title=""):  # type: ignore[no-untyped-def]
        from ghtrader.application.ports.reports import WrittenReport

        self.calls.append((report_id, payload, list(figures), list(tables), title))
        return WrittenReport(f"/r/{report_id}.json", f"/r/{report_id}.html", {})


def test_the_schedule_chart_shows_every_contract_and_each_roll(dworld: DatasetWorld, history: list[date]) -> None:
    writer = _RecordingWriter()
    use_case = dworld.schedule_use_case()
    use_case._charts = writer  # type: ignore[attr-defined]
    result = use_case(BuildMainScheduleRequest("SHFE.cu"))
    ((report_id, payload, figures, tables, title),) = writer.calls
    assert result.chart_path == f"/r/{report_id}.html" and report_id == f"{result.run_id}_chart"
    assert payload["schedule_hash"] == result.schedule_hash and "SHFE.cu" in title
    (fig,) = figures
    labels = [s.label for s in fig.series]
    assert labels[-1] == "main contract" and fig.x_dates
    drawn = [label for label in labels[:-1] if not label.endswith("seen on one day")]
    single = [s for s in fig.series if s.label.endswith("seen on one day")]
    assert len(drawn) + (int(single[0].label.split()[0]) if single else 0) == len(result.contracts)
    assert set(drawn) <= set(result.contracts)
    epoch = date(1970, 1, 1)
    assert [date.fromordinal(epoch.toordinal() + int(v)) for v in fig.vlines] == [
        s.first_day for s in result.segments[1:]
    ]
    main = fig.series[-1]
    assert len(main.x) == result.rows  # every scheduled day has its main's open interest
    (table,) = tables
    assert [r[1] for r in table.rows] == [s.contract for s in result.segments]
    ratios = [float(r[5].split()[0]) for r in table.rows[1:]]
    assert len(ratios) == len(result.segments) - 1
    # a roll is an OI switch above the ratio, or forced at expiry (then the ratio can be lower)
    assert sum(r > 1.1 for r in ratios) >= len(ratios) // 2


def test_a_gap_on_the_switch_day_delays_the_roll_unless_the_provider_oi_fills_it(
    dworld: DatasetWorld, history: list[date]
) -> None:
    use_case = dworld.schedule_use_case()
    base = use_case(BuildMainScheduleRequest("SHFE.cu")).schedule
    assert base is not None
    second = base.segments()[1]
    decided_on = dworld.cal.previous_trading_day(second.first_day)
    # The new main has no ticks on the day its OI overtook the old main's (a vendor feed gap).
    dworld.index.delete_manifests(second.contract, "raw", [decided_on])
    dworld.ticks.delete_days(second.contract, "raw", [decided_on])
    dworld.index.record_no_data([NoDataDay(second.contract, decided_on, "raw", "provider returned no ticks")])

    late = use_case(BuildMainScheduleRequest("SHFE.cu"))
    assert late.schedule is not None and late.gaps_filled == 0
    assert len(late.segments) == len(base.segments())  # no segment from the gap
    assert late.schedule.main_on(second.first_day) == base.segments()[0].contract  # one day late
    assert late.schedule.main_on(dworld.cal.next_trading_day(second.first_day)) == second.contract

    provider_oi = {d: dworld.market.end_of_day_open_interest("SHFE.cu", d) for d in history}
    filled = use_case(BuildMainScheduleRequest("SHFE.cu", gap_open_interest=provider_oi))
    assert filled.gaps_filled == 1 and filled.schedule_hash == base.schedule_hash
