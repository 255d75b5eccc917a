"""QuestDB-specific behaviour of the QuestDB stores, beyond the shared contract suite
(tests/contract): NULL sentinels, soft delete, atomic flushes, chunking, schema guards.

Needs a QuestDB 8 server: GHTRADER_QUESTDB_HOST (and _HTTP_PORT, _PG_PORT, _USER, _PASSWORD,
_DATABASE); skipped with the reason otherwise. Tables get a unique prefix and are dropped.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest

from ghtrader.adapters.questdb import (
    QuestDBStoreBundle,
    QuestDBTickStore,
    open_questdb_stores,
)
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.stores import DayManifest, StoreBundle, TickBatch
from tests.contract._data import DAYS, assert_ticks_equal, make_batch
from tests.questdb_server import questdb_params

pytestmark = [pytest.mark.integration, pytest.mark.questdb]

SYM = "SHFE.cu2404"
FAR = (date(2000, 1, 1), date(2100, 1, 1))
INT64_MIN = int(np.iinfo(np.int64).min)
INT64_MAX = int(np.iinfo(np.int64).max)


def _read(bundle: StoreBundle, symbol: str = SYM, lake: str = "raw"):
    return bundle.ticks.read_ticks(symbol, lake, *FAR)


def test_int64_min_row_hash_round_trips(qdb: StoreBundle) -> None:
    # INT64_MIN is QuestDB's LONG NULL: the store must give the value back, not lose the row.
    batch = make_batch(SYM, DAYS[:1], 6)
    hashes = batch.row_hash.copy()
    hashes[[0, 4]] = INT64_MIN
    hashes[1] = INT64_MAX
    qdb.ticks.write_ticks(dataclasses.replace(batch, row_hash=hashes))
    got = _read(qdb)
    np.testing.assert_array_equal(got.row_hash, hashes)
    assert_ticks_equal(got.ticks, batch.ticks)


def test_manifest_sentinel_values_round_trip(qdb: StoreBundle) -> None:
    m = DayManifest(
        SYM, DAYS[0], "raw", 0, INT64_MIN, INT64_MAX, False, INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN, 5_000
    )
    qdb.index.upsert_manifests([m])
    assert qdb.index.manifests(SYM) == [m]


def test_deleted_days_come_back_when_rewritten(qdb: StoreBundle) -> None:
    batch = make_batch(SYM, DAYS[:2], 8)
    qdb.ticks.write_ticks(batch)
    qdb.ticks.delete_days(SYM, "raw", [DAYS[0]])
    assert len(_read(qdb)) == 8

    day0 = batch.trading_day == np.datetime64(DAYS[0])
    qdb.ticks.write_ticks(
        TickBatch(SYM, "raw", batch.ticks[day0][:3], batch.trading_day[day0][:3], batch.row_hash[day0][:3])
    )
    got = _read(qdb)
    assert len(got) == 11
    assert qdb.ticks.tick_days(SYM, "raw") == DAYS[:2]

    qdb.index.upsert_manifests([DayManifest(SYM, DAYS[0], "raw", 1, 1, 1, True, 1, 1, 1, 1, 1_000)])
    qdb.index.delete_manifests(SYM, "raw", [DAYS[0]])
    assert qdb.index.manifests(SYM) == [] and qdb.index.indexed_symbols() == []
    revived = DayManifest(SYM, DAYS[0], "raw", 2, 1, 2, True, 1, 2, 3, 3, 2_000)
    qdb.index.upsert_manifests([revived])
    assert qdb.index.manifests(SYM) == [revived]


def test_trading_day_far_from_tick_time_is_rejected(qdb: StoreBundle) -> None:
    batch = make_batch(SYM, DAYS[:1], 4)
    wrong = dataclasses.replace(batch, trading_day=batch.trading_day + np.timedelta64(30, "D"))
    with pytest.raises(InvalidArgument, match="trading_day"):
        qdb.ticks.write_ticks(wrong)
    assert qdb.ticks.tick_symbols("raw") == []


def test_a_rejected_request_commits_nothing(qdb: StoreBundle, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = make_batch(SYM, DAYS[:2], 50)
    build = QuestDBTickStore._frame

    def bad_last_row(b: TickBatch, start: int, stop: int):
        frame = build(b, start, stop)
        seg = np.full(len(frame), None, dtype=object)
        seg[-1] = "not a number"  # STRING into the LONG column: the server rejects the line
        frame["segment_id"] = seg
        return frame

    monkeypatch.setattr(QuestDBTickStore, "_frame", staticmethod(bad_last_row))
    with pytest.raises(FailedPrecondition, match="rejected"):
        qdb.ticks.write_ticks(batch)
    monkeypatch.undo()
    assert len(_read(qdb)) == 0


def test_small_flushes_and_small_read_rounds_give_the_same_rows(qdb: QuestDBStoreBundle) -> None:
    connections = qdb.connections
    store = QuestDBTickStore(connections, max_rows_per_flush=7, stream_rows=4)
    batch = make_batch(SYM, DAYS, 9, lake="main_l5")
    assert store.write_ticks(batch) == 45
    got = store.read_ticks(SYM, "main_l5", *FAR)
    assert_ticks_equal(got.ticks, batch.ticks)
    assert got.underlying_contract is not None and batch.main_l5 is not None
    assert got.underlying_contract.tolist() == batch.main_l5.underlying_contract.tolist()
    assert_ticks_equal(
        qdb.ticks.read_ticks(SYM, "main_l5", DAYS[1], DAYS[3]).ticks,
        store.read_ticks(SYM, "main_l5", DAYS[1], DAYS[3]).ticks,
    )


def test_writes_need_the_schema_and_never_auto_create_tables() -> None:
    bundle, close = open_questdb_stores(questdb_params(), ensure_schema=False)
    try:
        with pytest.raises(FailedPrecondition, match="ensure_schema"):
            bundle.ticks.write_ticks(make_batch(SYM, DAYS[:1], 3))
        assert bundle.schema.table_names() == []
    finally:
        bundle.schema.drop_tables()
        close()


def test_probe_reports_the_server(qdb: StoreBundle) -> None:
    health = qdb.probe.health()
    assert health.backend == "questdb" and health.reachable, health.detail
    assert "QuestDB" in health.detail


def test_end_of_day_open_interest_follows_nanoseconds_within_one_microsecond(qdb: StoreBundle) -> None:
    # ts keeps microseconds: the two last ticks share one, only datetime_ns orders them.
    batch = make_batch(SYM, DAYS[:1], 4)
    ticks = batch.ticks.copy()
    ticks["datetime_ns"][3] = ticks["datetime_ns"][2] - ticks["datetime_ns"][2] % 1000 + 999
    ticks["datetime_ns"][2] -= ticks["datetime_ns"][2] % 1000
    ticks["open_interest"] = [10.0, 20.0, 30.0, 40.0]
    qdb.ticks.write_ticks(TickBatch(SYM, "raw", ticks[3:], batch.trading_day[3:], batch.row_hash[3:]))
    qdb.ticks.write_ticks(TickBatch(SYM, "raw", ticks[:3], batch.trading_day[:3], batch.row_hash[:3]))  # not the last
    assert qdb.ticks.end_of_day_open_interest([SYM], "raw", DAYS[0], DAYS[0]) == {(SYM, DAYS[0]): 40.0}
    qdb.ticks.delete_days(SYM, "raw", [DAYS[0]])
    assert qdb.ticks.end_of_day_open_interest([SYM], "raw", DAYS[0], DAYS[0]) == {}
