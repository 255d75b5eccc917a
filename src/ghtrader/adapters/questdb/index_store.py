"""``QuestDBIndexStore``: the IndexStore port on ``ghtrader_symbol_day_index_v2`` and
``ghtrader_no_data_days_v2`` in QuestDB.

Both tables are keyed by ``DEDUP UPSERT KEYS(trading_day, symbol, lake_version, ticks_lake)``:
an insert with an existing key replaces the row. Deletes are soft (``deleted = true``, hidden
from every reader; a later insert of the key revives it). Every write waits for the WAL apply
so the next read sees it. Like the other stores, ``*_ns`` stamps keep microsecond resolution
and 0 means "stamp with the current time"; no-data entries keep their first record.

LONG NULL is INT64_MIN in QuestDB: INT64_MIN is written as NULL and NULL read back as INT64_MIN
(a manifest's row-hash min/sums can legitimately be INT64_MIN).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from typing import Any

from psycopg import ClientCursor

from ghtrader.adapters.questdb.connections import QuestDBConnections
from ghtrader.adapters.questdb.schema import NO_DATA_TABLE, SYMBOL_DAY_INDEX_TABLE
from ghtrader.adapters.questdb.soft_delete import mark_days_deleted
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.stores import (
    LAKE_VERSION,
    TICKS_LAKES,
    DayManifest,
    NoDataDay,
)

__all__ = ["QuestDBIndexStore"]

_INT64_MIN = -(2**63)
_ROWS_PER_INSERT = 500
_MANIFEST_COLS = (
    "symbol, trading_day, ticks_lake, rows_total, first_datetime_ns, last_datetime_ns, l5_present, "
    "row_hash_min, row_hash_max, row_hash_sum, row_hash_sum_abs, updated_at_ns, lake_version"
)
_NO_DATA_COLS = (
    "symbol, trading_day, ticks_lake, reason, created_at_ns, lake_version, "
    "provider, request, source_path, source_size, source_mtime_ns"
)


def _check_lake(ticks_lake: str) -> None:
    if ticks_lake not in TICKS_LAKES:
        raise InvalidArgument(f"unknown ticks_lake {ticks_lake!r}: expected one of {TICKS_LAKES}")


def _long(value: int) -> int | None:
    # QuestDB stores LONG NULL as INT64_MIN, and the INT64_MIN literal does not parse as a LONG.
    return None if value == _INT64_MIN else int(value)


def _from_long(value: int | None) -> int:
    return _INT64_MIN if value is None else int(value)


def _stamp(ns: int) -> int:
    ns = ns or time.time_ns()
    return ns - ns % 1000


def _filters(
    symbol: str | None, ticks_lake: str, start_day: date | None, end_day: date | None
) -> tuple[str, list[Any]]:
    _check_lake(ticks_lake)
    where = ["ticks_lake = %s", "lake_version = %s", "NOT deleted"]
    params: list[Any] = [ticks_lake, LAKE_VERSION]
    if symbol is not None:
        where.append("symbol = %s")
        params.append(symbol)
    if start_day is not None:
        where.append("trading_day >= %s")
        params.append(start_day)
    if end_day is not None:
        where.append("trading_day <= %s")
        params.append(end_day)
    return " WHERE " + " AND ".join(where), params


class QuestDBIndexStore:
    """IndexStore on QuestDB (see module docstring). Thread-safe."""

    def __init__(self, connections: QuestDBConnections) -> None:
        self._cx = connections
        self._index = connections.table(SYMBOL_DAY_INDEX_TABLE)
        self._no_data = connections.table(NO_DATA_TABLE)

    def _insert(self, table: str, columns: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        width = len(rows[0])
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            for i in range(0, len(rows), _ROWS_PER_INSERT):
                chunk = rows[i : i + _ROWS_PER_INSERT]
                values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
                cur.execute(
                    f"INSERT INTO {table} ({columns}) VALUES {values}",
                    [v for row in chunk for v in row],
                )
            self._cx.wait_applied(conn, table)

    def _soft_delete(self, table: str, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        _check_lake(ticks_lake)
        if not days:
            return
        with self._cx.pg() as conn:
            mark_days_deleted(
                ClientCursor(conn),
                table,
                "symbol = %s AND ticks_lake = %s AND lake_version = %s",
                (symbol, ticks_lake, LAKE_VERSION),
                days,
            )
            self._cx.wait_applied(conn, table)

    # --- day manifests --------------------------------------------------------------------
    def upsert_manifests(self, manifests: Sequence[DayManifest]) -> None:
        """Insert or replace by (symbol, trading_day, lake_version, ticks_lake); the last of
        repeated keys wins."""
        for m in manifests:
            _check_lake(m.ticks_lake)
        rows = [
            (
                m.symbol, m.trading_day, m.ticks_lake, _long(m.rows_total), _long(m.first_datetime_ns),
                _long(m.last_datetime_ns), bool(m.l5_present), _long(m.row_hash_min), _long(m.row_hash_max),
                _long(m.row_hash_sum), _long(m.row_hash_sum_abs), _stamp(m.updated_at_ns), m.lake_version,
            )
            for m in manifests
        ]  # fmt: skip
        self._insert(self._index, f"{_MANIFEST_COLS}, deleted", [(*row, False) for row in rows])

    def manifests(
        self,
        symbol: str | None = None,
        ticks_lake: str = "raw",
        start_day: date | None = None,
        end_day: date | None = None,
    ) -> list[DayManifest]:
        """Index rows, sorted by (symbol, trading_day)."""
        where, params = _filters(symbol, ticks_lake, start_day, end_day)
        with self._cx.pg() as conn:
            rows = ClientCursor(conn).execute(f"SELECT {_MANIFEST_COLS} FROM {self._index}{where}", params).fetchall()
        out = [
            DayManifest(
                symbol=r[0], trading_day=r[1].date(), ticks_lake=r[2], rows_total=_from_long(r[3]),
                first_datetime_ns=_from_long(r[4]), last_datetime_ns=_from_long(r[5]), l5_present=bool(r[6]),
                row_hash_min=_from_long(r[7]), row_hash_max=_from_long(r[8]), row_hash_sum=_from_long(r[9]),
                row_hash_sum_abs=_from_long(r[10]), updated_at_ns=_from_long(r[11]), lake_version=r[12],
            )
            for r in rows
        ]  # fmt: skip
        return sorted(out, key=lambda m: (m.symbol, m.trading_day))

    def delete_manifests(self, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        self._soft_delete(self._index, symbol, ticks_lake, days)

    def indexed_symbols(self, ticks_lake: str = "raw") -> list[str]:
        _check_lake(ticks_lake)
        with self._cx.pg() as conn:
            rows = (
                ClientCursor(conn)
                .execute(
                    f"SELECT DISTINCT symbol FROM {self._index} WHERE ticks_lake = %s AND lake_version = %s AND NOT deleted",
                    (ticks_lake, LAKE_VERSION),
                )
                .fetchall()
            )
        return sorted(r[0] for r in rows)

    # --- no-data ledger ---------------------------------------------------------------------
    def record_no_data(self, days: Sequence[NoDataDay]) -> None:
        """Idempotent: an entry already recorded keeps its first reason, created_at and provenance.

        QuestDB has no insert-if-absent, so this reads the keys present first; two processes
        recording the same new key at the same moment may leave the later one's reason.
        """
        for d in days:
            _check_lake(d.ticks_lake)
        fresh: dict[tuple[str, date, str, str], NoDataDay] = {}
        for d in days:
            fresh.setdefault((d.symbol, d.trading_day, d.lake_version, d.ticks_lake), d)
        if not fresh:
            return
        symbols = sorted({k[0] for k in fresh})
        first = min(k[1] for k in fresh)
        last = max(k[1] for k in fresh)
        marks = ", ".join(["%s"] * len(symbols))
        with self._cx.pg() as conn:
            present = (
                ClientCursor(conn)
                .execute(
                    f"SELECT symbol, trading_day, lake_version, ticks_lake FROM {self._no_data} "
                    f"WHERE NOT deleted AND symbol IN ({marks}) AND trading_day >= %s AND trading_day <= %s",
                    (*symbols, first, last),
                )
                .fetchall()
            )
        for sym, day, version, lake in present:
            fresh.pop((sym, day.date(), version, lake), None)
        rows = [
            (
                d.symbol,
                d.trading_day,
                d.ticks_lake,
                d.reason,
                _stamp(d.created_at_ns),
                d.lake_version,
                d.provider,
                d.request,
                d.source_path,
                d.source_size,
                d.source_mtime_ns,
                False,
            )
            for d in fresh.values()
        ]
        self._insert(self._no_data, f"{_NO_DATA_COLS}, deleted", rows)

    def no_data_days(
        self,
        symbol: str | None = None,
        ticks_lake: str = "raw",
        start_day: date | None = None,
        end_day: date | None = None,
    ) -> list[NoDataDay]:
        """No-data entries, sorted by (symbol, trading_day)."""
        where, params = _filters(symbol, ticks_lake, start_day, end_day)
        with self._cx.pg() as conn:
            rows = ClientCursor(conn).execute(f"SELECT {_NO_DATA_COLS} FROM {self._no_data}{where}", params).fetchall()
        out = [
            NoDataDay(
                symbol=r[0], trading_day=r[1].date(), ticks_lake=r[2], reason=r[3] or "",
                created_at_ns=_from_long(r[4]), lake_version=r[5], provider=r[6] or "", request=r[7] or "",
                source_path=r[8] or "", source_size=-1 if r[9] is None else int(r[9]),
                source_mtime_ns=-1 if r[10] is None else int(r[10]),
            )
            for r in rows
        ]  # fmt: skip
        return sorted(out, key=lambda d: (d.symbol, d.trading_day))

    def clear_no_data(self, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        self._soft_delete(self._no_data, symbol, ticks_lake, days)
