"""``QuestDBStoreProbe``: StoreProbe for QuestDB (server build over PG wire plus the ILP/HTTP
endpoint, or why either is unreachable). Never raises."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request

import psycopg

from ghtrader.adapters.questdb.connections import QuestDBParams
from ghtrader.application.ports.system import StoreHealth

__all__ = ["QuestDBStoreProbe"]


class QuestDBStoreProbe:
    """Opens its own short-lived connections (never waits on a busy pool); ``timeout_s`` bounds each."""

    def __init__(self, params: QuestDBParams, *, timeout_s: float = 3.0, backend: str = "questdb") -> None:
        self._params = params
        self._timeout_s = timeout_s
        self._backend = backend

    def health(self) -> StoreHealth:
        p = self._params
        try:
            with psycopg.connect(
                host=p.host,
                port=p.pg_port,
                user=p.user,
                password=p.password,
                dbname=p.database,
                autocommit=True,
                connect_timeout=max(1, int(self._timeout_s)),
            ) as conn:
                row = conn.execute("SELECT build()").fetchone()
        except Exception as exc:  # noqa: BLE001  # a probe reports, it never raises
            reason = str(exc).strip() or type(exc).__name__
            return StoreHealth(self._backend, False, f"QuestDB PG wire at {p.host}:{p.pg_port}: {reason}")
        build = str(row[0]) if row else "unknown build"
        request = urllib.request.Request(f"http://{p.host}:{p.http_port}/ping", method="GET")
        token = base64.b64encode(f"{p.user}:{p.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as resp:  # http URL built here
                status = resp.status
        except Exception as exc:  # noqa: BLE001
            reason = str(exc).strip() or type(exc).__name__
            return StoreHealth(
                self._backend, False, f"QuestDB ILP/HTTP at {p.host}:{p.http_port}: {reason} (PG wire ok: {build})"
            )
        if status >= 300:
            return StoreHealth(self._backend, False, f"QuestDB ILP/HTTP at {p.host}:{p.http_port} answered {status}")
        return StoreHealth(self._backend, True, f"QuestDB {build}")
