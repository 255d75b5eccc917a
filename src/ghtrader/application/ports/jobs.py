"""Job registry and lock table ports: the control plane's record of every long-running job.

A job is one long-running command (download, build, train ...) run in its own process. The
registry keeps its lifecycle (queued -> running -> succeeded | failed | cancelled), progress,
log path and result; every state change is a compare-and-set, so two processes never both
finish one job. The lock table grants named locks all-or-nothing to a job's process; a lock
whose holder's process is dead is reaped, and no holder is ever preempted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JobSource = Literal["terminal", "dashboard", "scheduler", "api"]

JOB_STATES: tuple[JobState, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
JOB_SOURCES: tuple[JobSource, ...] = ("terminal", "dashboard", "scheduler", "api")
ACTIVE_STATES: tuple[JobState, ...] = ("queued", "running")
FINAL_STATES: tuple[JobState, ...] = ("succeeded", "failed", "cancelled")

TQSDK_SLOT_PREFIX = "tqsdk:slot="


@dataclass(frozen=True)
class NewJob:
    """What a caller asks to run.

    ``request_type`` and ``request_b64`` are the serialized request the job process rebuilds its
    work from; ``args_json`` the same request readable by a person. ``tqsdk`` marks a job that
    needs one of the capped TqSdk slots besides its ``locks``.
    """

    command: str
    args_json: str
    request_type: str
    request_b64: str
    source: JobSource = "api"
    locks: tuple[str, ...] = ()
    tqsdk: bool = False
    no_wait: bool = False


@dataclass(frozen=True)
class JobOutcome:
    """What a finished job produced (empty for a job that failed before producing anything)."""

    ok: bool = False
    summary: str = ""
    report_path: str = ""
    result_json: str = ""


@dataclass(frozen=True)
class JobRecord:
    id: int
    command: str
    args_json: str
    request_type: str
    request_b64: str
    source: JobSource
    state: JobState
    created_ns: int
    locks_wanted: tuple[str, ...]
    tqsdk: bool
    no_wait: bool
    log_path: str
    start_ns: int | None = None
    end_ns: int | None = None
    pid: int | None = None
    pgid: int | None = None
    exit_code: int | None = None
    error_kind: str = ""  # the application error's class name (InvalidArgument, NotFound ...), or ""
    error: str = ""  # why it failed or was cancelled, for a person
    locks_held: tuple[str, ...] = ()  # granted when it started; kept after it ends (live ones: LockTable)
    waited_for: str = ""  # the locks it (last) waited for and their holders; kept after it ran
    progress_done: int = 0
    progress_total: int = 0
    progress_message: str = ""
    outcome: JobOutcome | None = None
    git_commit: str = ""  # the code that ran it ("" before its process recorded it)
    git_dirty: bool | None = None  # whether that checkout had changed tracked files (None: unknown)
    manifest_path: str = ""  # its run manifest (code, config, data, metrics), written when it ends

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end (to now is the caller's business), None before it ends."""
        if self.start_ns is None or self.end_ns is None:
            return None
        return (self.end_ns - self.start_ns) / 1e9

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report of a running job, numbered from 1 in the order it was made."""

    seq: int
    done: int
    total: int
    message: str


@dataclass(frozen=True)
class LockHolder:
    key: str
    job_id: int
    pid: int
    acquired_ns: int


class JobRegistry(Protocol):
    def create(self, job: NewJob, now_ns: int) -> JobRecord:
        """Register a queued job; its log path is fixed here."""
        ...

    def get(self, job_id: int) -> JobRecord | None: ...

    def list_jobs(
        self,
        *,
        states: Sequence[JobState] = (),
        source: JobSource | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[JobRecord]:
        """Newest first; with ``before_id`` only jobs older than that one (a page of a long list)."""
        ...

    def set_process(self, job_id: int, pid: int, pgid: int) -> None:
        """Record the job's process and process group (set once it is spawned)."""
        ...

    def set_waiting(self, job_id: int, waited_for: str) -> None: ...

    def mark_running(self, job_id: int, locks_held: Sequence[str], now_ns: int) -> bool:
        """queued -> running; False if the job was no longer queued (e.g. cancelled meanwhile)."""
        ...

    def set_code_version(self, job_id: int, commit: str, dirty: bool | None) -> None:
        """Record the code version the job's process runs."""
        ...

    def set_manifest_path(self, job_id: int, path: str) -> None:
        """Point the job at its run manifest."""
        ...

    def set_progress(self, job_id: int, done: int, total: int, message: str) -> None:
        """Record a progress report of a running job (kept in order, see :meth:`progress_since`)."""
        ...

    def progress_since(self, job_id: int, after_seq: int = 0) -> list[ProgressEvent]:
        """The job's progress reports numbered above ``after_seq``, oldest first."""
        ...

    def finish(
        self,
        job_id: int,
        state: JobState,
        now_ns: int,
        *,
        exit_code: int | None,
        error_kind: str = "",
        error: str = "",
        outcome: JobOutcome | None = None,
    ) -> bool:
        """Active -> ``state`` (a final one); False if the job had already finished."""
        ...

    def reconcile(self, now_ns: int, reason: str) -> list[int]:
        """Fail every active job whose process is dead, with ``reason``; returns their ids."""
        ...


class LockTable(Protocol):
    def try_acquire(
        self, job_id: int, pid: int, keys: Sequence[str], now_ns: int, *, tqsdk_slots: int = 0
    ) -> tuple[LockHolder, ...]:
        """Take every key (and one of ``tqsdk_slots`` TqSdk slots when > 0) or none.

        Returns () when granted, else the holders that stand in the way. Locks of dead
        processes are reaped first; a live holder is never preempted.
        """
        ...

    def release(self, job_id: int) -> int:
        """Drop every lock of ``job_id``; returns how many were held."""
        ...

    def held_by(self, job_id: int) -> list[str]:
        """The keys ``job_id`` holds now."""
        ...

    def holders(self) -> list[LockHolder]:
        """Every lock held now, live holders only (dead ones are reaped)."""
        ...
