"""Clock port: the only source of "now" for use cases."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int:
        """Current time as int64 epoch nanoseconds (UTC)."""
        ...

    def monotonic_s(self) -> float:
        """Monotonic seconds for measuring durations."""
        ...
