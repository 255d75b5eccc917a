"""``PostgresIndexStore``: the IndexStore port on ``ghtrader_symbol_day_index_v2`` and
``ghtrader_no_data_days_v2``.

Timestamps (``updated_at``, ``created_at``) are ``timestamptz`` (microsecond resolution): an
``*_ns`` value comes back truncated to whole microseconds, and 0 means "stamp with the
server's now()".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from psycopg_pool import ConnectionPool

from ghtrader.adapters.postgres.schema import NO_DATA_TABLE, SYMBOL_DAY_INDEX_TABLE
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.stores import (
    LAKE_VERSION,
    TICKS_LAKES,
    DayManifest,
    NoDataDay,
)

__all__ = ["PostgresIndexStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS_SQL = "((extract(epoch FROM {col}) * 1000000)::bigint * 1000)"

_MANIFEST_COLS = (
    "symbol, trading_day, ticks_lake, rows_total, first_datetime_ns, last_datetime_ns, l5_present, "
    "row_hash_min, row_hash_max, row_hash_sum, row_hash_sum_abs"
)
_UPSERT_MANIFEST = (
    f"INSERT INTO {SYMBOL_DAY_INDEX_TABLE} ({_MANIFEST_COLS}, updated_at, lake_version) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()), %s) "
    "ON CONFLICT (symbol, trading_day, lake_version, ticks_lake) DO UPDATE SET "
    "rows_total = EXCLUDED.rows_total, first_datetime_ns = EXCLUDED.first_datetime_ns, "
    "last_datetime_ns = EXCLUDED.last_datetime_ns, l5_present = EXCLUDED.l5_present, "
    "row_hash_min = EXCLUDED.row_hash_min, row_hash_max = EXCLUDED.row_hash_max, "
    "row_hash_sum = EXCLUDED.row_hash_sum, row_hash_sum_abs = EXCLUDED.row_hash_sum_abs, "
    "updated_at = EXCLUDED.updated_at"
)
_SELECT_MANIFESTS = (
    f"SELECT {_MANIFEST_COLS}, {_NS_SQL.format(col='updated_at')}, lake_version FROM {SYMBOL_DAY_INDEX_TABLE} "
)
_PROVENANCE_COLS = "provider, request, source_path, source_size, source_mtime_ns"
_INSERT_NO_DATA = (
    f"INSERT INTO {NO_DATA_TABLE} (symbol, trading_day, ticks_lake, reason, created_at, lake_version, "
    f"{_PROVENANCE_COLS}) VALUES (%s, %s, %s, %s, coalesce(%s, now()), %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (symbol, trading_day, lake_version, ticks_lake) DO NOTHING"
)
_SELECT_NO_DATA = (
    f"SELECT symbol, trading_day, ticks_lake, reason, {_NS_SQL.format(col='created_at')}, lake_version, "
    f"{_PROVENANCE_COLS} FROM {NO_DATA_TABLE} "
)


def _ts(ns: int) -> datetime | None:
    return None if ns == 0 else _EPOCH + timedelta(microseconds=ns // 1000)


def _check_lake(ticks_lake: str) -> None:
    if ticks_lake not in TICKS_LAKES:
        raise InvalidArgument(f"unknown ticks_lake {ticks_lake!r}: expected one of {TICKS_LAKES}")


def _filters(
    symbol: str | None, ticks_lake: str, start_day: date | None, end_day: date | None
) -> tuple[str, list[Any]]:
    _check_lake(ticks_lake)
    where = ["ticks_lake = %s", "lake_version = %s"]
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
    return "WHERE " + " AND ".join(where) + " ORDER BY symbol, trading_day", params


class PostgresIndexStore:
    """IndexStore on PostgreSQL. Thread-safe: one pooled connection per call."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    # --- day manifests --------------------------------------------------------------------
    def upsert_manifests(self, manifests: Sequence[DayManifest]) -> None:
        """Insert or replace by (symbol, trading_day, lake_version, ticks_lake), in one transaction."""
        if not manifests:
            return
        for m in manifests:
            _check_lake(m.ticks_lake)
        rows = [
            (
                m.symbol,
                m.trading_day,
                m.ticks_lake,
                m.rows_total,
                m.first_datetime_ns,
                m.last_datetime_ns,
                m.l5_present,
                m.row_hash_min,
                m.row_hash_max,
                m.row_hash_sum,
                m.row_hash_sum_abs,
                _ts(m.updated_at_ns),
                m.lake_version,
            )
            for m in manifests
        ]
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(_UPSERT_MANIFEST, rows)

    def manifests(
        self,
        symbol: str | None = None,
        ticks_lake: str = "raw",
        start_day: date | None = None,
        end_day: date | None = None,
    ) -> list[DayManifest]:
        where, params = _filters(symbol, ticks_lake, start_day, end_day)
        with self._pool.connection() as conn:
            rows = conn.execute(_SELECT_MANIFESTS + where, params).fetchall()
        return [
            DayManifest(
                symbol=r[0],
                trading_day=r[1],
                ticks_lake=r[2],
                rows_total=r[3],
                first_datetime_ns=r[4],
                last_datetime_ns=r[5],
                l5_present=r[6],
                row_hash_min=r[7],
                row_hash_max=r[8],
                row_hash_sum=r[9],
                row_hash_sum_abs=r[10],
                updated_at_ns=r[11],
                lake_version=r[12],
            )
            for r in rows
        ]

    def delete_manifests(self, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        _check_lake(ticks_lake)
        if not days:
            return
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                f"DELETE FROM {SYMBOL_DAY_INDEX_TABLE} WHERE symbol = %s AND ticks_lake = %s "
                "AND lake_version = %s AND trading_day = ANY(%s::date[])",
                (symbol, ticks_lake, LAKE_VERSION, list(days)),
            )

    def indexed_symbols(self, ticks_lake: str = "raw") -> list[str]:
        _check_lake(ticks_lake)
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT DISTINCT symbol FROM {SYMBOL_DAY_INDEX_TABLE} WHERE ticks_lake = %s AND lake_version = %s "
                "ORDER BY symbol",
                (ticks_lake, LAKE_VERSION),
            ).fetchall()
        return [r[0] for r in rows]

    # --- no-data ledger ---------------------------------------------------------------------
    def record_no_data(self, days: Sequence[NoDataDay]) -> None:
        """Idempotent: an entry already recorded keeps its first reason, created_at and provenance."""
        if not days:
            return
        for d in days:
            _check_lake(d.ticks_lake)
        rows = [
            (
                d.symbol,
                d.trading_day,
                d.ticks_lake,
                d.reason,
                _ts(d.created_at_ns),
                d.lake_version,
                d.provider,
                d.request,
                d.source_path,
                d.source_size,
                d.source_mtime_ns,
            )
            for d in days
        ]
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(_INSERT_NO_DATA, rows)

    def no_data_days(
        self,
        symbol: str | None = None,
        ticks_lake: str = "raw",
        start_day: date | None = None,
        end_day: date | None = None,
    ) -> list[NoDataDay]:
        where, params = _filters(symbol, ticks_lake, start_day, end_day)
        with self._pool.connection() as conn:
            rows = conn.execute(_SELECT_NO_DATA + where, params).fetchall()
        return [
            NoDataDay(
                symbol=r[0],
                trading_day=r[1],
                ticks_lake=r[2],
                reason=r[3],
                created_at_ns=r[4],
                lake_version=r[5],
                provider=r[6],
                request=r[7],
                source_path=r[8],
                source_size=r[9],
                source_mtime_ns=r[10],
            )
            for r in rows
        ]

    def clear_no_data(self, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        _check_lake(ticks_lake)
        if not days:
            return
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                f"DELETE FROM {NO_DATA_TABLE} WHERE symbol = %s AND ticks_lake = %s "
                "AND lake_version = %s AND trading_day = ANY(%s::date[])",
                (symbol, ticks_lake, LAKE_VERSION, list(days)),
            )
