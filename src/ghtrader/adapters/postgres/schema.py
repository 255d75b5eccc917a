"""DDL of every ghTrader table in PostgreSQL, ordered migrations, and :class:`PostgresSchemaManager`.

Conventions of every table:
- ``lake_version`` column, ``'v2'`` for everything written today.
- Text keys are ``COLLATE "C"`` so ordering is bytewise (same as Python's ``sorted``) on any
  server, whatever its default locale.
- Market doubles are ``NOT NULL``: a missing value is stored as NaN, never NULL, so NaN
  round-trips bit for bit and bulk reads stay fixed-width.

Migrations live in :data:`MIGRATIONS`, applied in order and recorded in
``ghtrader_schema_migrations``; an id, once released, never changes meaning (add a new one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from psycopg import sql
from psycopg_pool import ConnectionPool

from ghtrader.adapters.table_names import (
    BUILD_METADATA_TABLE,
    FEATURE_REGISTRY_TABLE,
    MAIN_L5_PROVENANCE_TABLE,
    MAIN_SCHEDULE_TABLE,
    MIGRATIONS_TABLE,
    MODEL_REGISTRY_TABLE,
    MODEL_STATUS_CHANGES_TABLE,
    NO_DATA_TABLE,
    SYMBOL_DAY_INDEX_TABLE,
    TICKS_TABLE,
)
from ghtrader.application.ports.datasets import DATASET_TABLES
from ghtrader.domain.ticks import MARKET_FIELDS

__all__ = [
    "BUILD_METADATA_TABLE",
    "DATASET_DAYS_TABLE",
    "DATASET_KEYS_TABLE",
    "DATASET_SERIES_TABLE",
    "FEATURE_REGISTRY_TABLE",
    "MAIN_L5_PROVENANCE_TABLE",
    "MAIN_SCHEDULE_TABLE",
    "MIGRATIONS",
    "MIGRATIONS_TABLE",
    "MODEL_REGISTRY_TABLE",
    "MODEL_STATUS_CHANGES_TABLE",
    "NO_DATA_TABLE",
    "SYMBOL_DAY_INDEX_TABLE",
    "TICKS_TABLE",
    "TICK_LABELS_TABLE",
    "TICK_SERIES_TABLE",
    "WIDE_FLOAT_TYPES",
    "WIDE_KEY_COLUMNS",
    "Migration",
    "PostgresSchemaManager",
    "wide_partition_name",
    "wide_table_ddl",
]


#: Tick series (symbol, ticks_lake) -> the small integer key of their rows in the ticks table.
TICK_SERIES_TABLE = "ghtrader_tick_series_v2"
#: Underlying contracts and schedule hashes of main_l5 tick rows -> their small integer keys.
TICK_LABELS_TABLE = "ghtrader_tick_labels_v2"
#: Dataset series (symbol, ticks_lake, lake_version) -> small integer key of wide-table rows.
DATASET_SERIES_TABLE = "ghtrader_dataset_series_v2"
#: Build ids and underlying contracts -> small integer keys of wide-table rows.
DATASET_KEYS_TABLE = "ghtrader_dataset_keys_v2"
#: The stored series-days of every wide table (UNLOGGED, like the day partitions).
DATASET_DAYS_TABLE = "ghtrader_dataset_days_v2"
_EPOCH_DATE = date(1970, 1, 1)

# pg_advisory_xact_lock key serialising ensure_schema across processes ("ghtr" "sche" in ASCII).
_SCHEMA_LOCK_KEY = 0x67687472_73636865


@dataclass(frozen=True)
class Migration:
    """One schema step: an id (sortable, never reused) and the statements it runs."""

    id: str
    statements: tuple[str, ...]


_LAKES_CHECK = "CHECK (ticks_lake IN ('raw', 'main_l5'))"
_MARKET_COLUMNS = ",\n    ".join(f"{name} double precision NOT NULL" for name in MARKET_FIELDS)
_MARKET_LIST = ", ".join(f"t.{name}" for name in MARKET_FIELDS)


def _wide_day_index(table: str) -> tuple[str, str]:
    """Name and columns of a wide table's day index. Day-range reads and the per-day DELETE of a
    write filter on (symbol, ticks_lake, trading_day), so trading_day comes right after them:
    an index with build_id first (the layout before migration 0012) made every day read scan the
    whole symbol's index."""
    return f"{table[:48]}_tday_idx", "(symbol, ticks_lake, trading_day, build_id, datetime_ns)"


def _reindex_wide_days(table: str) -> str:
    """Migration 0012 for one wide table: the day index led by trading_day (if the table exists;
    wide tables are created on their first write)."""
    name, cols = _wide_day_index(table)
    return (
        f"DO $$ BEGIN IF to_regclass('{table}') IS NOT NULL THEN "
        f"EXECUTE 'CREATE INDEX IF NOT EXISTS {name} ON {table} {cols}'; "
        f"EXECUTE 'DROP INDEX IF EXISTS {table[:50]}_day_idx'; "
        "END IF; END $$"
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_ticks_raw_v2",
        (
            f"""CREATE TABLE IF NOT EXISTS {TICKS_TABLE} (
    symbol text COLLATE "C" NOT NULL,
    ticks_lake text COLLATE "C" NOT NULL {_LAKES_CHECK},
    trading_day date NOT NULL,
    datetime_ns bigint NOT NULL,
    ts timestamptz NOT NULL,
    {_MARKET_COLUMNS},
    row_hash bigint NOT NULL,
    underlying_contract text COLLATE "C" NULL,
    segment_id bigint NULL,
    schedule_hash text COLLATE "C" NULL,
    lake_version text NOT NULL DEFAULT 'v2',
    PRIMARY KEY (symbol, ticks_lake, datetime_ns)
)""",
            # Day-range reads come back in (trading_day, datetime_ns) order straight off this index.
            (
                f"CREATE INDEX IF NOT EXISTS {TICKS_TABLE}_day_idx "
                f"ON {TICKS_TABLE} (symbol, ticks_lake, trading_day, datetime_ns)"
            ),
        ),
    ),
    Migration(
        "0002_symbol_day_index_v2",
        (
            f"""CREATE TABLE IF NOT EXISTS {SYMBOL_DAY_INDEX_TABLE} (
    symbol text COLLATE "C" NOT NULL,
    trading_day date NOT NULL,
    lake_version text COLLATE "C" NOT NULL DEFAULT 'v2',
    ticks_lake text COLLATE "C" NOT NULL {_LAKES_CHECK},
    rows_total bigint NOT NULL,
    first_datetime_ns bigint NOT NULL,
    last_datetime_ns bigint NOT NULL,
    l5_present boolean NOT NULL,
    row_hash_min bigint NOT NULL,
    row_hash_max bigint NOT NULL,
    row_hash_sum bigint NOT NULL,
    row_hash_sum_abs bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, trading_day, lake_version, ticks_lake)
)""",
        ),
    ),
    Migration(
        "0003_no_data_days_v2",
        (
            f"""CREATE TABLE IF NOT EXISTS {NO_DATA_TABLE} (
    symbol text COLLATE "C" NOT NULL,
    trading_day date NOT NULL,
    lake_version text COLLATE "C" NOT NULL DEFAULT 'v2',
    ticks_lake text COLLATE "C" NOT NULL {_LAKES_CHECK},
    reason text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, trading_day, lake_version, ticks_lake)
)""",
        ),
    ),
    Migration(
        "0004_main_schedule_v2",
        (
            f"""CREATE TABLE IF NOT EXISTS {MAIN_SCHEDULE_TABLE} (
    exchange text COLLATE "C" NOT NULL,
    variety text COLLATE "C" NOT NULL,
    trading_day date NOT NULL,
    main_contract text COLLATE "C" NOT NULL,
    segment_id bigint NOT NULL,
    schedule_hash text COLLATE "C" NOT NULL,
    lake_version text NOT NULL DEFAULT 'v2',
    PRIMARY KEY (exchange, variety, trading_day, schedule_hash)
)""",
        ),
    ),
    Migration(
        "0005_main_l5_provenance_v2",
        (
            # One row per main_l5 symbol-day: a rebuild with a new schedule replaces it.
            f"""CREATE TABLE IF NOT EXISTS {MAIN_L5_PROVENANCE_TABLE} (
    symbol text COLLATE "C" NOT NULL,
    trading_day date NOT NULL,
    underlying_contract text COLLATE "C" NOT NULL,
    segment_id bigint NOT NULL,
    schedule_hash text COLLATE "C" NOT NULL,
    rows_total bigint NOT NULL,
    source_rows bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    lake_version text COLLATE "C" NOT NULL DEFAULT 'v2',
    PRIMARY KEY (symbol, trading_day, lake_version)
)""",
        ),
    ),
    Migration(
        "0006_build_metadata_v2",
        (
            f"""CREATE TABLE IF NOT EXISTS {BUILD_METADATA_TABLE} (
    build_id text COLLATE "C" PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('features', 'labels', 'main_l5')),
    config_hash text NOT NULL,
    params jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    lake_version text NOT NULL DEFAULT 'v2'
)""",
        ),
    ),
    Migration(
        "0007_feature_registry_v2",
        (
            f"""CREATE TABLE IF NOT EXISTS {FEATURE_REGISTRY_TABLE} (
    feature_name text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    definition_hash text NOT NULL,
    input_columns text[] NOT NULL,
    output_dtype text NOT NULL,
    lookback_ticks integer NOT NULL,
    ttl_seconds double precision NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    deprecated_at timestamptz NULL,
    lake_version text NOT NULL DEFAULT 'v2',
    PRIMARY KEY (feature_name, version)
)""",
        ),
    ),
    Migration(
        "0008_model_registry_v2",
        (
            f"""CREATE TABLE IF NOT EXISTS {MODEL_REGISTRY_TABLE} (
    model_id text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    model_type text NOT NULL,
    status text NOT NULL,
    artifact_path text NOT NULL,
    config_hash text NOT NULL,
    metrics jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    promoted_at timestamptz NULL,
    retired_at timestamptz NULL,
    lake_version text NOT NULL DEFAULT 'v2',
    PRIMARY KEY (model_id, version)
)""",
        ),
    ),
    Migration(
        "0009_fill_labels_kind",
        (
            # fill labels got their own table (ghtrader_fill_labels_v2) and build kind
            f"ALTER TABLE {BUILD_METADATA_TABLE} DROP CONSTRAINT IF EXISTS {BUILD_METADATA_TABLE}_kind_check",
            f"ALTER TABLE {BUILD_METADATA_TABLE} ADD CONSTRAINT {BUILD_METADATA_TABLE}_kind_check "
            "CHECK (kind IN ('features', 'labels', 'fill_labels', 'main_l5'))",
        ),
    ),
    Migration(
        "0011_schedule_switch_ratio",
        # the rule's ratio travels with the schedule (NULL for rows saved before: the default)
        (f"ALTER TABLE {MAIN_SCHEDULE_TABLE} ADD COLUMN IF NOT EXISTS switch_ratio double precision NULL",),
    ),
    Migration("0012_wide_day_index", tuple(_reindex_wide_days(t) for t in sorted(DATASET_TABLES.values()))),
    Migration(
        "0013_dataset_day_partitions",
        (
            # The text-keyed wide tables (3.3 kB per main_l5 tick) give way to day-partitioned
            # float32 tables keyed by small integers. Derived rows are recomputed, not converted:
            # with the old tables gone no day counts as built and the next build writes them all.
            *(f"DROP TABLE IF EXISTS {t} CASCADE" for t in sorted(DATASET_TABLES.values())),
            f"""CREATE TABLE IF NOT EXISTS {DATASET_SERIES_TABLE} (
    series_key integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    symbol text COLLATE "C" NOT NULL,
    ticks_lake text COLLATE "C" NOT NULL {_LAKES_CHECK},
    lake_version text COLLATE "C" NOT NULL DEFAULT 'v2',
    UNIQUE (symbol, ticks_lake, lake_version)
)""",
            # build ids and underlying contracts of wide-table rows; key 0 is never used (= none)
            f"""CREATE TABLE IF NOT EXISTS {DATASET_KEYS_TABLE} (
    key_id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    key_kind text COLLATE "C" NOT NULL CHECK (key_kind IN ('build', 'contract')),
    key_value text COLLATE "C" NOT NULL,
    UNIQUE (key_kind, key_value)
)""",
            # One row per stored series-day partition: which build wrote it and how many rows.
            # UNLOGGED like the partitions it describes: crash recovery empties both together, so
            # after a crash no day counts as built and the next build recomputes them.
            f"""CREATE UNLOGGED TABLE IF NOT EXISTS {DATASET_DAYS_TABLE} (
    table_name text COLLATE "C" NOT NULL,
    series_key integer NOT NULL,
    trading_day date NOT NULL,
    build_id text COLLATE "C" NOT NULL,
    rows_total bigint NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, series_key, trading_day)
)""",
        ),
    ),
    Migration(
        "0016_no_data_provenance",
        # where a no-data answer came from, so the day is checked again when its source changes
        # ('' / -1 for entries recorded before: never counted as changed)
        (
            (
                f"ALTER TABLE {NO_DATA_TABLE} ADD COLUMN IF NOT EXISTS provider text NOT NULL DEFAULT '', "
                "ADD COLUMN IF NOT EXISTS request text NOT NULL DEFAULT '', "
                "ADD COLUMN IF NOT EXISTS source_path text NOT NULL DEFAULT '', "
                "ADD COLUMN IF NOT EXISTS source_size bigint NOT NULL DEFAULT -1, "
                "ADD COLUMN IF NOT EXISTS source_mtime_ns bigint NOT NULL DEFAULT -1"
            ),
        ),
    ),
    Migration(
        "0017_ticks_series_key",
        # The tick table rewritten around one narrow B-tree key (series_key, trading_day,
        # datetime_ns) instead of two text-keyed ones: (symbol, ticks_lake) lives once per series
        # in TICK_SERIES_TABLE; a 24-byte fixed-width key lets PostgreSQL pack leaf pages that
        # per-series appends fill (not half-fill); trading_day is a function of datetime_ns, so
        # the key identifies a row as (symbol, ticks_lake, datetime_ns) did (the store deletes a
        # stored tick a rewrite files under another day) and serves every day-range read. A main_l5
        # row's underlying contract and schedule hash are integer keys into TICK_LABELS_TABLE
        # (4 bytes each instead of ~13 and 65 of text). lake_version is the series' (one per
        # series: mixed versions make this migration fail); ts is not stored, it is datetime_ns in
        # microseconds (as in the wide tables). 8-byte columns first, so rows carry no padding.
        # Copied in key order into a table created in this transaction (no WAL under
        # wal_level=minimal), the key built after.
        (
            f"""CREATE TABLE IF NOT EXISTS {TICK_SERIES_TABLE} (
    series_key integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    symbol text COLLATE "C" NOT NULL,
    ticks_lake text COLLATE "C" NOT NULL {_LAKES_CHECK},
    lake_version text COLLATE "C" NOT NULL DEFAULT 'v2',
    UNIQUE (symbol, ticks_lake)
)""",
            f"INSERT INTO {TICK_SERIES_TABLE} (symbol, ticks_lake, lake_version) "
            f"SELECT DISTINCT symbol, ticks_lake, lake_version FROM {TICKS_TABLE} ORDER BY symbol, ticks_lake",
            f"""CREATE TABLE IF NOT EXISTS {TICK_LABELS_TABLE} (
    label_key integer GENERATED BY DEFAULT AS IDENTITY (START WITH 1) PRIMARY KEY,
    kind text COLLATE "C" NOT NULL CHECK (kind IN ('contract', 'schedule')),
    value text COLLATE "C" NOT NULL,
    UNIQUE (kind, value)
)""",
            f"INSERT INTO {TICK_LABELS_TABLE} (kind, value) "
            f"SELECT DISTINCT 'contract', underlying_contract FROM {TICKS_TABLE} WHERE underlying_contract IS NOT NULL "
            f"UNION SELECT DISTINCT 'schedule', schedule_hash FROM {TICKS_TABLE} WHERE schedule_hash IS NOT NULL "
            "ORDER BY 1, 2",
            f"""CREATE TABLE {TICKS_TABLE}_0017 (
    datetime_ns bigint NOT NULL,
    {_MARKET_COLUMNS},
    row_hash bigint NOT NULL,
    segment_id bigint NULL,
    series_key integer NOT NULL,
    trading_day date NOT NULL,
    contract_key integer NULL,
    schedule_key integer NULL
)""",
            f"INSERT INTO {TICKS_TABLE}_0017 SELECT t.datetime_ns, {_MARKET_LIST}, t.row_hash, t.segment_id, "
            "s.series_key, t.trading_day, c.label_key, h.label_key "
            f"FROM {TICKS_TABLE} t JOIN {TICK_SERIES_TABLE} s USING (symbol, ticks_lake) "
            f"LEFT JOIN {TICK_LABELS_TABLE} c ON c.kind = 'contract' AND c.value = t.underlying_contract "
            f"LEFT JOIN {TICK_LABELS_TABLE} h ON h.kind = 'schedule' AND h.value = t.schedule_hash "
            "ORDER BY s.series_key, t.trading_day, t.datetime_ns",
            f"DROP TABLE {TICKS_TABLE}",
            f"ALTER TABLE {TICKS_TABLE}_0017 RENAME TO {TICKS_TABLE}",
            f"ALTER TABLE {TICKS_TABLE} ADD CONSTRAINT {TICKS_TABLE}_pkey "
            "PRIMARY KEY (series_key, trading_day, datetime_ns)",
        ),
    ),
    Migration(
        "0019_model_status_changes_v2",
        (
            # Every status change of a model version and why (promotion gate decisions included);
            # change_id orders the log.
            f"""CREATE TABLE IF NOT EXISTS {MODEL_STATUS_CHANGES_TABLE} (
    change_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    model_id text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    from_status text NOT NULL,
    to_status text NOT NULL,
    reason text NOT NULL,
    actor text NOT NULL,
    at timestamptz NOT NULL,
    decision jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    lake_version text NOT NULL DEFAULT 'v2'
)""",
            f"CREATE INDEX IF NOT EXISTS {MODEL_STATUS_CHANGES_TABLE}_model_idx "
            f"ON {MODEL_STATUS_CHANGES_TABLE} (model_id, change_id)",
        ),
    ),
)

#: Key columns of every wide (features / labels / fill labels) table, in order, with their SQL
#: types. Fixed width (32 bytes) and keyed by small integers: the symbol / lake / lake_version of a
#: row is ``series_key`` (:data:`DATASET_SERIES_TABLE`), its build id and underlying contract are
#: ``build_key`` / ``contract_key`` (:data:`DATASET_KEYS_TABLE`; contract 0 = none, raw series),
#: segment_id -1 = none. ``ts`` is not stored: it is ``datetime_ns`` in microseconds.
WIDE_KEY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("series_key", "integer NOT NULL"),
    ("trading_day", "date NOT NULL"),
    ("datetime_ns", "bigint NOT NULL"),
    ("segment_id", "bigint NOT NULL"),
    ("build_key", "integer NOT NULL"),
    ("contract_key", "integer NOT NULL"),
)
#: SQL type of a wide table's float columns per stored dtype (``DATASET_DTYPES`` of the datasets port).
WIDE_FLOAT_TYPES: Mapping[str, str] = {
    "float32": "real NOT NULL DEFAULT 'NaN'",
    "float64": "double precision NOT NULL DEFAULT 'NaN'",
}
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _check_ident(name: str, what: str) -> None:
    if not _IDENT.match(name):
        raise ValueError(f"invalid {what} {name!r}: use lowercase letters, digits and '_' (max 63 chars)")


def wide_partition_name(table: str, series_key: int, day_number: int) -> str:
    """Name of the partition holding one series-day of a wide table (``day_number``: days since
    1970-01-01), e.g. ``ghtrader_features_v2_s3_20240304``."""
    ymd = (_EPOCH_DATE + timedelta(days=int(day_number))).strftime("%Y%m%d")
    return f"{table}_s{int(series_key)}_{ymd}"


def wide_table_ddl(table: str, float_columns: Sequence[str], dtype: str = "float32") -> list[sql.Composed]:
    """Statements creating a wide table (features / labels) if missing and adding missing columns.

    The table is partitioned by range on ``(series_key, trading_day)``; the store writes one
    UNLOGGED partition per series-day (:func:`wide_partition_name`) and replaces it whole, so a
    rebuild leaves no dead rows and needs no index: a day is read by a scan of its partition.
    Key columns are :data:`WIDE_KEY_COLUMNS`; every float column is ``dtype`` (``real`` for
    float32, ``double precision`` for float64), ``NOT NULL DEFAULT 'NaN'`` (missing = NaN).
    """
    if dtype not in WIDE_FLOAT_TYPES:
        raise ValueError(f"invalid dtype {dtype!r}: expected one of {sorted(WIDE_FLOAT_TYPES)}")
    _check_ident(table, "table name")
    if not table.startswith("ghtrader_"):
        raise ValueError(f"invalid table name {table!r}: ghTrader tables start with 'ghtrader_'")
    keys = {name for name, _ in WIDE_KEY_COLUMNS}
    for col in float_columns:
        _check_ident(col, "column name")
        if col in keys:
            raise ValueError(f"invalid float column {col!r}: it is a key column of every wide table")
    if len(set(float_columns)) != len(float_columns):
        raise ValueError(f"duplicate float columns in {list(float_columns)}")
    t = sql.Identifier(table)
    key_defs = [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(typ)) for n, typ in WIDE_KEY_COLUMNS]
    float_def = sql.SQL(WIDE_FLOAT_TYPES[dtype])
    col_defs = [sql.SQL("{} {}").format(sql.Identifier(c), float_def) for c in float_columns]
    stmts = [
        sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}) PARTITION BY RANGE (series_key, trading_day)").format(
            t, sql.SQL(", ").join([*key_defs, *col_defs])
        ),
    ]
    stmts += [
        sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(t, sql.Identifier(c), float_def)
        for c in float_columns
    ]
    return stmts


class PostgresSchemaManager:
    """Applies :data:`MIGRATIONS` (implements ``SchemaManager``); tables live in the connection's
    current schema (``public`` unless the pool sets ``search_path``)."""

    def __init__(self, pool: ConnectionPool, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        ids = [m.id for m in migrations]
        if ids != sorted(ids) or len(set(ids)) != len(ids):
            raise ValueError(f"migration ids must be unique and sorted: {ids}")
        self._pool = pool
        self._migrations = tuple(migrations)

    def ensure_schema(self) -> list[str]:
        """Apply pending migrations in one transaction; returns the ids applied (``[]`` if none)."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
                'id text COLLATE "C" PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())'
            )
            done = {row[0] for row in conn.execute(f"SELECT id FROM {MIGRATIONS_TABLE}")}
            applied: list[str] = []
            for migration in self._migrations:
                if migration.id in done:
                    continue
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} (id) VALUES (%s)", (migration.id,))
                applied.append(migration.id)
        return applied

    def applied_migrations(self) -> list[str]:
        """Ids recorded in ``ghtrader_schema_migrations`` (empty before the first ensure_schema)."""
        with self._pool.connection() as conn:
            exists = conn.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone()
            if exists is None or exists[0] is None:
                return []
            return [row[0] for row in conn.execute(f"SELECT id FROM {MIGRATIONS_TABLE} ORDER BY id")]

    def table_names(self) -> list[str]:
        """ghTrader tables (``ghtrader_*``) present in the current schema, sorted; a partitioned
        wide table counts once (its day partitions are not listed)."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT relname::text FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
                "AND relkind IN ('r', 'p') AND NOT relispartition "
                "AND relname LIKE 'ghtrader\\_%' ORDER BY relname COLLATE \"C\""
            ).fetchall()
        return [row[0] for row in rows]

    def ensure_wide_table(self, table: str, float_columns: Sequence[str], dtype: str = "float32") -> None:
        """Create a features/labels table with ``float_columns`` (or add the missing ones)."""
        statements = wide_table_ddl(table, float_columns, dtype)
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
            for statement in statements:
                conn.execute(statement)
