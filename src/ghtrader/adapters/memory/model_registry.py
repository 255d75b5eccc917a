"""``InMemoryModelRegistry``: the ModelRegistry port in a dict, with the PostgreSQL store's
semantics (shared rules in ``application.research.registry_entries``; tests/contract)."""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from ghtrader.application.errors import FailedPrecondition, NotFound
from ghtrader.application.ports.models import ModelStatus, RegistryEntry, StatusChange
from ghtrader.application.research.registry_entries import (
    apply_changes,
    check_changes,
    check_entry,
    check_single_production,
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
        self._changes: list[StatusChange] = []
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
            others = [e for k, e in self._entries.items() if k[0] == model_id and k != key]
            check_single_production(model_id, [*others, updated])
            self._entries[key] = updated
            return updated

    def change_statuses(self, changes: Sequence[StatusChange]) -> builtins.list[RegistryEntry]:
        checked = check_changes(changes)
        model_id = checked[0].model_id
        with self._lock:
            current = {str(k[1]): e for k, e in self._entries.items() if k[0] == model_id}
            updated, state = apply_changes(current, checked)
            for version, entry in state.items():
                self._entries[(model_id, int(version))] = entry
            self._changes.extend(checked)
        return updated

    def history(self, model_id: str) -> builtins.list[StatusChange]:
        with self._lock:
            return [c for c in self._changes if c.model_id == model_id]
