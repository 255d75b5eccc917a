"""WriteQueue: dataset writes on one background thread, so a build computes the next day while
the store ingests the previous one.

A build spends about as long handing rows to the database as computing them; the two use
different processes (the server parses and stores, the build computes), so overlapping them
nearly halves a build. Writes run in submission order on a single thread, at most ``depth``
in flight (bounded memory); each write's ``done`` callback runs on the caller's thread when
the caller collects it, so bookkeeping stays single-threaded. The first failure is raised to
the caller on the next submit / drain and the writes queued behind it are cancelled.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Self

__all__ = ["WriteQueue"]


class WriteQueue:
    """Ordered background writes with bounded depth. Use as a context manager."""

    def __init__(self, depth: int = 2) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self._depth = depth
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ghtrader-dataset-write")
        self._pending: deque[tuple[Future[Any], Callable[[Any], None]]] = deque()

    def submit(self, write: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Queue ``write()``; ``done(result)`` runs on this thread once it is collected."""
        self._pending.append((self._executor.submit(write), done))
        while len(self._pending) > self._depth:
            self._collect_one()

    def drain(self) -> None:
        """Wait for every queued write and run its ``done``; raises the first failure."""
        while self._pending:
            self._collect_one()

    def _collect_one(self) -> None:
        future, done = self._pending.popleft()
        try:
            result = future.result()
        except BaseException:
            for queued, _ in self._pending:
                queued.cancel()
            self._pending.clear()
            raise
        done(result)

    def close(self) -> None:
        """Cancel what has not started, wait for the running write, stop the thread."""
        for future, _ in self._pending:
            future.cancel()
        self._pending.clear()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            try:
                self.drain()
            finally:
                self.close()
        else:
            self.close()
