"""Fixtures of the store contract suite: one ``stores`` fixture, parametrised over backends.

Every test gets a FRESH, EMPTY StoreBundle with its schema ensured:
- ``memory``: ``open_memory_stores()``.
- ``postgres`` (integration): one embedded server per session in a temp dir (or the server
  at ``GHTRADER_TEST_POSTGRES_URL``); each test gets its own PostgreSQL schema, dropped after.
- ``questdb`` (integration, questdb): runs when ``GHTRADER_QUESTDB_HOST`` is set, and fails
  when that server does not answer (:func:`tests.questdb_server.questdb_params`); each test
  uses its own ``table_prefix`` and drops its tables after.

``fresh_schema`` gives a SchemaManager on a namespace where ensure_schema never ran.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ghtrader.adapters.memory import open_memory_stores
from ghtrader.adapters.questdb import open_questdb_stores
from ghtrader.application.ports.stores import SchemaManager, StoreBundle
from tests.questdb_server import questdb_params

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.integration),
    pytest.param("questdb", id="questdb", marks=[pytest.mark.integration, pytest.mark.questdb]),
]


@contextmanager
def _postgres(url: str, ensure_schema: bool) -> Iterator[StoreBundle]:
    import psycopg

    from ghtrader.adapters.postgres import open_postgres_stores

    schema = f"ct_{uuid.uuid4().hex[:12]}"
    bundle, close = open_postgres_stores(
        url, Path("unused"), schema=schema, ensure_schema=ensure_schema, max_connections=4
    )
    try:
        yield bundle
    finally:
        close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@contextmanager
def _questdb(ensure_schema: bool) -> Iterator[StoreBundle]:
    bundle, close = open_questdb_stores(questdb_params(prefix="ct_"), ensure_schema=False)
    try:
        if ensure_schema:
            bundle.schema.ensure_schema()
        yield bundle
    finally:
        try:
            bundle.schema.drop_tables()  # type: ignore[attr-defined]
        finally:
            close()


@contextmanager
def _open(backend: str, request: pytest.FixtureRequest, *, ensure_schema: bool) -> Iterator[StoreBundle]:
    if backend == "memory":
        yield open_memory_stores(ensure_schema=ensure_schema)
    elif backend == "postgres":
        with _postgres(request.getfixturevalue("postgres_url"), ensure_schema) as bundle:
            yield bundle
    elif backend == "questdb":
        with _questdb(ensure_schema) as bundle:
            yield bundle
    else:  # pragma: no cover
        raise AssertionError(backend)


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest) -> Iterator[StoreBundle]:
    """A fresh, empty StoreBundle of each backend, schema ensured."""
    with _open(request.param, request, ensure_schema=True) as bundle:
        yield bundle


@pytest.fixture(params=BACKENDS)
def fresh_schema(request: pytest.FixtureRequest) -> Iterator[SchemaManager]:
    """A SchemaManager on a namespace where ensure_schema has never run."""
    with _open(request.param, request, ensure_schema=False) as bundle:
        yield bundle.schema
