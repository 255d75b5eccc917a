"""The PostgreSQL AnomalyStore passes the store contract on the embedded server, and creating its
table twice is harmless."""

from __future__ import annotations

import uuid

import pytest

from ghtrader.adapters.postgres.anomaly_store import PostgresAnomalyStore
from ghtrader.adapters.postgres.connections import open_pool
from tests.fakes.anomaly_store_contract import check_anomaly_store, sample_events

pytestmark = pytest.mark.integration


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
