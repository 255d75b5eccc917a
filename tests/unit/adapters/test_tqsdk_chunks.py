"""Download-chunk planning, the chunk work dir and the per-trading-day split of the TqSdk adapter."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.tqsdk.chunks import Chunk, ChunkStore, Segment, plan_segments
from ghtrader.adapters.tqsdk.provider import split_by_trading_day
from ghtrader.domain.calendar import TradingCalendar, beijing_datetime_to_ns
from ghtrader.domain.ticks import empty_ticks

CAL = TradingCalendar([date(2024, 1, 1)])
D = CAL.trading_days(date(2024, 1, 1), date(2024, 1, 19))  # Jan 2..5, 8..12, 15..19


def test_plan_without_done_chunks_groups_consecutive_days() -> None:
    segs = plan_segments(D[:7], [], chunk_days=3)
    assert [(s.chunk.start, s.chunk.end, len(s.days), s.cached) for s in segs] == [
        (date(2024, 1, 2), date(2024, 1, 4), 3, False),
        (date(2024, 1, 5), date(2024, 1, 9), 3, False),
        (date(2024, 1, 10), date(2024, 1, 10), 1, False),
    ]


def test_plan_reuses_done_chunks_and_fills_gaps() -> None:
    done = [Chunk(date(2024, 1, 3), date(2024, 1, 5)), Chunk(date(2024, 1, 10), date(2024, 1, 12))]
    segs = plan_segments(D[:10], done, chunk_days=5)
    assert segs == [
        Segment(Chunk(date(2024, 1, 2), date(2024, 1, 2)), (date(2024, 1, 2),), cached=False),
        Segment(done[0], tuple(D[1:4]), cached=True),
        Segment(Chunk(date(2024, 1, 8), date(2024, 1, 9)), tuple(D[4:6]), cached=False),
        Segment(done[1], tuple(D[6:9]), cached=True),
        Segment(Chunk(date(2024, 1, 15), date(2024, 1, 15)), (date(2024, 1, 15),), cached=False),
    ]
    # A request inside a done chunk is served from it alone.
    assert plan_segments([date(2024, 1, 4)], done, 5) == [Segment(done[0], (date(2024, 1, 4),), cached=True)]


def test_plan_rejects_bad_chunk_size() -> None:
    with pytest.raises(ValueError, match="chunk_days"):
        plan_segments(D, [], 0)
    assert plan_segments([], [], 3) == []


def test_chunk_store_done_needs_a_matching_marker(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path, "KQ.m@SHFE.cu")
    chunk = Chunk(date(2024, 1, 2), date(2024, 1, 5))
    store.prepare(chunk).write_text("header\nrow\n", encoding="utf-8")
    assert store.commit(chunk, rows=1, final=False) == tmp_path / "KQ.m@SHFE.cu" / "20240102_20240105.csv"
    assert store.done_chunks() == []  # not final: no marker

    store.prepare(chunk).write_text("header\nrow\n", encoding="utf-8")
    store.commit(chunk, rows=1, final=True)
    assert store.done_chunks() == [chunk]
    assert json.loads(store.marker_path(chunk).read_text()) == {"rows": 1, "bytes": 11}

    store.csv_path(chunk).write_text("header\nrow\nmore\n", encoding="utf-8")  # changed since
    assert store.done_chunks() == []
    store.marker_path(chunk).write_text("not json", encoding="utf-8")
    assert store.done_chunks() == []
    (store.dir / "notes.txt").write_text("ignored")
    assert not store.is_done(Chunk(date(2024, 2, 1), date(2024, 2, 2)))


def test_prepare_drops_stale_marker_and_part(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path, "SHFE.cu2402")
    chunk = Chunk(date(2024, 1, 2), date(2024, 1, 2))
    store.prepare(chunk).write_text("x", encoding="utf-8")
    store.commit(chunk, rows=0, final=True)
    part = store.prepare(chunk)
    assert not part.exists() and not store.marker_path(chunk).exists()


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b"])
def test_chunk_store_rejects_path_like_symbols(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        ChunkStore(tmp_path, bad)


def _ticks_at(*stamps: datetime) -> np.ndarray:
    t = empty_ticks(len(stamps))
    t["datetime_ns"] = [beijing_datetime_to_ns(s) for s in stamps]
    t["last_price"] = np.arange(len(stamps), dtype=float)
    return t


def test_split_by_trading_day_follows_night_sessions() -> None:
    ticks = _ticks_at(
        datetime(2024, 1, 4, 21, 0),  # Thursday night -> Friday
        datetime(2024, 1, 5, 9, 0),
        datetime(2024, 1, 5, 21, 0),  # Friday night -> Monday
        datetime(2024, 1, 6, 0, 30),  # Saturday early -> Monday
        datetime(2024, 1, 8, 9, 0),
        datetime(2024, 1, 9, 9, 0),  # outside the requested days: dropped
    )
    days = [date(2024, 1, 4), date(2024, 1, 5), date(2024, 1, 8)]
    out = split_by_trading_day(ticks, days, CAL)
    assert list(out) == days
    assert len(out[date(2024, 1, 4)]) == 0
    assert out[date(2024, 1, 5)]["last_price"].tolist() == [0.0, 1.0]
    assert out[date(2024, 1, 8)]["last_price"].tolist() == [2.0, 3.0, 4.0]
    out[date(2024, 1, 5)]["last_price"][0] = 99.0
    assert ticks["last_price"][0] == 0.0  # the day arrays are copies


def test_split_of_no_ticks_gives_every_day_empty() -> None:
    out = split_by_trading_day(empty_ticks(0), D[:3], CAL)
    assert [len(v) for v in out.values()] == [0, 0, 0]
