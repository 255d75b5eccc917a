"""``InMemoryIndexStore``: day manifests and the no-data ledger in dictionaries.

Mirrors the database stores: timestamps keep microsecond resolution (like ``timestamptz``),
an ``*_ns`` of 0 is stamped with the clock, no-data entries keep their first record.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.stores import (
    LAKE_VERSION,
    TICKS_LAKES,
    DayManifest,
    NoDataDay,
)

__all__ = ["InMemoryIndexStore"]

_Key = tuple[str, date, str, str]  # symbol, trading_day, lake_version, ticks_lake


def _check_lake(ticks_lake: str) -> None:
    if ticks_lake not in TICKS_LAKES:
        raise InvalidArgument(f"unknown ticks_lake {ticks_lake!r}: expected one of {TICKS_LAKES}")


def _selected(key: _Key, symbol: str | None, ticks_lake: str, start_day: date | None, end_day: date | None) -> bool:
    sym, day, version, lake = key
    return (
        lake == ticks_lake
        and version == LAKE_VERSION
        and (symbol is None or sym == symbol)
        and (start_day is None or day >= start_day)
        and (end_day is None or day <= end_day)
    )


class InMemoryIndexStore:
    """IndexStore in process memory. Thread-safe. ``clock`` returns epoch ns (default: wall clock)."""

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._manifests: dict[_Key, DayManifest] = {}
        self._no_data: dict[_Key, NoDataDay] = {}
        self._lock = threading.Lock()

    def _stamp(self, ns: int) -> int:
        ns = ns or self._clock()
        return ns - ns % 1000

    # --- day manifests --------------------------------------------------------------------
    def upsert_manifests(self, manifests: Sequence[DayManifest]) -> None:
        for m in manifests:
            _check_lake(m.ticks_lake)
        with self._lock:
            for m in manifests:
                key = (m.symbol, m.trading_day, m.lake_version, m.ticks_lake)
                self._manifests[key] = dataclasses.replace(m, updated_at_ns=self._stamp(m.updated_at_ns))

    def manifests(
        self,
        symbol: str | None = None,
        ticks_lake: str = "raw",
        start_day: date | None = None,
        end_day: date | None = None,
    ) -> list[DayManifest]:
        _check_lake(ticks_lake)
        with self._lock:
            hits = [m for k, m in self._manifests.items() if _selected(k, symbol, ticks_lake, start_day, end_day)]
        return sorted(hits, key=lambda m: (m.symbol, m.trading_day))

    def delete_manifests(self, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        _check_lake(ticks_lake)
        with self._lock:
            for day in days:
                self._manifests.pop((symbol, day, LAKE_VERSION, ticks_lake), None)

    def indexed_symbols(self, ticks_lake: str = "raw") -> list[str]:
        _check_lake(ticks_lake)
        with self._lock:
            return sorted({k[0] for k in self._manifests if k[3] == ticks_lake and k[2] == LAKE_VERSION})

    # --- no-data ledger ---------------------------------------------------------------------
    def record_no_data(self, days: Sequence[NoDataDay]) -> None:
        for d in days:
            _check_lake(d.ticks_lake)
        with self._lock:
            for d in days:
                key = (d.symbol, d.trading_day, d.lake_version, d.ticks_lake)
                if key not in self._no_data:
                    self._no_data[key] = dataclasses.replace(d, created_at_ns=self._stamp(d.created_at_ns))

    def no_data_days(
        self,
        symbol: str | None = None,
        ticks_lake: str = "raw",
        start_day: date | None = None,
        end_day: date | None = None,
    ) -> list[NoDataDay]:
        _check_lake(ticks_lake)
        with self._lock:
            hits = [d for k, d in self._no_data.items() if _selected(k, symbol, ticks_lake, start_day, end_day)]
        return sorted(hits, key=lambda d: (d.symbol, d.trading_day))

    def clear_no_data(self, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        _check_lake(ticks_lake)
        with self._lock:
            for day in days:
                self._no_data.pop((symbol, day, LAKE_VERSION, ticks_lake), None)
