"""Entry point of the PostgreSQL backend: :func:`open_postgres_stores`.

With ``url=None`` it starts (or attaches to) the embedded server in ``data_dir``; with a
``postgresql://`` URL it uses that server and starts nothing. Either way it opens one
connection pool, applies pending migrations (unless ``ensure_schema=False``) and returns the
StoreBundle plus a ``close`` callable that closes the pool and stops the embedded server if
this call started it.

The bundle is a :class:`PostgresStoreBundle`: every StoreBundle port, plus ``pool`` (the
psycopg ConnectionPool, for later PostgreSQL stores sharing it), ``url`` (the server URI; holds
a password when the given URL does) and ``embedded`` (the EmbeddedPostgres, or None for an
external server).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from psycopg_pool import ConnectionPool

from ghtrader.adapters.postgres.connections import open_pool
from ghtrader.adapters.postgres.dataset_store import PostgresDatasetStore
from ghtrader.adapters.postgres.index_store import PostgresIndexStore
from ghtrader.adapters.postgres.model_registry import PostgresModelRegistry
from ghtrader.adapters.postgres.probe import PostgresStoreProbe
from ghtrader.adapters.postgres.schedule_store import PostgresScheduleStore
from ghtrader.adapters.postgres.schema import PostgresSchemaManager
from ghtrader.adapters.postgres.server import EmbeddedPostgres
from ghtrader.adapters.postgres.tick_store import PostgresTickStore
from ghtrader.application.ports.stores import StoreBundle

__all__ = ["PostgresStoreBundle", "open_postgres_stores"]


@dataclass
class PostgresStoreBundle(StoreBundle):
    """The PostgreSQL StoreBundle, plus the handles other PostgreSQL code may share."""

    pool: ConnectionPool
    url: str
    embedded: EmbeddedPostgres | None


def open_postgres_stores(
    url: str | None,
    data_dir: Path | str = Path("data/postgres"),
    *,
    schema: str | None = None,
    ensure_schema: bool = True,
    max_connections: int = 8,
    embedded: EmbeddedPostgres | None = None,
) -> tuple[PostgresStoreBundle, Callable[[], None]]:
    """Open the PostgreSQL stores; returns ``(bundle, close)`` (see module docstring).

    ``schema`` puts every table in that PostgreSQL schema (created if missing) instead of the
    default ``public``. ``embedded`` passes a preconfigured :class:`EmbeddedPostgres` (custom
    settings, port) instead of a default one on ``data_dir``. Raises ``Unavailable`` when the
    server cannot be reached and ``EmbeddedPostgresError`` when the embedded one cannot start.
    ``close`` is idempotent.
    """
    server: EmbeddedPostgres | None = None
    if url is None:
        server = embedded if embedded is not None else EmbeddedPostgres(data_dir)
        url = server.start()
    try:
        pool = open_pool(url, schema=schema, max_size=max_connections)
    except BaseException:
        if server is not None:
            server.stop()
        raise

    closed = False

    def close() -> None:
        nonlocal closed
        if closed:
            return
        closed = True
        try:
            pool.close()
        finally:
            if server is not None:
                server.stop()

    schema_manager = PostgresSchemaManager(pool)
    bundle = PostgresStoreBundle(
        backend="postgres",
        ticks=PostgresTickStore(pool),
        index=PostgresIndexStore(pool),
        schema=schema_manager,
        schedules=PostgresScheduleStore(pool),
        datasets=PostgresDatasetStore(pool),
        models=PostgresModelRegistry(pool),
        probe=PostgresStoreProbe(url),
        pool=pool,
        url=url,
        embedded=server,
    )
    if ensure_schema:
        try:
            schema_manager.ensure_schema()
        except BaseException:
            close()
            raise
    return bundle, close
