"""Soft deletes by trading day: QuestDB 8.0 has no DELETE, so tables the ports delete from carry
``deleted BOOLEAN`` and a delete is an UPDATE of that flag (readers filter ``NOT deleted``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from psycopg import ClientCursor

__all__ = ["IN_LIST_MAX", "mark_days_deleted"]

#: Days per ``IN (...)`` list (QuestDB compiles each statement; long lists are slow to parse).
IN_LIST_MAX = 500


def mark_days_deleted(
    cur: ClientCursor,
    table: str,
    where: str,
    params: Sequence[object],
    days: Sequence[date],
    *,
    also: str = "",
    also_params: Callable[[list[date]], Sequence[object]] | None = None,
) -> None:
    """``UPDATE table SET deleted = true WHERE <where> AND trading_day IN (<days>) <also> AND NOT
    deleted`` in chunks of :data:`IN_LIST_MAX` sorted distinct days. ``params`` bind ``where``;
    ``also_params(chunk)`` binds ``also`` (e.g. a designated-timestamp range that lets QuestDB
    skip partitions). Does not wait for the WAL apply."""
    wanted = sorted(set(days))
    for i in range(0, len(wanted), IN_LIST_MAX):
        chunk = wanted[i : i + IN_LIST_MAX]
        marks = ", ".join(["%s"] * len(chunk))
        extra = tuple(also_params(chunk)) if also_params is not None else ()
        cur.execute(
            f"UPDATE {table} SET deleted = true WHERE {where} AND trading_day IN ({marks}) {also} AND NOT deleted",
            (*params, *chunk, *extra),
        )
