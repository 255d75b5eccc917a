"""``PostgresHpoTrialStore``: the HpoTrialStore port on ``ghtrader_hpo_trials_v2``.

One row per (study_id, trial_id): the study's name and the trial's number within it, its
hyper-parameters and objective values (JSON), status running / completed / pruned / failed,
where it ran, created_at and duration, and the trial's experiment record (``experiment_id``, an
id of ``ghtrader_experiments_v2``; added to an older table on first use). Rows are upserted as a trial moves on, so a rerun or a
retry never duplicates. The table is created on first use (CREATE TABLE IF NOT EXISTS).
"""

from __future__ import annotations

import builtins
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ghtrader.adapters.table_names import HPO_TRIALS_TABLE
from ghtrader.application.ports.hpo import TrialRecord
from ghtrader.application.ports.stores import LAKE_VERSION

__all__ = ["PostgresHpoTrialStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DDL = f"""
CREATE TABLE IF NOT EXISTS {HPO_TRIALS_TABLE} (
    study_id text NOT NULL,
    trial_id integer NOT NULL,
    family text NOT NULL DEFAULT '',
    hyperparameters jsonb NOT NULL,
    objectives jsonb NOT NULL DEFAULT '[]',
    objective_values jsonb,
    intermediate_values jsonb NOT NULL DEFAULT '{{}}',
    status text NOT NULL CHECK (status IN ('running', 'completed', 'pruned', 'failed')),
    worker text NOT NULL DEFAULT '',
    baseline boolean NOT NULL DEFAULT false,
    error text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    duration_s double precision,
    updated_at timestamptz NOT NULL DEFAULT now(),
    lake_version text NOT NULL DEFAULT '{LAKE_VERSION}',
    experiment_id text NOT NULL DEFAULT '',
    PRIMARY KEY (study_id, trial_id)
)
"""
_MIGRATE = f"ALTER TABLE {HPO_TRIALS_TABLE} ADD COLUMN IF NOT EXISTS experiment_id text NOT NULL DEFAULT ''"
_COLS = (
    "study_id, trial_id, family, hyperparameters, objectives, objective_values, intermediate_values, status, "
    "worker, error, created_at, duration_s, baseline, experiment_id"
)
_UPSERT = f"""
INSERT INTO {HPO_TRIALS_TABLE} ({_COLS})
VALUES (%(study)s, %(number)s, %(family)s, %(params)s, %(objectives)s, %(values)s, %(intermediate)s, %(state)s,
        %(worker)s, %(error)s, COALESCE(%(created_at)s::timestamptz, now()), %(duration_s)s, %(baseline)s,
        %(experiment_id)s)
ON CONFLICT (study_id, trial_id) DO UPDATE SET
    family = EXCLUDED.family, hyperparameters = EXCLUDED.hyperparameters, objectives = EXCLUDED.objectives,
    objective_values = EXCLUDED.objective_values, intermediate_values = EXCLUDED.intermediate_values,
    status = EXCLUDED.status, worker = EXCLUDED.worker, error = EXCLUDED.error,
    created_at = COALESCE(%(created_at)s::timestamptz, {HPO_TRIALS_TABLE}.created_at),
    duration_s = EXCLUDED.duration_s, baseline = EXCLUDED.baseline, updated_at = now(),
    experiment_id = COALESCE(NULLIF(EXCLUDED.experiment_id, ''), {HPO_TRIALS_TABLE}.experiment_id)
"""


def _json_safe(v: float) -> float | None:
    return v if math.isfinite(v) else None


class PostgresHpoTrialStore:
    """HpoTrialStore on PostgreSQL (see the module docstring)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready:
            with self._pool.connection() as conn:
                conn.execute(_DDL)
                conn.execute(_MIGRATE)
            self._ready = True

    def upsert(self, record: TrialRecord) -> None:
        self._ensure()
        created = _EPOCH + timedelta(microseconds=record.created_at_ns // 1000) if record.created_at_ns else None
        row: dict[str, Any] = {
            "study": record.study,
            "number": int(record.number),
            "family": record.family,
            "params": Jsonb(dict(record.params)),
            "objectives": Jsonb(list(record.objectives)),
            "values": None if record.values is None else Jsonb([_json_safe(float(v)) for v in record.values]),
            "intermediate": Jsonb({str(k): _json_safe(float(v)) for k, v in record.intermediate.items()}),
            "state": record.state,
            "worker": record.worker,
            "error": record.error,
            "created_at": created,
            "duration_s": record.duration_s,
            "baseline": record.baseline,
            "experiment_id": record.experiment_id,
        }
        with self._pool.connection() as conn:
            conn.execute(_UPSERT, row)

    def list(self, study: str) -> builtins.list[TrialRecord]:
        self._ensure()
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLS} FROM {HPO_TRIALS_TABLE} WHERE study_id = %s ORDER BY trial_id", (study,)
            ).fetchall()
        out: builtins.list[TrialRecord] = []
        for s, n, family, params, objectives, values, inter, state, worker, error, created, duration, base, exp in rows:
            out.append(
                TrialRecord(
                    study=s,
                    number=int(n),
                    state=state,
                    params=dict(params),
                    values=None if values is None else tuple(math.nan if v is None else float(v) for v in values),
                    intermediate={int(k): (math.nan if v is None else float(v)) for k, v in (inter or {}).items()},
                    created_at_ns=int((created - _EPOCH) / timedelta(microseconds=1)) * 1000,
                    duration_s=duration,
                    worker=worker,
                    error=error,
                    family=family,
                    objectives=tuple(objectives or ()),
                    baseline=bool(base),
                    experiment_id=exp,
                )
            )
        return out
