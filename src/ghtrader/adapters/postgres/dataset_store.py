"""``PostgresDatasetStore``: the DatasetStore port on PostgreSQL.

Wide tables (``ghtrader_features_v2``, ``ghtrader_labels_v2``, ``ghtrader_fill_labels_v2``)
- are partitioned by range on (series_key, trading_day) and created on first write with
  :func:`~ghtrader.adapters.postgres.schema.wide_table_ddl`; a write naming new float columns
  adds them (``ALTER TABLE ... ADD COLUMN IF NOT EXISTS``, NaN default). Floats are stored as
  ``DATASET_DTYPES`` says (features ``real``, labels ``double precision``); rows carry 32 bytes
  of integer keys (series, build, contract keys from small dictionary tables) and no index.
- hold one UNLOGGED partition per series-day. A write is one transaction that, under a
  transaction advisory lock per (table, symbol, lake), empties each day's partition (TRUNCATE:
  a new file, the old one is removed at commit) or creates it, binary-COPYs the rows straight
  into it with FREEZE, attaches a new partition and records the day in
  ``ghtrader_dataset_days_v2``. A rebuilt day therefore leaves no dead rows behind, and with
  ``wal_level=minimal`` nothing of it goes through the WAL. The lock makes concurrent writers of
  one series take turns, so a day is always one writer's rows.
- Crash rule: UNLOGGED tables are emptied by crash recovery. The day list is UNLOGGED too, so a
  crash empties both together: no day counts as built any more, and the next build (incremental
  by default) recomputes every day from the durable ticks. A clean shutdown keeps everything.

Reads are binary COPY decoded straight into NumPy columns; rows come back in partition order
(the order they were written in) and are sorted by datetime_ns only when they are not.
Build metadata, main_l5 provenance and the feature registry are small logged tables written with
plain upserts. Timestamps are ``timestamptz`` (microseconds); an ``*_ns`` of 0 means "now()".
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from psycopg import Connection, sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ghtrader.adapters.postgres._copy_binary import (
    PG_EPOCH_DAYS,
    CopyBinaryReader,
    encode_rows,
)
from ghtrader.adapters.postgres.schema import (
    BUILD_METADATA_TABLE,
    DATASET_DAYS_TABLE,
    DATASET_KEYS_TABLE,
    DATASET_SERIES_TABLE,
    FEATURE_REGISTRY_TABLE,
    MAIN_L5_PROVENANCE_TABLE,
    WIDE_KEY_COLUMNS,
    wide_partition_name,
    wide_table_ddl,
)
from ghtrader.application.datasets.store_checks import check_dataset_rows, check_kind
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.datasets import (
    BUILD_KINDS,
    DATASET_DTYPES,
    DATASET_TABLES,
    BuildMetadata,
    DatasetRows,
    FeatureDefinition,
    MainL5DayProvenance,
)
from ghtrader.application.ports.stores import LAKE_VERSION, TICKS_LAKES
from ghtrader.application.reporting import to_jsonable

__all__ = ["PostgresDatasetStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)
_KEY_NAMES = frozenset(name for name, _ in WIDE_KEY_COLUMNS)
# pg_advisory_xact_lock key of wide-table DDL ("ghtr" "wide").
_DDL_LOCK_KEY = 0x67687472_77696465
# pg_advisory_xact_lock(class, key) of writes to one series of a wide table ("gd").
_ROWS_LOCK = "SELECT pg_advisory_xact_lock(%(lock_class)s::int4, hashtext(%(lock_key)s::text))"
_ROWS_LOCK_CLASS = 0x6764
# binary COPY kind of a stored dtype
_WIRE_FLOAT = {"float32": "float4", "float64": "float8"}


def _ts(ns: int | None) -> datetime | None:
    return None if not ns else _EPOCH + timedelta(microseconds=int(ns) // 1000)


def _ns(ts: datetime | None) -> int | None:
    if ts is None:
        return None
    delta = ts - _EPOCH
    return (delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds) * 1000


def _lock_series(conn: Connection[Any], kind: str, symbol: str, ticks_lake: str) -> None:
    """Hold the transaction advisory lock of one series (table, symbol, lake) until commit."""
    conn.execute(
        _ROWS_LOCK, {"lock_class": _ROWS_LOCK_CLASS, "lock_key": f"{DATASET_TABLES[kind]}/{symbol}/{ticks_lake}"}
    )


def _check_lake(ticks_lake: str) -> None:
    if ticks_lake not in TICKS_LAKES:
        raise InvalidArgument(f"unknown ticks_lake {ticks_lake!r}: expected one of {TICKS_LAKES}")


_BUILD_COLS = "build_id, kind, config_hash, params, created_at"
_PUT_BUILD = (
    f"INSERT INTO {BUILD_METADATA_TABLE} AS t ({_BUILD_COLS}, lake_version) "
    "VALUES (%(build_id)s, %(kind)s, %(config_hash)s, %(params)s, coalesce(%(created_at)s, now()), %(v)s) "
    "ON CONFLICT (build_id) DO UPDATE SET kind = EXCLUDED.kind, config_hash = EXCLUDED.config_hash, "
    "params = EXCLUDED.params, "
    "created_at = CASE WHEN %(created_at)s::timestamptz IS NULL THEN t.created_at ELSE EXCLUDED.created_at END"
)
_SELECT_BUILDS = f"SELECT {_BUILD_COLS} FROM {BUILD_METADATA_TABLE} "

_PROV_COLS = "symbol, trading_day, underlying_contract, segment_id, schedule_hash, rows_total, source_rows"
_PUT_PROV = (
    f"INSERT INTO {MAIN_L5_PROVENANCE_TABLE} ({_PROV_COLS}, created_at, lake_version) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()), %s) "
    "ON CONFLICT (symbol, trading_day, lake_version) DO UPDATE SET "
    "underlying_contract = EXCLUDED.underlying_contract, segment_id = EXCLUDED.segment_id, "
    "schedule_hash = EXCLUDED.schedule_hash, rows_total = EXCLUDED.rows_total, "
    "source_rows = EXCLUDED.source_rows, created_at = EXCLUDED.created_at"
)

_REG_COLS = (
    "feature_name, version, definition_hash, input_columns, output_dtype, lookback_ticks, ttl_seconds, "
    "created_at, deprecated_at"
)
_PUT_FEATURE = (
    f"INSERT INTO {FEATURE_REGISTRY_TABLE} ({_REG_COLS}, lake_version) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()), %s, %s) "
    "ON CONFLICT (feature_name, version) DO UPDATE SET definition_hash = EXCLUDED.definition_hash, "
    "input_columns = EXCLUDED.input_columns, output_dtype = EXCLUDED.output_dtype, "
    "lookback_ticks = EXCLUDED.lookback_ticks, ttl_seconds = EXCLUDED.ttl_seconds, "
    "deprecated_at = EXCLUDED.deprecated_at"
)


class PostgresDatasetStore:
    """DatasetStore on PostgreSQL. Thread-safe: one pooled connection per call.

    ``block_rows`` bounds the rows encoded at once while streaming a write: small blocks keep
    the encoder's output in cache (2,048 rows of 126 factors encode twice as fast as 100,000).
    """

    def __init__(self, pool: ConnectionPool, *, block_rows: int = 2_048) -> None:
        self._pool = pool
        self._block_rows = block_rows
        self._columns: dict[str, list[str]] = {}
        self._series: dict[tuple[str, str], int] = {}
        self._key_ids: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    # --- table helpers -------------------------------------------------------------------------
    def _table_columns(self, kind: str, *, refresh: bool = False) -> list[str]:
        """Float columns of the kind's table in table order (``[]`` when it does not exist)."""
        table = DATASET_TABLES[kind]
        with self._lock:
            cached = self._columns.get(kind)
        if cached is not None and not refresh:
            return cached
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT column_name::text FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
                (table,),
            ).fetchall()
        names = [r[0] for r in rows if r[0] not in _KEY_NAMES]
        if rows:
            with self._lock:
                self._columns[kind] = names
        return names

    def _ensure_columns(self, kind: str, columns: Sequence[str]) -> None:
        known = self._table_columns(kind)
        if known and all(c in known for c in columns):
            return
        known = self._table_columns(kind, refresh=True)
        if known and all(c in known for c in columns):
            return
        statements = wide_table_ddl(DATASET_TABLES[kind], list(columns), DATASET_DTYPES[kind])
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
            for statement in statements:
                conn.execute(statement)
        self._table_columns(kind, refresh=True)

    def _series_key(self, symbol: str, ticks_lake: str, *, create: bool) -> int | None:
        """The integer key of (symbol, lake, lake_version); None when unknown and not ``create``."""
        with self._lock:
            key = self._series.get((symbol, ticks_lake))
        if key is not None:
            return key
        select = (
            f"SELECT series_key FROM {DATASET_SERIES_TABLE} "
            "WHERE symbol = %(s)s AND ticks_lake = %(l)s AND lake_version = %(v)s"
        )
        params = {"s": symbol, "l": ticks_lake, "v": LAKE_VERSION}
        with self._pool.connection() as conn, conn.transaction():
            if create:
                conn.execute(
                    f"INSERT INTO {DATASET_SERIES_TABLE} (symbol, ticks_lake, lake_version) "
                    "VALUES (%(s)s, %(l)s, %(v)s) ON CONFLICT DO NOTHING",
                    params,
                )
            row = conn.execute(select, params).fetchone()
        if row is None:
            return None
        with self._lock:
            self._series[(symbol, ticks_lake)] = int(row[0])
        return int(row[0])

    def _keys(self, kind: str, values: Sequence[str]) -> list[int]:
        """Integer keys (>= 1) of build ids or contracts (``kind``), created when new."""
        with self._lock:
            missing = sorted({v for v in values if (kind, v) not in self._key_ids})
        if missing:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute(
                    f"INSERT INTO {DATASET_KEYS_TABLE} (key_kind, key_value) SELECT %s, unnest(%s::text[]) "
                    "ON CONFLICT DO NOTHING",
                    (kind, missing),
                )
                rows = conn.execute(
                    f"SELECT key_value, key_id FROM {DATASET_KEYS_TABLE} WHERE key_kind = %s AND key_value = ANY(%s)",
                    (kind, missing),
                ).fetchall()
            with self._lock:
                for value, key in rows:
                    self._key_ids[(kind, value)] = int(key)
        with self._lock:
            return [self._key_ids[(kind, v)] for v in values]

    @staticmethod
    def _key_values(conn: Connection[Any], keys: np.ndarray) -> np.ndarray:
        """Object array mapping key id -> its text (index 0 and unknown ids: None)."""
        ids = [int(k) for k in np.unique(keys) if k > 0]
        out = np.full(int(keys.max(initial=0)) + 1, None, dtype=object)
        if ids:
            for key, value in conn.execute(
                f"SELECT key_id, key_value FROM {DATASET_KEYS_TABLE} WHERE key_id = ANY(%s)", (ids,)
            ):
                out[int(key)] = value
        return out

    # --- wide tables ---------------------------------------------------------------------------
    def write_rows(self, kind: str, build_id: str, rows: DatasetRows) -> int:
        rows = check_dataset_rows(kind, build_id, rows)
        n = len(rows)
        if n == 0:
            return 0
        names = list(rows.columns)
        self._ensure_columns(kind, names)
        table = DATASET_TABLES[kind]
        series = self._series_key(rows.symbol, rows.ticks_lake, create=True)
        assert series is not None
        (build_key,) = self._keys("build", [build_id])
        contract_keys = np.zeros(n, dtype=np.int32)  # 0 = none
        if rows.underlying_contract is not None:
            uniq, inverse = np.unique(rows.underlying_contract.astype(str), return_inverse=True)
            lut = np.array(self._keys("contract", uniq.tolist()), dtype=np.int32)
            contract_keys = lut[inverse.reshape(-1)]
        segments = rows.segment_id if rows.segment_id is not None else np.full(n, -1, dtype=np.int64)
        day_num = rows.trading_day.astype(np.int64)
        order = np.argsort(day_num, kind="stable")  # identity for time-ordered rows
        bounds = np.flatnonzero(np.diff(day_num[order])) + 1
        kinds = ("int4", "date", "int8", "int8", "int4", "int4", *(_WIRE_FLOAT[DATASET_DTYPES[kind]],) * len(names))
        copy_cols = ", ".join([*(name for name, _ in WIDE_KEY_COLUMNS), *names])
        with self._pool.connection() as conn, conn.transaction():
            _lock_series(conn, kind, rows.symbol, rows.ticks_lake)
            picks: list[np.ndarray | slice] = list(np.split(order, bounds)) if bounds.size else [slice(0, n)]
            for pick in picks:  # one trading day each (a slice, not a copy, for a one-day write)
                m = int(day_num[pick].shape[0])
                day = int(day_num[pick][0])
                part = wide_partition_name(table, series, day)
                exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (part,)).fetchone()
                if exists is not None and exists[0]:
                    conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(part)))
                else:
                    conn.execute(
                        sql.SQL("CREATE UNLOGGED TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
                            sql.Identifier(part), sql.Identifier(table)
                        )
                    )
                columns: list[np.ndarray] = [
                    np.full(m, series, dtype=np.int32),
                    day_num[pick] - PG_EPOCH_DAYS,
                    rows.datetime_ns[pick],
                    segments[pick],
                    np.full(m, build_key, dtype=np.int32),
                    contract_keys[pick],
                    *(rows.columns[c][pick] for c in names),
                ]
                copy_sql = f"COPY {part} ({copy_cols}) FROM STDIN (FORMAT BINARY, FREEZE)"
                with conn.cursor().copy(copy_sql) as cp:
                    for start in range(0, m, self._block_rows):
                        stop = min(start + self._block_rows, m)
                        cp.write(
                            encode_rows(kinds, [c[start:stop] for c in columns], header=start == 0, trailer=stop == m)
                        )
                the_day = _EPOCH_DATE + timedelta(days=day)
                if not (exists is not None and exists[0]):
                    conn.execute(
                        sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}, {}) TO ({}, {})").format(
                            sql.Identifier(table),
                            sql.Identifier(part),
                            series,
                            the_day,
                            series,
                            the_day + timedelta(days=1),
                        )
                    )
                conn.execute(
                    f"INSERT INTO {DATASET_DAYS_TABLE} (table_name, series_key, trading_day, build_id, rows_total) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (table_name, series_key, trading_day) DO UPDATE SET "
                    "build_id = EXCLUDED.build_id, rows_total = EXCLUDED.rows_total, written_at = now()",
                    (table, series, the_day, build_id, m),
                )
        return n

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
        names = list(known) if columns is None else list(columns)
        if any(c not in known for c in names):
            known = self._table_columns(kind, refresh=True)
        unknown = [c for c in names if c not in known]
        if unknown:
            raise InvalidArgument(f"{kind} has no columns {unknown}: build them first (known: {known})")
        empty = {
            "trading_day": np.empty(0, dtype="datetime64[D]"),
            "datetime_ns": np.empty(0, dtype=np.int64),
            "underlying_contract": np.empty(0, dtype=object),
            "segment_id": np.empty(0, dtype=np.int64),
            "build_id": np.empty(0, dtype=object),
            **{c: np.empty(0, dtype=np.float64) for c in names},
        }
        if not known:
            return empty
        series = self._series_key(symbol, ticks_lake, create=False)
        if series is None:
            return empty
        copy = sql.SQL(
            "COPY (SELECT trading_day, datetime_ns, contract_key, segment_id, build_key{cols} FROM {table} "
            "WHERE series_key = %(series)s AND trading_day BETWEEN %(start)s AND %(end)s) TO STDOUT (FORMAT BINARY)"
        ).format(
            table=sql.Identifier(DATASET_TABLES[kind]),
            cols=sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(c)) for c in names),
        )
        params = {"series": series, "start": start_day, "end": end_day}
        reader = CopyBinaryReader(
            ("date", "int8", "int4", "int8", "int4", *(_WIRE_FLOAT[DATASET_DTYPES[kind]],) * len(names))
        )
        with self._pool.connection() as conn, conn.transaction():
            with conn.cursor().copy(copy, params) as cp:
                for chunk in cp:
                    reader.feed(chunk)
            cols = reader.finish()
            if cols[0].shape[0] == 0:
                return empty
            contracts = self._key_values(conn, cols[2])
            builds = self._key_values(conn, cols[4])
        out: dict[str, np.ndarray] = {
            "trading_day": (cols[0].astype(np.int64) + PG_EPOCH_DAYS).astype("datetime64[D]"),
            "datetime_ns": cols[1],
            "underlying_contract": contracts[cols[2]],
            "segment_id": cols[3],
            "build_id": builds[cols[4]],
        }
        for i, name in enumerate(names):
            out[name] = cols[5 + i].astype(np.float64)
        dt = out["datetime_ns"]
        if dt.shape[0] > 1 and not bool(np.all(dt[1:] > dt[:-1])):
            order = np.argsort(dt, kind="stable")
            out = {k: v[order] for k, v in out.items()}
        return out

    def _table_exists(self, kind: str) -> bool:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT to_regclass(%s)", (DATASET_TABLES[kind],)).fetchone()
        return row is not None and row[0] is not None

    def _build_days(self, kind: str, symbol: str, ticks_lake: str) -> list[tuple[str, date]]:
        """(build_id, trading_day) of the series' stored days, from the day list."""
        check_kind(kind)
        _check_lake(ticks_lake)
        series = self._series_key(symbol, ticks_lake, create=False)
        if series is None:
            return []
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT build_id, trading_day FROM {DATASET_DAYS_TABLE} WHERE table_name = %s AND series_key = %s "
                "ORDER BY trading_day",
                (DATASET_TABLES[kind], series),
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def _config_hashes(self, build_ids: Sequence[str]) -> dict[str, str]:
        if not build_ids:
            return {}
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT build_id, config_hash FROM {BUILD_METADATA_TABLE} WHERE build_id = ANY(%s)",
                (list(build_ids),),
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    def built_days(self, kind: str, symbol: str, ticks_lake: str, config_hash: str | None = None) -> list[date]:
        pairs = self._build_days(kind, symbol, ticks_lake)
        if config_hash is None:
            return sorted({d for _, d in pairs})
        hashes = self._config_hashes(sorted({b for b, _ in pairs}))
        return sorted({d for b, d in pairs if hashes.get(b) == config_hash})

    def stored_config_hashes(self, kind: str, symbol: str, ticks_lake: str) -> list[str]:
        pairs = self._build_days(kind, symbol, ticks_lake)
        return sorted(set(self._config_hashes(sorted({b for b, _ in pairs})).values()))

    def delete_days(self, kind: str, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        """Drop the series' day partitions (and their day-list rows)."""
        check_kind(kind)
        _check_lake(ticks_lake)
        series = self._series_key(symbol, ticks_lake, create=False)
        if not days or series is None or not self._table_exists(kind):
            return
        table = DATASET_TABLES[kind]
        with self._pool.connection() as conn, conn.transaction():
            _lock_series(conn, kind, symbol, ticks_lake)
            for day in sorted(set(days)):
                part = wide_partition_name(table, series, (day - _EPOCH_DATE).days)
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(part)))
            conn.execute(
                f"DELETE FROM {DATASET_DAYS_TABLE} WHERE table_name = %s AND series_key = %s "
                "AND trading_day = ANY(%s::date[])",
                (table, series, list(days)),
            )

    def column_names(self, kind: str) -> list[str]:
        check_kind(kind)
        return list(self._table_columns(kind, refresh=True))

    # --- build metadata ------------------------------------------------------------------------
    def put_build(self, meta: BuildMetadata) -> None:
        if meta.kind not in BUILD_KINDS:
            raise InvalidArgument(f"unknown build kind {meta.kind!r}: expected one of {BUILD_KINDS}")
        if not meta.build_id or not meta.config_hash:
            raise InvalidArgument("build metadata needs a build_id and a config_hash")
        params = {
            "build_id": meta.build_id,
            "kind": meta.kind,
            "config_hash": meta.config_hash,
            "params": Jsonb(to_jsonable(dict(meta.params))),
            "created_at": _ts(meta.created_at_ns),
            "v": LAKE_VERSION,
        }
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(_PUT_BUILD, params)

    @staticmethod
    def _build(row: tuple[Any, ...]) -> BuildMetadata:
        return BuildMetadata(
            build_id=row[0], kind=row[1], config_hash=row[2], params=dict(row[3] or {}), created_at_ns=_ns(row[4]) or 0
        )

    def get_build(self, build_id: str) -> BuildMetadata | None:
        with self._pool.connection() as conn:
            row = conn.execute(_SELECT_BUILDS + "WHERE build_id = %s", (build_id,)).fetchone()
        return None if row is None else self._build(row)

    def builds(self, kind: str | None = None) -> list[BuildMetadata]:
        where, args = ("WHERE kind = %s ", (kind,)) if kind is not None else ("", ())
        with self._pool.connection() as conn:
            rows = conn.execute(_SELECT_BUILDS + where + "ORDER BY created_at, build_id", args).fetchall()
        return [self._build(r) for r in rows]

    # --- main_l5 provenance ----------------------------------------------------------------------
    def put_main_l5_provenance(self, records: Sequence[MainL5DayProvenance]) -> None:
        if not records:
            return
        rows = [
            (
                r.symbol,
                r.trading_day,
                r.underlying_contract,
                int(r.segment_id),
                r.schedule_hash,
                int(r.rows_total),
                int(r.source_rows),
                _ts(r.created_at_ns),
                LAKE_VERSION,
            )
            for r in records
        ]
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(_PUT_PROV, rows)

    def main_l5_provenance(
        self, symbol: str, start_day: date | None = None, end_day: date | None = None
    ) -> list[MainL5DayProvenance]:
        where = ["symbol = %s", "lake_version = %s"]
        args: list[Any] = [symbol, LAKE_VERSION]
        if start_day is not None:
            where.append("trading_day >= %s")
            args.append(start_day)
        if end_day is not None:
            where.append("trading_day <= %s")
            args.append(end_day)
        query = f"SELECT {_PROV_COLS}, created_at FROM {MAIN_L5_PROVENANCE_TABLE} WHERE {' AND '.join(where)} ORDER BY trading_day"
        with self._pool.connection() as conn:
            rows = conn.execute(query, args).fetchall()
        return [
            MainL5DayProvenance(r[0], r[1], r[2], int(r[3]), r[4], int(r[5]), int(r[6]), _ns(r[7]) or 0) for r in rows
        ]

    def delete_main_l5_provenance(self, symbol: str, days: Sequence[date]) -> None:
        if not days:
            return
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                f"DELETE FROM {MAIN_L5_PROVENANCE_TABLE} WHERE symbol = %s AND lake_version = %s "
                "AND trading_day = ANY(%s::date[])",
                (symbol, LAKE_VERSION, list(days)),
            )

    # --- feature registry ----------------------------------------------------------------------
    def upsert_features(self, definitions: Sequence[FeatureDefinition]) -> None:
        if not definitions:
            return
        rows = [
            (
                d.feature_name,
                int(d.version),
                d.definition_hash,
                list(d.input_columns),
                d.output_dtype,
                int(d.lookback_ticks),
                d.ttl_seconds,
                _ts(d.created_at_ns),
                _ts(d.deprecated_at_ns),
                LAKE_VERSION,
            )
            for d in definitions
        ]
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(_PUT_FEATURE, rows)

    def feature_registry(self, *, include_deprecated: bool = True) -> list[FeatureDefinition]:
        where = "" if include_deprecated else "WHERE deprecated_at IS NULL "
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {_REG_COLS} FROM {FEATURE_REGISTRY_TABLE} {where}ORDER BY feature_name, version"
            ).fetchall()
        return [
            FeatureDefinition(
                feature_name=r[0],
                version=int(r[1]),
                definition_hash=r[2],
                input_columns=tuple(r[3]),
                output_dtype=r[4],
                lookback_ticks=int(r[5]),
                ttl_seconds=None if r[6] is None else float(r[6]),
                created_at_ns=_ns(r[7]) or 0,
                deprecated_at_ns=_ns(r[8]),
            )
            for r in rows
        ]
