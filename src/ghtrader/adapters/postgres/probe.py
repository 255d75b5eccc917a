"""``PostgresStoreProbe``: StoreProbe for PostgreSQL (server version, or why it is unreachable)."""

from __future__ import annotations

import psycopg

from ghtrader.adapters.postgres.connections import redact_url
from ghtrader.application.ports.system import StoreHealth

__all__ = ["PostgresStoreProbe"]


class PostgresStoreProbe:
    """Opens its own short-lived connection (never waits on a busy pool); ``timeout_s`` bounds it."""

    def __init__(self, url: str, *, timeout_s: float = 3.0, backend: str = "postgres") -> None:
        self._url = url
        self._timeout_s = timeout_s
        self._backend = backend

    def health(self) -> StoreHealth:
        try:
            with psycopg.connect(self._url, connect_timeout=max(1, int(self._timeout_s)), autocommit=True) as conn:
                row = conn.execute("SELECT version()").fetchone()
        except psycopg.Error as exc:
            reason = str(exc).strip() or type(exc).__name__
            return StoreHealth(self._backend, False, f"{redact_url(self._url)}: {reason}")
        return StoreHealth(self._backend, True, str(row[0]) if row else "unknown version")
