"""``PostgresModelRegistry``: the ModelRegistry port on ``ghtrader_model_registry_v2``.

The table keys rows by ``(model_id, version integer)``; entries carry the version as text, so
it must be a whole number (shared rules: ``application.research.registry_entries``).
Timestamps are ``timestamptz`` (microseconds); ``created_at_ns`` 0 means the server's now().

Status changes lock every row of the model (``FOR UPDATE``), check and apply the batch and
append it to ``ghtrader_model_status_changes_v2`` in one transaction, so two promotions of one
model serialise and the model never has two production versions.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ghtrader.adapters.postgres.schema import MODEL_REGISTRY_TABLE, MODEL_STATUS_CHANGES_TABLE
from ghtrader.application.errors import FailedPrecondition, NotFound
from ghtrader.application.ports.models import ModelStatus, RegistryEntry, StatusChange
from ghtrader.application.ports.stores import LAKE_VERSION
from ghtrader.application.research.registry_entries import (
    apply_changes,
    check_changes,
    check_entry,
    check_single_production,
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
_CHANGE_COLS = "model_id, version, from_status, to_status, reason, actor, at, decision"


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
            if status == "production":
                others = conn.execute(
                    f"{_SELECT} WHERE model_id = %s AND version <> %s AND status = 'production' FOR UPDATE",
                    (model_id, number),
                ).fetchall()
                check_single_production(model_id, [*(_entry(r) for r in others), updated])
            self._update(conn, updated)
        return updated

    @staticmethod
    def _update(conn: Any, e: RegistryEntry) -> None:
        conn.execute(
            f"UPDATE {MODEL_REGISTRY_TABLE} SET status = %s, promoted_at = %s, retired_at = %s "
            "WHERE model_id = %s AND version = %s",
            (e.status, _ts(e.promoted_at_ns), _ts(e.retired_at_ns), e.model_id, int(e.version)),
        )

    def change_statuses(self, changes: Sequence[StatusChange]) -> builtins.list[RegistryEntry]:
        checked = check_changes(changes)
        model_id = checked[0].model_id
        with self._pool.connection() as conn, conn.transaction():
            rows = conn.execute(f"{_SELECT} WHERE model_id = %s ORDER BY version FOR UPDATE", (model_id,)).fetchall()
            current = {e.version: e for e in map(_entry, rows)}
            updated, state = apply_changes(current, checked)
            for version in sorted({c.version for c in checked}, key=int):
                self._update(conn, state[version])
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {MODEL_STATUS_CHANGES_TABLE} ({_CHANGE_COLS}, lake_version) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        (c.model_id, int(c.version), c.from_status, c.to_status, c.reason, c.actor,
                         _ts(c.at_ns) or _EPOCH, Jsonb(dict(c.decision)), LAKE_VERSION)
                        for c in checked
                    ],
                )  # fmt: skip
        return updated

    def history(self, model_id: str) -> builtins.list[StatusChange]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {_CHANGE_COLS} FROM {MODEL_STATUS_CHANGES_TABLE} WHERE model_id = %s ORDER BY change_id",
                (model_id,),
            ).fetchall()
        return [
            StatusChange(
                model_id=r[0], version=str(r[1]), from_status=r[2], to_status=r[3], reason=r[4], actor=r[5],
                at_ns=_ns(r[6]) or 0, decision=dict(r[7] or {}),
            )
            for r in rows
        ]  # fmt: skip
