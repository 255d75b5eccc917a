"""The dataset use cases end to end on the embedded PostgreSQL stores: schedule, main_l5 and a
build with every registered factor give exactly what the in-memory stores give; the day-partition
layout leaves no growth on rebuild and recovers from a crash by rebuilding."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.postgres import EmbeddedPostgres, PostgresStoreBundle, open_postgres_stores
from ghtrader.application.audit import AuditStoreRequest
from ghtrader.application.datasets.build import BuildDataset, BuildDatasetRequest
from ghtrader.application.datasets.main_l5 import BuildMainL5Request
from ghtrader.application.datasets.schedule import BuildMainScheduleRequest
from ghtrader.application.ports.datasets import DatasetRows
from ghtrader.application.ports.stores import StoreBundle
from ghtrader.domain.labels import LabelConfig
from tests.unit.application.datasets.conftest import DatasetWorld

pytestmark = pytest.mark.integration

ALIAS = "KQ.m@SHFE.cu"
CONTRACTS = ["SHFE.cu2403", "SHFE.cu2404", "SHFE.cu2405"]
FAR = (date(2000, 1, 1), date(2100, 1, 1))
LABELS = LabelConfig(direction_horizons=(5, 50), fill_horizons=(10, 100))


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PostgresStoreBundle]:
    import psycopg

    schema = f"ds_{uuid.uuid4().hex[:12]}"
    bundle, close = open_postgres_stores(postgres_url, Path("unused"), schema=schema, max_connections=4)
    try:
        yield bundle
    finally:
        close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _world(tmp: Path, bundle: StoreBundle | None) -> DatasetWorld:
    world = DatasetWorld(tmp)
    if bundle is not None:
        world.ticks = bundle.ticks  # type: ignore[assignment]
        world.index = bundle.index  # type: ignore[assignment]
        world.schema = bundle.schema  # type: ignore[assignment]
        world.schedules = bundle.schedules  # type: ignore[assignment]
        world.datasets = bundle.datasets  # type: ignore[assignment]
    days = world.cal.trading_days(date(2024, 2, 16), date(2024, 2, 22))
    world.store_market_days(days, CONTRACTS)
    world.schedule_use_case(with_catalog=False)(BuildMainScheduleRequest("SHFE.cu"))
    world.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))
    return world


def test_postgres_matches_memory_end_to_end(pg: StoreBundle, tmp_path: Path) -> None:
    mem = _world(tmp_path / "mem", None)
    db = _world(tmp_path / "db", pg)
    s_mem, s_db = mem.schedules.load_schedule("SHFE", "cu"), db.schedules.load_schedule("SHFE", "cu")
    assert s_mem is not None and s_db is not None and s_db.schedule_hash == s_mem.schedule_hash

    a = db.ticks.read_ticks(ALIAS, "main_l5", *FAR)
    b = mem.ticks.read_ticks(ALIAS, "main_l5", *FAR)
    np.testing.assert_array_equal(a.ticks, b.ticks)
    assert a.underlying_contract.tolist() == b.underlying_contract.tolist()  # type: ignore[union-attr]
    assert db.audit()(AuditStoreRequest(symbols=(ALIAS,), ticks_lakes=("main_l5",))).ok
    assert db.main_l5_use_case()(BuildMainL5Request("SHFE.cu")).days_built == 0

    request = BuildDatasetRequest(ALIAS, labels=LABELS)  # every registered factor: a wide table
    for world in (mem, db):
        BuildDataset(ticks=world.ticks, index=world.index, datasets=world.datasets, clock=world.clock)(request)
    again = BuildDataset(ticks=db.ticks, index=db.index, datasets=db.datasets, clock=db.clock)(request)
    assert all(k.days_written == [] for k in again.kinds.values())
    for kind in ("features", "labels", "fill_labels"):
        got, want = db.datasets.read(kind, ALIAS, *FAR), mem.datasets.read(kind, ALIAS, *FAR)
        assert set(got) == set(want)
        assert len(want) > {"features": 100, "labels": 8, "fill_labels": 20}[kind]  # one column per factor / label
        for name, col in want.items():
            if name == "build_id":
                continue
            if col.dtype == object:
                assert got[name].tolist() == col.tolist(), name
            else:
                np.testing.assert_array_equal(got[name], col, err_msg=name)
    assert len(db.datasets.feature_registry()) == len(mem.datasets.feature_registry()) > 100


def test_schedule_rows_saved_before_the_ratio_column_load_with_the_default(pg: PostgresStoreBundle) -> None:
    from ghtrader.domain.schedule import MainSchedule, ScheduleRow

    rows = [ScheduleRow(date(2024, 3, 4), "SHFE.cu2404", 0), ScheduleRow(date(2024, 3, 5), "SHFE.cu2405", 1)]
    store = pg.schedules
    store.save_schedule(MainSchedule.from_rows(rows, exchange="SHFE", variety="cu", switch_ratio=1.1))  # type: ignore[attr-defined]
    pool = pg.pool
    with pool.connection() as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE ghtrader_main_schedule_v2 SET switch_ratio = NULL")  # as migrated from 0010
    got = store.load_schedule("SHFE", "cu")  # type: ignore[attr-defined]
    assert got is not None and got.switch_ratio == 1.1 and list(got.rows) == rows


def _bytes(conn: object, table: str) -> int:
    """Bytes on disk of a wide table: every partition with its indexes and TOAST."""
    row = conn.execute(  # type: ignore[attr-defined]
        "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree(%s)", (table,)
    ).fetchone()
    return int(row[0])


def _rows(n: int, day0: str = "2024-03-04", seed: int = 0) -> DatasetRows:
    rng = np.random.default_rng(seed)
    day = np.datetime64(day0)
    dt = day.astype("datetime64[ns]").astype(np.int64) + np.arange(n) * 500_000_000
    cols = {f"f_{i}": rng.normal(size=n) for i in range(40)}
    return DatasetRows(
        ALIAS,
        "main_l5",
        np.full(n, day),
        dt,
        cols,
        np.full(n, "SHFE.cu2404", dtype=object),
        np.zeros(n, dtype=np.int64),
    )


def test_rebuilding_a_day_leaves_no_growth_and_no_dead_rows(pg: PostgresStoreBundle) -> None:
    store = pg.datasets
    pool = pg.pool
    store.write_rows("features", "build-0", _rows(5_000))  # type: ignore[attr-defined]
    store.write_rows("features", "build-0", _rows(5_000, "2024-03-05"))  # type: ignore[attr-defined]
    with pool.connection() as conn:  # type: ignore[attr-defined]
        first = _bytes(conn, "ghtrader_features_v2")
    assert first > 0
    for r in range(1, 6):  # rebuild one day again and again: the size must not move
        store.write_rows("features", f"build-{r}", _rows(5_000, seed=r))  # type: ignore[attr-defined]
    with pool.connection() as conn:  # type: ignore[attr-defined]
        assert _bytes(conn, "ghtrader_features_v2") == first
        dead = conn.execute(
            "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables WHERE relname LIKE 'ghtrader_features_v2%%'"
        ).fetchone()[0]
        assert dead == 0
        parts = conn.execute(
            "SELECT relname::text, relpersistence FROM pg_class WHERE relname LIKE 'ghtrader_features_v2_s%%' "
            "AND relnamespace = current_schema()::regnamespace ORDER BY 1"
        ).fetchall()
    assert [p[1] for p in parts] == ["u", "u"] and parts[0][0].endswith("_20240304")
    names = pg.schema.table_names()
    assert "ghtrader_features_v2" in names and not any("_s" in n and n.endswith("_20240304") for n in names)
    got = store.read("features", ALIAS, date(2024, 3, 4), date(2024, 3, 4))  # type: ignore[attr-defined]
    assert set(got["build_id"].tolist()) == {"build-5"} and got["datetime_ns"].shape[0] == 5_000
    # a smaller rebuild shrinks the day; deleting a day drops its partition
    store.write_rows("features", "build-6", _rows(1_000))  # type: ignore[attr-defined]
    with pool.connection() as conn:  # type: ignore[attr-defined]
        assert _bytes(conn, "ghtrader_features_v2") < first
    store.delete_days("features", ALIAS, "main_l5", [date(2024, 3, 5)])  # type: ignore[attr-defined]
    assert store.built_days("features", ALIAS, "main_l5") == [date(2024, 3, 4)]  # type: ignore[attr-defined]


def test_migration_0013_replaces_text_keyed_tables_and_builds_start_over(pg: PostgresStoreBundle) -> None:
    pool = pg.pool
    with pool.connection() as conn:  # type: ignore[attr-defined]
        # the layout before 0013: text keys, float8, two B-trees per table
        conn.execute(
            "CREATE TABLE ghtrader_labels_v2 (symbol text, ticks_lake text, trading_day date, "
            "datetime_ns bigint, build_id text, dir_h5 double precision, PRIMARY KEY (symbol, datetime_ns))"
        )
        conn.execute("INSERT INTO ghtrader_labels_v2 VALUES ('KQ.m@SHFE.cu', 'main_l5', '2024-03-04', 1, 'b', 1)")
        conn.execute("DELETE FROM ghtrader_schema_migrations WHERE id = '0013_dataset_day_partitions'")
    assert pg.schema.ensure_schema() == ["0013_dataset_day_partitions"]
    store = pg.datasets
    assert store.built_days("labels", ALIAS, "main_l5") == []  # type: ignore[attr-defined]
    store.write_rows("labels", "b2", _rows(10))  # type: ignore[attr-defined]
    assert store.built_days("labels", ALIAS, "main_l5") == [date(2024, 3, 4)]  # type: ignore[attr-defined]


def test_after_a_crash_derived_days_are_rebuilt_and_ticks_survive(tmp_path: Path) -> None:
    """UNLOGGED day partitions and their day list are emptied together by crash recovery: the
    next incremental build sees no built day and recomputes them all from the durable ticks."""
    from ghtrader.adapters.postgres import open_postgres_stores

    server = EmbeddedPostgres(tmp_path / "pg" / "data")
    server.start()
    try:
        bundle, close = open_postgres_stores(server.url, tmp_path / "unused", max_connections=4)
        try:
            world = _world(tmp_path / "w", bundle)
            build = BuildDataset(ticks=world.ticks, index=world.index, datasets=world.datasets, clock=world.clock)
            request = BuildDatasetRequest(ALIAS, labels=LABELS, factors=("ofi_l1_10", "tib_10"))
            first = build(request)
            days = first.kinds["features"].days_written
            assert days and world.datasets.built_days("features", ALIAS, "main_l5") == days
            before = world.datasets.read("features", ALIAS, *FAR)
            ticks = world.ticks.read_ticks(ALIAS, "main_l5", *FAR)
        finally:
            close()
        server._pg_ctl(["stop", "-w", "-m", "immediate"])  # a crash: the next start runs crash recovery
        server.stop()
        server.start()
        bundle, close = open_postgres_stores(server.url, tmp_path / "unused", max_connections=4)
        try:
            world.ticks, world.index, world.datasets = bundle.ticks, bundle.index, bundle.datasets  # type: ignore[assignment]
            np.testing.assert_array_equal(world.ticks.read_ticks(ALIAS, "main_l5", *FAR).ticks, ticks.ticks)
            assert world.datasets.built_days("features", ALIAS, "main_l5") == []
            assert world.datasets.read("features", ALIAS, *FAR)["datetime_ns"].shape[0] == 0
            again = BuildDataset(ticks=world.ticks, index=world.index, datasets=world.datasets, clock=world.clock)(
                request
            )
            assert {k: v.days_written for k, v in again.kinds.items()} == {k: days for k in again.kinds}
            after = world.datasets.read("features", ALIAS, *FAR)
            for name in ("datetime_ns", "ofi_l1_10", "tib_10"):
                np.testing.assert_array_equal(after[name], before[name], err_msg=name)
        finally:
            close()
    finally:
        server.stop()
