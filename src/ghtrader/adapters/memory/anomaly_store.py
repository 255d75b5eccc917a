"""``InMemoryAnomalyStore``: the AnomalyStore port in a list (tests, ``--local`` runs)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ghtrader.application.ports.alerts import AnomalyFilter, StoredAnomaly
from ghtrader.domain.anomaly import AnomalyEvent

__all__ = ["InMemoryAnomalyStore", "matches"]


def matches(row: StoredAnomaly, q: AnomalyFilter) -> bool:
    """Whether a stored row passes the filter (shared by the fakes)."""
    e = row.event
    return (
        (q.min_severity is None or e.severity >= q.min_severity)
        and (not q.anomaly_type or e.anomaly_type == q.anomaly_type)
        and (not q.symbol or e.symbol == q.symbol)
        and (q.since_ns is None or e.datetime_ns >= q.since_ns)
        and (q.after_seq is None or row.seq > q.after_seq)
    )


class InMemoryAnomalyStore:
    def __init__(self) -> None:
        self._rows: list[StoredAnomaly] = []
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def write_events(self, events: Sequence[AnomalyEvent], created_ns: int) -> int:
        new = 0
        with self._lock:
            for e in events:
                if e.event_id in self._ids:
                    continue
                self._ids.add(e.event_id)
                self._rows.append(StoredAnomaly(len(self._rows) + 1, e, created_ns))
                new += 1
        return new

    def list_events(self, query: AnomalyFilter) -> list[StoredAnomaly]:
        with self._lock:
            rows = [r for r in self._rows if matches(r, query)]
        if query.after_seq is not None:
            return sorted(rows, key=lambda r: r.seq)[: query.limit]
        return sorted(rows, key=lambda r: (-r.event.datetime_ns, -r.seq))[: query.limit]

    def latest_seq(self) -> int:
        with self._lock:
            return len(self._rows)
