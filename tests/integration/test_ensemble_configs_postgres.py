"""The ensemble config store on a real PostgreSQL: the same contract as the in-memory fake, the
table is created idempotently, and concurrent saves of one ensemble get distinct versions with
exactly one active row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from ghtrader.adapters.postgres import PostgresStoreBundle, open_postgres_stores
from ghtrader.adapters.postgres.ensemble_store import PostgresEnsembleConfigStore
from ghtrader.application.ports.ensembles import EnsembleConfig
from tests.unit.application.research.test_ensemble_configs import check_store_contract

pytestmark = pytest.mark.integration


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PostgresStoreBundle]:
    import psycopg

    schema = f"ens_{uuid.uuid4().hex[:12]}"
    bundle, close = open_postgres_stores(postgres_url, Path("unused"), schema=schema, max_connections=6)
    try:
        yield bundle
    finally:
        close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_store_contract_on_postgres(pg: PostgresStoreBundle) -> None:
    check_store_contract(PostgresEnsembleConfigStore(pg.pool))
    again = PostgresEnsembleConfigStore(pg.pool)  # the DDL is idempotent; rows survive
    assert [c.version for c in again.list("fast")] == [1, 2, 3]


def test_concurrent_saves_get_distinct_versions(pg: PostgresStoreBundle) -> None:
    store = PostgresEnsembleConfigStore(pg.pool)
    base = EnsembleConfig("race", 0, ("logistic", "lightgbm"), "equal")
    with ThreadPoolExecutor(4) as pool:
        saved = list(pool.map(lambda i: store.save(replace(base, config_hash=f"h{i}")), range(8)))
    assert sorted(c.version for c in saved) == list(range(1, 9))
    rows = store.list("race")
    assert sum(c.active for c in rows) == 1
