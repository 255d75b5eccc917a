"""``InlineFanoutExecutor``: the FanoutExecutor port running each task in the calling thread,
when its outcome is taken (unit tests, and debugging a task without worker processes)."""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Sequence
from typing import Any

from ghtrader.application.ports.fanout import ONE_CPU, FanoutTask, InlineShared, TaskOutcome, TaskResources

__all__ = ["InlineFanoutExecutor", "InlineFanoutRun"]


class InlineFanoutRun:
    """FanoutRun that runs one queued task per ``next_done`` call, in order."""

    def __init__(self) -> None:
        self._queue: list[FanoutTask] = []

    def share(self, value: Any) -> InlineShared[Any]:
        return InlineShared(value)  # tasks run in this process: nothing to copy

    def submit(self, tasks: Sequence[FanoutTask]) -> None:
        self._queue.extend(tasks)

    def pending(self) -> int:
        return len(self._queue)

    def next_done(self, timeout_s: float | None = None) -> TaskOutcome | None:
        if not self._queue:
            return None
        task = self._queue.pop(0)
        node = f"{socket.gethostname()}:{os.getpid()}"
        t0 = time.perf_counter()
        try:
            value = task.fn()
        except Exception as exc:  # noqa: BLE001 - reported per task, as the real executors do
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            return TaskOutcome(task.key, False, error=text.strip(), node=node, duration_s=time.perf_counter() - t0)
        return TaskOutcome(task.key, True, value, node=node, duration_s=time.perf_counter() - t0)

    def cancel(self) -> None:
        self._queue.clear()

    def close(self) -> None:
        self._queue.clear()


class InlineFanoutExecutor:
    """FanoutExecutor with ``slots`` nominal slots, running tasks inline (see the module docstring)."""

    name = "inline"

    def __init__(self, slots: int = 1) -> None:
        self._slots = max(1, int(slots))

    def slots(self, resources: TaskResources = ONE_CPU) -> int:
        return self._slots

    def open(self) -> InlineFanoutRun:
        return InlineFanoutRun()
