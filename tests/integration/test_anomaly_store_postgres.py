"""The PostgreSQL AnomalyStore passes the store contract on the embedded server, and creating its
table twice is harmless."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from ghtrader.adapters.postgres import EmbeddedPostgres
from ghtrader.adapters.postgres.anomaly_store import PostgresAnomalyStore
from ghtrader.adapters.postgres.connections import open_pool
from tests.fakes.anomaly_store_contract import check_anomaly_store, sample_events

pytestmark = pytest.mark.integration


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


def test_postgres_anomaly_store_contract(postgres_url: str) -> None:
    import psycopg

    schema = f"an_{uuid.uuid4().hex[:12]}"
    pool = open_pool(postgres_url, schema=schema, max_size=2)
    try:
        check_anomaly_store(PostgresAnomalyStore(pool))
        again = PostgresAnomalyStore(pool)  # a second process: the DDL is idempotent, the rows are there
        assert again.write_events(sample_events(), created_ns=7) == 0
        with pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM ghtrader_anomaly_events_v2").fetchone() == (4,)
    finally:
        pool.close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
