"""Long-running RPCs as subprocess jobs: submit, follow, cancel, reconcile.

Each long-running method is described by a :class:`JobSpec` (request type, how to build its
work, the locks it needs). A :class:`JobLauncher` runs it for a call: :class:`InThreadLauncher`
in a server thread (tests with fakes), :class:`JobControl` as a job in its own process group,
registered in the job store, which the call then follows until it ends. A job outlives the
client that started it (and the server); the job process records its own final state.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from ghtrader.application import errors as app_errors
from ghtrader.application.experiments import JOB_KINDS, ExperimentRecorder
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.jobs import JOB_SOURCES, JobRecord, JobRegistry, JobSource, LockTable, NewJob
from ghtrader.application.run_manifest import CodeVersion, RunRecorder
from ghtrader.interfaces.grpc.streaming import Work, stream_run
from ghtrader.interfaces.grpc.typed_results import typed_fields
from ghtrader.v1 import runs_pb2

log = logging.getLogger(__name__)

SOURCE_HEADER = "x-ghtrader-source"
NO_WAIT_HEADER = "x-ghtrader-no-wait"

Stop = Callable[[], bool]


@dataclass(frozen=True)
class JobSpec:
    """One long-running method: ``build(request, should_stop)`` validates and returns its work.

    ``locks`` names the lock keys a request needs; ``tqsdk`` takes one of the capped TqSdk
    slots; ``until_cancelled`` says the request runs until stopped (record without a duration),
    so its job is cancelled when the client that follows it goes away. ``cooperative`` work polls
    ``should_stop`` itself and ends cleanly (a recorder flushes), so a cancel never interrupts it
    at a progress report.
    """

    command: str
    request_type: type[Message]
    build: Callable[[Any, Stop], Work]
    locks: Callable[[Any], tuple[str, ...]] = lambda _r: ()
    tqsdk: bool = False
    until_cancelled: Callable[[Any], bool] = lambda _r: False
    cooperative: bool = False

    @property
    def type_name(self) -> str:
        return str(self.request_type.DESCRIPTOR.full_name)


class JobLauncher(Protocol):
    def run(self, spec: JobSpec, request: Any, context: grpc.ServicerContext) -> Iterator[runs_pb2.RunEvent]: ...


class InThreadLauncher:
    """Runs the work in a server thread; the call ends (and the work stops) with its client."""

    def run(self, spec: JobSpec, request: Any, context: grpc.ServicerContext) -> Iterator[runs_pb2.RunEvent]:
        return stream_run(spec.build(request, lambda: not context.is_active()), context, command=spec.command)


class JobStore(JobRegistry, LockTable, Protocol):
    """The registry and the lock table in one store (as the SQLite adapter is)."""


ERROR_KINDS: dict[str, type[Exception]] = {
    "InvalidArgument": app_errors.InvalidArgument,
    "NotFound": app_errors.NotFound,
    "FailedPrecondition": app_errors.FailedPrecondition,
    "ResourceExhausted": app_errors.ResourceExhausted,
    "Unavailable": app_errors.Unavailable,
}


class JobFailed(Exception):
    """A job failed with an unexpected error (its log says more)."""


def _metadata(context: grpc.ServicerContext) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in context.invocation_metadata() or ():
        out[key] = value.decode() if isinstance(value, bytes) else value
    return out


def call_source(context: grpc.ServicerContext) -> JobSource:
    """Who started the call, from the ``x-ghtrader-source`` header (api when absent or unknown)."""
    value = _metadata(context).get(SOURCE_HEADER, "api")
    return value if value in JOB_SOURCES else "api"  # type: ignore[return-value]


def describe_holders(holders: Sequence[Any]) -> str:
    return ", ".join(f"{h.key} held by job {h.job_id} (pid {h.pid})" for h in holders)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


class JobControl:
    """Submits jobs as processes, follows them for a call, cancels and reconciles them.

    ``worker_command(job_id)`` is the argv of the job process; ``env`` its environment;
    ``prepare`` runs once before the first job is spawned (e.g. start the embedded database in
    the server process, so no job owns it); ``code_version`` is recorded on every job submitted
    (the job process records its own when it starts); ``recorder`` writes the run manifest of a
    job this control ends itself (a crashed or killed process), which its process could not;
    ``experiments`` likewise finishes such a job's experiment record (failed or cancelled).
    """

    def __init__(
        self,
        store: JobStore,
        clock: Clock,
        worker_command: Callable[[int], Sequence[str]],
        *,
        env: Mapping[str, str] | None = None,
        prepare: Callable[[], object] | None = None,
        cancel_grace_s: float = 10.0,
        poll_s: float = 0.2,
        code_version: CodeVersion | None = None,
        recorder: RunRecorder | None = None,
        experiments: Callable[[], ExperimentRecorder] | None = None,
    ) -> None:
        self._store = store
        self._experiments = experiments
        self._code_version = code_version
        self._recorder = recorder
        self._clock = clock
        self._worker_command = worker_command
        self._env = dict(env) if env is not None else None
        self._prepare = prepare
        self._prepared = False
        self._prepare_lock = threading.Lock()
        self.cancel_grace_s = cancel_grace_s
        self._poll_s = poll_s
        self._cancelling: dict[int, str] = {}  # job id -> reason, while cancel() signals it
        self._submitted: list[int] = []  # jobs this instance started

    @property
    def store(self) -> JobStore:
        return self._store

    # -- submit and follow -------------------------------------------------------------------
    def run(self, spec: JobSpec, request: Any, context: grpc.ServicerContext) -> Iterator[runs_pb2.RunEvent]:
        spec.build(request, lambda: False)  # validate in the server: bad requests fail before a job exists
        meta = _metadata(context)
        no_wait = meta.get(NO_WAIT_HEADER, "").lower() in ("1", "true", "yes")
        job = self.submit(spec, request, source=call_source(context), no_wait=no_wait)
        return self.follow(job.id, context, cancel_on_disconnect=spec.until_cancelled(request))

    def submit(self, spec: JobSpec, request: Any, *, source: JobSource = "api", no_wait: bool = False) -> JobRecord:
        """Register the job and start its process; returns the queued record."""
        self._ensure_prepared()
        args = json_format.MessageToDict(request, preserving_proto_field_name=True)
        job = self._store.create(
            NewJob(
                command=spec.command,
                args_json=json.dumps(args, sort_keys=True),
                request_type=spec.type_name,
                request_b64=base64.b64encode(request.SerializeToString()).decode(),
                source=source,
                locks=spec.locks(request),
                tqsdk=spec.tqsdk,
                no_wait=no_wait,
            ),
            self._clock.now_ns(),
        )
        if self._code_version is not None:
            self._store.set_code_version(job.id, self._code_version.commit, self._code_version.dirty)
        self._spawn(job)
        self._submitted.append(job.id)
        return job

    def _ensure_prepared(self) -> None:
        with self._prepare_lock:
            if not self._prepared and self._prepare is not None:
                self._prepare()
            self._prepared = True

    def _spawn(self, job: JobRecord) -> None:
        Path(job.log_path).parent.mkdir(parents=True, exist_ok=True)
        with open(job.log_path, "ab") as log_file:
            try:
                proc = subprocess.Popen(
                    list(self._worker_command(job.id)),
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    env=self._env,
                    start_new_session=True,  # its own process group: cancel signals reach all of it
                    close_fds=True,
                )
            except OSError as exc:
                self._store.finish(
                    job.id, "failed", self._clock.now_ns(), exit_code=None, error_kind="SpawnFailed", error=str(exc)
                )
                raise app_errors.Unavailable(f"could not start job {job.id}: {exc}") from exc
        self._store.set_process(job.id, proc.pid, proc.pid)
        log.info("job %d (%s) started as pid %d, log %s", job.id, job.command, proc.pid, job.log_path)
        threading.Thread(target=self._reap, args=(job.id, proc), name=f"job-{job.id}-reaper", daemon=True).start()

    def _reap(self, job_id: int, proc: subprocess.Popen[bytes]) -> None:
        code = proc.wait()
        reason = self._cancelling.get(job_id)
        if reason is not None:  # killed by cancel(): that is a cancellation, not a crash
            self._store.finish(job_id, "cancelled", self._clock.now_ns(), exit_code=code, error=reason)
            self._store.release(job_id)
            self._record_manifest(job_id)
            return
        if self._store.finish(
            job_id,
            "failed",
            self._clock.now_ns(),
            exit_code=code,
            error_kind="ProcessDied",
            error=f"job process exited with code {code} without recording a final state",
        ):
            self._store.release(job_id)
            self._record_manifest(job_id)
            log.warning("job %d died with code %d", job_id, code)

    def _record_manifest(self, job_id: int) -> None:
        """The manifest of a job ended here (no result), unless its process wrote one."""
        job = self._store.get(job_id)
        if job is not None and job.finished and self._experiments is not None and job.command in JOB_KINDS:
            try:
                self._experiments().job_ended_elsewhere(job)
            except Exception:  # noqa: BLE001 - the job's state is recorded; its experiment is a record of it
                log.exception("job %d: could not finish its experiment", job_id)
        if self._recorder is None or job is None or job.manifest_path or not job.finished:
            return
        try:
            self._store.set_manifest_path(job_id, self._recorder.write(job, None))
        except Exception:  # noqa: BLE001 - the job's state is recorded; the manifest is a record of it
            log.exception("job %d: could not write its run manifest", job_id)

    def follow(
        self, job_id: int, context: grpc.ServicerContext, *, cancel_on_disconnect: bool = False
    ) -> Iterator[runs_pb2.RunEvent]:
        """Progress events while the job runs, then its result (or its error)."""
        waiting: str | None = None
        seq = 0
        first = self._store.get(job_id)
        if first is None:
            raise app_errors.NotFound(f"no job {job_id}")
        # names the job at once: a caller that does not wait reads this and goes
        yield runs_pb2.RunEvent(progress=runs_pb2.Progress(message=f"job {job_id} {first.state}", job_id=job_id))
        while True:
            job = self._store.get(job_id)
            if job is None:
                raise app_errors.NotFound(f"no job {job_id}")
            for p in self._store.progress_since(job_id, seq):
                seq = p.seq
                percent = 100.0 * p.done / p.total if p.total else 0.0
                yield runs_pb2.RunEvent(
                    progress=runs_pb2.Progress(
                        done=p.done, total=p.total, message=p.message, percent=percent, job_id=job_id
                    )
                )
            if job.finished:
                break
            if not context.is_active():
                if cancel_on_disconnect:
                    self.cancel(job_id, reason="its client went away")
                return
            if job.state == "queued" and job.waited_for != waiting:
                waiting = job.waited_for
                message = f"job {job_id} queued" + (f", waiting for {waiting}" if waiting else "")
                yield runs_pb2.RunEvent(progress=runs_pb2.Progress(message=message, job_id=job_id))
            time.sleep(self._poll_s)
        yield result_event(job)

    # -- cancel and reconcile ----------------------------------------------------------------
    def cancel(self, job_id: int, *, grace_s: float | None = None, reason: str = "cancelled on request") -> JobRecord:
        """SIGTERM to the job's process group, SIGKILL after the grace period; records cancelled."""
        job = self._store.get(job_id)
        if job is None:
            raise app_errors.NotFound(f"no job {job_id}")
        if job.finished:
            return job
        grace = self.cancel_grace_s if grace_s is None else grace_s
        pgid = job.pgid
        self._cancelling[job_id] = reason
        if pgid is not None and _pid_alive(pgid):
            _signal_group(pgid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and process_group_alive(pgid):
                time.sleep(0.05)
            if process_group_alive(pgid):
                log.warning("job %d ignored SIGTERM for %.1fs: SIGKILL", job_id, grace)
                _signal_group(pgid, signal.SIGKILL)
                deadline = time.monotonic() + 5.0
                while time.monotonic() < deadline and process_group_alive(pgid):
                    time.sleep(0.05)
        # The worker normally records its own cancellation; this covers one that could not.
        self._store.finish(job_id, "cancelled", self._clock.now_ns(), exit_code=-signal.SIGKILL, error=reason)
        self._store.release(job_id)
        self._record_manifest(job_id)
        self._cancelling.pop(job_id, None)
        final = self._store.get(job_id)
        assert final is not None
        return final

    def cancel_submitted(self, reason: str) -> list[int]:
        """Cancel every job this instance started that is still active (an in-process server's exit)."""
        active = [j for j in self._submitted if (job := self._store.get(j)) is not None and not job.finished]
        for job_id in active:
            self.cancel(job_id, reason=reason)
        return active

    def reconcile(self) -> list[int]:
        """Fail active jobs whose process is gone (run at server start); history is kept."""
        ids = self._store.reconcile(self._clock.now_ns(), "process died; server restarted")
        for job_id in ids:
            self._record_manifest(job_id)
        if ids:
            log.warning("reconciled %d dead jobs as failed: %s", len(ids), ids)
        return ids


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def process_group_alive(pgid: int) -> bool:
    """Any live (non-zombie) process left in the group."""
    try:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
        return False
    except OSError:
        return _pid_alive(pgid)


def result_event(job: JobRecord) -> runs_pb2.RunEvent:
    """The final event of a finished job: its result, or the error it failed with."""
    if job.state == "failed":
        error = ERROR_KINDS.get(job.error_kind)
        if error is not None:
            raise error(job.error)
        raise JobFailed(f"job {job.id} failed: {job.error} (log {job.log_path})")
    o = job.outcome
    if job.state == "cancelled" and o is None:
        return runs_pb2.RunEvent(
            result=runs_pb2.RunResult(ok=False, summary=f"job {job.id} cancelled: {job.error}", job_id=job.id)
        )
    assert o is not None
    summary = o.summary if job.state == "succeeded" else f"{o.summary} (job {job.id} cancelled: {job.error})"
    try:
        decoded = json.loads(o.result_json) if o.result_json else None
    except ValueError:
        decoded = None
    return runs_pb2.RunEvent(
        result=runs_pb2.RunResult(
            ok=o.ok,
            summary=summary,
            report_path=o.report_path,
            result_json=o.result_json,
            job_id=job.id,
            **typed_fields(job.command, decoded),
        )
    )
