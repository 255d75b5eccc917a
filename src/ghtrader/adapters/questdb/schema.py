"""DDL of every ghTrader table in QuestDB, ordered migrations, and :class:`QuestDBSchemaManager`.

Same logical tables (and names) as the PostgreSQL adapter, shaped for QuestDB 8:
- Every table is a WAL table with a designated timestamp and ``DEDUP UPSERT KEYS`` standing in
  for the primary key (dedup keys must include the designated timestamp and be fixed-size, so
  text keys are ``SYMBOL``). An insert with an existing key replaces the whole row.
- Ticks: designated ``ts`` (tick time, microsecond precision), ``PARTITION BY DAY``, keys
  ``(ts, symbol, ticks_lake, datetime_ns)``; ``datetime_ns`` keeps the exact nanoseconds.
- Small keyed tables use a timestamp that is constant per key as designated timestamp: the
  trading day where the key has one, else ``key_ts`` (always 1970-01-01).
- QuestDB has no DELETE: tables that the ports delete from carry ``deleted BOOLEAN`` (false
  unless set by ``UPDATE``); readers filter it out, a later upsert of the key revives the row.
- NULL: a DOUBLE NaN *is* NULL and a LONG ``INT64_MIN`` *is* NULL; readers map them back.

Migrations live in :data:`MIGRATIONS` (ids shared with the PostgreSQL adapter where the table is
the same), applied in order and recorded in ``ghtrader_schema_migrations``. QuestDB has no
transactional DDL nor advisory locks, so every statement must be idempotent (``IF NOT EXISTS``;
``ALTER TABLE ... ADD COLUMN``, which has no ``IF NOT EXISTS`` in QuestDB 8.0, counts as done
when the column already exists): two processes applying the same migration at once then end in
the same state.

QuestDB-only migrations take ids after the PostgreSQL adapter's (``0010_...`` on), and the
wide dataset tables are created on first write (:func:`wide_table_ddl`), as in PostgreSQL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import ClientCursor

from ghtrader.adapters.questdb.connections import QuestDBConnections
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
from ghtrader.domain.ticks import MARKET_FIELDS

__all__ = [
    "BUILD_METADATA_TABLE",
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
    "WIDE_KEY_COLUMNS",
    "Migration",
    "QuestDBSchemaManager",
    "quote_ident",
    "wide_table_ddl",
]


_TABLES = {
    "ticks": TICKS_TABLE,
    "day_index": SYMBOL_DAY_INDEX_TABLE,
    "no_data": NO_DATA_TABLE,
    "main_schedule": MAIN_SCHEDULE_TABLE,
    "main_l5_provenance": MAIN_L5_PROVENANCE_TABLE,
    "build_metadata": BUILD_METADATA_TABLE,
    "feature_registry": FEATURE_REGISTRY_TABLE,
    "model_registry": MODEL_REGISTRY_TABLE,
    "model_status_changes": MODEL_STATUS_CHANGES_TABLE,
}


@dataclass(frozen=True)
class Migration:
    """One schema step: an id (sortable, never reused) and its statements, templates whose
    ``{ticks}``, ``{day_index}``, ... placeholders become the (prefixed) table names."""

    id: str
    statements: tuple[str, ...]


_MARKET_COLUMNS = ",\n    ".join(f"{name} DOUBLE" for name in MARKET_FIELDS)
# Symbol capacities are hints sized for years of contracts; QuestDB grows past them if needed.
_SYM = "SYMBOL CAPACITY 4096 CACHE"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_ticks_raw_v2",
        (
            f"""CREATE TABLE IF NOT EXISTS {{ticks}} (
    ts TIMESTAMP,
    symbol {_SYM},
    ticks_lake SYMBOL CAPACITY 8 CACHE,
    trading_day DATE,
    datetime_ns LONG,
    {_MARKET_COLUMNS},
    row_hash LONG,
    underlying_contract {_SYM},
    segment_id LONG,
    schedule_hash SYMBOL CAPACITY 1024 CACHE,
    lake_version SYMBOL CAPACITY 8 CACHE,
    deleted BOOLEAN
) TIMESTAMP(ts) PARTITION BY DAY WAL
DEDUP UPSERT KEYS(ts, symbol, ticks_lake, datetime_ns)""",
        ),
    ),
    Migration(
        "0002_symbol_day_index_v2",
        (
            f"""CREATE TABLE IF NOT EXISTS {{day_index}} (
    trading_day TIMESTAMP,
    symbol {_SYM},
    lake_version SYMBOL CAPACITY 8 CACHE,
    ticks_lake SYMBOL CAPACITY 8 CACHE,
    rows_total LONG,
    first_datetime_ns LONG,
    last_datetime_ns LONG,
    l5_present BOOLEAN,
    row_hash_min LONG,
    row_hash_max LONG,
    row_hash_sum LONG,
    row_hash_sum_abs LONG,
    updated_at_ns LONG,
    deleted BOOLEAN
) TIMESTAMP(trading_day) PARTITION BY YEAR WAL
DEDUP UPSERT KEYS(trading_day, symbol, lake_version, ticks_lake)""",
        ),
    ),
    Migration(
        "0003_no_data_days_v2",
        (
            f"""CREATE TABLE IF NOT EXISTS {{no_data}} (
    trading_day TIMESTAMP,
    symbol {_SYM},
    lake_version SYMBOL CAPACITY 8 CACHE,
    ticks_lake SYMBOL CAPACITY 8 CACHE,
    reason VARCHAR,
    created_at_ns LONG,
    deleted BOOLEAN
) TIMESTAMP(trading_day) PARTITION BY YEAR WAL
DEDUP UPSERT KEYS(trading_day, symbol, lake_version, ticks_lake)""",
        ),
    ),
    Migration(
        "0004_main_schedule_v2",
        (
            f"""CREATE TABLE IF NOT EXISTS {{main_schedule}} (
    trading_day TIMESTAMP,
    exchange SYMBOL CAPACITY 16 CACHE,
    variety SYMBOL CAPACITY 64 CACHE,
    main_contract {_SYM},
    segment_id LONG,
    schedule_hash SYMBOL CAPACITY 1024 CACHE,
    lake_version SYMBOL CAPACITY 8 CACHE
) TIMESTAMP(trading_day) PARTITION BY YEAR WAL
DEDUP UPSERT KEYS(trading_day, exchange, variety, schedule_hash)""",
        ),
    ),
    Migration(
        "0005_main_l5_provenance_v2",
        (
            # One row per main_l5 symbol-day: a rebuild with a new schedule replaces it.
            f"""CREATE TABLE IF NOT EXISTS {{main_l5_provenance}} (
    trading_day TIMESTAMP,
    symbol {_SYM},
    underlying_contract {_SYM},
    segment_id LONG,
    schedule_hash SYMBOL CAPACITY 1024 CACHE,
    rows_total LONG,
    source_rows LONG,
    created_at TIMESTAMP,
    lake_version SYMBOL CAPACITY 8 CACHE
) TIMESTAMP(trading_day) PARTITION BY YEAR WAL
DEDUP UPSERT KEYS(trading_day, symbol, lake_version)""",
        ),
    ),
    Migration(
        "0006_build_metadata_v2",
        (
            # params: JSON text. key_ts is always 1970-01-01 (the key is build_id alone).
            f"""CREATE TABLE IF NOT EXISTS {{build_metadata}} (
    key_ts TIMESTAMP,
    build_id {_SYM},
    kind SYMBOL CAPACITY 8 CACHE,
    config_hash VARCHAR,
    params VARCHAR,
    created_at TIMESTAMP,
    lake_version SYMBOL CAPACITY 8 CACHE
) TIMESTAMP(key_ts) PARTITION BY YEAR WAL
DEDUP UPSERT KEYS(key_ts, build_id)""",
        ),
    ),
    Migration(
        "0007_feature_registry_v2",
        (
            # input_columns: JSON array text.
            f"""CREATE TABLE IF NOT EXISTS {{feature_registry}} (
    key_ts TIMESTAMP,
    feature_name {_SYM},
    version INT,
    definition_hash VARCHAR,
    input_columns VARCHAR,
    output_dtype VARCHAR,
    lookback_ticks INT,
    ttl_seconds DOUBLE,
    created_at TIMESTAMP,
    deprecated_at TIMESTAMP,
    lake_version SYMBOL CAPACITY 8 CACHE
) TIMESTAMP(key_ts) PARTITION BY YEAR WAL
DEDUP UPSERT KEYS(key_ts, feature_name, version)""",
        ),
    ),
    Migration(
        "0008_model_registry_v2",
        (
            # metrics: JSON text.
            f"""CREATE TABLE IF NOT EXISTS {{model_registry}} (
    key_ts TIMESTAMP,
    model_id {_SYM},
    version INT,
    model_type VARCHAR,
    status VARCHAR,
    artifact_path VARCHAR,
    config_hash VARCHAR,
    metrics VARCHAR,
    created_at TIMESTAMP,
    promoted_at TIMESTAMP,
    retired_at TIMESTAMP,
    lake_version SYMBOL CAPACITY 8 CACHE
) TIMESTAMP(key_ts) PARTITION BY YEAR WAL
DEDUP UPSERT KEYS(key_ts, model_id, version)""",
        ),
    ),
    Migration(
        "0010_soft_delete_schedule_provenance",
        (
            # QuestDB has no DELETE: a schedule save hides the old schedule's rows and main_l5
            # provenance can be deleted per day, so both tables get the soft-delete flag.
            "ALTER TABLE {main_schedule} ADD COLUMN deleted BOOLEAN",
            "ALTER TABLE {main_l5_provenance} ADD COLUMN deleted BOOLEAN",
        ),
    ),
    Migration(
        "0011_schedule_switch_ratio",
        # the rule's ratio travels with the schedule (NULL for rows saved before: the default)
        ("ALTER TABLE {main_schedule} ADD COLUMN switch_ratio DOUBLE",),
    ),
    Migration(
        "0016_no_data_provenance",
        # where a no-data answer came from (NULL for entries recorded before: read as '' / -1)
        (
            "ALTER TABLE {no_data} ADD COLUMN provider VARCHAR",
            "ALTER TABLE {no_data} ADD COLUMN request VARCHAR",
            "ALTER TABLE {no_data} ADD COLUMN source_path VARCHAR",
            "ALTER TABLE {no_data} ADD COLUMN source_size LONG",
            "ALTER TABLE {no_data} ADD COLUMN source_mtime_ns LONG",
        ),
    ),
    Migration(
        "0019_model_status_changes_v2",
        (
            # The status change log: designated ``at`` (the change's time); ``seq`` orders the
            # changes of one batch (they share ``at``); decision is JSON text.
            f"""CREATE TABLE IF NOT EXISTS {{model_status_changes}} (
    at TIMESTAMP,
    model_id {_SYM},
    version INT,
    seq INT,
    from_status VARCHAR,
    to_status VARCHAR,
    reason VARCHAR,
    actor VARCHAR,
    decision VARCHAR,
    lake_version SYMBOL CAPACITY 8 CACHE
) TIMESTAMP(at) PARTITION BY YEAR WAL
DEDUP UPSERT KEYS(at, model_id, version, seq)""",
        ),
    ),
)

#: Key columns of every wide (features / labels / fill_labels) table, in order, with their
#: QuestDB types; every other column is a DOUBLE float column.
WIDE_KEY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ts", "TIMESTAMP"),
    ("symbol", _SYM),
    ("ticks_lake", "SYMBOL CAPACITY 8 CACHE"),
    ("trading_day", "DATE"),
    ("datetime_ns", "LONG"),
    ("underlying_contract", _SYM),
    ("segment_id", "LONG"),
    ("build_id", _SYM),
    ("lake_version", "SYMBOL CAPACITY 8 CACHE"),
    ("deleted", "BOOLEAN"),
)
_WIDE_DEDUP_KEYS = "ts, symbol, ticks_lake, datetime_ns"

_MIGRATIONS_DDL = f"""CREATE TABLE IF NOT EXISTS {{migrations}} (
    key_ts TIMESTAMP,
    id {_SYM},
    applied_at TIMESTAMP
) TIMESTAMP(key_ts) PARTITION BY YEAR WAL
DEDUP UPSERT KEYS(key_ts, id)"""

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (a factor may be called ``from`` or ``index``)."""
    if not _IDENT.match(name):
        raise ValueError(f"invalid identifier {name!r}: use lowercase letters, digits and '_' (max 63 chars)")
    return f'"{name}"'


def wide_table_ddl(table: str, float_columns: Sequence[str]) -> str:
    """``CREATE TABLE IF NOT EXISTS`` of a wide dataset table (physical name ``table``) with
    :data:`WIDE_KEY_COLUMNS` and one DOUBLE per float column (NULL = NaN).

    Designated ``ts`` (tick time, µs), ``PARTITION BY DAY`` like the ticks (rewriting a day
    rewrites only its partitions), ``DEDUP UPSERT KEYS(ts, symbol, ticks_lake, datetime_ns)``:
    one row per tick, whichever build wrote it.
    """
    keys = {name for name, _ in WIDE_KEY_COLUMNS}
    if len(set(float_columns)) != len(float_columns):
        raise ValueError(f"duplicate float columns in {list(float_columns)}")
    for col in float_columns:
        if col in keys:
            raise ValueError(f"invalid float column {col!r}: it is a key column of every wide table")
    defs = [f"{name} {typ}" for name, typ in WIDE_KEY_COLUMNS]
    defs += [f"{quote_ident(col)} DOUBLE" for col in float_columns]
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_ident(table)} (\n    " + ",\n    ".join(defs) + "\n) "
        f"TIMESTAMP(ts) PARTITION BY DAY WAL\nDEDUP UPSERT KEYS({_WIDE_DEDUP_KEYS})"
    )


_ADD_COLUMN = re.compile(r"^\s*ALTER\s+TABLE\s+\S+\s+ADD\s+COLUMN\s", re.IGNORECASE)


def _already_applied(statement: str, exc: psycopg.Error) -> bool:
    # QuestDB 8.0 has no ADD COLUMN IF NOT EXISTS: a column added by an earlier (or concurrent)
    # run of the same migration is the state the statement wants.
    return bool(_ADD_COLUMN.match(statement)) and "already exists" in str(exc)


class QuestDBSchemaManager:
    """Applies :data:`MIGRATIONS` on one QuestDB server (implements ``SchemaManager``)."""

    def __init__(self, connections: QuestDBConnections, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        ids = [m.id for m in migrations]
        if ids != sorted(ids) or len(set(ids)) != len(ids):
            raise ValueError(f"migration ids must be unique and sorted: {ids}")
        self._cx = connections
        self._migrations = tuple(migrations)
        self._names = {key: connections.table(name) for key, name in _TABLES.items()}
        self._names["migrations"] = connections.table(MIGRATIONS_TABLE)

    def ensure_schema(self) -> list[str]:
        """Apply pending migrations in order; returns the ids applied (``[]`` if none)."""
        migrations_table = self._names["migrations"]
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            cur.execute(_MIGRATIONS_DDL.format(**self._names))
            self._cx.wait_applied(conn, migrations_table)
            done = {row[0] for row in cur.execute(f"SELECT id FROM {migrations_table}").fetchall()}
            applied: list[str] = []
            for migration in self._migrations:
                if migration.id in done:
                    continue
                for statement in migration.statements:
                    sql = statement.format(**self._names)
                    try:
                        cur.execute(sql)
                    except psycopg.Error as exc:
                        if not _already_applied(sql, exc):
                            raise
                cur.execute(
                    f"INSERT INTO {migrations_table} (key_ts, id, applied_at) VALUES (0, %s, %s)",
                    (migration.id, time.time_ns() // 1000),
                )
                applied.append(migration.id)
            if applied:
                self._cx.wait_applied(conn, migrations_table)
        return applied

    def applied_migrations(self) -> list[str]:
        """Ids recorded in ``ghtrader_schema_migrations`` (empty before the first ensure_schema)."""
        table = self._names["migrations"]
        if MIGRATIONS_TABLE not in self.table_names():
            return []
        with self._cx.pg() as conn:
            return sorted(row[0] for row in ClientCursor(conn).execute(f"SELECT id FROM {table}").fetchall())

    def table_names(self) -> list[str]:
        """Logical names (prefix removed) of the ghTrader tables present, sorted."""
        lead = self._cx.table("ghtrader_")
        with self._cx.pg() as conn:
            rows = ClientCursor(conn).execute("SELECT table_name FROM tables()").fetchall()
        prefix_len = len(self._cx.params.table_prefix)
        return sorted(name[prefix_len:] for (name,) in rows if name.startswith(lead))

    def drop_tables(self, *, allow_unprefixed: bool = False) -> list[str]:
        """Drop every ghTrader table of this prefix (tests and scratch namespaces); returns the
        logical names dropped. Irreversible; refuses the unprefixed (production) tables unless
        ``allow_unprefixed``."""
        if not self._cx.params.table_prefix and not allow_unprefixed:
            raise ValueError("refusing to drop the unprefixed ghTrader tables (pass allow_unprefixed=True)")
        names = self.table_names()
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            for name in names:
                physical = self._cx.table(name)
                if not _IDENT.match(physical):
                    raise ValueError(f"refusing to drop oddly named table {physical!r}")
                cur.execute(f"DROP TABLE IF EXISTS {physical}")
        return names
