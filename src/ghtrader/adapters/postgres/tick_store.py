"""``PostgresTickStore``: the TickStore port on ``ghtrader_ticks_raw_v2``.

Writes: binary COPY (encoded by NumPy, see ``_copy_binary``) into a temporary staging table,
then one ``INSERT ... SELECT ... ON CONFLICT (series_key, trading_day, datetime_ns) DO UPDATE``
— all in one transaction, so a write is all or nothing and a retry is harmless. Rows whose
content is unchanged are not rewritten. A series (symbol, ticks_lake) is stored once in
``ghtrader_tick_series_v2`` (with its ``lake_version``) and its rows carry its integer
``series_key``; ``ts`` is not stored (it is ``datetime_ns`` in microseconds); a main_l5 row's
underlying contract and schedule hash are integer keys into ``ghtrader_tick_labels_v2``
(migration 0017). A
row's identity is still (symbol, ticks_lake, datetime_ns): a rewrite that files a tick under
another trading_day first deletes the stored row. When no stored row of the series falls in
the batch's time span (the usual append), a plain INSERT skips the conflict checks; a
per-series advisory lock keeps that check true until commit. Reads: binary ``COPY (SELECT ...) TO
STDOUT`` decoded in blocks straight into NumPy columns. NaN is stored as the float8 NaN
(never NULL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from psycopg import Connection
from psycopg_pool import ConnectionPool

from ghtrader.adapters.postgres._copy_binary import (
    PG_EPOCH_DAYS,
    CopyBinaryReader,
    encode_rows,
)
from ghtrader.adapters.postgres.schema import TICK_LABELS_TABLE, TICK_SERIES_TABLE, TICKS_TABLE
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.stores import (
    TICKS_LAKES,
    StoredTicks,
    TickBatch,
    market_columns,
)
from ghtrader.application.tick_batches import normalize_tick_batch
from ghtrader.domain.ticks import MARKET_FIELDS, TICK_DTYPE

__all__ = ["PostgresTickStore"]

_MARKET = ", ".join(MARKET_FIELDS)
_STAGE_RAW = ("trading_day", "datetime_ns", *MARKET_FIELDS, "row_hash")
_KINDS_RAW = ("date", "int8", *("float8",) * len(MARKET_FIELDS), "int8")
_STAGE_MAIN = (*_STAGE_RAW, "contract_key", "segment_id")
_KINDS_MAIN = (*_KINDS_RAW, "int4", "int8")
# Columns a rewrite may change (key columns excluded).
_MUTABLE = (*MARKET_FIELDS, "row_hash", "contract_key", "segment_id", "schedule_key")

_READ_RAW_KINDS = ("date", "int8", *("float8",) * len(MARKET_FIELDS), "int8")
_READ_MAIN_KINDS = (*_READ_RAW_KINDS, "int4", "int8", "int4")


@dataclass(frozen=True)
class _WriteSql:
    """Statements of one write path (with or without main_l5 provenance columns)."""

    kinds: tuple[str, ...]
    stage_ddl: str
    copy: str
    insert: str  # plain INSERT: no stored row can conflict
    upsert: str  # INSERT ... ON CONFLICT DO UPDATE, skipping rows whose content is unchanged


def _write_sql(with_provenance: bool) -> _WriteSql:
    cols = [
        "trading_day date NOT NULL",
        "datetime_ns bigint NOT NULL",
        *(f"{name} double precision NOT NULL" for name in MARKET_FIELDS),
        "row_hash bigint NOT NULL",
    ]
    if with_provenance:
        cols += ["contract_key integer NOT NULL", "segment_id bigint NOT NULL"]
    stage_cols = _STAGE_MAIN if with_provenance else _STAGE_RAW
    provenance = "s.contract_key, s.segment_id, %(schedule_key)s" if with_provenance else "NULL, NULL, NULL"
    insert = (
        f"INSERT INTO {TICKS_TABLE} AS t (series_key, trading_day, datetime_ns, {_MARKET}, row_hash, "
        "contract_key, segment_id, schedule_key) "
        f"SELECT %(series)s, s.trading_day, s.datetime_ns, "
        f"{', '.join('s.' + m for m in MARKET_FIELDS)}, s.row_hash, {provenance} "
        "FROM ghtrader_ticks_stage s"
    )
    target = ", ".join(f"t.{c}" for c in _MUTABLE)
    excluded = ", ".join(f"EXCLUDED.{c}" for c in _MUTABLE)
    upsert = (
        f"{insert} ON CONFLICT (series_key, trading_day, datetime_ns) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in _MUTABLE)
        + f" WHERE ({target}) IS DISTINCT FROM ({excluded})"
    )
    return _WriteSql(
        kinds=_KINDS_MAIN if with_provenance else _KINDS_RAW,
        stage_ddl=f"CREATE TEMP TABLE ghtrader_ticks_stage ({', '.join(cols)}) ON COMMIT DROP",
        copy=f"COPY ghtrader_ticks_stage ({', '.join(stage_cols)}) FROM STDIN (FORMAT BINARY)",
        insert=insert,
        upsert=upsert,
    )


_WRITE_RAW = _write_sql(False)
_WRITE_MAIN = _write_sql(True)
# Writers of one (symbol, lake) take this transaction lock, so "no stored row in the batch's time
# span" stays true until commit and the cheaper plain INSERT is safe. Key: (class, series hash).
_SERIES_LOCK = "SELECT pg_advisory_xact_lock(%(lock_class)s::int4, hashtext(%(symbol)s::text || '/' || %(lake)s::text))"
_LOCK_CLASS = 0x6768  # "gh"
# Insert only what is missing: a conflicting INSERT would still use up an identity value.
_ENSURE_SERIES = (
    f"INSERT INTO {TICK_SERIES_TABLE} (symbol, ticks_lake, lake_version) SELECT %(symbol)s, %(lake)s, 'v2' "
    f"WHERE NOT EXISTS (SELECT 1 FROM {TICK_SERIES_TABLE} WHERE symbol = %(symbol)s AND ticks_lake = %(lake)s) "
    "ON CONFLICT (symbol, ticks_lake) DO NOTHING"
)
_SERIES_KEY = f"SELECT series_key FROM {TICK_SERIES_TABLE} WHERE symbol = %(symbol)s AND ticks_lake = %(lake)s"
_NO_SERIES = -1  # never a stored key: reads of an unknown series find no rows
_ENSURE_LABELS = (
    f"INSERT INTO {TICK_LABELS_TABLE} (kind, value) SELECT %(kind)s, v FROM unnest(%(values)s::text[]) AS v "
    f"WHERE NOT EXISTS (SELECT 1 FROM {TICK_LABELS_TABLE} l WHERE l.kind = %(kind)s AND l.value = v) "
    "ON CONFLICT (kind, value) DO NOTHING"
)
_LABEL_KEYS = (
    f"SELECT value, label_key FROM {TICK_LABELS_TABLE} WHERE kind = %(kind)s AND value = ANY(%(values)s::text[])"
)
_LABEL_VALUES = f"SELECT label_key, value FROM {TICK_LABELS_TABLE} WHERE label_key = ANY(%(keys)s::integer[])"
# The stored trading days of the series holding a row in the batch's time span. The key leads with
# trading_day, so this walks the series' days (two index probes each) rather than its rows.
_OVERLAP_DAYS = f"""
WITH RECURSIVE d AS (
    SELECT min(trading_day) AS day FROM {TICKS_TABLE} WHERE series_key = %(series)s
    UNION ALL
    SELECT (SELECT min(trading_day) FROM {TICKS_TABLE} WHERE series_key = %(series)s AND trading_day > d.day)
    FROM d WHERE d.day IS NOT NULL
)
SELECT coalesce(array_agg(d.day ORDER BY d.day), '{{}}') FROM d
WHERE d.day IS NOT NULL AND EXISTS (
    SELECT 1 FROM {TICKS_TABLE} t WHERE t.series_key = %(series)s
    AND t.trading_day = d.day AND t.datetime_ns BETWEEN %(first_ns)s AND %(last_ns)s)"""
# Before an upsert: stored rows of the batch's times filed under another trading_day than the
# batch gives them (datetime_ns identifies a row; the key alone would keep both).
_DELETE_MOVED = (
    f"DELETE FROM {TICKS_TABLE} t USING ghtrader_ticks_stage s "
    "WHERE t.series_key = %(series)s AND t.trading_day = ANY(%(days)s::date[]) "
    "AND t.datetime_ns BETWEEN %(first_ns)s AND %(last_ns)s "
    "AND t.datetime_ns = s.datetime_ns AND t.trading_day <> s.trading_day"
)

_READ_WHERE = "WHERE series_key = %(series)s AND trading_day BETWEEN %(start)s AND %(end)s"
_READ_RAW = (
    f"COPY (SELECT trading_day, datetime_ns, {_MARKET}, row_hash FROM {TICKS_TABLE} {_READ_WHERE} "
    "ORDER BY trading_day, datetime_ns) TO STDOUT (FORMAT BINARY)"
)
_READ_MAIN = (
    f"COPY (SELECT trading_day, datetime_ns, {_MARKET}, row_hash, coalesce(contract_key, 0), "
    "coalesce(segment_id, -1), coalesce(schedule_key, 0) "
    f"FROM {TICKS_TABLE} {_READ_WHERE} ORDER BY trading_day, datetime_ns) TO STDOUT (FORMAT BINARY)"
)
# Loose index scans: jump from one distinct value to the next instead of reading every row.
_TICK_DAYS = f"""
WITH RECURSIVE d AS (
    SELECT min(trading_day) AS day FROM {TICKS_TABLE} WHERE series_key = %(series)s
    UNION ALL
    SELECT (SELECT min(trading_day) FROM {TICKS_TABLE} WHERE series_key = %(series)s AND trading_day > d.day)
    FROM d WHERE d.day IS NOT NULL
)
SELECT day FROM d WHERE day IS NOT NULL ORDER BY day"""
_TICK_SYMBOLS = f"""
SELECT s.symbol FROM {TICK_SERIES_TABLE} s
WHERE s.ticks_lake = %(lake)s AND EXISTS (SELECT 1 FROM {TICKS_TABLE} t WHERE t.series_key = s.series_key)
ORDER BY s.symbol"""

# One index probe per (symbol, calendar day) between each symbol's first and last stored day:
# the last tick of a day comes straight off the (series_key, trading_day, datetime_ns) key read
# backwards, never a scan of the day's rows.
_EOD_OPEN_INTEREST = f"""
SELECT s.symbol, g.day::date, x.open_interest
FROM {TICK_SERIES_TABLE} s
CROSS JOIN LATERAL (
    SELECT greatest(%(start)s::date, (SELECT min(trading_day) FROM {TICKS_TABLE}
                                      WHERE series_key = s.series_key)) AS lo,
           least(%(end)s::date, (SELECT max(trading_day) FROM {TICKS_TABLE}
                                 WHERE series_key = s.series_key)) AS hi
) b
CROSS JOIN LATERAL generate_series(b.lo, b.hi, interval '1 day') AS g(day)
CROSS JOIN LATERAL (
    SELECT t.open_interest FROM {TICKS_TABLE} t
    WHERE t.series_key = s.series_key AND t.trading_day = g.day::date
    ORDER BY t.datetime_ns DESC LIMIT 1
) x
WHERE s.symbol = ANY(%(symbols)s::text[]) AND s.ticks_lake = %(lake)s
ORDER BY s.symbol, g.day"""


def _time_order(dt: np.ndarray) -> np.ndarray | None:
    """The stable sort of rows read in (trading_day, datetime_ns) order by time, or None when
    they already are (trading_day is monotonic in time for calendar-built rows; a caller may
    have broken that)."""
    if dt.shape[0] < 2 or bool(np.all(dt[1:] > dt[:-1])):
        return None
    return np.argsort(dt, kind="stable")


def _series_key(conn: Connection[Any], symbol: str, ticks_lake: str) -> int:
    """The series' key, or ``_NO_SERIES`` when nothing was ever written to it."""
    row = conn.execute(_SERIES_KEY, {"symbol": symbol, "lake": ticks_lake}).fetchone()
    return _NO_SERIES if row is None else int(row[0])


def _label_keys(conn: Connection[Any], kind: str, values: list[str]) -> dict[str, int]:
    """Keys of ``values`` (sorted, distinct) of one label kind, adding the new ones."""
    params = {"kind": kind, "values": values}
    conn.execute(_ENSURE_LABELS, params)
    return {value: int(key) for value, key in conn.execute(_LABEL_KEYS, params)}


def _label_values(keys: np.ndarray, names: dict[int, str]) -> np.ndarray:
    """Object array of the label of each key (None for key 0: no label)."""
    uniq, inverse = np.unique(keys, return_inverse=True)
    return np.array([names.get(int(k)) for k in uniq], dtype=object)[inverse.reshape(-1)]


def _check_lake(ticks_lake: str) -> None:
    if ticks_lake not in TICKS_LAKES:
        raise InvalidArgument(f"unknown ticks_lake {ticks_lake!r}: expected one of {TICKS_LAKES}")


class PostgresTickStore:
    """TickStore on PostgreSQL (see module docstring). Thread-safe: one pooled connection per call.

    ``block_rows`` bounds the bytes encoded at once while streaming a write.
    """

    def __init__(self, pool: ConnectionPool, *, block_rows: int = 100_000) -> None:
        self._pool = pool
        self._block_rows = block_rows

    def write_ticks(self, batch: TickBatch) -> int:
        """Upsert the batch atomically; returns the rows sent after collapsing repeated times."""
        batch = normalize_tick_batch(batch)
        n = len(batch)
        if n == 0:
            return 0
        ticks = batch.ticks
        columns: list[np.ndarray] = [
            batch.trading_day.astype(np.int64) - PG_EPOCH_DAYS,
            ticks["datetime_ns"],
            *(ticks[name] for name in MARKET_FIELDS),
            batch.row_hash,
        ]
        params: dict[str, object] = {
            "symbol": batch.symbol,
            "lake": batch.ticks_lake,
            "lock_class": _LOCK_CLASS,
            "first_ns": int(ticks["datetime_ns"][0]),
            "last_ns": int(ticks["datetime_ns"][-1]),
        }
        prov = batch.main_l5
        statements = _WRITE_RAW if prov is None else _WRITE_MAIN

        with self._pool.connection() as conn, conn.transaction():
            conn.execute(_SERIES_LOCK, params)
            conn.execute(_ENSURE_SERIES, params)
            params["series"] = _series_key(conn, batch.symbol, batch.ticks_lake)
            if prov is not None:
                contracts, codes = np.unique(prov.underlying_contract.astype(str), return_inverse=True)
                keys = _label_keys(conn, "contract", contracts.tolist())
                contract_keys = np.array([keys[c] for c in contracts.tolist()], dtype=np.int32)
                columns += [contract_keys[codes.reshape(-1)], prov.segment_id]
                params["schedule_key"] = _label_keys(conn, "schedule", [prov.schedule_hash])[prov.schedule_hash]
            overlap = conn.execute(_OVERLAP_DAYS, params).fetchone()
            params["days"] = list(overlap[0]) if overlap is not None else []
            conn.execute(statements.stage_ddl)
            with conn.cursor().copy(statements.copy) as cp:
                for start in range(0, n, self._block_rows):
                    stop = min(start + self._block_rows, n)
                    block = [c[start:stop] for c in columns]
                    cp.write(encode_rows(statements.kinds, block, header=start == 0, trailer=stop == n))
            if params["days"]:
                conn.execute(_DELETE_MOVED, params)
                conn.execute(statements.upsert, params)
            else:
                conn.execute(statements.insert, params)
        return n

    def read_ticks(self, symbol: str, ticks_lake: str, start_day: date, end_day: date) -> StoredTicks:
        """Rows of symbol/lake with trading_day in [start_day, end_day], sorted by datetime_ns."""
        _check_lake(ticks_lake)
        params: dict[str, object] = {"symbol": symbol, "lake": ticks_lake, "start": start_day, "end": end_day}
        main = ticks_lake == "main_l5"
        names: dict[int, str] = {}
        with self._pool.connection() as conn, conn.transaction():
            params["series"] = _series_key(conn, symbol, ticks_lake)
            reader = CopyBinaryReader(_READ_MAIN_KINDS if main else _READ_RAW_KINDS)
            with conn.cursor().copy(_READ_MAIN if main else _READ_RAW, params) as cp:
                for chunk in cp:
                    reader.feed(chunk)
            cols = reader.finish()
            if main:  # labels are never changed or removed once keyed, so any snapshot names them
                k = 2 + len(MARKET_FIELDS)
                used = np.union1d(cols[k + 1], cols[k + 3])
                names = dict(conn.execute(_LABEL_VALUES, {"keys": used[used > 0].tolist()}).fetchall())

        n = cols[0].shape[0]
        ticks = np.empty(n, dtype=TICK_DTYPE)
        ticks["datetime_ns"] = cols[1]
        for i, name in enumerate(MARKET_FIELDS):
            ticks[name] = cols[2 + i]
        k = 2 + len(MARKET_FIELDS)
        out = {
            "trading_day": (cols[0].astype(np.int64) + PG_EPOCH_DAYS).astype("datetime64[D]"),
            "row_hash": cols[k],
        }
        extra: dict[str, np.ndarray] = {}
        if main:
            extra = {
                "underlying_contract": _label_values(cols[k + 1], names),
                "segment_id": cols[k + 2],
                "schedule_hash": _label_values(cols[k + 3], names),
            }
        order = _time_order(ticks["datetime_ns"])
        if order is not None:
            ticks = ticks[order]
            out = {key: val[order] for key, val in out.items()}
            extra = {key: val[order] for key, val in extra.items()}
        return StoredTicks(symbol=symbol, ticks_lake=ticks_lake, ticks=ticks, **out, **extra)

    def read_tick_columns(
        self, symbol: str, ticks_lake: str, start_day: date, end_day: date, columns: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """``datetime_ns`` and ``columns`` of the rows ``read_ticks`` returns, in its order."""
        _check_lake(ticks_lake)
        names = market_columns(columns)
        params: dict[str, object] = {"start": start_day, "end": end_day}
        # names are checked against MARKET_FIELDS, so they are safe to splice in
        copy = (
            f"COPY (SELECT datetime_ns, {', '.join(names)} FROM {TICKS_TABLE} {_READ_WHERE} "
            "ORDER BY trading_day, datetime_ns) TO STDOUT (FORMAT BINARY)"
        )
        reader = CopyBinaryReader(("int8", *("float8",) * len(names)))
        with self._pool.connection() as conn, conn.transaction():
            params["series"] = _series_key(conn, symbol, ticks_lake)
            with conn.cursor().copy(copy, params) as cp:
                for chunk in cp:
                    reader.feed(chunk)
        cols = reader.finish()
        out = dict(zip(("datetime_ns", *names), cols, strict=True))
        order = _time_order(out["datetime_ns"])
        return out if order is None else {key: val[order] for key, val in out.items()}

    def tick_days(self, symbol: str, ticks_lake: str) -> list[date]:
        _check_lake(ticks_lake)
        with self._pool.connection() as conn:
            series = _series_key(conn, symbol, ticks_lake)
            return [row[0] for row in conn.execute(_TICK_DAYS, {"series": series})]

    def tick_symbols(self, ticks_lake: str) -> list[str]:
        _check_lake(ticks_lake)
        with self._pool.connection() as conn:
            return [row[0] for row in conn.execute(_TICK_SYMBOLS, {"lake": ticks_lake})]

    def delete_days(self, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        _check_lake(ticks_lake)
        if not days:
            return
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                f"DELETE FROM {TICKS_TABLE} WHERE series_key = %s AND trading_day = ANY(%s::date[])",
                (_series_key(conn, symbol, ticks_lake), list(days)),
            )

    def end_of_day_open_interest(
        self, symbols: Sequence[str], ticks_lake: str, start_day: date, end_day: date
    ) -> dict[tuple[str, date], float]:
        """One query: the last tick's open_interest per (symbol, trading_day) in the range."""
        _check_lake(ticks_lake)
        names = list(dict.fromkeys(symbols))
        if not names or start_day > end_day:
            return {}
        params = {"symbols": names, "lake": ticks_lake, "start": start_day, "end": end_day}
        with self._pool.connection() as conn:
            rows = conn.execute(_EOD_OPEN_INTEREST, params).fetchall()
        return {(sym, day): float(oi) for sym, day, oi in rows}
