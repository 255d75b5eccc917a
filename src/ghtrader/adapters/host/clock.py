"""The real clock."""

from __future__ import annotations

import time


class SystemClock:
    """Clock port backed by the operating system."""

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic_s(self) -> float:
        return time.monotonic()


class ReplayClock:
    """A market clock that starts at ``start_ns`` and runs ``speedup`` market seconds per wall
    second of ``base`` (a synthetic live feed replaying from a chosen time: each new run of the
    feed, e.g. a re-subscription after a roll, starts where the market clock has got to)."""

    def __init__(self, base: SystemClock | object, start_ns: int, speedup: float) -> None:
        self._base = base
        self._start_ns = int(start_ns)
        self._speedup = float(speedup)
        self._m0 = base.monotonic_s()  # type: ignore[attr-defined]

    def now_ns(self) -> int:
        elapsed = self._base.monotonic_s() - self._m0  # type: ignore[attr-defined]
        return self._start_ns + int(elapsed * self._speedup * 1e9)

    def monotonic_s(self) -> float:
        return float(self._base.monotonic_s())  # type: ignore[attr-defined]
