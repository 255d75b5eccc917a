"""``QuestDBModelRegistry``: the ModelRegistry port on ``ghtrader_model_registry_v2`` in QuestDB.

Rows are keyed by ``DEDUP UPSERT KEYS(key_ts, model_id, version)`` (``key_ts`` always 1970-01-01,
``version`` an INT: entries carry it as whole-number text, shared rules in
``application.research.registry_entries``). ``metrics`` is JSON text. Timestamps are
microseconds; ``created_at_ns`` 0 is stamped with this process's clock. Every write waits until
QuestDB applied it, so the next read sees it.

QuestDB has no insert-if-absent nor row locks: :meth:`register` reads before it inserts, and
:meth:`set_status` reads, then updates only the non-key status columns. Two processes
registering the same new version at the same moment may both succeed (the later one's row
stays); the application registers a model version from one job.

Status changes (:meth:`change_statuses`) are checked against the rows read first, then
written one UPDATE per version and appended to ``ghtrader_model_status_changes_v2``; without
transactions a concurrent change between the read and the writes is not detected, so the
application changes one model's statuses from one job at a time.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from psycopg import ClientCursor

from ghtrader.adapters.questdb.connections import QuestDBConnections
from ghtrader.adapters.questdb.schema import MODEL_REGISTRY_TABLE, MODEL_STATUS_CHANGES_TABLE
from ghtrader.application.errors import FailedPrecondition, NotFound
from ghtrader.application.ports.models import ModelStatus, RegistryEntry, StatusChange
from ghtrader.application.ports.stores import LAKE_VERSION
from ghtrader.application.research.registry_entries import (
    apply_changes,
    check_changes,
    check_entry,
    check_single_production,
    check_status,
    stamp_us,
    version_number,
    with_status,
)

__all__ = ["QuestDBModelRegistry"]

_COLS = (
    "model_id, version, model_type, status, artifact_path, config_hash, metrics, "
    "cast(created_at AS long), cast(promoted_at AS long), cast(retired_at AS long)"
)


def _us(ns: int | None) -> int | None:
    return None if ns is None else int(ns) // 1000


def _ns(us: int | None) -> int | None:
    return None if us is None else int(us) * 1000


def _entry(row: tuple[Any, ...]) -> RegistryEntry:
    return RegistryEntry(
        model_id=row[0],
        version=str(row[1]),
        model_type=row[2],
        status=row[3],
        artifact_path=row[4] or "",
        config_hash=row[5] or "",
        metrics=json.loads(row[6]) if row[6] else {},
        created_at_ns=_ns(row[7]) or 0,
        promoted_at_ns=_ns(row[8]),
        retired_at_ns=_ns(row[9]),
    )


class QuestDBModelRegistry:
    """ModelRegistry on QuestDB (see module docstring). Thread-safe. ``clock`` returns epoch ns."""

    def __init__(self, connections: QuestDBConnections, clock: Callable[[], int] = time.time_ns) -> None:
        self._cx = connections
        self._table = connections.table(MODEL_REGISTRY_TABLE)
        self._changes = connections.table(MODEL_STATUS_CHANGES_TABLE)
        self._clock = clock

    def _select(self, cur: ClientCursor, model_id: str, number: int) -> RegistryEntry | None:
        row = cur.execute(
            f"SELECT {_COLS} FROM {self._table} WHERE model_id = %s AND version = %s", (model_id, number)
        ).fetchone()
        return None if row is None else _entry(row)

    def register(self, entry: RegistryEntry) -> None:
        entry = check_entry(entry)
        number = int(entry.version)
        created = entry.created_at_ns or stamp_us(self._clock()) or 0
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            if self._select(cur, entry.model_id, number) is not None:
                raise FailedPrecondition(
                    f"model {entry.model_id!r} version {entry.version} is already registered; register a new version"
                )
            cur.execute(
                f"INSERT INTO {self._table} (key_ts, model_id, version, model_type, status, artifact_path, "
                "config_hash, metrics, created_at, promoted_at, retired_at, lake_version) "
                "VALUES (0, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    entry.model_id, number, entry.model_type, entry.status, entry.artifact_path, entry.config_hash,
                    json.dumps(dict(entry.metrics)), _us(created), _us(entry.promoted_at_ns),
                    _us(entry.retired_at_ns), LAKE_VERSION,
                ),
            )  # fmt: skip
            self._cx.wait_applied(conn, self._table)

    def get(self, model_id: str, version: str) -> RegistryEntry | None:
        number = version_number(version)
        with self._cx.pg() as conn:
            return self._select(ClientCursor(conn), model_id, number)

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
        with self._cx.pg() as conn:
            rows = ClientCursor(conn).execute(f"SELECT {_COLS} FROM {self._table}{where}", params).fetchall()
        return sorted((_entry(r) for r in rows), key=lambda e: (e.model_id, int(e.version)))

    def set_status(self, model_id: str, version: str, status: ModelStatus, at_ns: int) -> RegistryEntry:
        check_status(status)
        number = version_number(version)
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            entry = self._select(cur, model_id, number)
            if entry is None:
                raise NotFound(f"model {model_id!r} version {version} is not registered")
            updated = with_status(entry, status, at_ns)
            if status == "production":
                others = [e for e in self._model_rows(cur, model_id) if e.version != updated.version]
                check_single_production(model_id, [*others, updated])
            self._update(cur, updated)
            self._cx.wait_applied(conn, self._table)
        return updated

    def _model_rows(self, cur: ClientCursor, model_id: str) -> builtins.list[RegistryEntry]:
        rows = cur.execute(f"SELECT {_COLS} FROM {self._table} WHERE model_id = %s", (model_id,)).fetchall()
        return [_entry(r) for r in rows]

    def _update(self, cur: ClientCursor, e: RegistryEntry) -> None:
        cur.execute(
            f"UPDATE {self._table} SET status = %s, promoted_at = %s, retired_at = %s "
            "WHERE model_id = %s AND version = %s",
            (e.status, _us(e.promoted_at_ns), _us(e.retired_at_ns), e.model_id, int(e.version)),
        )

    def change_statuses(self, changes: Sequence[StatusChange]) -> builtins.list[RegistryEntry]:
        checked = check_changes(changes)
        model_id = checked[0].model_id
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            current = {e.version: e for e in self._model_rows(cur, model_id)}
            updated, state = apply_changes(current, checked)
            for seq, c in enumerate(checked):
                cur.execute(
                    f"INSERT INTO {self._changes} (at, model_id, version, seq, from_status, to_status, reason, "
                    "actor, decision, lake_version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (_us(c.at_ns), c.model_id, int(c.version), seq, c.from_status, c.to_status, c.reason, c.actor,
                     json.dumps(dict(c.decision)), LAKE_VERSION),
                )  # fmt: skip
            for version in sorted({c.version for c in checked}, key=int):
                self._update(cur, state[version])
            self._cx.wait_applied(conn, self._changes)
            self._cx.wait_applied(conn, self._table)
        return updated

    def history(self, model_id: str) -> builtins.list[StatusChange]:
        with self._cx.pg() as conn:
            rows = (
                ClientCursor(conn)
                .execute(
                    "SELECT model_id, version, from_status, to_status, reason, actor, cast(at AS long), decision, seq "
                    f"FROM {self._changes} WHERE model_id = %s",
                    (model_id,),
                )
                .fetchall()
            )
        rows = sorted(rows, key=lambda r: (int(r[6]), int(r[8])))
        return [
            StatusChange(
                model_id=r[0], version=str(r[1]), from_status=r[2], to_status=r[3], reason=r[4] or "",
                actor=r[5] or "", at_ns=_ns(r[6]) or 0, decision=json.loads(r[7]) if r[7] else {},
            )
            for r in rows
        ]  # fmt: skip
