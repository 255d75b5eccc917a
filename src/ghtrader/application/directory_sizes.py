"""Use case: sizes of the server's folders (data, runs, artifacts), measured lazily in the
background and cached, so a status page never waits for a walk over many gigabytes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.system import DirectorySize, DirectorySizer


@dataclass(frozen=True)
class DirectorySizes:
    """The last measurement of each folder (empty before the first walk ends)."""

    sizes: tuple[DirectorySize, ...]
    measuring: bool
    ttl_s: float
    budget_s: float


def _in_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="directory-sizes", daemon=True).start()


class GetDirectorySizes:
    """Returns at once with the cached sizes; when they are missing or older than ``ttl_s``
    it starts one background walk (never two at a time), each folder limited to ``budget_s``
    seconds (a cut walk is reported ``partial``)."""

    def __init__(
        self,
        *,
        paths: Sequence[str],
        sizer: DirectorySizer,
        clock: Clock,
        ttl_s: float = 300.0,
        budget_s: float = 10.0,
        spawn: Callable[[Callable[[], None]], None] = _in_thread,
    ) -> None:
        self._paths = tuple(paths)
        self._sizer = sizer
        self._clock = clock
        self._ttl_s = ttl_s
        self._budget_s = budget_s
        self._spawn = spawn
        self._lock = threading.Lock()
        self._sizes: tuple[DirectorySize, ...] = ()
        self._measured_at: float | None = None  # monotonic seconds of the last finished walk
        self._measuring = False

    def __call__(self) -> DirectorySizes:
        with self._lock:
            stale = self._measured_at is None or self._clock.monotonic_s() - self._measured_at > self._ttl_s
            start = stale and not self._measuring
            if start:
                self._measuring = True
        if start:
            self._spawn(self._measure)
        with self._lock:
            return DirectorySizes(self._sizes, self._measuring, self._ttl_s, self._budget_s)

    def _measure(self) -> None:
        sizes: list[DirectorySize] = []
        try:
            for path in self._paths:
                try:
                    sizes.append(self._sizer.measure(path, self._budget_s))
                except Exception as exc:  # noqa: BLE001 - one unreadable folder must not hide the others
                    sizes.append(
                        DirectorySize(path, 0, 0, True, 0.0, self._clock.now_ns(), f"{type(exc).__name__}: {exc}")
                    )
        finally:
            with self._lock:
                if len(sizes) == len(self._paths):
                    self._sizes = tuple(sizes)
                self._measured_at = self._clock.monotonic_s()
                self._measuring = False
