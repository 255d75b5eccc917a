"""Picklable task functions for the fan-out tests (spawned workers import this module)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Square:
    x: int

    def __call__(self) -> tuple[int, int]:
        return self.x * self.x, os.getpid()


@dataclass(frozen=True)
class Boom:
    message: str

    def __call__(self) -> None:
        raise ValueError(self.message)


@dataclass(frozen=True)
class Die:
    """Kills its own worker process (as the OOM killer or a `kill -9` would)."""

    def __call__(self) -> None:
        os._exit(9)


@dataclass(frozen=True)
class Sleep:
    seconds: float

    def __call__(self) -> float:
        time.sleep(self.seconds)
        return self.seconds


@dataclass(frozen=True)
class ReadShared:
    """Reads a shared value: (its sum, this worker's pid, whether the worker had it cached)."""

    handle: object

    def __call__(self) -> tuple[float, int, bool]:
        from ghtrader.adapters.local_fanout.executor import _SHARED

        cached = getattr(self.handle, "token", "") in _SHARED
        return float(self.handle.get().sum()), os.getpid(), cached  # type: ignore[attr-defined]
