"""``PostgresExperimentStore``: the ExperimentStore port on ``ghtrader_experiments_v2``.

The table is created on first use (``CREATE TABLE IF NOT EXISTS`` under an advisory lock, so
processes starting together never race on the DDL). One row per experiment, keyed by
``experiment_id``; hyper-parameters, metrics, learning curves and artifacts are ``jsonb``, tags
a ``text[]``. ``start`` is ``ON CONFLICT DO NOTHING`` (a retry changes nothing).
"""

from __future__ import annotations

import builtins
import math
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ghtrader.adapters.table_names import EXPERIMENTS_TABLE
from ghtrader.application.errors import NotFound
from ghtrader.application.experiments import check_record, merge_tags
from ghtrader.application.ports.experiments import ExperimentFilter, ExperimentOutcome, ExperimentRecord
from ghtrader.application.ports.stores import LAKE_VERSION

__all__ = ["PostgresExperimentStore"]

_DDL_LOCK = 0x6768_6578_7031  # advisory lock key of this table's DDL
_DDL = f"""
CREATE TABLE IF NOT EXISTS {EXPERIMENTS_TABLE} (
    experiment_id   text COLLATE "C" PRIMARY KEY,
    run_id          text COLLATE "C" NOT NULL DEFAULT '',
    project         text COLLATE "C" NOT NULL,
    kind            text COLLATE "C" NOT NULL,
    name            text NOT NULL DEFAULT '',
    status          text NOT NULL,
    hyperparameters jsonb NOT NULL DEFAULT '{{}}',
    metrics         jsonb NOT NULL DEFAULT '{{}}',
    learning_curves jsonb NOT NULL DEFAULT '{{}}',
    artifacts       jsonb NOT NULL DEFAULT '[]',
    git_commit      text NOT NULL DEFAULT 'unknown',
    git_dirty       boolean,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    duration_s      double precision,
    tags            text[] NOT NULL DEFAULT '{{}}',
    notes           text NOT NULL DEFAULT '',
    report_path     text NOT NULL DEFAULT '',
    error           text NOT NULL DEFAULT '',
    lake_version    text NOT NULL DEFAULT 'v2'
);
CREATE INDEX IF NOT EXISTS {EXPERIMENTS_TABLE}_created ON {EXPERIMENTS_TABLE} (created_at DESC);
CREATE INDEX IF NOT EXISTS {EXPERIMENTS_TABLE}_project_kind ON {EXPERIMENTS_TABLE} (project, kind);
CREATE INDEX IF NOT EXISTS {EXPERIMENTS_TABLE}_run ON {EXPERIMENTS_TABLE} (run_id);
"""
_COLS = (
    "experiment_id, run_id, project, kind, name, status, hyperparameters, metrics, learning_curves, artifacts, "
    "git_commit, git_dirty, created_at, finished_at, duration_s, tags, notes, report_path, error"
)
_SELECT = f"SELECT {_COLS} FROM {EXPERIMENTS_TABLE}"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ts(ns: int | None) -> datetime | None:
    return None if ns is None else _EPOCH + timedelta(microseconds=int(ns) // 1000)


def _ns(ts: datetime | None) -> int | None:
    if ts is None:
        return None
    d = ts - _EPOCH
    return (d.days * 86_400_000_000 + d.seconds * 1_000_000 + d.microseconds) * 1000


def _json_number(v: float) -> float | str:
    """jsonb has no NaN / infinity: they travel as strings."""
    return v if math.isfinite(v) else repr(v)


def _from_json_number(v: Any) -> float:
    return float(v)  # float("nan") / float("inf") read the string forms back


def _record(row: tuple[Any, ...]) -> ExperimentRecord:
    curves = {k: tuple((int(s), _from_json_number(v)) for s, v in pts) for k, pts in (row[8] or {}).items()}
    return ExperimentRecord(
        experiment_id=row[0],
        run_id=row[1],
        project=row[2],
        kind=row[3],
        name=row[4],
        status=row[5],
        hyperparameters=dict(row[6] or {}),
        metrics={k: _from_json_number(v) for k, v in (row[7] or {}).items()},
        learning_curves=curves,
        artifacts=tuple(row[9] or ()),
        git_commit=row[10],
        git_dirty=row[11],
        created_at_ns=_ns(row[12]) or 0,
        finished_at_ns=_ns(row[13]),
        duration_s=row[14],
        tags=tuple(row[15] or ()),
        notes=row[16],
        report_path=row[17],
        error=row[18],
    )


def _plain(value: Any) -> Any:
    """``value`` as jsonb can hold it: non-finite floats and unknown objects as text."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return _json_number(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def _jsonb(value: Any) -> Jsonb:
    return Jsonb(_plain(value))


class PostgresExperimentStore:
    """ExperimentStore on PostgreSQL. Thread-safe: one pooled connection per call."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._ready = False
        self._lock = threading.Lock()

    def ensure_table(self) -> None:
        """Create the table and its indexes when missing (idempotent; done on first use)."""
        with self._lock:
            if self._ready:
                return
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
                conn.execute(_DDL)
            self._ready = True

    def start(self, record: ExperimentRecord) -> None:
        r = check_record(record)
        self.ensure_table()
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {EXPERIMENTS_TABLE} ({_COLS}, lake_version) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (experiment_id) DO NOTHING",
                (
                    r.experiment_id, r.run_id, r.project, r.kind, r.name, r.status, _jsonb(dict(r.hyperparameters)),
                    Jsonb({k: _json_number(float(v)) for k, v in r.metrics.items()}),
                    Jsonb({k: [[s, _json_number(v)] for s, v in pts] for k, pts in r.learning_curves.items()}),
                    Jsonb(list(r.artifacts)), r.git_commit, r.git_dirty, _ts(r.created_at_ns),
                    _ts(r.finished_at_ns), r.duration_s, list(r.tags), r.notes, r.report_path, r.error, LAKE_VERSION,
                ),
            )  # fmt: skip

    def finish(self, experiment_id: str, outcome: ExperimentOutcome) -> ExperimentRecord:
        self.ensure_table()
        with self._pool.connection() as conn:
            row = conn.execute(
                f"UPDATE {EXPERIMENTS_TABLE} SET status = %s, finished_at = %s, duration_s = %s, metrics = %s, "
                "learning_curves = %s, artifacts = %s, report_path = %s, error = %s "
                f"WHERE experiment_id = %s RETURNING {_COLS}",
                (
                    outcome.status, _ts(outcome.finished_at_ns), outcome.duration_s,
                    Jsonb({k: _json_number(float(v)) for k, v in outcome.metrics.items()}),
                    Jsonb({k: [[s, _json_number(v)] for s, v in pts] for k, pts in outcome.learning_curves.items()}),
                    Jsonb(list(outcome.artifacts)), outcome.report_path, outcome.error, experiment_id,
                ),
            ).fetchone()  # fmt: skip
        if row is None:
            raise NotFound(f"no experiment {experiment_id!r}")
        return _record(row)

    def get(self, experiment_id: str) -> ExperimentRecord | None:
        self.ensure_table()
        with self._pool.connection() as conn:
            row = conn.execute(f"{_SELECT} WHERE experiment_id = %s", (experiment_id,)).fetchone()
        return None if row is None else _record(row)

    def list(self, where: ExperimentFilter | None = None) -> builtins.list[ExperimentRecord]:
        where = where or ExperimentFilter()
        self.ensure_table()
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("project", where.project),
            ("kind", where.kind),
            ("status", where.status),
            ("run_id", where.run_id),
        ):
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(value)
        if where.tag is not None:
            clauses.append("%s = ANY(tags)")
            params.append(where.tag)
        if where.since_ns is not None:
            clauses.append("created_at >= %s")
            params.append(_ts(where.since_ns))
        sql_where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(max(where.limit, 0))
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"{_SELECT}{sql_where} ORDER BY created_at DESC, experiment_id DESC LIMIT %s", params
            ).fetchall()
        return [_record(r) for r in rows]

    def annotate(
        self,
        experiment_id: str,
        *,
        notes: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> ExperimentRecord:
        self.ensure_table()
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute(f"{_SELECT} WHERE experiment_id = %s FOR UPDATE", (experiment_id,)).fetchone()
            if row is None:
                raise NotFound(f"no experiment {experiment_id!r}")
            current = _record(row)
            tags = merge_tags(current.tags, add_tags, remove_tags)
            row = conn.execute(
                f"UPDATE {EXPERIMENTS_TABLE} SET notes = %s, tags = %s WHERE experiment_id = %s RETURNING {_COLS}",
                (current.notes if notes is None else notes, list(tags), experiment_id),
            ).fetchone()
        assert row is not None
        return _record(row)
