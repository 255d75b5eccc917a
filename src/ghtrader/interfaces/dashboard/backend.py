"""The dashboard's side of the gRPC API: cached reads and job submission, never blocking the
event loop (every call runs in a worker thread)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ghtrader.interfaces.client import ApiError, GhTraderClient, ServerUnavailableError
from ghtrader.interfaces.dashboard.cache import Entry, TtlCache
from ghtrader.interfaces.dashboard.config import DashboardConfig

log = logging.getLogger(__name__)

TERMINAL_STATES = ("succeeded", "failed", "cancelled")
ACTIVE_STATES = ("queued", "running")


def classify(exc: BaseException) -> tuple[str, bool]:
    """(message for the page, server unreachable?) for an exception of a call."""
    if isinstance(exc, ServerUnavailableError):
        return str(exc), True
    if isinstance(exc, ApiError):
        return exc.message or exc.code, exc.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
    return f"{type(exc).__name__}: {exc}", False


@dataclass
class Submission:
    """A long-running call the dashboard started; ``result`` is set when it ends."""

    label: str
    started: float
    result: Any = None
    error: str = ""
    done: bool = False


class Backend:
    """One client per dashboard process, created on first use inside the running event loop."""

    def __init__(self, config: DashboardConfig, client_factory: Callable[[], Any] | None = None) -> None:
        self.config = config
        self._factory = client_factory or (
            lambda: GhTraderClient(
                config.target, token=config.token, timeout_s=config.call_timeout_s, source="dashboard"
            )
        )
        self._client: Any = None
        self.cache = TtlCache(classify)
        self.submissions: deque[Submission] = deque(maxlen=50)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._factory()
        return self._client

    def close(self) -> None:
        if self._client is not None and hasattr(self._client, "close"):
            self._client.close()
        self._client = None

    # --- reads ------------------------------------------------------------------------
    async def read(self, key: str, method: str, *args: Any, ttl: float = 5.0, **kwargs: Any) -> Entry | None:
        """``client.<method>(*args, **kwargs)`` through the TTL cache."""
        return await self.cache.get(key, lambda: getattr(self.client, method)(*args, **kwargs), ttl)

    async def status(self) -> Entry | None:
        return await self.read("status", "get_status", ttl=3.0)

    async def jobs(
        self, states: tuple[str, ...] = (), source: str = "", limit: int = 200, before_id: int | None = None
    ) -> Entry | None:
        key = f"jobs:{','.join(states)}:{source}:{limit}:{before_id}"
        return await self.read(
            key,
            "list_jobs",
            states=states,
            source=source,
            limit=limit,
            ttl=2.0,
            **({"before_id": before_id} if before_id is not None else {}),
        )

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """An uncached call (actions, one-off reads); raises ApiError / ServerUnavailableError."""
        return await asyncio.to_thread(lambda: getattr(self.client, method)(*args, **kwargs))

    # --- long-running calls as jobs ---------------------------------------------------------
    def submit(self, label: str, method: str, *args: Any, **kwargs: Any) -> Submission:
        """Start a long-running RPC (a server-side job) and follow it in the background; the
        job itself outlives the dashboard."""
        sub = Submission(label, time.time())
        self.submissions.appendleft(sub)

        async def follow() -> None:
            try:
                sub.result = await self.call(method, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - shown on the page
                sub.error = classify(exc)[0]
            finally:
                sub.done = True
                self.cache.invalidate("jobs:")

        task = asyncio.get_running_loop().create_task(follow())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.cache.invalidate("jobs:")
        return sub
