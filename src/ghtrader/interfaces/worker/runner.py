"""The job process: rebuild the work from the stored request, take the locks, run, record.

Run as ``python -m ghtrader.job_worker <job-id>`` in its own process group. It waits queued
while its locks are taken (or fails fast when the job says no-wait), writes progress into the
registry, and records its own final state, exit code and result. SIGTERM asks it to stop: it
stops at the next progress report (or the use case's own stop check) and records cancelled.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

from ghtrader.application.errors import ApplicationError
from ghtrader.application.experiments import JOB_KINDS, ExperimentRecorder, running_experiment
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.jobs import JobOutcome, JobRecord
from ghtrader.application.reporting import to_jsonable
from ghtrader.application.run_manifest import RunRecorder
from ghtrader.domain.errors import DomainError
from ghtrader.interfaces.grpc.jobs import ERROR_KINDS, JobSpec, JobStore, describe_holders

log = logging.getLogger("ghtrader.job")

EXIT_OK = 0
EXIT_NOT_OK = 1  # the work ran to its end but found problems (RunResult.ok false)
EXIT_FAILED = 2
EXIT_LOCKED = 3  # no-wait and a lock was taken
EXIT_CANCELLED = 143  # 128 + SIGTERM


class JobCancelled(Exception):
    """SIGTERM arrived: stop at this safe point."""


def error_kind(exc: BaseException) -> str:
    """The application error class a follower re-raises (so the status code is the same)."""
    if isinstance(exc, DomainError):
        return "InvalidArgument"
    for cls in type(exc).__mro__:
        if cls.__name__ in ERROR_KINDS:
            return cls.__name__
    return "Internal"


def run_job(
    job_id: int,
    store: JobStore,
    catalog: Mapping[str, JobSpec],
    clock: Clock,
    *,
    tqsdk_slots: int = 4,
    poll_s: float = 0.5,
    progress_interval_s: float = 0.25,
    recorder: RunRecorder | None = None,
    experiments: Callable[[], ExperimentRecorder] | None = None,
) -> int:
    """Run job ``job_id`` to its end in this process; returns the process exit code.

    With a ``recorder`` the job's code version is recorded when it starts and its run manifest
    (code, config, data, metrics) written when it ends, whatever the end. With ``experiments``
    (called only for a research command) a research job (train, benchmark, compare, backtest,
    hpo) is an experiment record from when it runs until it ends, finished before its state turns
    final.
    """
    job = store.get(job_id)
    if job is None:
        log.error("no job %d in the registry", job_id)
        return EXIT_FAILED
    if job.finished:
        log.error("job %d already %s", job_id, job.state)
        return EXIT_FAILED
    stop = threading.Event()

    def on_term(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_term)
    if recorder is not None:
        store.set_code_version(job_id, recorder.code.commit, recorder.code.dirty)
    result_data: list[object] = []  # the decoded result, once the work returned one
    last_write = [0.0]

    cooperative = [False]
    experiment: list[str | None] = [None]  # the running job's experiment id, once recorded

    def progress(done: int, total: int, message: str) -> None:
        if stop.is_set() and not cooperative[0]:
            raise JobCancelled("cancelled")
        now = time.monotonic()
        # Every report with a message is kept for followers; bare counters at most every interval.
        if message or now - last_write[0] >= progress_interval_s or (total and done >= total):
            last_write[0] = now
            store.set_progress(job_id, done, total, message)
        if message:
            log.info("[%d/%d] %s", done, total, message)

    def finish(state: str, code: int, **fields: object) -> int:
        # The manifest is in place before the state turns final: whoever sees the job ended finds it.
        result = result_data[0] if result_data else None
        ending = {"state": state, "exit_code": code, "error": fields.get("error", ""), "outcome": fields.get("outcome")}
        _write_manifest(job_id, store, recorder, result, ending)
        if experiment[0] is not None and experiments is not None:
            ended = dataclasses.replace(job, outcome=fields.get("outcome"))  # type: ignore[arg-type]
            experiments().job_finished(experiment[0], ended, state, result, str(fields.get("error", "")))
        if not store.finish(job_id, state, clock.now_ns(), exit_code=code, **fields):  # type: ignore[arg-type]
            _write_manifest(job_id, store, recorder, result)  # it ended otherwise meanwhile (e.g. cancelled)
        return code

    try:
        spec = catalog.get(job.request_type)
        if spec is None:
            return finish("failed", EXIT_FAILED, error_kind="InvalidArgument", error=f"unknown job {job.request_type}")
        request = spec.request_type.FromString(base64.b64decode(job.request_b64))
        cooperative[0] = spec.cooperative
        log.info("job %d: %s %s", job_id, job.command, job.args_json)
        work = spec.build(request, stop.is_set)
        waiting = ""
        while True:
            if stop.is_set():
                raise JobCancelled("cancelled while queued")
            slots = tqsdk_slots if job.tqsdk else 0
            holders = store.try_acquire(job_id, os.getpid(), job.locks_wanted, clock.now_ns(), tqsdk_slots=slots)
            if not holders:
                break
            described = describe_holders(holders)
            if job.no_wait:
                return finish(
                    "failed", EXIT_LOCKED, error_kind="FailedPrecondition", error=f"locks taken (no-wait): {described}"
                )
            if described != waiting:
                waiting = described
                store.set_waiting(job_id, described)
                log.info("waiting for %s", described)
            time.sleep(poll_s)
        held = store.held_by(job_id)
        if not store.mark_running(job_id, held, clock.now_ns()):
            log.info("job %d is no longer queued; not running it", job_id)
            return EXIT_CANCELLED
        log.info("running with locks %s", ", ".join(held) or "(none)")
        if experiments is not None and job.command in JOB_KINDS:
            experiment[0] = _start_experiment(experiments, job)
        with running_experiment(experiment[0]):  # a study's trials name it as their parent
            result = work(progress)
        result_json = json.dumps(to_jsonable(result.result), sort_keys=True)
        result_data.append(json.loads(result_json))
        outcome = JobOutcome(
            ok=result.ok,
            summary=result.summary,
            report_path=result.report_path or "",
            result_json=result_json,
        )
        log.info("%s", result.summary)
        if stop.is_set():
            return finish("cancelled", EXIT_CANCELLED, error="stopped on request", outcome=outcome)
        return finish("succeeded", EXIT_OK if result.ok else EXIT_NOT_OK, outcome=outcome)
    except JobCancelled as exc:
        log.info("job %d cancelled", job_id)
        return finish("cancelled", EXIT_CANCELLED, error=f"{exc} (SIGTERM)")
    except (ApplicationError, DomainError) as exc:
        log.error("job %d failed: %s", job_id, exc)
        return finish("failed", EXIT_FAILED, error_kind=error_kind(exc), error=str(exc))
    except BaseException as exc:  # noqa: BLE001 - recorded, then the process exits
        log.error("job %d failed:\n%s", job_id, traceback.format_exc())
        return finish("failed", EXIT_FAILED, error_kind="Internal", error=f"{type(exc).__name__}: {exc}")
    finally:
        store.release(job_id)
        signal.signal(signal.SIGTERM, previous)


def _start_experiment(experiments: Callable[[], ExperimentRecorder], job: JobRecord) -> str | None:
    """The experiment id of a research job now running (None when tracking is unavailable: logged)."""
    try:
        return experiments().job_started(job)
    except Exception:  # noqa: BLE001 - tracking never fails the job (e.g. its store is down)
        log.warning("job %d: experiment tracking unavailable:\n%s", job.id, traceback.format_exc())
        return None


def _write_manifest(
    job_id: int,
    store: JobStore,
    recorder: RunRecorder | None,
    result: object | None,
    ending: Mapping[str, Any] | None = None,
) -> None:
    """Write the job's manifest (as recorded, or as it is about to end: ``ending``) and point its
    record at it; a failure is only logged."""
    if recorder is None:
        return
    job = store.get(job_id)
    if job is None:
        return
    if ending is not None:
        job = dataclasses.replace(job, **ending)
    try:
        store.set_manifest_path(job_id, recorder.write(job, result))
    except Exception:  # noqa: BLE001 - the job's own outcome is already recorded
        log.warning("job %d: could not write its run manifest:\n%s", job_id, traceback.format_exc())
