"""main_l5 splice: rows equal the scheduled underlying's raw rows, with provenance."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from ghtrader.domain.main_l5 import MainL5Error, main_l5_day, splice_main_l5
from ghtrader.domain.schedule import build_main_schedule
from ghtrader.domain.ticks import MARKET_FIELDS, TICK_FIELDS, empty_ticks

A, B, C = "SHFE.cu2407", "SHFE.cu2408", "SHFE.cu2409"
D = [date(2024, 6, 3) + timedelta(days=i) for i in range(8)]


@pytest.fixture(scope="module")
def schedule():
    oi = {
        D[0]: {A: 100, B: 50, C: 1},
        D[1]: {A: 100, B: 60, C: 1},
        D[2]: {A: 100, B: 150, C: 1},  # B from D[3]
        D[3]: {A: 50, B: 150, C: 10},
        D[4]: {A: 10, B: 150, C: 200},  # C from D[5]
        D[5]: {B: 100, C: 200},
        D[6]: {B: 100, C: 200},
    }
    return build_main_schedule(oi, exchange="SHFE", variety="cu")


def raw_day(contract: str, day: date, seed: int) -> np.ndarray:
    """Random raw ticks of one contract-day, some levels empty (NaN), sorted by time."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 12))
    t = empty_ticks(n)
    base = np.datetime64(day, "ns").astype(np.int64)
    t["datetime_ns"] = base + np.sort(rng.integers(0, 10**12, n))
    for name in MARKET_FIELDS:
        t[name] = rng.normal(70_000, 100, n)
    t["bid_price5"][rng.random(n) < 0.3] = np.nan
    t["bid_volume5"][np.isnan(t["bid_price5"])] = 0.0
    return t


@pytest.fixture(scope="module")
def day_ticks():
    out = {}
    for i, day in enumerate(D):
        for j, c in enumerate((A, B, C)):
            out[(c, day)] = raw_day(c, day, 100 * i + j)
    return out


def test_rows_equal_the_scheduled_underlyings_raw_rows(schedule, day_ticks) -> None:
    series = splice_main_l5(schedule, day_ticks)
    assert series.days == schedule.days and series.missing_days == ()
    offset = 0
    for row in schedule.rows:
        raw = day_ticks[(row.main_contract, row.trading_day)]
        part = series.ticks[offset : offset + len(raw)]
        assert part.tobytes() == raw.tobytes()  # every field, NaNs included, bit for bit
        assert set(series.underlying_contract[offset : offset + len(raw)]) == {row.main_contract}
        assert set(series.segment_id[offset : offset + len(raw)]) == {row.segment_id}
        assert set(series.trading_day[offset : offset + len(raw)]) == {np.datetime64(row.trading_day, "D")}
        offset += len(raw)
    assert offset == len(series)
    cols = series.to_columns()
    assert set(TICK_FIELDS) <= set(cols) and set(cols["schedule_hash"]) == {schedule.schedule_hash}
    np.testing.assert_array_equal(cols["datetime_ns"], series.ticks["datetime_ns"])


def test_segment_ids_change_exactly_where_the_schedule_changes(schedule, day_ticks) -> None:
    series = splice_main_l5(schedule, day_ticks)
    seg = series.segment_id
    contract = series.underlying_contract
    changes = np.flatnonzero(seg[1:] != seg[:-1]) + 1
    assert np.array_equal(changes, np.flatnonzero(contract[1:] != contract[:-1]) + 1)
    # Each change falls on the first row of the first day of a new schedule segment.
    firsts = [s.first_day for s in schedule.segments()[1:]]
    assert [series.trading_day[i].astype(object) for i in changes] == firsts
    assert list(np.unique(seg)) == [s.segment_id for s in schedule.segments()]


def test_missing_days_and_day_subset(schedule, day_ticks) -> None:
    partial = {k: v for k, v in day_ticks.items() if k != (B, D[4])}
    partial[(A, D[4])] = day_ticks[(A, D[4])]  # a non-main contract's day is never used
    series = splice_main_l5(schedule, partial, days=[D[5], D[4], D[3]])
    assert series.missing_days == (D[4],) and series.days == (D[3], D[5])
    assert set(series.underlying_contract) == {B, C}
    assert len(series) == len(day_ticks[(B, D[3])]) + len(day_ticks[(C, D[5])])
    with pytest.raises(MainL5Error, match=r"not in the SHFE\.cu main schedule"):
        splice_main_l5(schedule, day_ticks, days=[D[0]])
    empty = splice_main_l5(schedule, {})
    assert len(empty) == 0 and empty.missing_days == schedule.days and empty.ticks.dtype == day_ticks[(A, D[1])].dtype


def test_main_l5_day_is_a_copy_with_provenance(schedule, day_ticks) -> None:
    raw = day_ticks[(B, D[3])]
    before = raw.copy()
    day = main_l5_day(schedule, D[3], raw)
    assert (day.underlying_contract, day.segment_id, day.schedule_hash) == (B, 1, schedule.schedule_hash)
    assert day.ticks.tobytes() == raw.tobytes()
    day.ticks["last_price"] = 0.0
    assert raw.tobytes() == before.tobytes()
    prov = day.provenance_columns()
    assert list(prov["segment_id"]) == [1] * len(raw) and set(prov["underlying_contract"]) == {B}
    with pytest.raises(MainL5Error, match="not in the"):
        main_l5_day(schedule, D[7], raw)
    with pytest.raises(MainL5Error, match="not sorted"):
        main_l5_day(schedule, D[3], raw[::-1])
