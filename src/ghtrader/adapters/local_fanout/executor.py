"""``LocalFanoutExecutor``: the default FanoutExecutor, a ProcessPoolExecutor of spawned workers.

Spawn (not fork) so a worker never inherits the parent's threads, locks or open database
connections. A task's exception is caught in the worker and comes back as a failed outcome
with its traceback; a worker that dies (killed, out of memory) breaks the pool: every task in
flight then fails with "worker process died" and the next submission starts a fresh pool.
Resources are advisory here: each worker runs one task at a time, and ``slots`` divides the
workers by the CPUs a task asks for.

``share(value)`` pickles the value once into a file of the run's own temporary directory (under
``share_dir``; removed when the run closes); a task holds only the file's path, and each worker
process unpickles it on its first ``get`` and keeps it for the run's later tasks, so a large
input (an HPO study's frame) crosses to a worker once instead of with every task.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import os
import pickle
import shutil
import socket
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghtrader.application.ports.fanout import ONE_CPU, FanoutTask, TaskOutcome, TaskResources

__all__ = ["FileShared", "LocalFanoutExecutor", "LocalFanoutRun"]

# In a worker process: the values of the shares it has read (token -> value). A pool lives for one
# run, so its workers exit, cache and all, when the run closes.
_SHARED: dict[str, Any] = {}


@dataclass(frozen=True)
class FileShared:
    """Shared handle of the local executor: a pickle file read once per worker process."""

    path: str
    token: str

    def get(self) -> Any:
        try:
            return _SHARED[self.token]
        except KeyError:
            pass
        with open(self.path, "rb") as f:
            value = pickle.load(f)
        _SHARED[self.token] = value
        return value


def _call(fn: Callable[[], Any]) -> tuple[bool, Any, str, str, float]:
    """Run ``fn`` in the worker: ``(ok, value, error, node, seconds)`` (never raises)."""
    node = f"{socket.gethostname()}:{os.getpid()}"
    t0 = time.perf_counter()
    try:
        value = fn()
    except BaseException as exc:  # noqa: BLE001 - every failure is reported per task
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return False, None, text.strip(), node, time.perf_counter() - t0
    return True, value, "", node, time.perf_counter() - t0


class LocalFanoutRun:
    """One session of :class:`LocalFanoutExecutor` (FanoutRun)."""

    def __init__(self, workers: int, share_dir: str | None = None) -> None:
        self._workers = workers
        self._share_root = share_dir
        self._share_dir: Path | None = None
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: dict[cf.Future[Any], str] = {}
        self._failed: list[TaskOutcome] = []  # outcomes decided without a worker (submit failed)
        self._closed = False

    def _ensure_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def share(self, value: Any) -> FileShared:
        if self._closed:
            raise RuntimeError("this fan-out run is closed")
        if self._share_dir is None:
            if self._share_root:
                os.makedirs(self._share_root, exist_ok=True)
            root = os.path.abspath(self._share_root) if self._share_root else None  # workers may chdir
            self._share_dir = Path(tempfile.mkdtemp(prefix="ghtrader-fanout-", dir=root))
        token = uuid.uuid4().hex
        path = self._share_dir / f"{token}.pkl"
        with open(path, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        return FileShared(str(path), token)

    def submit(self, tasks: Sequence[FanoutTask]) -> None:
        if self._closed:
            raise RuntimeError("this fan-out run is closed")
        for task in tasks:
            try:
                future = self._ensure_pool().submit(_call, task.fn)
            except BrokenProcessPool:
                self._drop_pool()
                future = self._ensure_pool().submit(_call, task.fn)
            self._futures[future] = task.key

    def pending(self) -> int:
        return len(self._futures) + len(self._failed)

    def next_done(self, timeout_s: float | None = None) -> TaskOutcome | None:
        if self._failed:
            return self._failed.pop(0)
        if not self._futures:
            return None
        done, _ = cf.wait(list(self._futures), timeout=timeout_s, return_when=cf.FIRST_COMPLETED)
        if not done:
            return None
        future = next(iter(done))
        key = self._futures.pop(future)
        try:
            ok, value, error, node, seconds = future.result()
        except BrokenProcessPool:
            self._drop_pool()
            return TaskOutcome(
                key, False, error="worker process died (killed or out of memory) before the task finished"
            )
        except cf.CancelledError:
            return TaskOutcome(key, False, error="cancelled")
        except Exception as exc:  # noqa: BLE001 - e.g. the task or its result does not pickle
            return TaskOutcome(key, False, error=f"{type(exc).__name__}: {exc}")
        return TaskOutcome(key, ok, value, error, node, seconds)

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def cancel(self) -> None:
        for future in self._futures:
            future.cancel()
        self._futures.clear()
        self._failed.clear()
        if self._pool is not None:
            # running tasks cannot be interrupted through the pool API: stop their processes
            processes = list(getattr(self._pool, "_processes", {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for p in processes:
                if p.is_alive():
                    p.terminate()
            for p in processes:
                p.join(timeout=5)
            self._pool = None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._futures:
            self.cancel()
        elif self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._share_dir is not None:
            shutil.rmtree(self._share_dir, ignore_errors=True)
            self._share_dir = None

    def __enter__(self) -> LocalFanoutRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalFanoutExecutor:
    """FanoutExecutor on ``workers`` spawned processes of this machine (default: the CPU count);
    shared values go to files under ``share_dir`` (default: the system's temporary directory)."""

    name = "local"

    def __init__(self, workers: int | None = None, share_dir: str | None = None) -> None:
        n = workers if workers is not None else (os.cpu_count() or 1)
        if n < 1:
            raise ValueError(f"workers must be >= 1, got {n}")
        self.workers = int(n)
        self.share_dir = share_dir

    def slots(self, resources: TaskResources = ONE_CPU) -> int:
        return max(1, int(self.workers // max(1.0, math.ceil(resources.cpus))))

    def open(self) -> LocalFanoutRun:
        return LocalFanoutRun(self.workers, self.share_dir)
