"""``RayFanoutExecutor``: each fan-out task becomes one Ray task asking for its CPUs / GPUs.

``address`` joins an existing cluster (``ray start --head`` elsewhere; GHTRADER_RAY_ADDRESS);
None starts a private local Ray for this process. Ray is initialised on the first ``open`` and
only once per process. A task's exception comes back as a failed outcome with its traceback;
a worker or node that dies fails only the tasks it was running (Ray says which).

``share(value)`` puts the value in Ray's object store once (``ray.put``); tasks carry the
object ref, and ``get`` on a worker reads it from its node's store (numpy arrays zero-copy), so
it crosses to each node once instead of being serialised with every task.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ray

from ghtrader.application.ports.fanout import ONE_CPU, FanoutTask, TaskOutcome, TaskResources

__all__ = ["RayFanoutExecutor", "RayFanoutRun", "RayShared"]


@dataclass(frozen=True)
class RayShared:
    """Shared handle of the Ray executor: an object ref of the value ``ray.put`` once."""

    ref: Any  # ray.ObjectRef

    def get(self) -> Any:
        return ray.get(self.ref)


def _call(fn: Callable[[], Any]) -> tuple[bool, Any, str, str, float]:
    """Runs on a Ray worker: ``(ok, value, error, node id, seconds)`` (never raises)."""
    node = ray.get_runtime_context().get_node_id()
    t0 = time.perf_counter()
    try:
        value = fn()
    except BaseException as exc:  # noqa: BLE001 - every failure is reported per task
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return False, None, text.strip(), node, time.perf_counter() - t0
    return True, value, "", node, time.perf_counter() - t0


class RayFanoutRun:
    """One session of :class:`RayFanoutExecutor` (FanoutRun)."""

    def __init__(self, remote: Any) -> None:
        self._remote = remote
        self._refs: dict[Any, str] = {}
        self._shared: list[Any] = []  # the run's object refs, kept alive until it closes
        self._closed = False

    def share(self, value: Any) -> RayShared:
        if self._closed:
            raise RuntimeError("this fan-out run is closed")
        ref = ray.put(value)
        self._shared.append(ref)
        return RayShared(ref)

    def submit(self, tasks: Sequence[FanoutTask]) -> None:
        if self._closed:
            raise RuntimeError("this fan-out run is closed")
        for task in tasks:
            ref = self._remote.options(
                num_cpus=task.resources.cpus, num_gpus=task.resources.gpus, max_retries=0
            ).remote(task.fn)
            self._refs[ref] = task.key

    def pending(self) -> int:
        return len(self._refs)

    def next_done(self, timeout_s: float | None = None) -> TaskOutcome | None:
        if not self._refs:
            return None
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout_s)
        if not ready:
            return None
        ref = ready[0]
        key = self._refs.pop(ref)
        try:
            ok, value, error, node, seconds = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - worker crashed, node died, task cancelled
            return TaskOutcome(key, False, error=f"{type(exc).__name__}: {exc}")
        return TaskOutcome(key, ok, value, error, node, seconds)

    def cancel(self) -> None:
        for ref in list(self._refs):
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - already finished
                pass
        self._refs.clear()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.cancel()
        self._shared.clear()  # the driver's last references: the store frees the values


class RayFanoutExecutor:
    """FanoutExecutor on Ray (see the module docstring).

    Args:
        address: a cluster's address ("127.0.0.1:6379", "ray://host:10001"); None: a local Ray.
        runtime_env: Ray runtime environment for the workers (e.g. env_vars); None: the nodes' own.
        num_cpus: CPUs of a local Ray started here (ignored with ``address``).
    """

    name = "ray"

    def __init__(
        self, address: str | None = None, *, runtime_env: dict[str, Any] | None = None, num_cpus: int | None = None
    ) -> None:
        self.address = address or None
        self._runtime_env = runtime_env
        self._num_cpus = num_cpus
        self._remote: Any = None

    def _connect(self) -> Any:
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False}
            if self._runtime_env:
                kwargs["runtime_env"] = self._runtime_env
            if self.address is not None:
                kwargs["address"] = self.address
            else:
                kwargs["num_cpus"] = self._num_cpus
                kwargs["include_dashboard"] = False
            ray.init(**kwargs)
        if self._remote is None:
            self._remote = ray.remote(_call)
        return self._remote

    def slots(self, resources: TaskResources = ONE_CPU) -> int:
        self._connect()
        total = ray.cluster_resources()
        fits = [math.floor(total.get("CPU", 0.0) / resources.cpus)] if resources.cpus > 0 else []
        if resources.gpus > 0:
            fits.append(math.floor(total.get("GPU", 0.0) / resources.gpus))
        return max(1, min(fits) if fits else 1)

    def node_ids(self) -> list[str]:
        """Ids of the cluster's live nodes."""
        self._connect()
        return [n["NodeID"] for n in ray.nodes() if n.get("Alive")]

    def open(self) -> RayFanoutRun:
        return RayFanoutRun(self._connect())

    def shutdown(self) -> None:
        """Disconnect this process from Ray (stops a local Ray started here)."""
        if ray.is_initialized():
            ray.shutdown()
        self._remote = None
