"""``InMemoryScheduleStore``: one main schedule per (exchange, variety) in a dictionary.

Keeps what the database table keeps (rows, hash and switch ratio), so loading behaves exactly
like the PostgreSQL store.
"""

from __future__ import annotations

import threading

from ghtrader.application.datasets.store_checks import rebuild_schedule
from ghtrader.domain.schedule import MainSchedule, ScheduleRow

__all__ = ["InMemoryScheduleStore"]


class InMemoryScheduleStore:
    """ScheduleStore in process memory. Thread-safe."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[list[ScheduleRow], str, float]] = {}
        self._lock = threading.Lock()

    def save_schedule(self, schedule: MainSchedule) -> None:
        with self._lock:
            self._rows[(schedule.exchange, schedule.variety)] = (
                list(schedule.rows),
                schedule.schedule_hash,
                float(schedule.switch_ratio),
            )

    def load_schedule(self, exchange: str, variety: str, *, switch_ratio: float | None = None) -> MainSchedule | None:
        with self._lock:
            stored = self._rows.get((exchange, variety))
        if stored is None or not stored[0]:
            return None
        return rebuild_schedule(exchange, variety, stored[0], stored[1], switch_ratio, stored[2])

    def schedule_hashes(self, exchange: str, variety: str) -> list[str]:
        with self._lock:
            stored = self._rows.get((exchange, variety))
        return [] if stored is None or not stored[0] else [stored[1]]
