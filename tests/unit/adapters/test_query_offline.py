"""The read-only query adapters with no server to reach: a clear Unavailable, nothing else."""

from __future__ import annotations

import socket

import pytest

from ghtrader.adapters.postgres.query import PostgresReadOnlyQuery
from ghtrader.adapters.questdb import QuestDBParams
from ghtrader.adapters.questdb.query import QuestDBReadOnlyQuery
from ghtrader.application.errors import Unavailable


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket closes


def test_questdb_unreachable_is_unavailable() -> None:
    port = _closed_port()
    params = QuestDBParams("127.0.0.1", http_port=port, pg_port=port, user="u", password="p", database="qdb")
    q = QuestDBReadOnlyQuery(params, connect_timeout_s=1)
    assert q.dialect == "questdb" and "as u" in q.description
    with pytest.raises(Unavailable, match="unreachable"):
        q.fetch("SELECT 1", max_rows=1, timeout_s=1, max_bytes=1000)


def test_postgres_unreachable_is_unavailable_and_hides_the_password() -> None:
    q = PostgresReadOnlyQuery(f"postgresql://app:s3cret@127.0.0.1:{_closed_port()}/db", connect_timeout_s=1)
    with pytest.raises(Unavailable, match="unreachable") as caught:
        q.fetch("SELECT 1", max_rows=1, timeout_s=1, max_bytes=1000)
    assert "s3cret" not in str(caught.value)
    q.close()


def test_postgres_refuses_a_bad_schema_name() -> None:
    with pytest.raises(ValueError, match="invalid schema"):
        PostgresReadOnlyQuery("postgresql://x@/db", schema="a; DROP")
