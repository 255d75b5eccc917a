"""A TTL cache for slow reads: pages get the last value at once and a stale one is refreshed
in the background, so a slow or dead server never blocks a page load."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ERROR_TTL_S = 2.0  # a failed read is retried after this long at most


@dataclass(frozen=True)
class Entry:
    """A loaded value or the error that loading it gave (``error`` non-empty)."""

    value: Any
    error: str
    unreachable: bool
    loaded_at: float

    @property
    def ok(self) -> bool:
        return not self.error


class TtlCache:
    """``get(key, loader, ttl)``: loader is a blocking callable run in a worker thread."""

    def __init__(
        self, classify: Callable[[BaseException], tuple[str, bool]], clock: Callable[[], float] = time.monotonic
    ):
        """``classify(exc)`` gives (message, server unreachable?) for a loader's exception."""
        self._classify = classify
        self._clock = clock
        self._entries: dict[str, Entry] = {}
        self._inflight: dict[str, asyncio.Task[Entry]] = {}

    def peek(self, key: str) -> Entry | None:
        return self._entries.get(key)

    def invalidate(self, prefix: str = "") -> None:
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]

    async def _load(self, key: str, loader: Callable[[], Any]) -> Entry:
        try:
            value = await asyncio.to_thread(loader)
            entry = Entry(value, "", False, self._clock())
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message on the page
            message, unreachable = self._classify(exc)
            entry = Entry(None, message, unreachable, self._clock())
        self._entries[key] = entry
        return entry

    def _refresh(self, key: str, loader: Callable[[], Any]) -> asyncio.Task[Entry]:
        task = self._inflight.get(key)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._load(key, loader))
            self._inflight[key] = task
            task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[Entry]) -> None:
        for key, running in list(self._inflight.items()):
            if running is task:
                del self._inflight[key]

    async def get(self, key: str, loader: Callable[[], Any], ttl: float, wait_s: float = 2.0) -> Entry | None:
        """The cached entry (refreshed in the background when older than ``ttl``); with nothing
        cached, or only a failure older than ERROR_TTL_S, waits up to ``wait_s`` for a load and
        returns what it has (None if nothing) when that load is still running."""
        entry = self._entries.get(key)
        if entry is not None:
            age = self._clock() - entry.loaded_at
            if entry.ok or age <= min(ttl, ERROR_TTL_S):
                if age > ttl:
                    self._refresh(key, loader)
                return entry
            # A failed read is not served stale: try again, as for a first load.
        task = self._refresh(key, loader)
        try:
            return await asyncio.wait_for(asyncio.shield(task), wait_s)
        except TimeoutError:
            return entry
