"""``PostgresEnsembleConfigStore``: the EnsembleConfigStore port on ``ghtrader_ensemble_configs_v2``.

One row per (ensemble_id, version); a partial unique index allows one active row per ensemble.
Saves and rollbacks run in one transaction holding a per-ensemble advisory lock, so two
concurrent saves get consecutive versions and never two active rows.
"""

from __future__ import annotations

import builtins
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ghtrader.adapters.table_names import ENSEMBLE_CONFIGS_TABLE
from ghtrader.application.errors import NotFound
from ghtrader.application.ports.ensembles import EnsembleConfig
from ghtrader.application.ports.stores import LAKE_VERSION

__all__ = ["DDL", "PostgresEnsembleConfigStore"]

T = ENSEMBLE_CONFIGS_TABLE
DDL = (
    f"""CREATE TABLE IF NOT EXISTS {T} (
        ensemble_id text NOT NULL,
        version integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        config_hash text NOT NULL,
        member_models jsonb NOT NULL,
        weights jsonb NOT NULL,
        strategy text NOT NULL,
        performance_window_days integer NOT NULL DEFAULT 0,
        params jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        active boolean NOT NULL DEFAULT false,
        note text NOT NULL DEFAULT '',
        lake_version text NOT NULL DEFAULT 'v2',
        PRIMARY KEY (ensemble_id, version)
    )""",
    f"CREATE UNIQUE INDEX IF NOT EXISTS {T}_active ON {T} (ensemble_id) WHERE active",
)
_COLS = (
    "ensemble_id, version, created_at, config_hash, member_models, weights, strategy, "
    "performance_window_days, params, active, note"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _row(r: tuple[Any, ...]) -> EnsembleConfig:
    created = r[2]
    return EnsembleConfig(
        ensemble_id=r[0],
        version=int(r[1]),
        created_at_ns=(created - _EPOCH) // timedelta(microseconds=1) * 1000,
        config_hash=r[3],
        member_models=tuple(r[4]),
        weights=tuple(float(w) for w in r[5]),
        strategy=r[6],
        performance_window_days=int(r[7]),
        params=dict(r[8]),
        active=bool(r[9]),
        note=r[10],
    )


class PostgresEnsembleConfigStore:
    """EnsembleConfigStore on a psycopg pool (the store bundle's); creates its table if missing."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        with self._pool.connection() as conn, conn.transaction():
            for statement in DDL:
                conn.execute(statement)

    def save(self, config: EnsembleConfig) -> EnsembleConfig:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (T + config.ensemble_id,))
            active = conn.execute(
                f"SELECT {_COLS} FROM {T} WHERE ensemble_id = %s AND active", (config.ensemble_id,)
            ).fetchone()
            if active is not None and active[3] == config.config_hash:
                return _row(active)
            (last,) = conn.execute(
                f"SELECT COALESCE(max(version), 0) FROM {T} WHERE ensemble_id = %s", (config.ensemble_id,)
            ).fetchone()  # type: ignore[misc]
            conn.execute(f"UPDATE {T} SET active = false WHERE ensemble_id = %s AND active", (config.ensemble_id,))
            created = _EPOCH + timedelta(microseconds=config.created_at_ns // 1000) if config.created_at_ns else None
            row = conn.execute(
                f"INSERT INTO {T} ({_COLS}, lake_version) VALUES "
                "(%s, %s, COALESCE(%s::timestamptz, now()), %s, %s, %s, %s, %s, %s, true, %s, %s) "
                f"RETURNING {_COLS}",
                (
                    config.ensemble_id,
                    int(last) + 1,
                    created,
                    config.config_hash,
                    Jsonb(list(config.member_models)),
                    Jsonb(list(config.weights)),
                    config.strategy,
                    int(config.performance_window_days),
                    Jsonb(dict(config.params)),
                    config.note,
                    LAKE_VERSION,
                ),
            ).fetchone()
            assert row is not None
            return _row(row)

    def get(self, ensemble_id: str, version: int | None = None) -> EnsembleConfig | None:
        with self._pool.connection() as conn:
            if version is None:
                row = conn.execute(f"SELECT {_COLS} FROM {T} WHERE ensemble_id = %s AND active", (ensemble_id,))
            else:
                row = conn.execute(
                    f"SELECT {_COLS} FROM {T} WHERE ensemble_id = %s AND version = %s", (ensemble_id, int(version))
                )
            found = row.fetchone()
        return None if found is None else _row(found)

    def list(self, ensemble_id: str | None = None) -> builtins.list[EnsembleConfig]:
        with self._pool.connection() as conn:
            if ensemble_id is None:
                rows = conn.execute(f"SELECT {_COLS} FROM {T} ORDER BY ensemble_id, version").fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_COLS} FROM {T} WHERE ensemble_id = %s ORDER BY version", (ensemble_id,)
                ).fetchall()
        return [_row(r) for r in rows]

    def activate(self, ensemble_id: str, version: int) -> EnsembleConfig:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (T + ensemble_id,))
            exists = conn.execute(
                f"SELECT 1 FROM {T} WHERE ensemble_id = %s AND version = %s", (ensemble_id, int(version))
            ).fetchone()
            if exists is None:
                raise NotFound(f"no ensemble {ensemble_id!r} version {version}")
            conn.execute(f"UPDATE {T} SET active = false WHERE ensemble_id = %s AND active", (ensemble_id,))
            row = conn.execute(
                f"UPDATE {T} SET active = true WHERE ensemble_id = %s AND version = %s RETURNING {_COLS}",
                (ensemble_id, int(version)),
            ).fetchone()
            assert row is not None
            return _row(row)
