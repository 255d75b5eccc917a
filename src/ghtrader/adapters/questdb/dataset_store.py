"""``QuestDBDatasetStore``: the DatasetStore port on QuestDB.

Wide tables (one per kind of ``DATASET_TABLES``: features, labels, fill_labels) are created on
first write (:func:`~ghtrader.adapters.questdb.schema.wide_table_ddl`): designated ``ts`` (tick
time, µs), ``PARTITION BY DAY``, ``DEDUP UPSERT KEYS(ts, symbol, ticks_lake, datetime_ns)``, one
DOUBLE per float column (NULL is NaN). A write naming new float columns adds them first
(``ALTER TABLE ... ADD COLUMN``, one per statement as WAL tables require; rows written before
read NaN).

Atomic day replace without DELETE or multi-statement transactions
-------------------------------------------------------------------
QuestDB commits one ILP/HTTP request as one WAL transaction (the HTTP receiver never commits
mid-request) and its WAL apply job makes whole transactions visible, so one request is the unit
of atomicity. :meth:`QuestDBDatasetStore.write_rows` therefore puts everything that changes a day
into one request:

1. read the keys (``trading_day, datetime_ns``) of the live rows stored for the symbol / lake on
   the days being written;
2. send ONE request holding the new rows (``deleted = false``; a row whose tick is already
   stored replaces it in place through the dedup keys) plus a tombstone for every stored tick of
   those days that the new rows lack (same key, ``deleted = true``, floats NULL: an upsert
   replaces the whole row);
3. wait until the WAL apply made it visible.

Readers filter ``NOT deleted``, so they see a day as it was before the request or as it is after
it, never a mix. There is no second step, hence no crash window: a request that fails or never
arrives commits nothing and the old day stays whole (see tests/integration/test_questdb_datasets).
A rewrite also costs no extra storage (ticks are replaced in place, only vanished ticks leave a
tombstone), unlike a scheme writing each build's rows beside the old ones behind a marker.

Limits: a write of more than ``max_cells_per_flush`` values (rows x columns) goes in several
requests of whole days, each atomic. Writers of the same (kind, symbol, lake) and day must not
race: two writers reading the same old keys could leave ticks of the loser's version live beside
the winner's (different builds of one symbol at once are a caller error; the stores take no
lock). A tick already stored under ANOTHER trading day than the one it is written with is
refused (FailedPrecondition; delete that day first) instead of silently moving it, which would
leave the other day incomplete. As in the tick store, a row's trading_day must lie within
``max_day_lag`` days after its tick time (reads prune partitions with that bound).

Reads: a per-day row count first, then one binary PG-wire query per group of whole days
(bounded by ``max_cells_per_read``), decoded with ``np.fromiter`` into a structured array. Each
day comes from one query, so it is complete; a read spanning several queries is not one snapshot
across days (PostgreSQL's is).

Build metadata, main_l5 provenance and the feature registry are small keyed tables written with
PG-wire INSERTs (upsert by their dedup keys); provenance deletes are soft (``deleted``, migration
``0010``). ``*_ns`` stamps keep microseconds; 0 means "now" by this process's clock. No float
column may be named ``deleted`` (the soft-delete flag; a key column for every backend).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import ClientCursor
from questdb import QuestDBError

from ghtrader.adapters.questdb.connections import QuestDBConnections
from ghtrader.adapters.questdb.schema import (
    BUILD_METADATA_TABLE,
    FEATURE_REGISTRY_TABLE,
    MAIN_L5_PROVENANCE_TABLE,
    WIDE_KEY_COLUMNS,
    quote_ident,
    wide_table_ddl,
)
from ghtrader.adapters.questdb.soft_delete import mark_days_deleted
from ghtrader.adapters.questdb.tick_store import ilp_error
from ghtrader.application.datasets.store_checks import check_dataset_rows, check_kind
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.datasets import (
    BUILD_KINDS,
    DATASET_TABLES,
    BuildMetadata,
    DatasetRows,
    FeatureDefinition,
    MainL5DayProvenance,
)
from ghtrader.application.ports.stores import LAKE_VERSION, TICKS_LAKES
from ghtrader.application.reporting import to_jsonable

__all__ = ["QuestDBDatasetStore"]

_US_PER_DAY = 86_400_000_000
_NS_PER_DAY = 86_400_000_000_000
_MS_PER_DAY = 86_400_000
_ROWS_PER_INSERT = 500
_IN_LIST_MAX = 500
_KEY_NAMES = frozenset(name for name, _ in WIDE_KEY_COLUMNS)
_SYMBOLS = ["symbol", "ticks_lake", "build_id", "lake_version"]
# Leading fields of a read; float columns follow as c0, c1, ... (any name is then safe).
_READ_KEYS: list[tuple[str, str]] = [
    ("trading_day_ms", "<i8"), ("datetime_ns", "<i8"), ("underlying_contract", "O"), ("segment_id", "<i8"),
    ("build_id", "O"),
]  # fmt: skip
_SELECT_KEYS = "cast(trading_day AS long), datetime_ns, underlying_contract, coalesce(segment_id, -1), build_id"


def _check_lake(ticks_lake: str) -> None:
    if ticks_lake not in TICKS_LAKES:
        raise InvalidArgument(f"unknown ticks_lake {ticks_lake!r}: expected one of {TICKS_LAKES}")


def _day_number(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def _us(ns: int | None) -> int | None:
    return None if not ns else int(ns) // 1000


def _ns(us: int | None) -> int | None:
    return None if us is None else int(us) * 1000


def _groups(days: np.ndarray, counts: np.ndarray, max_rows: int) -> Iterator[tuple[int, int]]:
    """``[lo, hi)`` index ranges of consecutive days whose row counts sum to at most ``max_rows``
    (a single bigger day gets a range of its own)."""
    lo, total = 0, 0
    for i, c in enumerate(counts.tolist()):
        if i > lo and total + c > max_rows:
            yield lo, i
            lo, total = i, 0
        total += c
    if lo < len(days):
        yield lo, len(days)


class QuestDBDatasetStore:
    """DatasetStore on QuestDB (see module docstring). Thread-safe.

    ``max_cells_per_flush`` / ``max_cells_per_read`` bound the values (rows x float columns) of
    one ILP request (~36 bytes each on the wire) / one read query; whole days always travel
    together, so one bigger day still goes alone. ``max_day_lag`` is how many calendar days
    (UTC) a tick may precede its trading day; ``clock`` returns epoch ns.
    """

    def __init__(
        self,
        connections: QuestDBConnections,
        *,
        max_cells_per_flush: int = 8_000_000,
        max_cells_per_read: int = 8_000_000,
        max_day_lag: int = 14,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if max_cells_per_flush < 1 or max_cells_per_read < 1 or max_day_lag < 0:
            raise ValueError("max_cells_per_flush and max_cells_per_read must be >= 1, max_day_lag >= 0")
        self._cx = connections
        self._max_flush = max_cells_per_flush
        self._max_read = max_cells_per_read
        self._max_lag = max_day_lag
        self._clock = clock
        self._tables = {kind: connections.table(name) for kind, name in DATASET_TABLES.items()}
        self._builds = connections.table(BUILD_METADATA_TABLE)
        self._provenance = connections.table(MAIN_L5_PROVENANCE_TABLE)
        self._registry = connections.table(FEATURE_REGISTRY_TABLE)
        self._columns: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._series_locks: dict[tuple[str, str, str], threading.Lock] = {}

    def _stamp(self, ns: int) -> int:
        ns = ns or self._clock()
        return ns - ns % 1000

    def _window(self, first_day: int, last_day: int) -> tuple[int, int]:
        """Bounds (epoch µs, ``[lo, hi)``) of ``ts`` for trading days ``first..last`` (day numbers)."""
        return max(0, (first_day - self._max_lag) * _US_PER_DAY), (last_day + 2) * _US_PER_DAY

    # --- table helpers -------------------------------------------------------------------------
    def _table_columns(self, kind: str, *, refresh: bool = False) -> list[str] | None:
        """Float columns of the kind's table in table order (None when the table does not exist)."""
        with self._lock:
            cached = self._columns.get(kind)
        if cached is not None and not refresh:
            return cached
        table = self._tables[kind]
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            if cur.execute("SELECT table_name FROM tables() WHERE table_name = %s", (table,)).fetchone() is None:
                return None
            rows = cur.execute(f"SELECT \"column\", type FROM table_columns('{table}')").fetchall()
        names = [name for name, typ in rows if name not in _KEY_NAMES and typ == "DOUBLE"]
        with self._lock:
            self._columns[kind] = names
        return names

    def _ensure_columns(self, kind: str, columns: Sequence[str]) -> None:
        known = self._table_columns(kind)
        if known is not None and all(c in known for c in columns):
            return
        known = self._table_columns(kind, refresh=True)
        if known is not None and all(c in known for c in columns):
            return
        table = self._tables[kind]
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            if known is None:
                cur.execute(wide_table_ddl(table, list(columns)))
            else:
                for col in (c for c in columns if c not in known):
                    try:
                        cur.execute(f"ALTER TABLE {quote_ident(table)} ADD COLUMN {quote_ident(col)} DOUBLE")
                    except psycopg.Error as exc:  # added meanwhile by another writer
                        if "already exists" not in str(exc):
                            raise
            self._cx.wait_applied(conn, table)
        self._table_columns(kind, refresh=True)

    # --- wide tables: write --------------------------------------------------------------------
    def write_rows(self, kind: str, build_id: str, rows: DatasetRows) -> int:
        rows = check_dataset_rows(kind, build_id, rows)  # refuses a float column named `deleted` too
        n = len(rows)
        if n == 0:
            return 0
        day_num = rows.trading_day.astype(np.int64)
        self._check_day_lag(rows, day_num)
        names = list(rows.columns)
        self._ensure_columns(kind, names)
        table = self._tables[kind]
        days = np.unique(day_num)
        # Read-then-write: two writers of one series must take turns, or each would tombstone only
        # what it saw and rows of both could survive (this covers writers in this process).
        with self._series_lock(table, rows.symbol, rows.ticks_lake):
            old_day, old_dt = self._stored_keys(table, rows, days)
            on_days = np.isin(old_day, days)
            clash = ~on_days & np.isin(old_dt, rows.datetime_ns)
            if clash.any():
                i = int(np.flatnonzero(clash)[0])
                raise FailedPrecondition(
                    f"{int(clash.sum())} ticks of {rows.symbol} ({rows.ticks_lake}) written for other trading days are "
                    f"stored in {kind} under another day, e.g. datetime_ns {int(old_dt[i])} under "
                    f"{np.datetime64(int(old_day[i]), 'D')}: delete that day first"
                )
            gone = on_days & ~np.isin(old_dt, rows.datetime_ns)
            tomb_day, tomb_dt = old_day[gone], old_dt[gone]

            # Whole days per request, at most max_cells_per_flush values each (one request if it fits).
            counts = np.unique(day_num, return_counts=True)[1]
            groups = list(_groups(days, counts, max(1, self._max_flush // max(1, len(names)))))
            where = f"{self._cx.params.host}:{self._cx.params.http_port}"
            try:
                with self._cx.sender() as sender:
                    for lo, hi in groups:
                        first, last = days[lo], days[hi - 1]
                        pick: slice | np.ndarray = (
                            slice(None) if len(groups) == 1 else np.flatnonzero((day_num >= first) & (day_num <= last))
                        )
                        buf = sender.new_buffer()
                        buf.dataframe(
                            self._frame(rows, build_id, pick), table_name=table, symbols=self._symbols(rows), at="ts"
                        )
                        sel = (tomb_day >= first) & (tomb_day <= last)
                        if sel.any():
                            buf.dataframe(
                                self._tombstones(rows, build_id, tomb_day[sel], tomb_dt[sel]),
                                table_name=table, symbols=_SYMBOLS, at="ts",
                            )  # fmt: skip
                        sender.flush(buf, transactional=True)
            except QuestDBError as exc:
                raise ilp_error(exc, where) from exc
            with self._cx.pg() as conn:
                self._cx.wait_applied(conn, table)
        return n

    def _series_lock(self, table: str, symbol: str, ticks_lake: str) -> threading.Lock:
        with self._lock:
            return self._series_locks.setdefault((table, symbol, ticks_lake), threading.Lock())

    def _check_day_lag(self, rows: DatasetRows, day_num: np.ndarray) -> None:
        lag = day_num - np.floor_divide(rows.datetime_ns, _NS_PER_DAY)
        bad = (lag < -1) | (lag > self._max_lag)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidArgument(
                f"{int(bad.sum())} rows of {rows.symbol} have a trading_day implausible for their time, e.g. "
                f"datetime_ns {int(rows.datetime_ns[i])} with trading_day {rows.trading_day[i]}: a tick must "
                f"fall between {self._max_lag} days before its trading day and the day after"
            )

    def _stored_keys(self, table: str, rows: DatasetRows, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(day number, datetime_ns) of the live rows of the symbol / lake that are on ``days`` or
        whose tick time lies within the span of ``rows``."""
        lo, hi = self._window(int(days[0]), int(days[-1]))
        dt0, dt1 = int(rows.datetime_ns[0]), int(rows.datetime_ns[-1])
        lo, hi = min(lo, dt0 // 1000), max(hi, dt1 // 1000 + 1)
        day_list = [np.datetime64(int(d), "D").item() for d in days]
        parts_day: list[np.ndarray] = []
        parts_dt: list[np.ndarray] = []
        dtype = np.dtype([("day_ms", "<i8"), ("datetime_ns", "<i8")])
        with self._cx.pg() as conn, conn.cursor(binary=True) as cur:
            for i in range(0, len(day_list), _IN_LIST_MAX):
                chunk = day_list[i : i + _IN_LIST_MAX]
                marks = ", ".join(["%t"] * len(chunk))
                cur.execute(
                    f"SELECT cast(trading_day AS long), datetime_ns FROM {table} WHERE symbol = %t AND ticks_lake = %t "
                    f"AND ts >= %t AND ts < %t AND NOT deleted "
                    f"AND (trading_day IN ({marks}) OR (datetime_ns >= %t AND datetime_ns <= %t))",
                    (rows.symbol, rows.ticks_lake, lo, hi, *chunk, dt0, dt1),
                )
                got = np.fromiter(cur, dtype=dtype, count=cur.rowcount)
                parts_day.append(got["day_ms"] // _MS_PER_DAY)
                parts_dt.append(got["datetime_ns"])
        day = np.concatenate(parts_day)
        dt = np.concatenate(parts_dt)
        keep = np.unique(dt, return_index=True)[1]  # a row may match in two IN-list chunks
        return day[keep], dt[keep]

    @staticmethod
    def _symbols(rows: DatasetRows) -> list[str]:
        return [*_SYMBOLS, "underlying_contract"] if rows.underlying_contract is not None else _SYMBOLS

    @staticmethod
    def _frame(rows: DatasetRows, build_id: str, pick: slice | np.ndarray) -> pd.DataFrame:
        dt = np.ascontiguousarray(rows.datetime_ns[pick])
        m = dt.shape[0]
        cols: dict[str, object] = {
            "symbol": np.full(m, rows.symbol, dtype=object),
            "ticks_lake": np.full(m, rows.ticks_lake, dtype=object),
            "trading_day": rows.trading_day[pick].astype("datetime64[ns]"),
            "datetime_ns": dt,
            "build_id": np.full(m, build_id, dtype=object),
            "lake_version": np.full(m, LAKE_VERSION, dtype=object),
            "deleted": np.zeros(m, dtype=bool),
        }
        if rows.underlying_contract is not None:
            cols["underlying_contract"] = np.asarray(rows.underlying_contract[pick], dtype=object)
        if rows.segment_id is not None:
            cols["segment_id"] = np.ascontiguousarray(rows.segment_id[pick])
        for name, values in rows.columns.items():  # the client needs C-contiguous columns
            cols[name] = np.ascontiguousarray(values[pick])
        cols["ts"] = dt.view("datetime64[ns]")  # stored with µs precision
        return pd.DataFrame(cols, copy=False)

    @staticmethod
    def _tombstones(rows: DatasetRows, build_id: str, day_num: np.ndarray, dt: np.ndarray) -> pd.DataFrame:
        m = dt.shape[0]
        dt = np.ascontiguousarray(dt)
        return pd.DataFrame(
            {
                "symbol": np.full(m, rows.symbol, dtype=object),
                "ticks_lake": np.full(m, rows.ticks_lake, dtype=object),
                "trading_day": day_num.astype("datetime64[D]").astype("datetime64[ns]"),
                "datetime_ns": dt,
                "build_id": np.full(m, build_id, dtype=object),
                "lake_version": np.full(m, LAKE_VERSION, dtype=object),
                "deleted": np.ones(m, dtype=bool),
                "ts": dt.view("datetime64[ns]"),
            },
            copy=False,
        )

    # --- wide tables: read ---------------------------------------------------------------------
    def read(
        self,
        kind: str,
        symbol: str,
        start_day: date,
        end_day: date,
        *,
        ticks_lake: str = "main_l5",
        columns: Sequence[str] | None = None,
    ) -> dict[str, np.ndarray]:
        check_kind(kind)
        _check_lake(ticks_lake)
        # Another process may have added columns: look again when the cache cannot answer.
        known = self._table_columns(kind, refresh=columns is None)
        names = list(known or []) if columns is None else list(columns)
        if any(c not in (known or []) for c in names):
            known = self._table_columns(kind, refresh=True)
        unknown = [c for c in names if c not in (known or [])]
        if unknown:
            raise InvalidArgument(f"{kind} has no columns {unknown}: build them first (known: {known or []})")
        dtype = np.dtype([*_READ_KEYS, *((f"c{i}", "<f8") for i in range(len(names)))])
        parts: list[np.ndarray] = []
        if known is not None and start_day <= end_day:
            parts = list(self._read_parts(self._tables[kind], symbol, ticks_lake, start_day, end_day, names, dtype))
        got = np.concatenate(parts) if parts else np.empty(0, dtype=dtype)
        dt = got["datetime_ns"]
        if got.shape[0] > 1 and not bool(np.all(dt[1:] > dt[:-1])):
            got = got[np.argsort(dt, kind="stable")]
        out: dict[str, np.ndarray] = {
            "trading_day": np.floor_divide(got["trading_day_ms"], _MS_PER_DAY).astype("datetime64[D]"),
            "datetime_ns": np.ascontiguousarray(got["datetime_ns"]),
            "underlying_contract": np.ascontiguousarray(got["underlying_contract"]),
            "segment_id": np.ascontiguousarray(got["segment_id"]),
            "build_id": np.ascontiguousarray(got["build_id"]),
        }
        for i, name in enumerate(names):
            out[name] = np.ascontiguousarray(got[f"c{i}"])
        return out

    def _read_parts(
        self, table: str, symbol: str, lake: str, start_day: date, end_day: date, names: list[str], dtype: np.dtype
    ) -> Iterator[np.ndarray]:
        first, last = _day_number(start_day), _day_number(end_day)
        lo, hi = self._window(first, last)
        live = "symbol = %t AND ticks_lake = %t AND trading_day >= %t AND trading_day <= %t AND ts >= %t AND ts < %t AND NOT deleted"
        select = ", ".join([_SELECT_KEYS, *(quote_ident(c) for c in names)])
        with self._cx.pg() as conn, conn.cursor(binary=True) as cur:
            cur.execute(
                f"SELECT cast(trading_day AS long), count() FROM {table} WHERE {live}",
                (symbol, lake, start_day, end_day, lo, hi),
            )
            per_day = sorted((int(d) // _MS_PER_DAY, int(c)) for d, c in cur.fetchall())
            if not per_day:
                return
            days = np.array([d for d, _ in per_day], dtype=np.int64)
            counts = np.array([c for _, c in per_day], dtype=np.int64)
            for g0, g1 in _groups(days, counts, max(1, self._max_read // (len(names) + len(_READ_KEYS)))):
                d0 = np.datetime64(int(days[g0]), "D").item()
                d1 = np.datetime64(int(days[g1 - 1]), "D").item()
                w0, w1 = self._window(int(days[g0]), int(days[g1 - 1]))
                # execute() buffers one group in libpq; binary results decode straight into floats.
                cur.execute(f"SELECT {select} FROM {table} WHERE {live}", (symbol, lake, d0, d1, w0, w1))
                yield np.fromiter(cur, dtype=dtype, count=cur.rowcount)

    # --- wide tables: days and deletes ---------------------------------------------------------
    def _build_days(self, kind: str, symbol: str, ticks_lake: str) -> list[tuple[str, date]]:
        """Distinct (build_id, trading_day) of the symbol's live rows."""
        check_kind(kind)
        _check_lake(ticks_lake)
        if self._table_columns(kind) is None and self._table_columns(kind, refresh=True) is None:
            return []
        with self._cx.pg() as conn:
            rows = (
                ClientCursor(conn)
                .execute(
                    f"SELECT DISTINCT build_id, cast(trading_day AS long) FROM {self._tables[kind]} "
                    "WHERE symbol = %s AND ticks_lake = %s AND NOT deleted",
                    (symbol, ticks_lake),
                )
                .fetchall()
            )
        return [(b, np.datetime64(int(ms) // _MS_PER_DAY, "D").item()) for b, ms in rows]

    def _config_hashes(self, build_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        ids = sorted(set(build_ids))
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            for i in range(0, len(ids), _IN_LIST_MAX):
                chunk = ids[i : i + _IN_LIST_MAX]
                marks = ", ".join(["%s"] * len(chunk))
                for b, h in cur.execute(
                    f"SELECT build_id, config_hash FROM {self._builds} WHERE build_id IN ({marks})", chunk
                ).fetchall():
                    out[b] = h
        return out

    def built_days(self, kind: str, symbol: str, ticks_lake: str, config_hash: str | None = None) -> list[date]:
        pairs = self._build_days(kind, symbol, ticks_lake)
        if config_hash is None:
            return sorted({d for _, d in pairs})
        hashes = self._config_hashes([b for b, _ in pairs])
        return sorted({d for b, d in pairs if hashes.get(b) == config_hash})

    def stored_config_hashes(self, kind: str, symbol: str, ticks_lake: str) -> list[str]:
        pairs = self._build_days(kind, symbol, ticks_lake)
        return sorted(set(self._config_hashes([b for b, _ in pairs]).values()))

    def delete_days(self, kind: str, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        """Hide every row of those trading days (soft delete, one UPDATE per 500 days) and wait
        until that is visible."""
        check_kind(kind)
        _check_lake(ticks_lake)
        wanted = sorted(set(days))
        if not wanted or self._table_columns(kind, refresh=True) is None:
            return
        table = self._tables[kind]
        with self._series_lock(table, symbol, ticks_lake), self._cx.pg() as conn:
            cur = ClientCursor(conn)
            for i in range(0, len(wanted), _IN_LIST_MAX):
                chunk = wanted[i : i + _IN_LIST_MAX]
                lo, hi = self._window(_day_number(chunk[0]), _day_number(chunk[-1]))
                marks = ", ".join(["%s"] * len(chunk))
                cur.execute(
                    f"UPDATE {table} SET deleted = true WHERE symbol = %s AND ticks_lake = %s "
                    f"AND trading_day IN ({marks}) AND ts >= %s AND ts < %s AND NOT deleted",
                    (symbol, ticks_lake, *chunk, lo, hi),
                )
            self._cx.wait_applied(conn, table)

    def column_names(self, kind: str) -> list[str]:
        check_kind(kind)
        return list(self._table_columns(kind, refresh=True) or [])

    # --- build metadata ------------------------------------------------------------------------
    def put_build(self, meta: BuildMetadata) -> None:
        """Insert or replace by ``build_id`` (read, then upsert: ``created_at`` of an existing
        build is kept when ``meta.created_at_ns`` is 0)."""
        if meta.kind not in BUILD_KINDS:
            raise InvalidArgument(f"unknown build kind {meta.kind!r}: expected one of {BUILD_KINDS}")
        if not meta.build_id or not meta.config_hash:
            raise InvalidArgument("build metadata needs a build_id and a config_hash")
        params = json.dumps(to_jsonable(dict(meta.params)))
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            created = _us(meta.created_at_ns)
            if created is None:
                old = cur.execute(
                    f"SELECT cast(created_at AS long) FROM {self._builds} WHERE build_id = %s", (meta.build_id,)
                ).fetchone()
                created = old[0] if old is not None and old[0] is not None else _us(self._stamp(0))
            cur.execute(
                f"INSERT INTO {self._builds} (key_ts, build_id, kind, config_hash, params, created_at, lake_version) "
                "VALUES (0, %s, %s, %s, %s, %s, %s)",
                (meta.build_id, meta.kind, meta.config_hash, params, created, LAKE_VERSION),
            )
            self._cx.wait_applied(conn, self._builds)

    def _select_builds(self, where: str, args: Sequence[Any]) -> list[BuildMetadata]:
        with self._cx.pg() as conn:
            rows = (
                ClientCursor(conn)
                .execute(
                    f"SELECT build_id, kind, config_hash, params, cast(created_at AS long) FROM {self._builds}{where}",
                    args,
                )
                .fetchall()
            )
        out = [BuildMetadata(b, k, h, json.loads(p) if p else {}, _ns(c) or 0) for b, k, h, p, c in rows]
        return sorted(out, key=lambda m: (m.created_at_ns, m.build_id))

    def get_build(self, build_id: str) -> BuildMetadata | None:
        found = self._select_builds(" WHERE build_id = %s", (build_id,))
        return found[0] if found else None

    def builds(self, kind: str | None = None) -> list[BuildMetadata]:
        return self._select_builds(" WHERE kind = %s", (kind,)) if kind is not None else self._select_builds("", ())

    # --- main_l5 provenance ----------------------------------------------------------------------
    def put_main_l5_provenance(self, records: Sequence[MainL5DayProvenance]) -> None:
        """Insert or replace by (symbol, trading_day); the last of repeated keys wins."""
        rows = [
            (r.trading_day, r.symbol, r.underlying_contract, int(r.segment_id), r.schedule_hash, int(r.rows_total),
             int(r.source_rows), self._stamp(r.created_at_ns) // 1000, LAKE_VERSION, False)
            for r in records
        ]  # fmt: skip
        self._insert(
            self._provenance,
            "trading_day, symbol, underlying_contract, segment_id, schedule_hash, rows_total, source_rows, "
            "created_at, lake_version, deleted",
            rows,
        )

    def _insert(self, table: str, columns: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        width = len(rows[0])
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            with conn.transaction():
                for i in range(0, len(rows), _ROWS_PER_INSERT):
                    chunk = rows[i : i + _ROWS_PER_INSERT]
                    values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
                    cur.execute(f"INSERT INTO {table} ({columns}) VALUES {values}", [v for row in chunk for v in row])
            self._cx.wait_applied(conn, table)

    def main_l5_provenance(
        self, symbol: str, start_day: date | None = None, end_day: date | None = None
    ) -> list[MainL5DayProvenance]:
        where = ["symbol = %s", "lake_version = %s", "NOT deleted"]
        args: list[Any] = [symbol, LAKE_VERSION]
        if start_day is not None:
            where.append("trading_day >= %s")
            args.append(start_day)
        if end_day is not None:
            where.append("trading_day <= %s")
            args.append(end_day)
        with self._cx.pg() as conn:
            rows = (
                ClientCursor(conn)
                .execute(
                    "SELECT symbol, trading_day, underlying_contract, segment_id, schedule_hash, rows_total, source_rows, "
                    f"cast(created_at AS long) FROM {self._provenance} WHERE {' AND '.join(where)}",
                    args,
                )
                .fetchall()
            )
        out = [
            MainL5DayProvenance(r[0], r[1].date(), r[2], int(r[3]), r[4], int(r[5]), int(r[6]), _ns(r[7]) or 0)
            for r in rows
        ]
        return sorted(out, key=lambda p: p.trading_day)

    def delete_main_l5_provenance(self, symbol: str, days: Sequence[date]) -> None:
        if not days:
            return
        with self._cx.pg() as conn:
            mark_days_deleted(
                ClientCursor(conn), self._provenance, "symbol = %s AND lake_version = %s", (symbol, LAKE_VERSION), days
            )
            self._cx.wait_applied(conn, self._provenance)

    # --- feature registry ----------------------------------------------------------------------
    def upsert_features(self, definitions: Sequence[FeatureDefinition]) -> None:
        """Insert or replace by (feature_name, version) (read, then upsert: an existing row keeps
        its ``created_at``)."""
        if not definitions:
            return
        created: dict[tuple[str, int], int] = {
            (d.feature_name, int(d.version)): self._stamp(d.created_at_ns) // 1000 for d in definitions
        }
        names = sorted({d.feature_name for d in definitions})
        with self._cx.pg() as conn:
            marks = ", ".join(["%s"] * len(names))
            for name, version, us in (
                ClientCursor(conn)
                .execute(
                    f"SELECT feature_name, version, cast(created_at AS long) FROM {self._registry} "
                    f"WHERE feature_name IN ({marks})",
                    names,
                )
                .fetchall()
            ):
                if (name, int(version)) in created and us is not None:
                    created[(name, int(version))] = int(us)
        rows = [
            (0, d.feature_name, int(d.version), d.definition_hash, json.dumps(list(d.input_columns)), d.output_dtype,
             int(d.lookback_ticks), None if d.ttl_seconds is None else float(d.ttl_seconds),
             created[(d.feature_name, int(d.version))], _us(d.deprecated_at_ns), LAKE_VERSION)
            for d in definitions
        ]  # fmt: skip
        self._insert(
            self._registry,
            "key_ts, feature_name, version, definition_hash, input_columns, output_dtype, lookback_ticks, "
            "ttl_seconds, created_at, deprecated_at, lake_version",
            rows,
        )

    def feature_registry(self, *, include_deprecated: bool = True) -> list[FeatureDefinition]:
        where = "" if include_deprecated else " WHERE deprecated_at = null"
        with self._cx.pg() as conn:
            rows = (
                ClientCursor(conn)
                .execute(
                    "SELECT feature_name, version, definition_hash, input_columns, output_dtype, lookback_ticks, "
                    f"ttl_seconds, cast(created_at AS long), cast(deprecated_at AS long) FROM {self._registry}{where}"
                )
                .fetchall()
            )
        out = [
            FeatureDefinition(
                feature_name=r[0], version=int(r[1]), definition_hash=r[2], input_columns=tuple(json.loads(r[3] or "[]")),
                output_dtype=r[4], lookback_ticks=int(r[5]), ttl_seconds=None if r[6] is None else float(r[6]),
                created_at_ns=_ns(r[7]) or 0, deprecated_at_ns=_ns(r[8]),
            )
            for r in rows
        ]  # fmt: skip
        return sorted(out, key=lambda r: (r.feature_name, r.version))
