"""In-memory stores with real behaviour: fakes for use-case tests, and a backend of the
contract suite. ``open_memory_stores()`` returns a ready :class:`InMemoryStoreBundle`: every
StoreBundle port, plus ``online`` (an InMemoryOnlineFeatureStore).
"""

from __future__ import annotations

from dataclasses import dataclass

from ghtrader.adapters.memory.dataset_store import InMemoryDatasetStore
from ghtrader.adapters.memory.index_store import InMemoryIndexStore
from ghtrader.adapters.memory.model_registry import InMemoryModelRegistry
from ghtrader.adapters.memory.online_store import InMemoryOnlineFeatureStore
from ghtrader.adapters.memory.probe import InMemoryStoreProbe
from ghtrader.adapters.memory.schedule_store import InMemoryScheduleStore
from ghtrader.adapters.memory.schema import MEMORY_TABLES, InMemorySchemaManager
from ghtrader.adapters.memory.tick_store import InMemoryTickStore
from ghtrader.application.ports.datasets import OnlineFeatureStore
from ghtrader.application.ports.stores import StoreBundle

__all__ = [
    "MEMORY_TABLES",
    "InMemoryDatasetStore",
    "InMemoryIndexStore",
    "InMemoryModelRegistry",
    "InMemoryOnlineFeatureStore",
    "InMemoryScheduleStore",
    "InMemorySchemaManager",
    "InMemoryStoreBundle",
    "InMemoryStoreProbe",
    "InMemoryTickStore",
    "open_memory_stores",
]


@dataclass
class InMemoryStoreBundle(StoreBundle):
    """The in-memory StoreBundle, plus the online feature store only this backend has."""

    online: OnlineFeatureStore


def open_memory_stores(*, ensure_schema: bool = True) -> InMemoryStoreBundle:
    """A fresh, empty in-memory StoreBundle (schema already ensured unless asked not to)."""
    schema = InMemorySchemaManager()
    if ensure_schema:
        schema.ensure_schema()
    return InMemoryStoreBundle(
        backend="memory",
        ticks=InMemoryTickStore(),
        index=InMemoryIndexStore(),
        schema=schema,
        schedules=InMemoryScheduleStore(),
        datasets=InMemoryDatasetStore(),
        models=InMemoryModelRegistry(),
        probe=InMemoryStoreProbe(),
        online=InMemoryOnlineFeatureStore(),
    )
