"""Entry point of the QuestDB backend: :func:`open_questdb_stores`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ghtrader.adapters.questdb.connections import QuestDBConnections, QuestDBParams
from ghtrader.adapters.questdb.dataset_store import QuestDBDatasetStore
from ghtrader.adapters.questdb.index_store import QuestDBIndexStore
from ghtrader.adapters.questdb.model_registry import QuestDBModelRegistry
from ghtrader.adapters.questdb.probe import QuestDBStoreProbe
from ghtrader.adapters.questdb.schedule_store import QuestDBScheduleStore
from ghtrader.adapters.questdb.schema import QuestDBSchemaManager
from ghtrader.adapters.questdb.tick_store import QuestDBTickStore
from ghtrader.application.ports.stores import StoreBundle

__all__ = ["QuestDBStoreBundle", "open_questdb_stores"]


@dataclass
class QuestDBStoreBundle(StoreBundle):
    """The QuestDB StoreBundle, plus the handles other QuestDB code (and tests) may share."""

    schema: QuestDBSchemaManager  # the concrete manager: it can also drop this prefix's tables
    connections: QuestDBConnections
    params: QuestDBParams


def open_questdb_stores(
    params: QuestDBParams,
    *,
    ensure_schema: bool = True,
    max_pg_connections: int = 4,
) -> tuple[QuestDBStoreBundle, Callable[[], None]]:
    """Open the QuestDB stores; returns ``(bundle, close)``.

    Connections open lazily (a server that is down makes calls raise ``Unavailable``, and the
    probe says why). With ``ensure_schema`` pending migrations are applied now, which needs the
    server (raises ``Unavailable`` when it cannot be reached). ``close`` is idempotent.
    The bundle has every StoreBundle port, plus ``connections`` (the shared QuestDBConnections,
    for later QuestDB stores) and ``params``.
    """
    connections = QuestDBConnections(params, max_pg_connections=max_pg_connections)
    schema = QuestDBSchemaManager(connections)
    bundle = QuestDBStoreBundle(
        backend="questdb",
        ticks=QuestDBTickStore(connections),
        index=QuestDBIndexStore(connections),
        schema=schema,
        schedules=QuestDBScheduleStore(connections),
        datasets=QuestDBDatasetStore(connections),
        models=QuestDBModelRegistry(connections),
        probe=QuestDBStoreProbe(params),
        connections=connections,
        params=params,
    )
    if ensure_schema:
        try:
            schema.ensure_schema()
        except BaseException:
            connections.close()
            raise
    return bundle, connections.close
