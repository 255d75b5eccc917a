"""QuestDB backend (QuestDB 8 server: ILP over HTTP for writes, PG wire for reads and DDL).

Entry point: :func:`open_questdb_stores` (a :class:`QuestDBStoreBundle`: ticks, index, main
schedule, datasets, model registry and probe). Tables and migrations: ``schema``. Only this package
imports the ``questdb`` client. Nothing connects at import.
"""

from ghtrader.adapters.questdb.bundle import QuestDBStoreBundle, open_questdb_stores
from ghtrader.adapters.questdb.connections import QuestDBConnections, QuestDBParams
from ghtrader.adapters.questdb.dataset_store import QuestDBDatasetStore
from ghtrader.adapters.questdb.index_store import QuestDBIndexStore
from ghtrader.adapters.questdb.model_registry import QuestDBModelRegistry
from ghtrader.adapters.questdb.probe import QuestDBStoreProbe
from ghtrader.adapters.questdb.schedule_store import QuestDBScheduleStore
from ghtrader.adapters.questdb.schema import QuestDBSchemaManager
from ghtrader.adapters.questdb.tick_store import QuestDBTickStore

__all__ = [
    "QuestDBConnections",
    "QuestDBDatasetStore",
    "QuestDBIndexStore",
    "QuestDBModelRegistry",
    "QuestDBParams",
    "QuestDBScheduleStore",
    "QuestDBSchemaManager",
    "QuestDBStoreBundle",
    "QuestDBStoreProbe",
    "QuestDBTickStore",
    "open_questdb_stores",
]
