"""TickStore contract: every backend behaves the same (see conftest for the backends)."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.stores import MainL5Provenance, StoreBundle, TickBatch
from ghtrader.domain.ticks import row_hash
from tests.contract._data import DAYS, assert_ticks_equal, make_batch

SYM = "SHFE.cu2404"
FAR = (date(2000, 1, 1), date(2100, 1, 1))


def read_all(stores: StoreBundle, symbol: str = SYM, lake: str = "raw"):
    return stores.ticks.read_ticks(symbol, lake, *FAR)


def test_raw_round_trip_keeps_every_column_and_nan(stores: StoreBundle) -> None:
    batch = make_batch(SYM, DAYS[:3], 30)
    assert np.isnan(batch.ticks["bid_price4"]).any()

    assert stores.ticks.write_ticks(batch) == len(batch)
    got = read_all(stores)

    assert (got.symbol, got.ticks_lake) == (SYM, "raw")
    assert_ticks_equal(got.ticks, batch.ticks)
    np.testing.assert_array_equal(got.trading_day, batch.trading_day)
    assert got.trading_day.dtype == np.dtype("datetime64[D]")
    np.testing.assert_array_equal(got.row_hash, batch.row_hash)
    assert got.row_hash.dtype == np.int64
    assert got.underlying_contract is None and got.segment_id is None and got.schedule_hash is None


def test_l1_only_series_round_trips_with_nan_levels(stores: StoreBundle) -> None:
    batch = make_batch("KQ.m@SHFE.cu", DAYS[:2], 10, l1_only=True)
    stores.ticks.write_ticks(batch)
    got = read_all(stores, "KQ.m@SHFE.cu")
    assert_ticks_equal(got.ticks, batch.ticks)
    assert np.isnan(got.ticks["ask_price5"]).all()


def test_main_l5_round_trip_keeps_provenance(stores: StoreBundle) -> None:
    batch = make_batch("KQ.m@SHFE.cu", DAYS[:2], 25, lake="main_l5")
    assert batch.main_l5 is not None
    stores.ticks.write_ticks(batch)

    got = read_all(stores, "KQ.m@SHFE.cu", "main_l5")
    assert_ticks_equal(got.ticks, batch.ticks)
    assert got.underlying_contract is not None and got.segment_id is not None and got.schedule_hash is not None
    assert got.underlying_contract.tolist() == batch.main_l5.underlying_contract.tolist()
    np.testing.assert_array_equal(got.segment_id, batch.main_l5.segment_id)
    assert set(got.schedule_hash.tolist()) == {batch.main_l5.schedule_hash}
    # the same symbol in the raw lake is a different series
    assert len(read_all(stores, "KQ.m@SHFE.cu", "raw")) == 0


def test_lake_and_provenance_must_agree(stores: StoreBundle) -> None:
    raw = make_batch(SYM, DAYS[:1], 5)
    main = make_batch(SYM, DAYS[:1], 5, lake="main_l5")
    with pytest.raises(InvalidArgument):
        stores.ticks.write_ticks(dataclasses.replace(raw, ticks_lake="main_l5"))
    with pytest.raises(InvalidArgument):
        stores.ticks.write_ticks(dataclasses.replace(main, ticks_lake="raw"))
    with pytest.raises(InvalidArgument):
        stores.ticks.write_ticks(dataclasses.replace(raw, ticks_lake="cooked"))
    with pytest.raises(InvalidArgument):
        stores.ticks.write_ticks(dataclasses.replace(raw, row_hash=raw.row_hash[:-1]))
    assert stores.ticks.tick_symbols("raw") == [] and stores.ticks.tick_symbols("main_l5") == []


def test_rewriting_the_same_rows_changes_nothing(stores: StoreBundle) -> None:
    batch = make_batch(SYM, DAYS[:3], 40)
    stores.ticks.write_ticks(batch)
    first = read_all(stores)
    before = compute_manifests(SYM, "raw", first.trading_day, first.row_hash, first.ticks, 0)

    assert stores.ticks.write_ticks(batch) == len(batch)
    second = read_all(stores)
    after = compute_manifests(SYM, "raw", second.trading_day, second.row_hash, second.ticks, 0)

    assert len(second) == len(batch)
    assert_ticks_equal(second.ticks, first.ticks)
    assert [m.same_content(a) for m, a in zip(before, after, strict=True)] == [True] * 3


def test_changed_rows_replace_stored_rows(stores: StoreBundle) -> None:
    batch = make_batch(SYM, DAYS[:2], 20)
    stores.ticks.write_ticks(batch)

    changed = batch.ticks[5:9].copy()
    changed["last_price"] += 10.0
    changed["bid_price2"] = np.nan
    update = TickBatch(SYM, "raw", changed, batch.trading_day[5:9], row_hash(changed))
    assert stores.ticks.write_ticks(update) == 4

    got = read_all(stores)
    expected = batch.ticks.copy()
    expected[5:9] = changed
    assert_ticks_equal(got.ticks, expected)
    np.testing.assert_array_equal(got.row_hash[5:9], update.row_hash)
    np.testing.assert_array_equal(got.row_hash[:5], batch.row_hash[:5])


def test_rewrite_moving_a_tick_to_another_trading_day_keeps_one_row(stores: StoreBundle) -> None:
    # datetime_ns identifies a row: a calendar fix that files ticks under another day replaces them.
    batch = make_batch(SYM, DAYS[:2], 10)
    stores.ticks.write_ticks(batch)
    moved_day = np.full(4, np.datetime64(DAYS[3]), dtype="datetime64[D]")
    moved = TickBatch(SYM, "raw", batch.ticks[2:6].copy(), moved_day, batch.row_hash[2:6])
    assert stores.ticks.write_ticks(moved) == 4

    got = read_all(stores)
    assert len(got) == len(batch)
    assert_ticks_equal(got.ticks, batch.ticks)
    expected_days = batch.trading_day.copy()
    expected_days[2:6] = moved_day
    np.testing.assert_array_equal(got.trading_day, expected_days)
    assert stores.ticks.tick_days(SYM, "raw") == [DAYS[0], DAYS[1], DAYS[3]]


def test_provenance_is_replaced_with_the_row(stores: StoreBundle) -> None:
    batch = make_batch("KQ.m@SHFE.cu", DAYS[:1], 10, lake="main_l5")
    stores.ticks.write_ticks(batch)
    rebuilt = dataclasses.replace(
        batch,
        main_l5=MainL5Provenance(
            np.full(10, "SHFE.cu2406", dtype=object), np.full(10, 42, dtype=np.int64), "sched-new"
        ),
    )
    stores.ticks.write_ticks(rebuilt)
    got = read_all(stores, "KQ.m@SHFE.cu", "main_l5")
    assert got.underlying_contract is not None and got.segment_id is not None and got.schedule_hash is not None
    assert set(got.underlying_contract.tolist()) == {"SHFE.cu2406"}
    assert set(got.segment_id.tolist()) == {42}
    assert set(got.schedule_hash.tolist()) == {"sched-new"}


def test_repeated_time_in_one_batch_keeps_the_last_row(stores: StoreBundle) -> None:
    batch = make_batch(SYM, DAYS[:1], 6)
    ticks = np.concatenate([batch.ticks, batch.ticks[2:3]])
    ticks[-1]["last_price"] = 1.5
    dup = TickBatch(SYM, "raw", ticks, np.concatenate([batch.trading_day, batch.trading_day[:1]]), row_hash(ticks))

    assert stores.ticks.write_ticks(dup) == 6
    got = read_all(stores)
    assert len(got) == 6
    assert got.ticks["last_price"][2] == 1.5
    assert np.all(np.diff(got.ticks["datetime_ns"]) > 0)


def test_unsorted_batch_reads_back_sorted(stores: StoreBundle) -> None:
    batch = make_batch(SYM, DAYS[:2], 10)
    order = np.random.default_rng(3).permutation(len(batch))
    shuffled = TickBatch(SYM, "raw", batch.ticks[order], batch.trading_day[order], batch.row_hash[order])
    stores.ticks.write_ticks(shuffled)
    got = read_all(stores)
    assert_ticks_equal(got.ticks, batch.ticks)
    np.testing.assert_array_equal(got.row_hash, batch.row_hash)


def test_empty_batch_writes_nothing(stores: StoreBundle) -> None:
    batch = make_batch(SYM, DAYS[:1], 0)
    assert stores.ticks.write_ticks(batch) == 0
    assert stores.ticks.tick_symbols("raw") == []
    assert len(read_all(stores)) == 0


def test_read_selects_trading_day_range(stores: StoreBundle) -> None:
    batch = make_batch(SYM, DAYS, 8)
    stores.ticks.write_ticks(batch)

    got = stores.ticks.read_ticks(SYM, "raw", DAYS[1], DAYS[3])
    assert sorted(set(got.trading_day.astype(object))) == DAYS[1:4]
    mask = (batch.trading_day >= np.datetime64(DAYS[1])) & (batch.trading_day <= np.datetime64(DAYS[3]))
    assert_ticks_equal(got.ticks, batch.ticks[mask])

    one = stores.ticks.read_ticks(SYM, "raw", DAYS[4], DAYS[4])
    assert len(one) == 8
    assert len(stores.ticks.read_ticks(SYM, "raw", date(2024, 3, 9), date(2024, 3, 30))) == 0
    assert len(stores.ticks.read_ticks(SYM, "raw", DAYS[3], DAYS[1])) == 0  # start after end
    assert len(stores.ticks.read_ticks("SHFE.cu9999", "raw", *FAR)) == 0


def test_tick_days_and_tick_symbols(stores: StoreBundle) -> None:
    stores.ticks.write_ticks(make_batch("SHFE.cu2404", [DAYS[0], DAYS[2]], 5))
    stores.ticks.write_ticks(make_batch("SHFE.au2406", [DAYS[1]], 5, seed=1))
    stores.ticks.write_ticks(make_batch("KQ.m@SHFE.cu", [DAYS[3], DAYS[4]], 5, lake="main_l5"))

    assert stores.ticks.tick_days("SHFE.cu2404", "raw") == [DAYS[0], DAYS[2]]
    assert stores.ticks.tick_days("SHFE.au2406", "raw") == [DAYS[1]]
    assert stores.ticks.tick_days("KQ.m@SHFE.cu", "main_l5") == [DAYS[3], DAYS[4]]
    assert stores.ticks.tick_days("KQ.m@SHFE.cu", "raw") == []
    assert stores.ticks.tick_days("SHFE.ag2406", "raw") == []
    assert stores.ticks.tick_symbols("raw") == ["SHFE.au2406", "SHFE.cu2404"]
    assert stores.ticks.tick_symbols("main_l5") == ["KQ.m@SHFE.cu"]


def test_delete_days_removes_only_those_days(stores: StoreBundle) -> None:
    stores.ticks.write_ticks(make_batch(SYM, DAYS[:4], 6))
    stores.ticks.write_ticks(make_batch("SHFE.au2406", DAYS[:4], 6, seed=2))
    stores.ticks.write_ticks(make_batch(SYM, DAYS[:4], 6, lake="main_l5"))

    stores.ticks.delete_days(SYM, "raw", [DAYS[1], DAYS[3], date(2024, 1, 1)])

    assert stores.ticks.tick_days(SYM, "raw") == [DAYS[0], DAYS[2]]
    assert len(read_all(stores)) == 12
    assert stores.ticks.tick_days("SHFE.au2406", "raw") == DAYS[:4]
    assert stores.ticks.tick_days(SYM, "main_l5") == DAYS[:4]

    stores.ticks.delete_days(SYM, "raw", [DAYS[0], DAYS[2]])
    stores.ticks.delete_days(SYM, "raw", [])
    assert stores.ticks.tick_symbols("raw") == ["SHFE.au2406"]
    assert stores.ticks.tick_symbols("main_l5") == [SYM]


def test_unknown_lake_is_rejected_on_reads(stores: StoreBundle) -> None:
    with pytest.raises(InvalidArgument):
        stores.ticks.read_ticks(SYM, "cooked", *FAR)
    with pytest.raises(InvalidArgument):
        stores.ticks.tick_symbols("cooked")


def test_large_batch_round_trip(stores: StoreBundle) -> None:
    days = [date.fromordinal(date(2024, 1, 2).toordinal() + i) for i in range(10)]
    batch = make_batch(SYM, days, 20_000, seed=9, random_hashes=True)  # 200k rows
    assert stores.ticks.write_ticks(batch) == 200_000
    got = read_all(stores)
    assert_ticks_equal(got.ticks, batch.ticks)
    np.testing.assert_array_equal(got.row_hash, batch.row_hash)
    np.testing.assert_array_equal(got.trading_day, batch.trading_day)
    assert stores.ticks.tick_days(SYM, "raw") == days


def test_narrow_read_returns_the_named_columns_of_read_ticks(stores: StoreBundle) -> None:
    stores.ticks.write_ticks(make_batch(SYM, DAYS, 30))
    stores.ticks.write_ticks(make_batch(SYM, DAYS[:2], 5, lake="main_l5", seed=3))
    for lake, (lo, hi) in (("main_l5", FAR), ("raw", (DAYS[1], DAYS[3]))):
        full = stores.ticks.read_ticks(SYM, lake, lo, hi)
        got = stores.ticks.read_tick_columns(SYM, lake, lo, hi, ["ask_price1", "bid_price4", "ask_price1"])
        assert list(got) == ["datetime_ns", "ask_price1", "bid_price4"]
        assert got["datetime_ns"].dtype == np.int64 and got["bid_price4"].dtype == np.float64
        np.testing.assert_array_equal(got["datetime_ns"], full.ticks["datetime_ns"])
        np.testing.assert_array_equal(got["ask_price1"], full.ticks["ask_price1"])
        np.testing.assert_array_equal(got["bid_price4"], full.ticks["bid_price4"])  # NaN where NaN
    assert len(got["datetime_ns"]) == 90 and np.isnan(got["bid_price4"]).any()  # the raw read: 3 days
    empty = stores.ticks.read_tick_columns(SYM, "raw", DAYS[3], DAYS[1], ["volume"])
    assert empty["datetime_ns"].shape == (0,) and empty["volume"].shape == (0,)
    assert stores.ticks.read_tick_columns("SHFE.cu9999", "raw", *FAR, ["volume"])["volume"].shape == (0,)


def test_narrow_read_rejects_unknown_columns_and_lakes(stores: StoreBundle) -> None:
    for columns in (["bid_price1", "row_hash; DROP TABLE x"], ["datetime_ns"], []):
        with pytest.raises(InvalidArgument, match="invalid tick columns"):
            stores.ticks.read_tick_columns(SYM, "raw", *FAR, columns)
    with pytest.raises(InvalidArgument):
        stores.ticks.read_tick_columns(SYM, "cooked", *FAR, ["bid_price1"])
