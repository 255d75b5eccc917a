"""PostgreSQL backend (embedded via the pgserver binaries, or any server by URL).

Entry point: :func:`open_postgres_stores`. Tables and migrations: ``schema``. Nothing starts
at import.
"""

from ghtrader.adapters.postgres.bundle import PostgresStoreBundle, open_postgres_stores
from ghtrader.adapters.postgres.dataset_store import PostgresDatasetStore
from ghtrader.adapters.postgres.index_store import PostgresIndexStore
from ghtrader.adapters.postgres.probe import PostgresStoreProbe
from ghtrader.adapters.postgres.schedule_store import PostgresScheduleStore
from ghtrader.adapters.postgres.schema import PostgresSchemaManager
from ghtrader.adapters.postgres.server import EmbeddedPostgres, EmbeddedPostgresError
from ghtrader.adapters.postgres.tick_store import PostgresTickStore

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedPostgresError",
    "PostgresDatasetStore",
    "PostgresIndexStore",
    "PostgresScheduleStore",
    "PostgresSchemaManager",
    "PostgresStoreBundle",
    "PostgresStoreProbe",
    "PostgresTickStore",
    "open_postgres_stores",
]
