"""``PostgresModelRegistry``: the ModelRegistry port on ``ghtrader_model_registry_v2``.

The table keys rows by ``(model_id, version integer)``; entries carry the version as text, so
it must be a whole number (shared rules: ``application.research.registry_entries``).
Timestamps are ``timestamptz`` (microseconds); ``created_at_ns`` 0 means the server's now().
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ghtrader.adapters.postgres.schema import MODEL_REGISTRY_TABLE
from ghtrader.application.errors import FailedPrecondition, NotFound
from ghtrader.application.ports.models import ModelStatus, RegistryEntry
from ghtrader.application.ports.stores import LAKE_VERSION
from ghtrader.application.research.registry_entries import (
    check_entry,
    check_status,
    version_number,
    with_status,
)

__all__ = ["PostgresModelRegistry"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COLS = (
    "model_id, version, model_type, status, artifact_path, config_hash, metrics, created_at, promoted_at, retired_at"
)
_INSERT = (
    f"INSERT INTO {MODEL_REGISTRY_TABLE} ({_COLS}, lake_version) VALUES "
    "(%(model_id)s, %(version)s, %(model_type)s, %(status)s, %(artifact_path)s, %(config_hash)s, %(metrics)s, "
    "COALESCE(%(created_at)s::timestamptz, now()), %(promoted_at)s, %(retired_at)s, %(lake_version)s) "
    "ON CONFLICT (model_id, version) DO NOTHING RETURNING model_id"
)
_SELECT = f"SELECT {_COLS} FROM {MODEL_REGISTRY_TABLE}"
_ORDER = " ORDER BY model_id, version"


def _ts(ns: int | None) -> datetime | None:
    return None if not ns else _EPOCH + timedelta(microseconds=int(ns) // 1000)


def _ns(ts: datetime | None) -> int | None:
    if ts is None:
        return None
    delta = ts - _EPOCH
    return (delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds) * 1000


def _entry(row: tuple[Any, ...]) -> RegistryEntry:
    return RegistryEntry(
        model_id=row[0],
        version=str(row[1]),
        model_type=row[2],
        status=row[3],
        artifact_path=row[4],
        config_hash=row[5],
        metrics=dict(row[6] or {}),
        created_at_ns=_ns(row[7]) or 0,
        promoted_at_ns=_ns(row[8]),
        retired_at_ns=_ns(row[9]),
    )


class PostgresModelRegistry:
    """ModelRegistry on PostgreSQL. Thread-safe: one pooled connection per call."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def register(self, entry: RegistryEntry) -> None:
        entry = check_entry(entry)
        params = {
            "model_id": entry.model_id,
            "version": int(entry.version),
            "model_type": entry.model_type,
            "status": entry.status,
            "artifact_path": entry.artifact_path,
            "config_hash": entry.config_hash,
            "metrics": Jsonb(dict(entry.metrics)),
            "created_at": _ts(entry.created_at_ns),
            "promoted_at": _ts(entry.promoted_at_ns),
            "retired_at": _ts(entry.retired_at_ns),
            "lake_version": LAKE_VERSION,
        }
        with self._pool.connection() as conn:
            inserted = conn.execute(_INSERT, params).fetchone()
        if inserted is None:
            raise FailedPrecondition(
                f"model {entry.model_id!r} version {entry.version} is already registered; register a new version"
            )

    def get(self, model_id: str, version: str) -> RegistryEntry | None:
        number = version_number(version)
        with self._pool.connection() as conn:
            row = conn.execute(f"{_SELECT} WHERE model_id = %s AND version = %s", (model_id, number)).fetchone()
        return None if row is None else _entry(row)

    def list(self, model_type: str | None = None, status: str | None = None) -> list[RegistryEntry]:
        if status is not None:
            check_status(status)
        clauses, params = [], []
        if model_type is not None:
            clauses.append("model_type = %s")
            params.append(model_type)
        if status is not None:
            clauses.append("status = %s")
            params.append(status)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._pool.connection() as conn:
            rows = conn.execute(f"{_SELECT}{where}{_ORDER}", params).fetchall()
        return [_entry(r) for r in rows]

    def set_status(self, model_id: str, version: str, status: ModelStatus, at_ns: int) -> RegistryEntry:
        check_status(status)
        number = version_number(version)
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute(
                f"{_SELECT} WHERE model_id = %s AND version = %s FOR UPDATE", (model_id, number)
            ).fetchone()
            if row is None:
                raise NotFound(f"model {model_id!r} version {version} is not registered")
            updated = with_status(_entry(row), status, at_ns)
            conn.execute(
                f"UPDATE {MODEL_REGISTRY_TABLE} SET status = %s, promoted_at = %s, retired_at = %s "
                "WHERE model_id = %s AND version = %s",
                (updated.status, _ts(updated.promoted_at_ns), _ts(updated.retired_at_ns), model_id, number),
            )
        return updated
