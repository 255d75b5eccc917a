"""Composition root: the only place that knows which adapter backs which port.

Nothing starts at import or at construction: providers are lazy, and the database server,
connections and the gRPC server start when an entry point first asks for them
(``container.stores()``, ``container.grpc_server().start()``) and stop in
``container.shutdown_resources()``. Tests override any provider with an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Iterator

from dependency_injector import containers, providers

import ghtrader
from ghtrader.adapters.host.build_info import git_commit
from ghtrader.adapters.host.clock import SystemClock
from ghtrader.adapters.host.resources import PsutilHostProbe
from ghtrader.application.ports.stores import StoreBundle
from ghtrader.application.system import GetSystemStatus
from ghtrader.interfaces.grpc.server import GrpcServer, ServerOptions
from ghtrader.interfaces.grpc.servicers.system import system_service
from ghtrader.settings import Settings


def _postgres_stores(settings: Settings) -> Iterator[StoreBundle]:
    from ghtrader.adapters.postgres import open_postgres_stores

    url = settings.postgres_url.get_secret_value() if settings.postgres_url else None
    bundle, close = open_postgres_stores(url=url, data_dir=settings.data_dir / "postgres")
    try:
        yield bundle
    finally:
        close()


def _questdb_stores(settings: Settings) -> Iterator[StoreBundle]:
    from ghtrader.adapters.questdb import QuestDBParams, open_questdb_stores

    bundle, close = open_questdb_stores(
        QuestDBParams(
            host=settings.questdb_host,
            http_port=settings.questdb_http_port,
            pg_port=settings.questdb_pg_port,
            user=settings.questdb_user,
            password=settings.questdb_password.get_secret_value(),
            database=settings.questdb_database,
        )
    )
    try:
        yield bundle
    finally:
        close()


def _server_options(settings: Settings, host: str | None, port: int | None) -> ServerOptions:
    return ServerOptions(
        host=settings.grpc_host if host is None else host,
        port=settings.grpc_port if port is None else port,
        token=settings.api_token.get_secret_value() if settings.api_token else None,
        max_workers=settings.grpc_max_workers,
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    host_probe = providers.Singleton(
        PsutilHostProbe,
        paths=providers.Callable(lambda s: [s.data_dir, s.runs_dir, s.artifacts_dir], settings),
    )

    stores = providers.Selector(
        providers.Callable(lambda s: s.store, settings),
        postgres=providers.Resource(_postgres_stores, settings),
        questdb=providers.Resource(_questdb_stores, settings),
    )
    store_probe = providers.Callable(lambda bundle: bundle.extras["probe"], stores)

    get_system_status = providers.Singleton(
        GetSystemStatus,
        clock=clock,
        host_probe=host_probe,
        store_probe=store_probe,
        version=ghtrader.__version__,
        git_commit=providers.Callable(git_commit),
        provider=providers.Callable(lambda s: s.provider, settings),
    )

    grpc_services = providers.List(
        providers.Callable(system_service, get_system_status),
    )
    grpc_server = providers.Factory(
        lambda settings, services, host=None, port=None: GrpcServer(
            _server_options(settings, host, port), services
        ),
        settings,
        grpc_services,
    )
