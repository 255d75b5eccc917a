"""The QuestDB server the integration tests use: GHTRADER_QUESTDB_* settings, a fresh table
prefix per test, and a skip saying what is missing when no server is configured or reachable."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

from ghtrader.adapters.questdb import QuestDBParams, open_questdb_stores
from ghtrader.application.ports.stores import StoreBundle


def questdb_params(prefix: str = "it_") -> QuestDBParams:
    """Parameters of the configured server with a unique table prefix (skips when none)."""
    host = os.environ.get("GHTRADER_QUESTDB_HOST")
    if not host:
        pytest.skip("QuestDB not configured: set GHTRADER_QUESTDB_HOST (and _HTTP_PORT, _PG_PORT, ...) to run")
    params = QuestDBParams(
        host=host,
        http_port=int(os.environ.get("GHTRADER_QUESTDB_HTTP_PORT", "9000")),
        pg_port=int(os.environ.get("GHTRADER_QUESTDB_PG_PORT", "8812")),
        user=os.environ.get("GHTRADER_QUESTDB_USER", "admin"),
        password=os.environ.get("GHTRADER_QUESTDB_PASSWORD", "quest"),
        database=os.environ.get("GHTRADER_QUESTDB_DATABASE", "qdb"),
        table_prefix=f"{prefix}{uuid.uuid4().hex[:10]}_",
    )
    for port in (params.pg_port, params.http_port):
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            pytest.skip(f"QuestDB not reachable at {host}:{port} ({exc}); start it or fix GHTRADER_QUESTDB_*")
    return params


@pytest.fixture
def qdb() -> Iterator[StoreBundle]:
    """Every QuestDB store under a fresh table prefix; the tables are dropped afterwards."""
    bundle, close = open_questdb_stores(questdb_params())
    try:
        yield bundle
    finally:
        try:
            bundle.schema.drop_tables()  # type: ignore[attr-defined]
        finally:
            close()
