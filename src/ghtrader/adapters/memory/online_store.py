"""``InMemoryOnlineFeatureStore``: latest feature values per symbol in plain dictionaries.

Reads take no lock: each symbol's state is an immutable snapshot (values dict + event time)
swapped in by one assignment, so a reader sees either the old or the new snapshot, never a mix.
Writers serialise on a lock. A read is a couple of dict lookups (well under a microsecond).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from ghtrader.application.ports.datasets import FeatureValue

__all__ = ["InMemoryOnlineFeatureStore"]


class InMemoryOnlineFeatureStore:
    """OnlineFeatureStore in process memory (serving and tests)."""

    def __init__(self) -> None:
        # symbol -> (feature -> (value, event_time_ns))
        self._state: dict[str, dict[str, tuple[float, int]]] = {}
        self._write_lock = threading.Lock()

    def put_latest(self, symbol: str, values: Mapping[str, float], event_time_ns: int) -> None:
        t = int(event_time_ns)
        with self._write_lock:
            old = self._state.get(symbol, {})
            new = dict(old)
            for name, value in values.items():
                prev = old.get(name)
                if prev is None or prev[1] <= t:
                    new[name] = (float(value), t)
            self._state[symbol] = new

    def get_latest(self, symbol: str, feature: str) -> FeatureValue | None:
        hit = self._state.get(symbol, {}).get(feature)
        return None if hit is None else FeatureValue(symbol, feature, hit[0], hit[1])

    def get_many(self, symbol: str, features: Sequence[str]) -> dict[str, FeatureValue | None]:
        snap = self._state.get(symbol, {})
        out: dict[str, FeatureValue | None] = {}
        for name in features:
            hit = snap.get(name)
            out[name] = None if hit is None else FeatureValue(symbol, name, hit[0], hit[1])
        return out

    def symbols(self) -> list[str]:
        return sorted(self._state)
