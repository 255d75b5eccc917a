"""``InMemoryExperimentStore``: the ExperimentStore port in a dict (PostgreSQL semantics)."""

from __future__ import annotations

import builtins
import threading
from collections.abc import Sequence
from dataclasses import replace

from ghtrader.application.errors import NotFound
from ghtrader.application.experiments import check_record, matches, merge_tags
from ghtrader.application.ports.experiments import ExperimentFilter, ExperimentOutcome, ExperimentRecord

__all__ = ["InMemoryExperimentStore"]


class InMemoryExperimentStore:
    """ExperimentStore in process memory. Thread-safe."""

    def __init__(self) -> None:
        self._records: dict[str, ExperimentRecord] = {}
        self._lock = threading.Lock()

    def start(self, record: ExperimentRecord) -> None:
        record = check_record(record)
        with self._lock:
            self._records.setdefault(record.experiment_id, record)

    def finish(self, experiment_id: str, outcome: ExperimentOutcome) -> ExperimentRecord:
        with self._lock:
            current = self._records.get(experiment_id)
            if current is None:
                raise NotFound(f"no experiment {experiment_id!r}")
            updated = replace(
                current,
                status=outcome.status,
                finished_at_ns=outcome.finished_at_ns,
                duration_s=outcome.duration_s,
                metrics=dict(outcome.metrics),
                learning_curves=dict(outcome.learning_curves),
                artifacts=tuple(outcome.artifacts),
                report_path=outcome.report_path,
                error=outcome.error,
            )
            self._records[experiment_id] = updated
            return updated

    def get(self, experiment_id: str) -> ExperimentRecord | None:
        with self._lock:
            return self._records.get(experiment_id)

    def list(self, where: ExperimentFilter | None = None) -> builtins.list[ExperimentRecord]:
        where = where or ExperimentFilter()
        with self._lock:
            found = [r for r in self._records.values() if matches(r, where)]
        found.sort(key=lambda r: (r.created_at_ns, r.experiment_id), reverse=True)
        return found[: max(where.limit, 0)]

    def annotate(
        self,
        experiment_id: str,
        *,
        notes: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> ExperimentRecord:
        with self._lock:
            current = self._records.get(experiment_id)
            if current is None:
                raise NotFound(f"no experiment {experiment_id!r}")
            updated = replace(
                current,
                notes=current.notes if notes is None else notes,
                tags=merge_tags(current.tags, add_tags, remove_tags),
            )
            self._records[experiment_id] = updated
            return updated
