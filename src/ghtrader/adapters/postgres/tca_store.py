"""``PostgresTcaStore``: the TcaStore port on ``ghtrader_execution_labels_v2`` and
``ghtrader_tca_v2``.

The tables are created on first use (``CREATE TABLE IF NOT EXISTS``; they are not part of the
numbered migrations). Re-analysing a run replaces its labels (DELETE + INSERT in one
transaction) and upserts its record, so a rerun never duplicates.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ghtrader.adapters.table_names import EXECUTION_LABELS_TABLE, TCA_TABLE
from ghtrader.application.ports.stores import LAKE_VERSION
from ghtrader.application.ports.tca import ExecutionLabel, TcaRecord, json_safe

__all__ = ["PostgresTcaStore"]

_LABEL_COLUMNS = (
    "run_id", "order_id", "symbol", "datetime_ns", "side", "order_qty", "filled_qty", "arrival_price",
    "execution_price", "slippage_ticks", "spread_cost", "impact_cost", "timing_cost", "opportunity_cost",
    "shortfall", "fees", "duration_ns", "source",
)  # fmt: skip
_LABEL_TYPES = (
    "text", "text", "text", "bigint", "smallint", "float8", "float8", "float8", "float8", "float8", "float8",
    "float8", "float8", "float8", "float8", "float8", "bigint", "text",
)  # fmt: skip
_RECORD_COLUMNS = (
    "run_id", "source", "symbol", "variety", "analyzed_ns", "orders", "filled_qty", "spread_cost", "impact_cost",
    "timing_cost", "opportunity_cost", "shortfall", "fees", "slippage_ticks_per_lot", "impact_kind", "impact_eta",
    "impact_n_obs", "impact_r2", "details",
)  # fmt: skip

_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {EXECUTION_LABELS_TABLE} (
        run_id text NOT NULL, order_id text NOT NULL, symbol text NOT NULL,
        ts timestamptz NOT NULL, datetime_ns bigint NOT NULL, side smallint NOT NULL,
        order_qty float8 NOT NULL, filled_qty float8 NOT NULL, arrival_price float8 NOT NULL,
        execution_price float8 NOT NULL, slippage_ticks float8 NOT NULL, spread_cost float8 NOT NULL,
        impact_cost float8 NOT NULL, timing_cost float8 NOT NULL, opportunity_cost float8 NOT NULL,
        shortfall float8 NOT NULL, fees float8 NOT NULL, duration_ns bigint NOT NULL, source text NOT NULL,
        lake_version text NOT NULL DEFAULT '{LAKE_VERSION}',
        PRIMARY KEY (run_id, order_id))""",
    f"CREATE INDEX IF NOT EXISTS {EXECUTION_LABELS_TABLE}_symbol_ts ON {EXECUTION_LABELS_TABLE} (symbol, ts)",
    f"""CREATE TABLE IF NOT EXISTS {TCA_TABLE} (
        run_id text PRIMARY KEY, source text NOT NULL, symbol text NOT NULL, variety text NOT NULL,
        ts timestamptz NOT NULL, analyzed_ns bigint NOT NULL, orders integer NOT NULL,
        filled_qty float8 NOT NULL, spread_cost float8 NOT NULL, impact_cost float8 NOT NULL,
        timing_cost float8 NOT NULL, opportunity_cost float8 NOT NULL, shortfall float8 NOT NULL,
        fees float8 NOT NULL, slippage_ticks_per_lot float8 NOT NULL, impact_kind text NOT NULL,
        impact_eta float8 NOT NULL, impact_n_obs integer NOT NULL, impact_r2 float8 NOT NULL,
        details jsonb NOT NULL, lake_version text NOT NULL DEFAULT '{LAKE_VERSION}')""",
    f"CREATE INDEX IF NOT EXISTS {TCA_TABLE}_variety ON {TCA_TABLE} (variety, analyzed_ns)",
)
_INSERT_LABELS = (
    f"INSERT INTO {EXECUTION_LABELS_TABLE} (ts, {', '.join(_LABEL_COLUMNS)}) "
    f"SELECT to_timestamp(u.datetime_ns / 1e9), u.* FROM unnest("
    + ", ".join(f"%({c})s::{t}[]" for c, t in zip(_LABEL_COLUMNS, _LABEL_TYPES, strict=True))
    + f") AS u({', '.join(_LABEL_COLUMNS)})"
)
_SELECT_LABELS = (
    f"SELECT {', '.join(_LABEL_COLUMNS)} FROM {EXECUTION_LABELS_TABLE} WHERE run_id = %s ORDER BY datetime_ns, order_id"
)
_UPSERT_RECORD = (
    f"INSERT INTO {TCA_TABLE} (ts, {', '.join(_RECORD_COLUMNS)}) VALUES (to_timestamp(%(analyzed_ns)s / 1e9), "
    + ", ".join(f"%({c})s" for c in _RECORD_COLUMNS)
    + ") ON CONFLICT (run_id) DO UPDATE SET ts = EXCLUDED.ts, "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _RECORD_COLUMNS if c != "run_id")
)
_SELECT_RECORD = f"SELECT {', '.join(_RECORD_COLUMNS)} FROM {TCA_TABLE}"


class PostgresTcaStore:
    """TcaStore on PostgreSQL. Thread-safe: one pooled connection per call."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._ready = False
        self._lock = threading.Lock()

    def ensure_tables(self) -> None:
        """Create the two tables and their indexes when missing (idempotent)."""
        with self._lock:
            if self._ready:
                return
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('ghtrader_tca_ddl'))")
                for statement in _DDL:
                    conn.execute(statement)
            self._ready = True

    def write_labels(self, run_id: str, labels: Sequence[ExecutionLabel]) -> int:
        self.ensure_tables()
        if any(x.run_id != run_id for x in labels):
            raise ValueError(f"every label must belong to run {run_id}")
        cols = {c: [getattr(x, c) for x in labels] for c in _LABEL_COLUMNS}
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(f"DELETE FROM {EXECUTION_LABELS_TABLE} WHERE run_id = %s", (run_id,))
            if labels:
                conn.execute(_INSERT_LABELS, cols)
        return len(labels)

    def labels(self, run_id: str) -> list[ExecutionLabel]:
        self.ensure_tables()
        with self._pool.connection() as conn:
            rows = conn.execute(_SELECT_LABELS, (run_id,)).fetchall()
        return [ExecutionLabel(**dict(zip(_LABEL_COLUMNS, r, strict=True))) for r in rows]

    def write_record(self, record: TcaRecord) -> None:
        self.ensure_tables()
        params = {c: getattr(record, c) for c in _RECORD_COLUMNS}
        params["details"] = Jsonb(json_safe(record.details))
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(_UPSERT_RECORD, params)

    def _one(self, where: str, params: tuple[Any, ...]) -> TcaRecord | None:
        self.ensure_tables()
        with self._pool.connection() as conn:
            row = conn.execute(f"{_SELECT_RECORD} {where}", params).fetchone()
        if row is None:
            return None
        fields = dict(zip(_RECORD_COLUMNS, row, strict=True))
        details = fields["details"]
        fields["details"] = json.loads(details) if isinstance(details, str) else dict(details)
        return TcaRecord(**fields)

    def record(self, run_id: str) -> TcaRecord | None:
        return self._one("WHERE run_id = %s", (run_id,))

    def latest_impact(self, variety: str, min_obs: int) -> TcaRecord | None:
        return self._one(
            "WHERE variety = %s AND impact_n_obs >= %s ORDER BY analyzed_ns DESC, run_id DESC LIMIT 1",
            (variety, int(min_obs)),
        )
