"""AnomalyStore port: where detected anomalies are kept (``ghtrader_anomaly_events_v2``).

Writes are idempotent on :attr:`AnomalyEvent.event_id` (a rescan adds nothing); every stored
row gets a store-wide increasing ``seq`` so a watcher can ask for "what came after the last one
I saw" without clocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ghtrader.domain.anomaly import AnomalyEvent, Severity

__all__ = ["AnomalyFilter", "AnomalyStore", "StoredAnomaly"]


@dataclass(frozen=True, slots=True)
class StoredAnomaly:
    """A stored event: its store sequence number and the time it was written."""

    seq: int
    event: AnomalyEvent
    created_ns: int


@dataclass(frozen=True, slots=True)
class AnomalyFilter:
    """Which events to list: every field narrows (``None`` / empty: no constraint).

    ``min_severity`` keeps that level and worse; ``since_ns`` compares the event's own time;
    ``after_seq`` keeps rows written after that sequence number (a watcher's cursor)."""

    min_severity: Severity | None = None
    anomaly_type: str = ""
    symbol: str = ""
    since_ns: int | None = None
    after_seq: int | None = None
    limit: int = 200


@runtime_checkable
class AnomalyStore(Protocol):
    def write_events(self, events: Sequence[AnomalyEvent], created_ns: int) -> int:
        """Store events not stored yet (by event_id); returns how many were new."""
        ...

    def list_events(self, query: AnomalyFilter) -> list[StoredAnomaly]:
        """Matching rows: newest first by event time, or oldest first by seq when ``after_seq``
        is given (a watcher reads them in write order)."""
        ...

    def latest_seq(self) -> int:
        """The largest stored seq (0 when the store is empty)."""
        ...
