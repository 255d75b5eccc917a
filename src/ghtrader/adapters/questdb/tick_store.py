"""``QuestDBTickStore``: the TickStore port on ``ghtrader_ticks_raw_v2`` in QuestDB.

Writes: one ILP/HTTP request per ``write_ticks`` call (auto-flush off, one ``flush``), which
QuestDB commits all or nothing; then the call waits until the WAL apply job made the rows
visible, so a read after a write sees it. Upsert comes from ``DEDUP UPSERT KEYS`` (a rewrite
replaces the whole row, ``deleted`` back to false). Batches above ``max_rows_per_flush`` go in
several requests: each is atomic, the call as a whole is not (a retry is still harmless).

Reads: PG wire, binary results streamed in chunks of rows, ``np.fromiter`` straight into a
structured array (no per-row Python lists), so the client never buffers years at once. The
filter on ``ts`` (the designated timestamp) lets QuestDB skip partitions: a trading day's ticks
lie between ``max_day_lag`` days before it and the end of it (night sessions belong to the next
trading day), which :meth:`write_ticks` enforces.

NULL: a DOUBLE NaN is stored as NULL and read back as NaN; a ``row_hash`` of INT64_MIN is stored
as NULL and read back as INT64_MIN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from psycopg import ClientCursor
from questdb import QuestDBError, QuestDBErrorCode

from ghtrader.adapters.questdb.connections import QuestDBConnections
from ghtrader.adapters.questdb.schema import TICKS_TABLE
from ghtrader.adapters.questdb.soft_delete import mark_days_deleted
from ghtrader.application.errors import FailedPrecondition, InvalidArgument, Unavailable
from ghtrader.application.ports.stores import (
    LAKE_VERSION,
    TICKS_LAKES,
    StoredTicks,
    TickBatch,
    market_columns,
)
from ghtrader.application.tick_batches import normalize_tick_batch
from ghtrader.domain.ticks import MARKET_FIELDS, TICK_DTYPE, TICK_FIELDS

__all__ = ["QuestDBTickStore", "ilp_error"]

_NS_PER_DAY = 86_400_000_000_000
_MS_PER_DAY = 86_400_000
_INT64_MIN = np.iinfo(np.int64).min
_IN_LIST_MAX = 500
_SYMBOLS_RAW = ["symbol", "ticks_lake", "lake_version"]
_SYMBOLS_MAIN = [*_SYMBOLS_RAW, "underlying_contract", "schedule_hash"]
_UNREACHABLE_CODES = {
    QuestDBErrorCode.SocketError,
    QuestDBErrorCode.CouldNotResolveAddr,
    QuestDBErrorCode.ConnectTimeout,
    QuestDBErrorCode.HttpNotSupported,
}

_READ_RAW_DTYPE = np.dtype(
    [
        ("trading_day_ms", "<i8"),
        *((name, TICK_DTYPE[name]) for name in TICK_FIELDS),
        ("row_hash", "<i8"),
        ("row_hash_null", "?"),
    ]
)
_READ_MAIN_DTYPE = np.dtype(
    [*_READ_RAW_DTYPE.descr, ("underlying_contract", "O"), ("segment_id", "<i8"), ("schedule_hash", "O")]
)
# NULL -> NaN for DOUBLE; row_hash NULL (= INT64_MIN) comes as 0 plus a flag (fromiter cannot
# put None into an int64 field).
_SELECT_RAW = (
    "cast(trading_day AS long), datetime_ns, " + ", ".join(MARKET_FIELDS) + ", coalesce(row_hash, 0), row_hash = null"
)
_SELECT_MAIN = _SELECT_RAW + ", underlying_contract, coalesce(segment_id, -1), schedule_hash"


def _check_lake(ticks_lake: str) -> None:
    if ticks_lake not in TICKS_LAKES:
        raise InvalidArgument(f"unknown ticks_lake {ticks_lake!r}: expected one of {TICKS_LAKES}")


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)  # naive UTC: what QuestDB's PG wire expects


def ilp_error(exc: QuestDBError, where: str) -> Exception:
    """The application error for a failed ILP flush (unreachable server vs rejected data)."""
    if exc.code in _UNREACHABLE_CODES:
        return Unavailable(f"QuestDB ILP/HTTP at {where} is unreachable: {exc}")
    return FailedPrecondition(f"QuestDB rejected the write (nothing of this request was committed): {exc}")


class QuestDBTickStore:
    """TickStore on QuestDB (see module docstring). Thread-safe.

    ``max_rows_per_flush`` bounds one atomic ILP request (~700 bytes per row on the wire);
    ``stream_rows`` is how many rows a read fetches per round (client memory per round);
    ``max_day_lag`` is how many calendar days (UTC) a tick may precede its trading day.
    """

    def __init__(
        self,
        connections: QuestDBConnections,
        *,
        max_rows_per_flush: int = 1_000_000,
        stream_rows: int = 50_000,
        max_day_lag: int = 14,
    ) -> None:
        if max_rows_per_flush < 1 or stream_rows < 1 or max_day_lag < 0:
            raise ValueError("max_rows_per_flush and stream_rows must be >= 1, max_day_lag >= 0")
        self._cx = connections
        self._table = connections.table(TICKS_TABLE)
        self._max_rows = max_rows_per_flush
        self._stream_rows = stream_rows
        self._max_lag = max_day_lag
        self._table_checked = False

    # --- writing ------------------------------------------------------------------------------
    def write_ticks(self, batch: TickBatch) -> int:
        """Upsert the batch (atomic up to ``max_rows_per_flush`` rows) and wait until it is visible;
        returns the rows sent after collapsing repeated times."""
        batch = normalize_tick_batch(batch)
        n = len(batch)
        if n == 0:
            return 0
        self._check_day_lag(batch)
        self._check_table()
        symbols = _SYMBOLS_RAW if batch.main_l5 is None else _SYMBOLS_MAIN
        where = f"{self._cx.params.host}:{self._cx.params.http_port}"
        try:
            with self._cx.sender() as sender:
                for start in range(0, n, self._max_rows):
                    buf = sender.new_buffer()
                    buf.dataframe(
                        self._frame(batch, start, min(start + self._max_rows, n)),
                        table_name=self._table,
                        symbols=symbols,
                        at="ts",
                    )
                    sender.flush(buf, transactional=True)
        except QuestDBError as exc:
            raise ilp_error(exc, where) from exc
        with self._cx.pg() as conn:
            self._cx.wait_applied(conn, self._table)
        return n

    def _check_day_lag(self, batch: TickBatch) -> None:
        tick_day = np.floor_divide(batch.ticks["datetime_ns"], _NS_PER_DAY)
        lag = batch.trading_day.astype(np.int64) - tick_day
        bad = (lag < -1) | (lag > self._max_lag)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidArgument(
                f"{int(bad.sum())} rows of {batch.symbol} have a trading_day implausible for their time, e.g. "
                f"datetime_ns {int(batch.ticks['datetime_ns'][i])} with trading_day {batch.trading_day[i]}: "
                f"a tick must fall between {self._max_lag} days before its trading day and the day after"
            )

    def _check_table(self) -> None:
        # ILP would silently auto-create a missing table without DEDUP keys: refuse instead.
        if self._table_checked:
            return
        with self._cx.pg() as conn:
            row = conn.execute("SELECT dedup FROM tables() WHERE table_name = %s", (self._table,)).fetchone()
        if row is None or not row[0]:
            raise FailedPrecondition(
                f"QuestDB table {self._table} is missing or has no DEDUP keys: run ensure_schema first"
            )
        self._table_checked = True

    @staticmethod
    def _frame(batch: TickBatch, start: int, stop: int) -> pd.DataFrame:
        ticks = batch.ticks[start:stop]
        m = stop - start
        cols: dict[str, object] = {
            "symbol": np.full(m, batch.symbol, dtype=object),
            "ticks_lake": np.full(m, batch.ticks_lake, dtype=object),
            "trading_day": batch.trading_day[start:stop].astype("datetime64[ns]"),
            "datetime_ns": np.ascontiguousarray(ticks["datetime_ns"]),
        }
        for name in MARKET_FIELDS:  # the client needs C-contiguous columns, not strided fields
            cols[name] = np.ascontiguousarray(ticks[name])
        cols["row_hash"] = np.ascontiguousarray(batch.row_hash[start:stop])
        prov = batch.main_l5
        if prov is not None:
            cols["underlying_contract"] = np.asarray(prov.underlying_contract[start:stop], dtype=object)
            cols["segment_id"] = np.ascontiguousarray(prov.segment_id[start:stop])
            cols["schedule_hash"] = np.full(m, prov.schedule_hash, dtype=object)
        cols["lake_version"] = np.full(m, LAKE_VERSION, dtype=object)
        cols["deleted"] = np.zeros(m, dtype=bool)
        cols["ts"] = cols["datetime_ns"].view("datetime64[ns]")  # stored with µs precision
        return pd.DataFrame(cols, copy=False)

    # --- reading ------------------------------------------------------------------------------
    def _read_rows(
        self, select: str, dtype: np.dtype, symbol: str, ticks_lake: str, start_day: date, end_day: date
    ) -> np.ndarray:
        """Rows ``select``-ed from symbol/lake with trading_day in [start_day, end_day] as one
        structured array of ``dtype``, sorted by datetime_ns."""
        if start_day > end_day:
            return np.empty(0, dtype=dtype)
        query = (
            f"SELECT {select} FROM {self._table} "
            "WHERE symbol = %t AND ticks_lake = %t AND trading_day >= %t AND trading_day <= %t "
            "AND ts >= %t AND ts < %t AND NOT deleted"
        )
        params = (
            symbol,
            ticks_lake,
            start_day,
            end_day,
            _midnight(start_day) - timedelta(days=self._max_lag),
            _midnight(end_day) + timedelta(days=2),
        )
        with self._cx.pg() as conn, conn.cursor(binary=True) as cur:
            # Streamed in chunks of rows: the client never buffers the whole result, and
            # decoding one chunk overlaps with the server producing the next.
            rows = np.fromiter(cur.stream(query, params, size=self._stream_rows), dtype=dtype)
        dt = rows["datetime_ns"]
        if rows.shape[0] > 1 and not bool(np.all(dt[1:] > dt[:-1])):
            rows = rows[np.argsort(dt, kind="stable")]
        return rows

    def read_ticks(self, symbol: str, ticks_lake: str, start_day: date, end_day: date) -> StoredTicks:
        """Rows of symbol/lake with trading_day in [start_day, end_day], sorted by datetime_ns."""
        _check_lake(ticks_lake)
        main = ticks_lake == "main_l5"
        select, dtype = (_SELECT_MAIN, _READ_MAIN_DTYPE) if main else (_SELECT_RAW, _READ_RAW_DTYPE)
        rows = self._read_rows(select, dtype, symbol, ticks_lake, start_day, end_day)

        ticks = np.empty(rows.shape[0], dtype=TICK_DTYPE)
        for name in TICK_FIELDS:
            ticks[name] = rows[name]
        extra: dict[str, np.ndarray] = {}
        if main:
            extra = {
                "underlying_contract": rows["underlying_contract"].copy(),
                "segment_id": rows["segment_id"].copy(),
                "schedule_hash": rows["schedule_hash"].copy(),
            }
        return StoredTicks(
            symbol=symbol,
            ticks_lake=ticks_lake,
            ticks=ticks,
            trading_day=np.floor_divide(rows["trading_day_ms"], _MS_PER_DAY).astype("datetime64[D]"),
            row_hash=np.where(rows["row_hash_null"], _INT64_MIN, rows["row_hash"]),
            **extra,
        )

    def read_tick_columns(
        self, symbol: str, ticks_lake: str, start_day: date, end_day: date, columns: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """``datetime_ns`` and ``columns`` of the rows ``read_ticks`` returns, in its order."""
        _check_lake(ticks_lake)
        names = market_columns(columns)  # checked against MARKET_FIELDS: safe to splice in
        dtype = np.dtype([("datetime_ns", "<i8"), *((name, "<f8") for name in names)])
        rows = self._read_rows(f"datetime_ns, {', '.join(names)}", dtype, symbol, ticks_lake, start_day, end_day)
        return {name: np.ascontiguousarray(rows[name]) for name in ("datetime_ns", *names)}

    def tick_days(self, symbol: str, ticks_lake: str) -> list[date]:
        _check_lake(ticks_lake)
        with self._cx.pg() as conn:
            rows = (
                ClientCursor(conn)
                .execute(
                    f"SELECT DISTINCT trading_day FROM {self._table} "
                    "WHERE symbol = %s AND ticks_lake = %s AND NOT deleted",
                    (symbol, ticks_lake),
                )
                .fetchall()
            )
        return sorted(row[0].date() for row in rows)

    def tick_symbols(self, ticks_lake: str) -> list[str]:
        _check_lake(ticks_lake)
        with self._cx.pg() as conn:
            rows = (
                ClientCursor(conn)
                .execute(
                    f"SELECT DISTINCT symbol FROM {self._table} WHERE ticks_lake = %s AND NOT deleted", (ticks_lake,)
                )
                .fetchall()
            )
        return sorted(row[0] for row in rows)

    def end_of_day_open_interest(
        self, symbols: Sequence[str], ticks_lake: str, start_day: date, end_day: date
    ) -> dict[tuple[str, date], float]:
        """The last tick's open_interest per (symbol, trading_day) in the range; NaN stays NaN.

        One grouped query: ``last()`` follows the designated timestamp, which has microsecond
        precision, so each group also returns ``last(datetime_ns)`` and ``max(datetime_ns)``;
        a group where they differ (ticks sharing a microsecond) is settled by reading the row
        with the largest ``datetime_ns`` directly.
        """
        _check_lake(ticks_lake)
        names = list(dict.fromkeys(symbols))
        if not names or start_day > end_day:
            return {}
        out: dict[tuple[str, date], float] = {}
        ts_lo = _midnight(start_day) - timedelta(days=self._max_lag)
        ts_hi = _midnight(end_day) + timedelta(days=2)
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            for i in range(0, len(names), _IN_LIST_MAX):
                chunk = names[i : i + _IN_LIST_MAX]
                marks = ", ".join(["%s"] * len(chunk))
                rows = cur.execute(
                    "SELECT symbol, trading_day, last(open_interest), last(datetime_ns), max(datetime_ns) "
                    f"FROM {self._table} WHERE symbol IN ({marks}) AND ticks_lake = %s "
                    "AND trading_day >= %s AND trading_day <= %s AND ts >= %s AND ts < %s AND NOT deleted "
                    "GROUP BY symbol, trading_day",
                    (*chunk, ticks_lake, start_day, end_day, ts_lo, ts_hi),
                ).fetchall()
                for symbol, day, oi, last_ns, max_ns in rows:
                    if last_ns != max_ns:
                        oi = self._open_interest_at(cur, symbol, ticks_lake, int(max_ns))
                    out[(symbol, day.date())] = math.nan if oi is None else float(oi)
        return out

    def _open_interest_at(self, cur: ClientCursor, symbol: str, ticks_lake: str, datetime_ns: int) -> float | None:
        ts = datetime(1970, 1, 1) + timedelta(microseconds=datetime_ns // 1000)
        row = cur.execute(
            f"SELECT open_interest FROM {self._table} WHERE symbol = %s AND ticks_lake = %s "
            "AND ts = %s AND datetime_ns = %s AND NOT deleted",
            (symbol, ticks_lake, ts, datetime_ns),
        ).fetchone()
        return None if row is None else row[0]

    # --- deleting -----------------------------------------------------------------------------
    def delete_days(self, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        """Hide every row of those trading days (soft delete; QuestDB has no DELETE) and wait
        until that is visible."""
        _check_lake(ticks_lake)
        if not days:
            return
        with self._cx.pg() as conn:
            mark_days_deleted(
                ClientCursor(conn),
                self._table,
                "symbol = %s AND ticks_lake = %s",
                (symbol, ticks_lake),
                days,
                # the designated-timestamp range lets QuestDB touch only those days' partitions
                also="AND ts >= %s AND ts < %s",
                also_params=lambda chunk: (
                    _midnight(chunk[0]) - timedelta(days=self._max_lag),
                    _midnight(chunk[-1]) + timedelta(days=2),
                ),
            )
            self._cx.wait_applied(conn, self._table)
