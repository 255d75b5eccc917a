"""QuestDB-specific behaviour of the dataset, schedule and registry stores, beyond the shared
contract suite (tests/contract): the atomic day replace (a half-written day is never visible,
even when the client dies mid-request or a reader polls during rewrites), in-place rewrites,
NULL -> NaN, wide tables with more than 100 columns, chunked writes / reads, and read speed.

Needs a QuestDB 8 server: GHTRADER_QUESTDB_HOST (and _HTTP_PORT, _PG_PORT, _USER, _PASSWORD,
_DATABASE); skipped with the reason otherwise. Tables get a unique prefix and are dropped.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg import ClientCursor

from ghtrader.adapters.questdb import (
    QuestDBConnections,
    QuestDBDatasetStore,
    QuestDBSchemaManager,
    QuestDBStoreBundle,
)
from ghtrader.adapters.questdb.schema import MIGRATIONS, Migration
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.datasets import (
    DATASET_DTYPES,
    DATASET_TABLES,
    DatasetRows,
    DatasetStore,
    ScheduleStore,
)
from ghtrader.application.ports.stores import StoreBundle
from ghtrader.domain.schedule import MainSchedule, ScheduleRow
from tests.contract._data import DAYS, day_start_ns

pytestmark = [pytest.mark.integration, pytest.mark.questdb]

SYM = "KQ.m@SHFE.cu"
FAR = (date(2000, 1, 1), date(2100, 1, 1))


@pytest.fixture
def datasets(qdb: StoreBundle) -> DatasetStore:
    return qdb.datasets


def _cx(bundle: StoreBundle) -> QuestDBConnections:
    assert isinstance(bundle, QuestDBStoreBundle)
    return bundle.connections


def make_rows(
    days: list[date], per_day: int, n_cols: int = 2, *, seed: int = 0, step_ns: int = 500_000_000, offset_ns: int = 7
) -> DatasetRows:
    rng = np.random.default_rng(seed)
    k = np.arange(per_day, dtype=np.int64)
    dt = np.concatenate([day_start_ns(d) + k * step_ns + offset_ns for d in days])
    n = dt.shape[0]
    cols = {f"f_{i:03d}": rng.normal(size=n) for i in range(n_cols)}
    return DatasetRows(
        symbol=SYM,
        ticks_lake="main_l5",
        trading_day=np.repeat(np.array(days, dtype="datetime64[D]"), per_day),
        datetime_ns=dt,
        columns=cols,
        underlying_contract=np.full(n, "SHFE.cu2404", dtype=object),
        segment_id=np.full(n, 3, dtype=np.int64),
    )


def _physical_rows(bundle: StoreBundle, kind: str = "features") -> tuple[int, int]:
    """(all rows, live rows) of the kind's table, tombstones included in the first."""
    cx = _cx(bundle)
    with cx.pg() as conn:
        row = (
            ClientCursor(conn)
            .execute(f"SELECT count(), sum(CASE WHEN deleted THEN 0 ELSE 1 END) FROM {cx.table(DATASET_TABLES[kind])}")
            .fetchone()
        )
    assert row is not None
    return int(row[0]), int(row[1] or 0)


def _assert_rows(got: dict[str, np.ndarray], rows: DatasetRows, build_id: str, kind: str = "features") -> None:
    np.testing.assert_array_equal(got["datetime_ns"], rows.datetime_ns)
    np.testing.assert_array_equal(got["trading_day"], rows.trading_day)
    for name, col in rows.columns.items():  # stored as the kind's DATASET_DTYPES (features: float32)
        want = col.astype(DATASET_DTYPES[kind]).astype(np.float64)
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    assert set(got["build_id"].tolist()) == {build_id}


# --- atomic day replace -------------------------------------------------------------------------
def test_a_rewrite_replaces_ticks_in_place_and_tombstones_the_vanished_ones(
    qdb: StoreBundle, datasets: DatasetStore
) -> None:
    first = make_rows(DAYS[:2], 10)
    datasets.write_rows("features", "b1", first)
    assert _physical_rows(qdb) == (20, 20)
    # day 0 again with 6 of its 10 ticks (every other one kept is rewritten in place) and 2 new ones
    keep = make_rows([DAYS[0]], 10, seed=1)
    idx = np.array([0, 2, 4, 6, 8, 9])
    extra = make_rows([DAYS[0]], 2, seed=2, offset_ns=123)
    dt = np.sort(np.concatenate([keep.datetime_ns[idx], extra.datetime_ns]))
    again = DatasetRows(SYM, "main_l5", np.full(8, np.datetime64(DAYS[0])), dt,
                        {"f_000": np.arange(8.0), "f_001": -np.arange(8.0)})  # fmt: skip
    datasets.write_rows("features", "b2", again)
    got = datasets.read("features", SYM, *FAR)
    day0 = got["trading_day"] == np.datetime64(DAYS[0])
    np.testing.assert_array_equal(got["datetime_ns"][day0], dt)
    np.testing.assert_array_equal(got["f_000"][day0], np.arange(8.0))
    assert set(got["build_id"][day0].tolist()) == {"b2"} and set(got["build_id"][~day0].tolist()) == {"b1"}
    assert set(got["underlying_contract"][day0].tolist()) == {None} and set(got["segment_id"][day0].tolist()) == {-1}
    # 6 rewritten in place + 2 new + 4 tombstones on day 0, day 1 untouched: nothing duplicated
    assert _physical_rows(qdb) == (22, 18)
    for _ in range(3):  # rebuilding the same ticks again and again costs no storage
        datasets.write_rows("features", "b3", again)
    assert _physical_rows(qdb) == (22, 18)


@pytest.mark.parametrize("dies_at", [1, 2])
def test_a_client_dying_mid_request_leaves_the_old_day_or_the_new_one(
    qdb: StoreBundle, datasets: DatasetStore, monkeypatch: pytest.MonkeyPatch, dies_at: int
) -> None:
    """The client is killed while sending its ``dies_at``-th ILP request of the write (half the
    bytes sent, then the connection drops): the day must then read exactly as before or exactly
    as written, whichever request that was."""
    old = make_rows(DAYS[:1], 400, 4, seed=1)
    new = make_rows(DAYS[:1], 300, 4, seed=2, step_ns=700_000_000)  # other ticks, fewer: rows + tombstones
    datasets.write_rows("features", "b1", old)
    cx = _cx(qdb)
    table = cx.table(DATASET_TABLES["features"])
    p = cx.params
    flushes: list[int] = []

    class DiesMidRequest:
        def __init__(self, real: object) -> None:
            self._real = real

        def new_buffer(self) -> object:
            return self._real.new_buffer()  # type: ignore[attr-defined]

        def flush(self, buf: object, transactional: bool = False) -> None:
            flushes.append(len(bytes(buf)))  # type: ignore[call-overload]
            if len(flushes) < dies_at:
                self._real.flush(buf, transactional=transactional)  # type: ignore[attr-defined]
                return
            body = bytes(buf)  # type: ignore[call-overload]
            auth = base64.b64encode(f"{p.user}:{p.password}".encode()).decode()
            head = (
                f"POST /write HTTP/1.1\r\nHost: {p.host}\r\nAuthorization: Basic {auth}\r\n"
                f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            with socket.create_connection((p.host, p.http_port)) as s:
                s.sendall(head.encode() + body[: len(body) // 2])
            raise ConnectionResetError("the client died in the middle of the request")

    real_sender = cx.sender

    @contextlib.contextmanager
    def dying_sender() -> Iterator[DiesMidRequest]:
        with real_sender() as s:
            yield DiesMidRequest(s)

    monkeypatch.setattr(cx, "sender", dying_sender)
    died = False
    try:
        datasets.write_rows("features", "b2", new)
    except ConnectionResetError:
        died = True
    monkeypatch.undo()
    assert flushes and min(flushes) > 10_000
    time.sleep(0.5)  # give the server time to (not) commit the broken request
    with cx.pg() as conn:
        cx.wait_applied(conn, table)
    got = datasets.read("features", SYM, *FAR)
    if died:
        _assert_rows(got, old, "b1")
    else:  # the write needed fewer requests than dies_at: it must be whole
        _assert_rows(got, new, "b2")


def test_a_rejected_request_leaves_the_old_day_whole(datasets: DatasetStore, monkeypatch: pytest.MonkeyPatch) -> None:
    old = make_rows(DAYS[:2], 50, seed=1)
    datasets.write_rows("features", "b1", old)
    build = QuestDBDatasetStore._tombstones

    def bad_last_tombstone(*args: object, **kw: object):  # type: ignore[no-untyped-def]
        frame = build(*args, **kw)  # type: ignore[arg-type]
        seg = np.full(len(frame), None, dtype=object)
        seg[-1] = "not a number"  # STRING into the LONG column: the server rejects the line
        frame["segment_id"] = seg
        return frame

    monkeypatch.setattr(QuestDBDatasetStore, "_tombstones", staticmethod(bad_last_tombstone))
    with pytest.raises(FailedPrecondition, match="rejected"):
        datasets.write_rows("features", "b2", make_rows(DAYS[:1], 20, seed=2, step_ns=900_000_000))
    monkeypatch.undo()
    _assert_rows(datasets.read("features", SYM, *FAR), old, "b1")


def test_readers_polling_during_rewrites_see_whole_days_only(qdb: StoreBundle, datasets: DatasetStore) -> None:
    # Two versions of one day with different tick sets, sizes and values; rewritten back and forth
    # while another thread reads: every read must be exactly one version.
    a = make_rows([DAYS[0]], 6_000, 8, seed=1, step_ns=500_000_000)
    b = make_rows([DAYS[0]], 4_000, 8, seed=2, step_ns=750_000_000, offset_ns=11)
    versions = {"va": a, "vb": b}
    datasets.write_rows("features", "va", a)
    reader = QuestDBDatasetStore(_cx(qdb))
    stop = threading.Event()
    seen: list[str] = []
    bad: list[str] = []

    def poll() -> None:
        while not stop.is_set():
            got = reader.read("features", SYM, DAYS[0], DAYS[0])
            builds = set(got["build_id"].tolist())
            if len(builds) != 1:
                bad.append(f"builds {builds} in one day ({got['datetime_ns'].shape[0]} rows)")
                continue
            (build,) = builds
            want = versions[build]
            if got["datetime_ns"].shape != want.datetime_ns.shape or not np.array_equal(
                got["f_003"], want.columns["f_003"]
            ):
                bad.append(f"{build}: {got['datetime_ns'].shape[0]} rows, expected {want.datetime_ns.shape[0]}")
            seen.append(build)

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        for i in range(8):
            datasets.write_rows("features", "vb" if i % 2 == 0 else "va", b if i % 2 == 0 else a)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not bad, bad[:5]
    assert len(seen) >= 4 and {"va", "vb"} <= set(seen)


def test_a_tick_stored_under_another_day_is_refused(datasets: DatasetStore) -> None:
    rows = make_rows(DAYS[:1], 5)
    datasets.write_rows("features", "b1", rows)
    moved = DatasetRows(SYM, "main_l5", np.full(5, np.datetime64(DAYS[1])), rows.datetime_ns, rows.columns)
    with pytest.raises(FailedPrecondition, match="another day"):
        datasets.write_rows("features", "b2", moved)
    assert datasets.built_days("features", SYM, "main_l5") == [DAYS[0]]
    datasets.delete_days("features", SYM, "main_l5", [DAYS[0]])
    datasets.write_rows("features", "b2", moved)  # allowed once the old day is gone
    assert datasets.built_days("features", SYM, "main_l5") == [DAYS[1]]


def test_deleted_days_come_back_when_rewritten_and_deletes_are_per_symbol(datasets: DatasetStore) -> None:
    rows = make_rows(DAYS[:3], 4)
    datasets.write_rows("labels", "b1", rows)
    other = DatasetRows("KQ.m@SHFE.au", "main_l5", rows.trading_day, rows.datetime_ns, rows.columns)
    datasets.write_rows("labels", "b1", other)
    datasets.delete_days("labels", SYM, "main_l5", [DAYS[1]])
    assert datasets.built_days("labels", SYM, "main_l5") == [DAYS[0], DAYS[2]]
    assert datasets.built_days("labels", "KQ.m@SHFE.au", "main_l5") == DAYS[:3]
    day1 = make_rows([DAYS[1]], 2, seed=4)
    datasets.write_rows("labels", "b2", day1)
    got = datasets.read("labels", SYM, DAYS[1], DAYS[1])
    _assert_rows(got, day1, "b2", "labels")


# --- values, columns, chunking ------------------------------------------------------------------
def test_null_reads_back_as_nan_and_infinities_survive(datasets: DatasetStore) -> None:
    rows = make_rows(DAYS[:1], 6, 3)
    cols = dict(rows.columns)
    cols["f_000"] = np.full(6, np.nan)  # a column that is all NULL
    cols["f_001"][[0, 5]] = [np.inf, -np.inf]
    cols["f_002"][2] = np.nan
    rows = DatasetRows(SYM, "main_l5", rows.trading_day, rows.datetime_ns, cols)
    datasets.write_rows("fill_labels", "b1", rows)
    got = datasets.read("fill_labels", SYM, *FAR, ticks_lake="main_l5")
    assert np.isnan(got["f_000"]).all() and got["f_000"].dtype == np.float64
    np.testing.assert_array_equal(got["f_001"], cols["f_001"])
    np.testing.assert_array_equal(got["f_002"], cols["f_002"])


def test_more_than_100_columns_round_trip_in_table_order(datasets: DatasetStore) -> None:
    rows = make_rows(DAYS[:2], 300, 126, seed=3)
    cols = {"from": np.ones(600), "index": np.zeros(600), **rows.columns}  # SQL keywords are fine names
    rows = DatasetRows(
        SYM, "main_l5", rows.trading_day, rows.datetime_ns, cols, rows.underlying_contract, rows.segment_id
    )
    datasets.write_rows("features", "b1", rows)
    assert datasets.column_names("features") == list(cols)
    got = datasets.read("features", SYM, *FAR)
    _assert_rows(got, rows, "b1")
    picked = datasets.read("features", SYM, DAYS[1], DAYS[1], columns=["f_125", "from", "f_000"])
    assert list(picked)[-3:] == ["f_125", "from", "f_000"]
    np.testing.assert_array_equal(picked["f_125"], cols["f_125"][300:])


def test_small_flushes_and_small_reads_give_the_same_rows(qdb: StoreBundle) -> None:
    store = QuestDBDatasetStore(_cx(qdb), max_cells_per_flush=25, max_cells_per_read=40)
    rows = make_rows(DAYS, 9, 3)
    assert store.write_rows("features", "b1", rows) == 45
    _assert_rows(store.read("features", SYM, *FAR), rows, "b1")
    shorter = make_rows(DAYS, 5, 3, seed=8, step_ns=900_000_000)  # every day shrinks: tombstones per request
    store.write_rows("features", "b2", shorter)
    _assert_rows(store.read("features", SYM, *FAR), shorter, "b2")
    assert _physical_rows(qdb)[1] == 25


def test_invalid_writes_are_refused_before_any_io(qdb: StoreBundle, datasets: DatasetStore) -> None:
    rows = make_rows(DAYS[:1], 3)
    far = DatasetRows(SYM, "main_l5", rows.trading_day + np.timedelta64(30, "D"), rows.datetime_ns, rows.columns)
    with pytest.raises(InvalidArgument, match="trading_day"):
        datasets.write_rows("features", "b1", far)
    with pytest.raises(InvalidArgument, match="not a key column"):
        datasets.write_rows(
            "features", "b1", DatasetRows(SYM, "main_l5", rows.trading_day, rows.datetime_ns, {"deleted": np.ones(3)})
        )
    assert "ghtrader_features_v2" not in qdb.schema.table_names()


def test_read_speed_of_one_wide_day(datasets: DatasetStore) -> None:
    # 30k rows x 126 columns is one SHFE main_l5 day of a full factor set (~137 MB of ILP text).
    rows = make_rows([DAYS[0]], 30_000, 126, seed=5, step_ns=1_000_000_000)
    t0 = time.perf_counter()
    datasets.write_rows("features", "b1", rows)
    t1 = time.perf_counter()
    got = datasets.read("features", SYM, DAYS[0], DAYS[0])
    t2 = time.perf_counter()
    _assert_rows(got, rows, "b1")
    print(f"\nQuestDB 30k x 126: write {t1 - t0:.2f}s, read {t2 - t1:.2f}s")
    # generous bounds for 2 shared cores; measured ~1.5 s / ~0.4 s
    assert t2 - t1 < 10.0 and t1 - t0 < 30.0


# --- schedule -----------------------------------------------------------------------------------
def _schedule(n: int, roll_at: int, *, day0: date = DAYS[0]) -> MainSchedule:
    rows = [
        ScheduleRow(day0 + timedelta(days=i), "SHFE.cu2404" if i < roll_at else "SHFE.cu2405", int(i >= roll_at))
        for i in range(n)
    ]
    return MainSchedule.from_rows(rows, exchange="SHFE", variety="cu", switch_ratio=1.1)


def test_schedule_save_hides_the_old_rows_and_racing_saves_resolve(qdb: StoreBundle) -> None:
    store: ScheduleStore = qdb.schedules
    cx = _cx(qdb)
    table = cx.table("ghtrader_main_schedule_v2")
    old, new = _schedule(8, 3), _schedule(5, 2)
    store.save_schedule(old)
    store.save_schedule(new)
    with cx.pg() as conn:
        live = ClientCursor(conn).execute(f"SELECT count() FROM {table} WHERE NOT deleted").fetchone()
    assert live == (5,)
    # a racing writer's complete schedule reaching a later day wins the load until the next save
    late = _schedule(9, 4)
    with cx.pg() as conn:
        cur = ClientCursor(conn)
        for r in late.rows:
            cur.execute(
                f"INSERT INTO {table} (trading_day, exchange, variety, main_contract, segment_id, schedule_hash, "
                "lake_version, deleted) VALUES (%s, 'SHFE', 'cu', %s, %s, %s, 'v2', false)",
                (r.trading_day, r.main_contract, r.segment_id, late.schedule_hash),
            )
        cx.wait_applied(conn, table)
    assert store.schedule_hashes("SHFE", "cu") == sorted([new.schedule_hash, late.schedule_hash])
    got = store.load_schedule("SHFE", "cu", switch_ratio=1.1)
    assert got is not None and got.rows == late.rows
    store.save_schedule(new)
    assert store.schedule_hashes("SHFE", "cu") == [new.schedule_hash]
    got = store.load_schedule("SHFE", "cu", switch_ratio=1.1)
    assert got is not None and got.rows == new.rows


# --- schema -------------------------------------------------------------------------------------
def test_add_column_migrations_are_idempotent(qdb: StoreBundle) -> None:
    # 0010 adds columns; ADD COLUMN has no IF NOT EXISTS in QuestDB 8.0, a rerun must still pass.
    rerun = Migration("0099_rerun_0010", next(m for m in MIGRATIONS if m.id.startswith("0010")).statements)
    manager = QuestDBSchemaManager(_cx(qdb), (*MIGRATIONS, rerun))
    assert manager.ensure_schema() == ["0099_rerun_0010"]
    broken = Migration("0100_bad", ("ALTER TABLE {main_schedule} ADD COLUMN zz_other NOT_A_TYPE",))
    with pytest.raises(psycopg.Error, match="(?i)type"):  # other errors still fail the migration
        QuestDBSchemaManager(_cx(qdb), (*MIGRATIONS, rerun, broken)).ensure_schema()


# --- the dataset use cases end to end -----------------------------------------------------------
def test_questdb_matches_memory_end_to_end(qdb: StoreBundle, tmp_path: Path) -> None:
    """Schedule, main_l5 and a build with every registered factor give on QuestDB exactly what
    they give on the in-memory stores (same check as tests/integration/test_datasets_postgres)."""
    from ghtrader.application.datasets.build import BuildDataset, BuildDatasetRequest
    from ghtrader.application.datasets.main_l5 import BuildMainL5Request
    from ghtrader.application.datasets.schedule import BuildMainScheduleRequest
    from ghtrader.domain.labels import LabelConfig
    from tests.unit.application.datasets.conftest import DatasetWorld

    alias = "KQ.m@SHFE.cu"

    def world(tmp: Path, bundle: StoreBundle | None) -> DatasetWorld:
        w = DatasetWorld(tmp)
        if bundle is not None:
            w.ticks = bundle.ticks  # type: ignore[assignment]
            w.index = bundle.index  # type: ignore[assignment]
            w.schema = bundle.schema  # type: ignore[assignment]
            w.schedules = bundle.schedules  # type: ignore[assignment]
            w.datasets = bundle.datasets  # type: ignore[assignment]
        w.store_market_days(
            w.cal.trading_days(date(2024, 2, 16), date(2024, 2, 22)), ["SHFE.cu2403", "SHFE.cu2404", "SHFE.cu2405"]
        )
        w.schedule_use_case(with_catalog=False)(BuildMainScheduleRequest("SHFE.cu"))
        w.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))
        return w

    mem, db = world(tmp_path / "mem", None), world(tmp_path / "db", qdb)
    s_mem, s_db = mem.schedules.load_schedule("SHFE", "cu"), db.schedules.load_schedule("SHFE", "cu")
    assert s_mem is not None and s_db is not None and s_db.schedule_hash == s_mem.schedule_hash
    assert db.main_l5_use_case()(BuildMainL5Request("SHFE.cu")).days_built == 0
    request = BuildDatasetRequest(alias, labels=LabelConfig(direction_horizons=(5, 50), fill_horizons=(10, 100)))
    for w in (mem, db):
        BuildDataset(ticks=w.ticks, index=w.index, datasets=w.datasets, clock=w.clock)(request)
    again = BuildDataset(ticks=db.ticks, index=db.index, datasets=db.datasets, clock=db.clock)(request)
    assert all(k.days_written == [] for k in again.kinds.values())
    for kind in DATASET_TABLES:
        got, want = db.datasets.read(kind, alias, *FAR), mem.datasets.read(kind, alias, *FAR)
        assert set(got) == set(want) and len(want) > 5  # keys and at least one float column
        for name, col in want.items():
            if name == "build_id":
                continue
            if col.dtype == object:
                assert got[name].tolist() == col.tolist(), name
            else:
                np.testing.assert_array_equal(got[name], col, err_msg=name)
    assert len(db.datasets.feature_registry()) == len(mem.datasets.feature_registry()) > 100
