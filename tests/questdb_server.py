"""The QuestDB server the integration tests use: GHTRADER_QUESTDB_* settings, a fresh table
prefix per test.

Unconfigured (no GHTRADER_QUESTDB_HOST): the QuestDB tests skip, saying what to set.
Configured but unreachable: they FAIL, since a server someone asked for being down is a fault
to see, not a reason to go quiet.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

from ghtrader.adapters.questdb import QuestDBParams, QuestDBStoreBundle, open_questdb_stores

HOST_VARIABLE = "GHTRADER_QUESTDB_HOST"


def questdb_params(prefix: str = "it_") -> QuestDBParams:
    """Parameters of the configured server with a unique table prefix.

    Skips when no server is configured; fails when the configured one does not answer.
    """
    host = os.environ.get(HOST_VARIABLE)
    if not host:
        pytest.skip(f"QuestDB not configured: set {HOST_VARIABLE} (and _HTTP_PORT, _PG_PORT, ...) to run")
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
        problem = _unreachable(host, port)
        if problem:
            pytest.fail(
                f"QuestDB configured ({HOST_VARIABLE}={host}) but not reachable at {host}:{port} ({problem}): "
                f"start the server, fix GHTRADER_QUESTDB_*, or unset {HOST_VARIABLE} to skip these tests",
                pytrace=False,
            )
    return params


def _unreachable(host: str, port: int) -> str | None:
    """Why a TCP connection to ``host:port`` fails, or None when it opens."""
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        return str(exc) or type(exc).__name__
    return None


@pytest.fixture
def qdb() -> Iterator[QuestDBStoreBundle]:
    """Every QuestDB store under a fresh table prefix; the tables are dropped afterwards."""
    bundle, close = open_questdb_stores(questdb_params())
    try:
        yield bundle
    finally:
        try:
            bundle.schema.drop_tables()
        finally:
            close()
