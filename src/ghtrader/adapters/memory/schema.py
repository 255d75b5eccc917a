"""``InMemorySchemaManager``: tracks which ghTrader tables an in-memory store "has".

The in-memory stores need no DDL; this keeps the SchemaManager contract (first
``ensure_schema`` reports what it created, later calls report nothing).
"""

from __future__ import annotations

import threading

__all__ = ["MEMORY_TABLES", "InMemorySchemaManager"]

#: Tables every ghTrader store provides (names shared with the database backends).
MEMORY_TABLES: tuple[str, ...] = (
    "ghtrader_ticks_raw_v2",
    "ghtrader_symbol_day_index_v2",
    "ghtrader_no_data_days_v2",
    "ghtrader_main_schedule_v2",
    "ghtrader_main_l5_provenance_v2",
    "ghtrader_build_metadata_v2",
    "ghtrader_feature_registry_v2",
    "ghtrader_model_registry_v2",
    "ghtrader_model_status_changes_v2",
)


class InMemorySchemaManager:
    """SchemaManager for the in-memory backend."""

    def __init__(self) -> None:
        self._created: set[str] = set()
        self._lock = threading.Lock()

    def ensure_schema(self) -> list[str]:
        """Create the missing tables; returns their names in creation order (``[]`` when none)."""
        with self._lock:
            missing = [t for t in MEMORY_TABLES if t not in self._created]
            self._created.update(missing)
        return missing

    def table_names(self) -> list[str]:
        with self._lock:
            return sorted(self._created)
