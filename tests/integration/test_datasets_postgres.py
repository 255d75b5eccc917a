"""The dataset use cases end to end on the embedded PostgreSQL stores: schedule, main_l5 and a
build with every registered factor give exactly what the in-memory stores give."""

from __future__ import annotations

import os
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
from ghtrader.application.ports.stores import StoreBundle
from ghtrader.domain.labels import LabelConfig
from tests.unit.application.datasets.conftest import DatasetWorld

pytestmark = pytest.mark.integration

ALIAS = "KQ.m@SHFE.cu"
CONTRACTS = ["SHFE.cu2403", "SHFE.cu2404", "SHFE.cu2405"]
FAR = (date(2000, 1, 1), date(2100, 1, 1))
LABELS = LabelConfig(direction_horizons=(5, 50), fill_horizons=(10, 100))


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("GHTRADER_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", settings={"fsync": "off"})
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


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


def _indexes(conn: object, table: str) -> dict[str, str]:
    rows = conn.execute(  # type: ignore[attr-defined]
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s", (table,)
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def test_day_reads_use_the_trading_day_index_also_after_upgrading_an_old_table(pg: PostgresStoreBundle) -> None:
    from ghtrader.application.ports.datasets import DatasetRows

    store = pg.datasets
    day0 = np.datetime64("2024-03-04")
    n = 400
    rows = DatasetRows(
        "KQ.m@SHFE.cu", "main_l5", np.repeat([day0, day0 + 1], n // 2),
        day0.astype("datetime64[ns]").astype(np.int64) + np.arange(n) * 1_000_000_000 * 300,
        {"f_a": np.arange(n, dtype=np.float64)}, np.full(n, "SHFE.cu2404", dtype=object), np.zeros(n, dtype=np.int64),
    )
    store.write_rows("features", "build-1", rows)  # type: ignore[attr-defined]
    pool = pg.pool
    with pool.connection() as conn:  # type: ignore[attr-defined]
        assert "ghtrader_features_v2_tday_idx" in _indexes(conn, "ghtrader_features_v2")
        # the layout before 0012: the day index led by build_id, which day reads cannot range-scan
        conn.execute("DROP INDEX ghtrader_features_v2_tday_idx")
        conn.execute("CREATE INDEX ghtrader_features_v2_day_idx ON ghtrader_features_v2 "
                     "(symbol, ticks_lake, build_id, trading_day, datetime_ns)")
        conn.execute("DELETE FROM ghtrader_schema_migrations WHERE id = '0012_wide_day_index'")
    assert pg.schema.ensure_schema() == ["0012_wide_day_index"]
    assert pg.schema.ensure_schema() == []
    with pool.connection() as conn:  # type: ignore[attr-defined]
        idx = _indexes(conn, "ghtrader_features_v2")
        assert "ghtrader_features_v2_day_idx" not in idx
        assert "(symbol, ticks_lake, trading_day, build_id, datetime_ns)" in idx["ghtrader_features_v2_tday_idx"]
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT datetime_ns FROM ghtrader_features_v2 WHERE symbol = 'KQ.m@SHFE.cu' "
            "AND ticks_lake = 'main_l5' AND trading_day BETWEEN '2024-03-05' AND '2024-03-05'"
        ).fetchall())
        assert "tday_idx" in plan and "trading_day >=" in plan, plan
    got = store.read("features", "KQ.m@SHFE.cu", date(2024, 3, 5), date(2024, 3, 5))  # type: ignore[attr-defined]
    np.testing.assert_array_equal(got["f_a"], np.arange(n // 2, n, dtype=np.float64))
    assert store.built_days("features", "KQ.m@SHFE.cu", "main_l5") == [date(2024, 3, 4), date(2024, 3, 5)]  # type: ignore[attr-defined]
