"""IndexStore contract (day manifests + no-data ledger) for every backend."""

from __future__ import annotations

import dataclasses
import time
from datetime import date

import numpy as np
import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.stores import DayManifest, NoDataDay, StoreBundle
from tests.contract._data import DAYS, make_batch

INT64_MIN = int(np.iinfo(np.int64).min)
INT64_MAX = int(np.iinfo(np.int64).max)
T0 = 1_709_510_400_123_456_000  # a whole-microsecond timestamp (stores keep microseconds)


def manifest(symbol: str, day: date, lake: str = "raw", *, rows: int = 10, salt: int = 0) -> DayManifest:
    return DayManifest(
        symbol=symbol,
        trading_day=day,
        ticks_lake=lake,
        rows_total=rows,
        first_datetime_ns=T0 + salt,
        last_datetime_ns=T0 + salt + 5_000_000_000,
        l5_present=bool(salt % 2),
        row_hash_min=INT64_MIN + salt,
        row_hash_max=INT64_MAX - salt,
        row_hash_sum=-123_456_789 - salt,
        row_hash_sum_abs=INT64_MIN,  # wrapped sums are legal values
        updated_at_ns=T0 + 1_000 * salt,
    )


def test_manifests_round_trip_and_sort(stores: StoreBundle) -> None:
    ms = [
        manifest("SHFE.cu2404", DAYS[2], salt=1),
        manifest("SHFE.au2406", DAYS[0], salt=2),
        manifest("SHFE.cu2404", DAYS[0], salt=3),
    ]
    stores.index.upsert_manifests(ms)
    got = stores.index.manifests(None, "raw")
    assert got == sorted(ms, key=lambda m: (m.symbol, m.trading_day))


def test_upsert_replaces_the_same_day(stores: StoreBundle) -> None:
    stores.index.upsert_manifests([manifest("SHFE.cu2404", DAYS[0], rows=10)])
    newer = manifest("SHFE.cu2404", DAYS[0], rows=12, salt=5)
    stores.index.upsert_manifests([newer])
    assert stores.index.manifests("SHFE.cu2404") == [newer]


def test_manifest_filters(stores: StoreBundle) -> None:
    stores.index.upsert_manifests(
        [manifest("SHFE.cu2404", d) for d in DAYS]
        + [manifest("SHFE.au2406", DAYS[1]), manifest("KQ.m@SHFE.cu", DAYS[1], "main_l5")]
    )
    idx = stores.index
    assert [m.trading_day for m in idx.manifests("SHFE.cu2404", "raw", DAYS[1], DAYS[3])] == DAYS[1:4]
    assert [m.trading_day for m in idx.manifests("SHFE.cu2404", start_day=DAYS[3])] == DAYS[3:]
    assert [m.trading_day for m in idx.manifests("SHFE.cu2404", end_day=DAYS[0])] == DAYS[:1]
    assert [(m.symbol, m.trading_day) for m in idx.manifests(None, "raw", DAYS[1], DAYS[1])] == [
        ("SHFE.au2406", DAYS[1]),
        ("SHFE.cu2404", DAYS[1]),
    ]
    assert [m.symbol for m in idx.manifests(None, "main_l5")] == ["KQ.m@SHFE.cu"]
    assert idx.manifests("KQ.m@SHFE.cu", "raw") == []
    assert idx.manifests("SHFE.cu2404", "raw", DAYS[3], DAYS[1]) == []


def test_delete_manifests_and_indexed_symbols(stores: StoreBundle) -> None:
    stores.index.upsert_manifests(
        [manifest("SHFE.cu2404", d) for d in DAYS[:3]]
        + [manifest("SHFE.au2406", DAYS[0]), manifest("SHFE.cu2404", DAYS[0], "main_l5")]
    )
    assert stores.index.indexed_symbols() == ["SHFE.au2406", "SHFE.cu2404"]
    assert stores.index.indexed_symbols("main_l5") == ["SHFE.cu2404"]

    stores.index.delete_manifests("SHFE.cu2404", "raw", [DAYS[0], DAYS[2]])
    assert [m.trading_day for m in stores.index.manifests("SHFE.cu2404")] == [DAYS[1]]
    assert len(stores.index.manifests("SHFE.cu2404", "main_l5")) == 1

    stores.index.delete_manifests("SHFE.au2406", "raw", [DAYS[0]])
    stores.index.delete_manifests("SHFE.au2406", "raw", [])
    assert stores.index.indexed_symbols() == ["SHFE.cu2404"]


def test_manifests_of_stored_ticks_round_trip(stores: StoreBundle) -> None:
    batch = make_batch("SHFE.cu2404", DAYS[:3], 50)
    stores.ticks.write_ticks(batch)
    stored = stores.ticks.read_ticks("SHFE.cu2404", "raw", DAYS[0], DAYS[-1])
    computed = compute_manifests("SHFE.cu2404", "raw", stored.trading_day, stored.row_hash, stored.ticks, T0)
    assert [m.rows_total for m in computed] == [50, 50, 50]

    stores.index.upsert_manifests(computed)
    again = stores.index.manifests("SHFE.cu2404")
    assert again == computed
    stores.index.upsert_manifests(computed)  # idempotent
    assert stores.index.manifests("SHFE.cu2404") == computed


def test_zero_updated_at_is_stamped_now(stores: StoreBundle) -> None:
    before = time.time_ns()
    stores.index.upsert_manifests([dataclasses.replace(manifest("SHFE.cu2404", DAYS[0]), updated_at_ns=0)])
    (got,) = stores.index.manifests("SHFE.cu2404")
    assert before - 5_000_000_000 <= got.updated_at_ns <= time.time_ns() + 5_000_000_000


def test_no_data_is_idempotent_filtered_and_cleared(stores: StoreBundle) -> None:
    first = NoDataDay("SHFE.cu2404", DAYS[0], "raw", "provider returned no ticks", T0)
    idx = stores.index
    idx.record_no_data([first, NoDataDay("SHFE.cu2404", DAYS[2], "raw", "holiday?", T0)])
    idx.record_no_data([dataclasses.replace(first, reason="again", created_at_ns=T0 + 1_000_000)])
    idx.record_no_data(
        [NoDataDay("SHFE.au2406", DAYS[1], "raw", "none", T0), NoDataDay("SHFE.cu2404", DAYS[1], "main_l5", "x", T0)]
    )

    got = idx.no_data_days("SHFE.cu2404")
    assert got == [first, NoDataDay("SHFE.cu2404", DAYS[2], "raw", "holiday?", T0)]  # first record kept
    assert [(d.symbol, d.trading_day) for d in idx.no_data_days()] == [
        ("SHFE.au2406", DAYS[1]),
        ("SHFE.cu2404", DAYS[0]),
        ("SHFE.cu2404", DAYS[2]),
    ]
    assert [d.trading_day for d in idx.no_data_days(None, "raw", DAYS[1], DAYS[2])] == [DAYS[1], DAYS[2]]
    assert [d.symbol for d in idx.no_data_days(ticks_lake="main_l5")] == ["SHFE.cu2404"]

    idx.clear_no_data("SHFE.cu2404", "raw", [DAYS[0], DAYS[4]])
    idx.clear_no_data("SHFE.cu2404", "raw", [])
    assert [d.trading_day for d in idx.no_data_days("SHFE.cu2404")] == [DAYS[2]]
    assert len(idx.no_data_days("SHFE.cu2404", "main_l5")) == 1
    assert idx.manifests() == []  # the ledger and the index are separate tables


def test_unknown_lake_is_rejected(stores: StoreBundle) -> None:
    with pytest.raises(InvalidArgument):
        stores.index.manifests(None, "cooked")
    with pytest.raises(InvalidArgument):
        stores.index.upsert_manifests([manifest("SHFE.cu2404", DAYS[0], "cooked")])
    with pytest.raises(InvalidArgument):
        stores.index.record_no_data([NoDataDay("SHFE.cu2404", DAYS[0], "cooked", "x")])


def test_no_data_provenance_round_trips_and_a_cleared_entry_can_be_recorded_anew(stores: StoreBundle) -> None:
    idx = stores.index
    old = NoDataDay(
        "SHFE.cu2404",
        DAYS[0],
        "raw",
        "provider returned no ticks",
        T0,
        provider="csv",
        request="fetch_days(SHFE.cu2404, 2024-03-04, 2024-03-08)",
        source_path="/data/csv/SHFE.cu2404.csv",
        source_size=123_456,
        source_mtime_ns=1_709_510_400_987_654_321,
    )
    bare = NoDataDay("SHFE.cu2404", DAYS[1], "raw", "none", T0)  # no provenance: '' and -1
    idx.record_no_data([old, bare])
    assert idx.no_data_days("SHFE.cu2404") == [old, bare]

    newer = dataclasses.replace(
        old, source_size=200_000, source_mtime_ns=old.source_mtime_ns + 1, created_at_ns=T0 + 1_000
    )
    idx.record_no_data([newer])
    assert idx.no_data_days("SHFE.cu2404", end_day=DAYS[0]) == [old]  # the first record is kept
    idx.clear_no_data("SHFE.cu2404", "raw", [DAYS[0]])
    idx.record_no_data([newer])  # re-checked from a changed source: the new record replaces it
    assert idx.no_data_days("SHFE.cu2404") == [newer, bare]
