"""``InMemoryModelRegistry``: the ModelRegistry port in a dict, with the PostgreSQL store's
semantics (shared rules in ``application.research.registry_entries``; tests/contract)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from ghtrader.application.errors import FailedPrecondition, NotFound
from ghtrader.application.ports.models import ModelStatus, RegistryEntry
from ghtrader.application.research.registry_entries import (
    check_entry,
    check_status,
    stamp_us,
    version_number,
    with_status,
)

__all__ = ["InMemoryModelRegistry"]


class InMemoryModelRegistry:
    """ModelRegistry in process memory. Thread-safe. ``clock`` returns epoch ns (default: wall clock)."""

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, int], RegistryEntry] = {}
        self._lock = threading.Lock()

    def register(self, entry: RegistryEntry) -> None:
        entry = check_entry(entry)
        key = (entry.model_id, int(entry.version))
        with self._lock:
            if key in self._entries:
                raise FailedPrecondition(
                    f"model {entry.model_id!r} version {entry.version} is already registered; register a new version"
                )
            if not entry.created_at_ns:
                entry = replace(entry, created_at_ns=stamp_us(self._clock()) or 0)
            self._entries[key] = entry

    def get(self, model_id: str, version: str) -> RegistryEntry | None:
        key = (model_id, version_number(version))
        with self._lock:
            return self._entries.get(key)

    def list(self, model_type: str | None = None, status: str | None = None) -> list[RegistryEntry]:
        if status is not None:
            check_status(status)
        with self._lock:
            keys = sorted(self._entries)
            entries = [self._entries[k] for k in keys]
        return [
            e
            for e in entries
            if (model_type is None or e.model_type == model_type) and (status is None or e.status == status)
        ]

    def set_status(self, model_id: str, version: str, status: ModelStatus, at_ns: int) -> RegistryEntry:
        check_status(status)
        key = (model_id, version_number(version))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                raise NotFound(f"model {model_id!r} version {version} is not registered")
            updated = with_status(entry, status, at_ns)
            self._entries[key] = updated
            return updated
