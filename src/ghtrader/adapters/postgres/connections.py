"""The connection pool every PostgreSQL store object shares (psycopg 3 + psycopg_pool).

One pool per process, thread-safe: each store method borrows a connection for one
transaction and gives it back. Connections are checked on checkout, so a restarted server
costs a retry, not a broken store.
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from ghtrader.application.errors import Unavailable

__all__ = ["open_pool", "redact_url"]

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    return re.sub(r"(//[^:/?#@]*:)[^@/?#]*@", r"\1***@", url)


def open_pool(
    url: str,
    *,
    schema: str | None = None,
    min_size: int = 1,
    max_size: int = 8,
    timeout_s: float = 30.0,
) -> ConnectionPool:
    """Open a pool on ``url``; with ``schema`` every connection uses that search_path (created
    if missing), which keeps separate ghTrader namespaces (tests, experiments) apart.

    Raises :class:`Unavailable` when the server cannot be reached within ``timeout_s``.
    """
    kwargs: dict[str, object] = {}
    if schema is not None:
        if not _SCHEMA_RE.match(schema):
            raise ValueError(f"invalid schema name {schema!r}: lowercase letters, digits and '_'")
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout_s))) as conn:
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        except psycopg.OperationalError as exc:
            raise Unavailable(f"PostgreSQL at {redact_url(url)} is unreachable: {exc}".strip()) from exc
        kwargs["options"] = f"-c search_path={schema}"
    pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs=kwargs,
        open=False,
        name="ghtrader-postgres",
        timeout=timeout_s,
        check=ConnectionPool.check_connection,
    )
    try:
        pool.open(wait=True, timeout=timeout_s)
    except PoolTimeout as exc:
        pool.close()
        raise Unavailable(
            f"PostgreSQL at {redact_url(url)} is unreachable (no connection within {timeout_s:g}s)"
        ) from exc
    return pool
