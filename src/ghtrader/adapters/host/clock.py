"""The real clock."""

from __future__ import annotations

import time


class SystemClock:
    """Clock port backed by the operating system."""

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic_s(self) -> float:
        return time.monotonic()
