"""``PostgresAnomalyStore``: the AnomalyStore port on ``ghtrader_anomaly_events_v2``.

The table is created on first use (``CREATE TABLE IF NOT EXISTS``, idempotent); ``event_id``
is the dedup key (``ON CONFLICT DO NOTHING``), ``seq`` a bigserial a watcher pages on.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from typing import Any

from psycopg_pool import ConnectionPool

from ghtrader.adapters.table_names import ANOMALY_EVENTS_TABLE
from ghtrader.application.ports.alerts import AnomalyFilter, StoredAnomaly
from ghtrader.application.ports.stores import LAKE_VERSION
from ghtrader.domain.anomaly import AnomalyEvent, Severity

__all__ = ["PostgresAnomalyStore"]

_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {ANOMALY_EVENTS_TABLE} (
    seq bigserial PRIMARY KEY,
    event_id text NOT NULL UNIQUE,
    ts timestamptz NOT NULL,
    datetime_ns bigint NOT NULL,
    anomaly_type text NOT NULL,
    severity smallint NOT NULL,
    symbol text NOT NULL,
    details jsonb NOT NULL,
    drift_score double precision,
    detection_method text NOT NULL,
    created_ns bigint NOT NULL,
    lake_version text NOT NULL
)""",
    f"CREATE INDEX IF NOT EXISTS {ANOMALY_EVENTS_TABLE}_time ON {ANOMALY_EVENTS_TABLE} (datetime_ns DESC)",
    f"CREATE INDEX IF NOT EXISTS {ANOMALY_EVENTS_TABLE}_symbol ON {ANOMALY_EVENTS_TABLE} (symbol, datetime_ns DESC)",
)
_INSERT = (
    f"INSERT INTO {ANOMALY_EVENTS_TABLE} (event_id, ts, datetime_ns, anomaly_type, severity, symbol, details, "
    "drift_score, detection_method, created_ns, lake_version) "
    "SELECT u.i, to_timestamp(u.n / 1e9), u.n, u.t, u.s, u.y, u.d::jsonb, u.f, u.m, %(created)s, %(v)s "
    "FROM unnest(%(ids)s::text[], %(ns)s::bigint[], %(types)s::text[], %(sev)s::smallint[], %(sym)s::text[], "
    "%(det)s::text[], %(score)s::float8[], %(meth)s::text[]) AS u(i, n, t, s, y, d, f, m) "
    "ORDER BY u.n ON CONFLICT (event_id) DO NOTHING"
)
_COLUMNS = "seq, datetime_ns, anomaly_type, severity, symbol, details, drift_score, detection_method, created_ns"


class PostgresAnomalyStore:
    """AnomalyStore on PostgreSQL; thread-safe (one pooled connection per call)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._ready = False
        self._lock = threading.Lock()

    def ensure_table(self) -> None:
        with self._lock:
            if self._ready:
                return
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (ANOMALY_EVENTS_TABLE,))
                for stmt in _DDL:
                    conn.execute(stmt)
            self._ready = True

    def write_events(self, events: Sequence[AnomalyEvent], created_ns: int) -> int:
        self.ensure_table()
        if not events:
            return 0
        params = {
            "created": int(created_ns), "v": LAKE_VERSION,
            "ids": [e.event_id for e in events], "ns": [int(e.datetime_ns) for e in events],
            "types": [e.anomaly_type for e in events], "sev": [int(e.severity) for e in events],
            "sym": [e.symbol for e in events], "det": [e.details_json() for e in events],
            "score": [None if not math.isfinite(e.drift_score) else float(e.drift_score) for e in events],
            "meth": [e.detection_method for e in events],
        }  # fmt: skip
        with self._pool.connection() as conn, conn.transaction():
            cur = conn.execute(_INSERT, params)
            return int(cur.rowcount)

    def list_events(self, query: AnomalyFilter) -> list[StoredAnomaly]:
        self.ensure_table()
        where, params = [], {}  # type: ignore[var-annotated]
        if query.min_severity is not None:
            where.append("severity >= %(sev)s")
            params["sev"] = int(query.min_severity)
        for col, value in (("anomaly_type", query.anomaly_type), ("symbol", query.symbol)):
            if value:
                where.append(f"{col} = %({col})s")
                params[col] = value
        if query.since_ns is not None:
            where.append("datetime_ns >= %(since)s")
            params["since"] = int(query.since_ns)
        if query.after_seq is not None:
            where.append("seq > %(after)s")
            params["after"] = int(query.after_seq)
        order = "seq" if query.after_seq is not None else "datetime_ns DESC, seq DESC"
        sql = (
            f"SELECT {_COLUMNS} FROM {ANOMALY_EVENTS_TABLE}"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY {order} LIMIT %(limit)s"
        )
        params["limit"] = max(int(query.limit), 0)
        with self._pool.connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [_row(r) for r in rows]

    def latest_seq(self) -> int:
        self.ensure_table()
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT coalesce(max(seq), 0) FROM {ANOMALY_EVENTS_TABLE}").fetchone()
        return int(row[0]) if row else 0


def _row(r: tuple[Any, ...]) -> StoredAnomaly:
    seq, ns, kind, sev, sym, details, score, method, created = r
    if isinstance(details, str):
        details = json.loads(details)
    event = AnomalyEvent(int(ns), kind, Severity(int(sev)), sym, dict(details or {}),
                         math.nan if score is None else float(score), method)  # fmt: skip
    return StoredAnomaly(int(seq), event, int(created))
