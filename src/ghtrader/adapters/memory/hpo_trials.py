"""``InMemoryHpoTrialStore``: the HpoTrialStore port in a dict (unit tests; the fallback when
the store is not PostgreSQL)."""

from __future__ import annotations

import builtins
import threading
from dataclasses import replace

from ghtrader.application.ports.hpo import TrialRecord

__all__ = ["InMemoryHpoTrialStore"]


class InMemoryHpoTrialStore:
    """HpoTrialStore in process memory; thread-safe; upsert by (study, number)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], TrialRecord] = {}
        self._lock = threading.Lock()

    def upsert(self, record: TrialRecord) -> None:
        with self._lock:
            old = self._rows.get((record.study, record.number))
            if old is not None:
                record = replace(
                    record,
                    created_at_ns=record.created_at_ns or old.created_at_ns,
                    experiment_id=record.experiment_id or old.experiment_id,  # as the SQL upsert keeps it
                )
            self._rows[(record.study, record.number)] = record

    def list(self, study: str) -> builtins.list[TrialRecord]:
        with self._lock:
            return sorted((r for (s, _), r in self._rows.items() if s == study), key=lambda r: r.number)
