"""Fan-out executor port: run a batch of independent, picklable tasks somewhere (worker
processes on this machine, or a Ray cluster) and collect their outcomes as they finish.

Used for work that splits into independent units (HPO trials, sweep points, backtests over
windows). A task is a zero-argument picklable callable plus the CPUs / GPUs it needs; the
executor runs it, catches what it raises, and says where it ran. A large input every task of a
run reads (an HPO study's feature frame) is put once with :meth:`FanoutRun.share`; tasks carry
the small picklable handle and read the value with ``handle.get()`` where they run, so it travels
once per worker (or node) instead of once per task. Nothing here knows the technology: ``adapters/local_fanout`` (concurrent.futures with spawned processes) and
``adapters/ray`` (Ray tasks) implement it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

__all__ = [
    "ONE_CPU",
    "FanoutExecutor",
    "FanoutRun",
    "FanoutTask",
    "InlineShared",
    "Shared",
    "TaskOutcome",
    "TaskResources",
    "run_all",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class TaskResources:
    """What one task needs while it runs (a scheduler reserves it; fractions are allowed)."""

    cpus: float = 1.0
    gpus: float = 0.0

    def __post_init__(self) -> None:
        if not (self.cpus >= 0 and self.gpus >= 0):
            raise ValueError(f"task resources must be >= 0 (cpus={self.cpus}, gpus={self.gpus})")


ONE_CPU = TaskResources()  # the default need of a task


@dataclass(frozen=True)
class FanoutTask:
    """One unit of work: ``fn()`` is called in a worker (so ``fn`` and its result must pickle)."""

    key: str  # unique within a run; outcomes carry it back
    fn: Callable[[], Any]
    resources: TaskResources = field(default_factory=TaskResources)


@dataclass(frozen=True)
class TaskOutcome:
    """What became of one task: its value, or why it failed (an exception, a dead worker, a cancel)."""

    key: str
    ok: bool
    value: Any = None
    error: str = ""  # failure text (exception type, message and traceback when there is one)
    node: str = ""  # where it ran: "host:pid" locally, the Ray node id on a cluster
    duration_s: float = 0.0  # seconds the task ran (0 when it never started)


class Shared(Protocol[T_co]):
    """A picklable handle to a value put once for a run's tasks (see :meth:`FanoutRun.share`)."""

    def get(self) -> T_co:
        """The value, where the task runs (read once per worker process and cached, or from the
        node's object store)."""
        ...


@dataclass(frozen=True)
class InlineShared(Generic[T]):
    """A "shared" value that travels inside every task that holds it (pickled with each task):
    what an executor without a shared store uses, and the baseline the sharing is measured against."""

    value: T

    def get(self) -> T:
        return self.value


class FanoutRun(Protocol):
    """One open session of an executor: submit tasks at any time, take outcomes as they finish."""

    def share(self, value: Any) -> Shared[Any]:
        """Put ``value`` once where this run's workers can read it; valid until :meth:`close`."""
        ...

    def submit(self, tasks: Sequence[FanoutTask]) -> None:
        """Queue ``tasks``; they start as resources free up."""
        ...

    def pending(self) -> int:
        """Tasks submitted whose outcome has not been taken yet."""
        ...

    def next_done(self, timeout_s: float | None = None) -> TaskOutcome | None:
        """The next finished task's outcome, waiting at most ``timeout_s`` (None: until one
        finishes); None on timeout or when nothing is pending."""
        ...

    def cancel(self) -> None:
        """Stop everything pending: queued tasks never start, running ones are stopped where the
        backend can; their outcomes are dropped."""
        ...

    def close(self) -> None:
        """Release the workers (cancels what is still pending). Idempotent."""
        ...


class FanoutExecutor(Protocol):
    """Where fan-out work runs (see the module docstring)."""

    name: str  # "local" | "ray"

    def slots(self, resources: TaskResources = ONE_CPU) -> int:
        """How many tasks needing ``resources`` can run at once (>= 1)."""
        ...

    def open(self) -> FanoutRun:
        """Start a session (workers start lazily); close it when done."""
        ...


def run_all(executor: FanoutExecutor, tasks: Sequence[FanoutTask]) -> Iterator[TaskOutcome]:
    """Every task's outcome, in finishing order; the session closes when the iterator does."""
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique within a run")
    run = executor.open()
    try:
        run.submit(tasks)
        while run.pending():
            outcome = run.next_done()
            if outcome is not None:
                yield outcome
    finally:
        run.close()
