"""``InMemoryTcaStore``: the TcaStore port in dictionaries (unit tests; non-PostgreSQL stores)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

from ghtrader.application.ports.tca import ExecutionLabel, TcaRecord, json_safe

__all__ = ["InMemoryTcaStore"]


class InMemoryTcaStore:
    """TcaStore in process memory. Thread-safe."""

    def __init__(self) -> None:
        self._labels: dict[str, list[ExecutionLabel]] = {}
        self._records: dict[str, TcaRecord] = {}
        self._lock = threading.Lock()

    def write_labels(self, run_id: str, labels: Sequence[ExecutionLabel]) -> int:
        rows = sorted(labels, key=lambda x: (x.datetime_ns, x.order_id))
        if len({x.order_id for x in rows}) != len(rows):
            raise ValueError("duplicate order ids in one run's labels")
        with self._lock:
            self._labels[run_id] = rows
        return len(rows)

    def labels(self, run_id: str) -> list[ExecutionLabel]:
        with self._lock:
            return list(self._labels.get(run_id, []))

    def write_record(self, record: TcaRecord) -> None:
        with self._lock:
            self._records[record.run_id] = replace(record, details=json_safe(record.details))

    def record(self, run_id: str) -> TcaRecord | None:
        with self._lock:
            return self._records.get(run_id)

    def latest_impact(self, variety: str, min_obs: int) -> TcaRecord | None:
        with self._lock:
            fitted = [r for r in self._records.values() if r.variety == variety and r.impact_n_obs >= min_obs]
        return max(fitted, key=lambda r: (r.analyzed_ns, r.run_id), default=None)
