"""RecordTicks on a scripted in-memory live feed."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.stores import NoDataDay
from ghtrader.application.recorder import RecordTicksRequest
from ghtrader.domain.ticks import row_hash
from tests.fakes.providers import InMemoryLiveFeed, LiveEvent

from .world import World, bj, day_ticks

SYM = "SHFE.cu2411"
FRI, MON = date(2024, 9, 27), date(2024, 9, 30)
NEVER: dict[str, float] = {"flush_every_s": 1e9, "flush_every_rows": 10**9}


@pytest.fixture(autouse=True)
def _friday_afternoon(world: World) -> None:
    world.clock.now = bj(2024, 9, 27, 14, 0)


def _check_index_matches_store(world: World, symbol: str) -> None:
    stored = world.ticks.read_ticks(symbol, "raw", date(2000, 1, 1), date(2100, 1, 1))
    fresh = compute_manifests(symbol, "raw", stored.trading_day, stored.row_hash, stored.ticks, 0)
    indexed = world.index.manifests(symbol, "raw")
    assert len(fresh) == len(indexed) and all(a.same_content(b) for a, b in zip(fresh, indexed, strict=True))


def test_replays_and_out_of_order_rows_are_dropped(world: World) -> None:
    rows = day_ticks(world.cal, FRI, n=10, night=0)
    conflicting = rows[4:5].copy()
    conflicting["last_price"] += 10.0  # same time as an accepted row, other content
    events = [
        LiveEvent(SYM, rows[:6]),
        LiveEvent(SYM, rows[3:8]),  # overlaps: 3 replays, 2 new
        LiveEvent(SYM, conflicting),
        LiveEvent(SYM, np.concatenate([rows[9:10], rows[8:9], rows[9:10]])),  # unsorted + repeat
    ]
    result = world.recorder(InMemoryLiveFeed(events, clock=world.clock))(RecordTicksRequest((SYM,), **NEVER))
    stored = world.stored(SYM)
    assert np.array_equal(stored["datetime_ns"], rows["datetime_ns"])
    assert np.array_equal(row_hash(stored), row_hash(rows))
    assert result.rows_received == 6 + 5 + 1 + 3
    assert (result.rows_written, result.duplicates_dropped, result.stale_dropped) == (10, 4, 1)
    _check_index_matches_store(world, SYM)


def test_flushes_at_the_trading_day_boundary_and_indexes_both_days(world: World) -> None:
    friday = day_ticks(world.cal, FRI, n=6, night=0)
    monday = day_ticks(world.cal, MON, n=0, night=4)  # Friday-evening night session -> Monday
    assert world.cal.trading_day_of(int(monday["datetime_ns"][0])) == MON
    snapshots: list[list[date]] = []

    class Probe(InMemoryLiveFeed):
        def run(self, symbols, on_ticks, should_stop):  # type: ignore[no-untyped-def]
            def spy(symbol, ticks):  # type: ignore[no-untyped-def]
                on_ticks(symbol, ticks)
                snapshots.append(world.manifest_days(SYM))

            super().run(symbols, spy, should_stop)

    events = [
        LiveEvent(SYM, friday[:3]),
        LiveEvent(SYM, friday[3:]),
        LiveEvent(SYM, monday[:2]),
        LiveEvent(SYM, monday[2:]),
    ]
    result = world.recorder(Probe(events, clock=world.clock))(RecordTicksRequest((SYM,), session_gap_s=1e9, **NEVER))
    assert snapshots == [[], [], [FRI], [FRI]]  # Friday flushed when Monday's first tick arrived
    assert result.flushes == 2  # the day boundary and the final flush
    assert world.manifest_days(SYM) == [FRI, MON]
    assert result.days_touched == [(SYM, FRI), (SYM, MON)]
    _check_index_matches_store(world, SYM)


def test_timer_flush(world: World) -> None:
    rows = day_ticks(world.cal, FRI, n=6, night=0)
    events = [
        LiveEvent(SYM, rows[:2]),
        LiveEvent(SYM, rows[2:4], advance_s=3.0),
        LiveEvent(SYM, rows[4:], advance_s=3.0),
    ]
    result = world.recorder(InMemoryLiveFeed(events, clock=world.clock))(
        RecordTicksRequest((SYM,), flush_every_s=5.0, flush_every_rows=10**9)
    )
    assert result.flushes == 2 and result.rows_written == 6  # the timer at 6 s, then the final flush


def test_flush_when_ticks_resume_after_a_session_break(world: World) -> None:
    rows = day_ticks(world.cal, FRI, n=4, night=0)
    after_lunch = rows[2:].copy()
    after_lunch["datetime_ns"] += 4 * 3600 * 10**9  # 13:30, same trading day
    assert world.cal.trading_day_of(int(after_lunch["datetime_ns"][0])) == FRI
    stored_counts: list[int] = []

    class Probe(InMemoryLiveFeed):
        def run(self, symbols, on_ticks, should_stop):  # type: ignore[no-untyped-def]
            def spy(symbol, ticks):  # type: ignore[no-untyped-def]
                on_ticks(symbol, ticks)
                stored_counts.append(world.stored(SYM).shape[0])

            super().run(symbols, spy, should_stop)

    events = [LiveEvent(SYM, rows[:2]), LiveEvent(SYM, after_lunch)]
    result = world.recorder(Probe(events, clock=world.clock))(RecordTicksRequest((SYM,), session_gap_s=600, **NEVER))
    assert stored_counts == [0, 2] and result.flushes == 2
    _check_index_matches_store(world, SYM)


def test_row_count_flush_and_stop(world: World) -> None:
    rows = day_ticks(world.cal, FRI, n=9, night=0)
    events = [LiveEvent(SYM, rows[i : i + 3]) for i in range(0, 9, 3)]
    stops = iter([False, False, True])
    result = world.recorder(InMemoryLiveFeed(events, clock=world.clock))(
        RecordTicksRequest((SYM,), flush_every_s=1e9, flush_every_rows=3), should_stop=lambda: next(stops)
    )
    assert result.rows_written == 6 and result.flushes == 2  # third batch never delivered


def test_a_restart_does_not_rewrite_stored_rows(world: World) -> None:
    rows = day_ticks(world.cal, FRI, n=6, night=0)
    world.recorder(InMemoryLiveFeed([LiveEvent(SYM, rows)], clock=world.clock))(RecordTicksRequest((SYM,), **NEVER))
    before = world.index.manifests(SYM, "raw")
    again = world.recorder(InMemoryLiveFeed([LiveEvent(SYM, rows)], clock=world.clock))(
        RecordTicksRequest((SYM,), **NEVER)
    )
    assert again.rows_written == 0 and again.duplicates_dropped == 6
    after = world.index.manifests(SYM, "raw")
    assert before[0].same_content(after[0]) and before[0].updated_at_ns == after[0].updated_at_ns


def test_insane_rows_are_rejected_and_no_data_is_cleared(world: World) -> None:
    world.index.record_no_data([NoDataDay(SYM, FRI, "raw", "provider returned no ticks")])
    rows = day_ticks(world.cal, FRI, n=5, night=0)
    rows["bid_volume1"][1] = -3.0
    result = world.recorder(
        InMemoryLiveFeed([LiveEvent(SYM, rows), LiveEvent("SHFE.ag2412", rows)], clock=world.clock)
    )(RecordTicksRequest((SYM,), **NEVER))
    assert result.rejected_total == 1 and result.rows_written == 4
    assert sum(result.rejected_rows.values()) == 1
    assert world.no_data_days(SYM) == []
    assert world.stored("SHFE.ag2412").shape[0] == 0  # not subscribed by this run


def test_bad_recorder_requests(world: World) -> None:
    recorder = world.recorder(InMemoryLiveFeed([]))
    with pytest.raises(InvalidArgument):
        recorder(RecordTicksRequest(()))
    with pytest.raises(InvalidArgument):
        recorder(RecordTicksRequest(("cu2411",)))
