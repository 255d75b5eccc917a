"""Embedded PostgreSQL lifecycle and the PostgreSQL stores against a real server.

Needs the ``pgserver`` wheel (its PostgreSQL binaries), a dependency: without it these fail.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import psycopg
import pytest

from ghtrader.adapters.postgres import (
    EmbeddedPostgres,
    EmbeddedPostgresError,
    PostgresStoreBundle,
    PostgresStoreProbe,
    open_postgres_stores,
)
from ghtrader.adapters.postgres import tick_store as tick_store_module
from ghtrader.adapters.postgres.schema import MIGRATIONS, PostgresSchemaManager
from ghtrader.domain.ticks import MARKET_FIELDS
from tests.contract._data import DAYS, assert_ticks_equal, make_batch

pytestmark = pytest.mark.integration
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "64MB"}
FAR = (date(2000, 1, 1), date(2100, 1, 1))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pgmod") / "data", settings=FAST)
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture()
def bundle(server: EmbeddedPostgres, request: pytest.FixtureRequest) -> Iterator[PostgresStoreBundle]:
    schema = "it_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    b, close = open_postgres_stores(server.url, schema=schema)
    try:
        yield b
    finally:
        close()
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _server_uid(data_dir: Path) -> int:
    pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


def test_start_initialises_and_stop_stops(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg", settings=FAST)
    with pytest.raises(EmbeddedPostgresError, match="not started"):
        _ = pg.url
    url = pg.start()
    try:
        assert pg.started_here and pg.is_running()
        assert (tmp_path / "pg" / "PG_VERSION").exists()
        with psycopg.connect(url) as conn:
            db, version, tz = conn.execute(
                "SELECT current_database(), version(), current_setting('TimeZone')"
            ).fetchone()
            wal = conn.execute("SELECT current_setting('wal_level'), current_setting('max_wal_size')").fetchone()
        assert (db, tz) == ("ghtrader", "UTC")
        assert wal == ("minimal", "96MB")  # no replica: COPY into a new/truncated table skips the WAL
        assert version.startswith("PostgreSQL 16")
        if os.geteuid() == 0:  # PostgreSQL refuses root: it must run as the service account
            service = pwd.getpwnam("ghtrader-pg")
            assert (tmp_path / "pg").stat().st_uid == service.pw_uid
            assert _server_uid(tmp_path / "pg") == service.pw_uid
        assert pg.start() == url  # idempotent
    finally:
        pg.stop()
    assert not pg.is_running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_data_survives_a_restart(tmp_path: Path) -> None:
    batch = make_batch("SHFE.cu2404", DAYS[:2], 50)
    b, close = open_postgres_stores(None, tmp_path / "pg", embedded=EmbeddedPostgres(tmp_path / "pg", settings=FAST))
    try:
        b.ticks.write_ticks(batch)
    finally:
        close()
    assert not EmbeddedPostgres(tmp_path / "pg").is_running()

    b, close = open_postgres_stores(None, tmp_path / "pg")
    try:
        assert b.schema.ensure_schema() == []
        assert_ticks_equal(b.ticks.read_ticks("SHFE.cu2404", "raw", *FAR).ticks, batch.ticks)
    finally:
        close()
    assert not EmbeddedPostgres(tmp_path / "pg").is_running()


def test_second_handle_attaches_and_leaves_the_server_running(server: EmbeddedPostgres) -> None:
    other = EmbeddedPostgres(server.data_dir)
    assert other.start() == server.url
    assert not other.started_here
    other.stop()
    assert server.is_running()


def test_a_folder_with_foreign_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pg").mkdir()
    (tmp_path / "pg" / "notes.txt").write_text("mine")
    with pytest.raises(EmbeddedPostgresError, match="not empty"):
        EmbeddedPostgres(tmp_path / "pg").start()
    assert (tmp_path / "pg" / "notes.txt").read_text() == "mine"


def test_external_url_starts_and_stops_nothing(server: EmbeddedPostgres, tmp_path: Path) -> None:
    b, close = open_postgres_stores(server.url, tmp_path / "never-created", schema="it_external")
    try:
        assert b.embedded is None
        b.ticks.write_ticks(make_batch("SHFE.cu2404", DAYS[:1], 5))
        assert b.ticks.tick_symbols("raw") == ["SHFE.cu2404"]
    finally:
        close()
        close()  # idempotent
    assert server.is_running()
    assert not (tmp_path / "never-created").exists()


def test_probe_reports_version_or_reason(server: EmbeddedPostgres, tmp_path: Path) -> None:
    health = PostgresStoreProbe(server.url).health()
    assert health.reachable and health.backend == "postgres"
    assert "PostgreSQL 16" in health.detail
    down = PostgresStoreProbe(f"postgresql://postgres:secret@/x?host={tmp_path}&port=5999", timeout_s=1).health()
    assert not down.reachable
    assert down.detail and "secret" not in down.detail


def test_migrations_are_recorded_in_order(bundle: PostgresStoreBundle) -> None:
    schema = bundle.schema
    assert isinstance(schema, PostgresSchemaManager)
    assert schema.applied_migrations() == [m.id for m in MIGRATIONS]
    assert "ghtrader_schema_migrations" in schema.table_names()


def _ticks_indexes(pool) -> list[tuple[str, str, bool]]:
    with pool.connection() as conn:
        return [
            (name, definition.split(" USING btree ")[1], primary)
            for name, definition, primary in conn.execute(
                "SELECT i.relname::text, pg_get_indexdef(x.indexrelid), x.indisprimary FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = 'ghtrader_ticks_raw_v2'::regclass "
                "ORDER BY 1"
            )
        ]


def _insert_old_layout(conn: psycopg.Connection, batch) -> None:
    """Rows as the store wrote them before migration 0017 (text series columns on every row)."""
    prov = batch.main_l5
    rows = [
        (
            batch.symbol,
            batch.ticks_lake,
            batch.trading_day[i].item(),
            int(t["datetime_ns"]),
            *(float(t[name]) for name in MARKET_FIELDS),
            int(batch.row_hash[i]),
            None if prov is None else str(prov.underlying_contract[i]),
            None if prov is None else int(prov.segment_id[i]),
            None if prov is None else prov.schedule_hash,
        )
        for i, t in enumerate(batch.ticks)
    ]
    marks = ", ".join(["%s"] * (len(MARKET_FIELDS) + 8))
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO ghtrader_ticks_raw_v2 (symbol, ticks_lake, trading_day, datetime_ns, {', '.join(MARKET_FIELDS)}, "
            "row_hash, underlying_contract, segment_id, schedule_hash, ts) "
            f"VALUES ({marks}, to_timestamp(0))",
            rows,
        )
        cur.execute("UPDATE ghtrader_ticks_raw_v2 SET ts = to_timestamp(datetime_ns / 1e9)")


def test_0017_rewrites_a_filled_ticks_table_around_the_series_key(server: EmbeddedPostgres) -> None:
    schema = "it_migrate_0017"
    bundle, close = open_postgres_stores(server.url, schema=schema, ensure_schema=False)
    try:
        before = [m for m in MIGRATIONS if m.id < "0017"]
        PostgresSchemaManager(bundle.pool, before).ensure_schema()
        assert len(_ticks_indexes(bundle.pool)) == 2  # the old layout: time key + day index
        raw = make_batch("SHFE.cu2404", DAYS[:3], 40)
        main = make_batch("KQ.m@SHFE.cu", DAYS[:3], 40, lake="main_l5")
        with bundle.pool.connection() as conn:
            for batch in (raw, main):
                _insert_old_layout(conn, batch)

        assert PostgresSchemaManager(bundle.pool).ensure_schema() == [m.id for m in MIGRATIONS if m.id >= "0017"]
        assert _ticks_indexes(bundle.pool) == [
            ("ghtrader_ticks_raw_v2_pkey", "(series_key, trading_day, datetime_ns)", True)
        ]
        with bundle.pool.connection() as conn:
            series = conn.execute(
                "SELECT series_key, symbol, ticks_lake FROM ghtrader_tick_series_v2 ORDER BY series_key"
            ).fetchall()
            counts = dict(conn.execute("SELECT series_key, count(*) FROM ghtrader_ticks_raw_v2 GROUP BY 1").fetchall())
            columns = [
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                    "AND table_name = 'ghtrader_ticks_raw_v2' ORDER BY ordinal_position"
                )
            ]
            labels = conn.execute("SELECT kind, value FROM ghtrader_tick_labels_v2 ORDER BY 1, 2").fetchall()
        assert [(sym, lake) for _, sym, lake in series] == [("KQ.m@SHFE.cu", "main_l5"), ("SHFE.cu2404", "raw")]
        assert counts == {series[0][0]: len(main), series[1][0]: len(raw)}
        assert "symbol" not in columns and "ticks_lake" not in columns
        assert "underlying_contract" not in columns and {"contract_key", "schedule_key"} <= set(columns)
        assert main.main_l5 is not None
        assert labels == [("contract", c) for c in sorted(set(main.main_l5.underlying_contract.tolist()))] + [
            ("schedule", main.main_l5.schedule_hash)
        ]
        assert columns[:2] == ["datetime_ns", MARKET_FIELDS[0]]  # 8-byte columns first: no padding
        assert "ts" not in columns and "lake_version" not in columns
        got = bundle.ticks.read_ticks("SHFE.cu2404", "raw", *FAR)
        assert_ticks_equal(got.ticks, raw.ticks)
        np.testing.assert_array_equal(got.row_hash, raw.row_hash)
        got_main = bundle.ticks.read_ticks("KQ.m@SHFE.cu", "main_l5", *FAR)
        assert got_main.schedule_hash is not None and main.main_l5 is not None
        assert set(got_main.schedule_hash.tolist()) == {main.main_l5.schedule_hash}
        np.testing.assert_array_equal(got_main.underlying_contract, main.main_l5.underlying_contract)
        # an overlapping rewrite upserts on the new key: nothing doubles; a new series gets a new key
        assert bundle.ticks.write_ticks(raw) == len(raw)
        assert len(bundle.ticks.read_ticks("SHFE.cu2404", "raw", *FAR)) == len(raw)
        bundle.ticks.write_ticks(make_batch("SHFE.cu2405", DAYS[:1], 5))
        assert bundle.ticks.tick_symbols("raw") == ["SHFE.cu2404", "SHFE.cu2405"]
        bundle.ticks.write_ticks(main)  # rewrites of known series and labels use up no key
        with bundle.pool.connection() as conn:
            keys = conn.execute("SELECT series_key FROM ghtrader_tick_series_v2 ORDER BY 1").fetchall()
            label_keys = conn.execute("SELECT max(label_key), count(*) FROM ghtrader_tick_labels_v2").fetchone()
        assert keys == [(1,), (2,), (3,)]
        assert label_keys is not None and label_keys[0] == label_keys[1]
        assert bundle.ticks.tick_days("SHFE.cu2404", "raw") == DAYS[:3]
    finally:
        close()
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_wide_table_helper_creates_and_extends(bundle: PostgresStoreBundle) -> None:
    schema = bundle.schema
    assert isinstance(schema, PostgresSchemaManager)
    schema.ensure_wide_table("ghtrader_features_test_v2", ["f_spread", "f_imbalance"])
    schema.ensure_wide_table("ghtrader_features_test_v2", ["f_spread", "f_imbalance", "f_new"])
    pool = bundle.pool
    with pool.connection() as conn:
        cols = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'ghtrader_features_test_v2' ORDER BY ordinal_position"
            )
        ]
        # partitioned by (series_key, trading_day): rows live in day partitions
        conn.execute(
            "CREATE TABLE ghtrader_features_test_v2_s1_20240304 PARTITION OF ghtrader_features_test_v2 "
            "FOR VALUES FROM (1, '2024-03-04') TO (1, '2024-03-05')"
        )
        conn.execute(
            "INSERT INTO ghtrader_features_test_v2 (series_key, trading_day, datetime_ns, segment_id, build_key, "
            "contract_key, f_spread) VALUES (1, '2024-03-04', 1, -1, 1, 0, 1.5)"
        )
        row = conn.execute("SELECT f_spread, f_new FROM ghtrader_features_test_v2").fetchone()
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'ghtrader_features_test_v2'"
            ).fetchall()
        )
    assert cols[:6] == ["series_key", "trading_day", "datetime_ns", "segment_id", "build_key", "contract_key"]
    assert cols[6:] == ["f_spread", "f_imbalance", "f_new"]
    assert types["f_new"] == "real"  # float32 storage, the default dtype (features)
    assert row[0] == 1.5 and np.isnan(row[1])  # missing = NaN, never NULL
    with pytest.raises(ValueError):
        schema.ensure_wide_table("ghtrader_x; drop table y", ["a"])
    with pytest.raises(ValueError):
        schema.ensure_wide_table("ghtrader_features_test_v2", ["datetime_ns"])


def test_ticks_rows_carry_their_series_and_no_ts(bundle: PostgresStoreBundle) -> None:
    batch = make_batch("SHFE.cu2404", DAYS[:1], 3)
    bundle.ticks.write_ticks(batch)
    with bundle.pool.connection() as conn:
        rows = conn.execute(
            "SELECT s.symbol, s.ticks_lake, s.lake_version, t.datetime_ns FROM ghtrader_ticks_raw_v2 t "
            "JOIN ghtrader_tick_series_v2 s USING (series_key) ORDER BY t.datetime_ns"
        ).fetchall()
        columns = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'ghtrader_ticks_raw_v2'"
            )
        }
    assert rows == [("SHFE.cu2404", "raw", "v2", int(dt)) for dt in batch.ticks["datetime_ns"]]
    assert not {"ts", "lake_version", "symbol", "ticks_lake"} & columns  # ts is datetime_ns / 1000 (us)


def test_a_failed_write_leaves_the_previous_state(bundle: PostgresStoreBundle, monkeypatch: pytest.MonkeyPatch) -> None:
    old = make_batch("SHFE.cu2404", DAYS[:2], 30)
    bundle.ticks.write_ticks(old)
    new = make_batch("SHFE.cu2404", DAYS[:3], 30, seed=5)  # overlaps and extends

    calls = {"n": 0}
    real = tick_store_module.encode_rows

    def failing(*args, **kwargs):  # the second streamed block fails: some rows are already sent
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("connection lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(tick_store_module, "encode_rows", failing)
    store = tick_store_module.PostgresTickStore(bundle.pool, block_rows=20)
    with pytest.raises(RuntimeError):
        store.write_ticks(new)
    assert_ticks_equal(bundle.ticks.read_ticks("SHFE.cu2404", "raw", *FAR).ticks, old.ticks)


def test_a_killed_writer_leaves_all_or_nothing(server: EmbeddedPostgres) -> None:
    schema = "it_killed"
    b, close = open_postgres_stores(server.url, schema=schema)
    try:
        old = make_batch("SHFE.cu2404", DAYS[:1], 1000)
        b.ticks.write_ticks(old)
        script = textwrap.dedent(
            f"""
            from ghtrader.adapters.postgres import open_postgres_stores
            from tests.contract._data import make_batch, DAYS
            b, close = open_postgres_stores({server.url!r}, schema={schema!r})
            batch = make_batch("SHFE.cu2404", DAYS, 60_000, seed=3, random_hashes=True)
            print("ready", flush=True)
            b.ticks.write_ticks(batch)
            print("done", flush=True)
            """
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2]
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        # Kill it while its COPY into the staging table is streaming: nothing is committed yet.
        deadline = time.monotonic() + 60
        with psycopg.connect(server.url, autocommit=True) as watcher:
            while time.monotonic() < deadline:
                streaming = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND query LIKE 'COPY ghtrader_ticks_stage%'"
                ).fetchone()[0]
                if streaming:
                    break
                time.sleep(0.005)
        proc.kill()
        proc.wait(timeout=30)
        assert streaming, "the writer was never seen streaming"
        got = b.ticks.read_ticks("SHFE.cu2404", "raw", *FAR)
        assert_ticks_equal(got.ticks, old.ticks)
    finally:
        close()
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_threads_share_one_bundle(bundle: PostgresStoreBundle) -> None:
    symbols = [f"SHFE.cu24{m:02d}" for m in range(1, 7)]
    errors: list[BaseException] = []

    def work(i: int, symbol: str) -> None:
        try:
            for k, day in enumerate(DAYS):
                bundle.ticks.write_ticks(make_batch(symbol, [day], 200, seed=i * 10 + k))
                bundle.ticks.read_ticks(symbol, "raw", DAYS[0], day)
        except Exception as exc:  # noqa: BLE001  # surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, s)) for i, s in enumerate(symbols)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert bundle.ticks.tick_symbols("raw") == sorted(symbols)
    for s in symbols:
        assert len(bundle.ticks.read_ticks(s, "raw", *FAR)) == 200 * len(DAYS)


def test_a_deep_data_dir_gets_a_short_socket_dir(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 90) / "pg"  # too long for a Unix socket path inside it
    pg = EmbeddedPostgres(deep, settings=FAST)
    url = pg.start()
    try:
        assert "host=%2Ftmp%2Fghtrader-pg-" in url
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        pg.stop()
    socket_dir = Path(unquote(url.split("host=")[1].split("&")[0]))
    assert not socket_dir.exists()  # removed with the server


def test_stores_recover_after_a_server_restart(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg", settings=FAST)
    b, close = open_postgres_stores(None, embedded=pg)
    try:
        b.ticks.write_ticks(make_batch("SHFE.cu2404", DAYS[:1], 5))
        pg.stop()
        pg.start()  # every pooled connection is now dead
        assert b.ticks.tick_symbols("raw") == ["SHFE.cu2404"]
        assert b.probe.health().reachable
    finally:
        close()
    assert not pg.is_running()
