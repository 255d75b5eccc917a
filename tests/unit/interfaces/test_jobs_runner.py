"""The job process's runner and the server's job control, on a real SQLite store with a small
in-test work: final states, exit codes, ordered progress, no-wait, error kinds, cancellation."""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ghtrader.adapters.host.clock import SystemClock
from ghtrader.adapters.sqlite import SqliteJobStore
from ghtrader.application.errors import NotFound
from ghtrader.application.ports.jobs import NewJob
from ghtrader.interfaces.grpc.jobs import JobControl, JobFailed, JobSpec, process_group_alive, result_event
from ghtrader.interfaces.grpc.streaming import RunOutcome, Work
from ghtrader.interfaces.worker.runner import EXIT_CANCELLED, EXIT_FAILED, EXIT_LOCKED, EXIT_OK, run_job
from ghtrader.v1 import data_pb2


def _spec(work: Callable[[Callable[[int, int, str], None]], RunOutcome], **kw: Any) -> JobSpec:
    def build(request: data_pb2.DownloadRequest, stop: Callable[[], bool]) -> Work:
        return work

    return JobSpec("Download", data_pb2.DownloadRequest, build, lambda r: (f"ticks:symbol={r.symbol}",), **kw)


def _submit(store: SqliteJobStore, spec: JobSpec, *, no_wait: bool = False) -> int:
    request = data_pb2.DownloadRequest(symbol="SHFE.cu2612", start_day="2026-10-12", end_day="2026-10-16")
    job = NewJob(
        command=spec.command,
        args_json="{}",
        request_type=spec.type_name,
        request_b64=base64.b64encode(request.SerializeToString()).decode(),
        source="terminal",
        locks=spec.locks(request),
        no_wait=no_wait,
    )
    return store.create(job, time.time_ns()).id


def test_a_job_runs_records_ordered_progress_its_result_and_releases_its_lock(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")

    def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
        assert [h.key for h in store.holders()] == ["ticks:symbol=SHFE.cu2612"]
        for i in range(1, 4):
            progress(i, 3, f"day {i}")
        return RunOutcome(True, "3 days", {"days": 3}, "/r.json")

    spec = _spec(work)
    job_id = _submit(store, spec)
    assert run_job(job_id, store, {spec.type_name: spec}, SystemClock(), poll_s=0.01) == EXIT_OK
    job = store.get(job_id)
    assert job is not None and job.state == "succeeded" and job.exit_code == EXIT_OK
    assert job.locks_held == ("ticks:symbol=SHFE.cu2612",) and store.holders() == []  # granted, then released
    assert [(p.done, p.message) for p in store.progress_since(job_id)] == [(1, "day 1"), (2, "day 2"), (3, "day 3")]
    result = result_event(job).result
    assert result.ok and result.summary == "3 days" and json.loads(result.result_json) == {"days": 3}
    assert result.job_id == job_id and result.report_path == "/r.json"


def test_no_wait_fails_fast_naming_the_holder_and_waiting_records_it(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    spec = _spec(lambda progress: RunOutcome(True, "ok", {}))
    holder = _submit(store, spec)
    assert store.try_acquire(holder, os.getpid(), ["ticks:symbol=SHFE.cu2612"], time.time_ns()) == ()
    refused = _submit(store, spec, no_wait=True)
    assert run_job(refused, store, {spec.type_name: spec}, SystemClock()) == EXIT_LOCKED
    job = store.get(refused)
    assert job is not None and job.state == "failed" and job.error_kind == "FailedPrecondition"
    assert f"ticks:symbol=SHFE.cu2612 held by job {holder} (pid {os.getpid()})" in job.error
    with pytest.raises(Exception, match="held by job"):
        result_event(job)
    assert [h.job_id for h in store.holders()] == [holder]  # the holder keeps its lock


def test_application_errors_keep_their_kind_and_others_fail_as_internal(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")

    def missing(progress: Callable[[int, int, str], None]) -> RunOutcome:
        raise NotFound("no such contract")

    def broken(progress: Callable[[int, int, str], None]) -> RunOutcome:
        raise ZeroDivisionError("boom")

    for work, kind, error in ((missing, "NotFound", NotFound), (broken, "Internal", JobFailed)):
        spec = _spec(work)
        job_id = _submit(store, spec)
        assert run_job(job_id, store, {spec.type_name: spec}, SystemClock()) == EXIT_FAILED
        job = store.get(job_id)
        assert job is not None and job.state == "failed" and job.error_kind == kind
        with pytest.raises(error):
            result_event(job)
    assert store.holders() == []


def test_a_job_cancelled_while_queued_never_runs(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    ran = []
    spec = _spec(lambda progress: ran.append(1) or RunOutcome(True, "ran", {}))
    job_id = _submit(store, spec)
    store.finish(job_id, "cancelled", time.time_ns(), exit_code=None, error="cancelled on request")
    assert run_job(job_id, store, {spec.type_name: spec}, SystemClock()) == EXIT_FAILED
    assert ran == [] and store.get(job_id).state == "cancelled"  # type: ignore[union-attr]


def test_cancel_kills_a_job_ignoring_sigterm_after_the_grace_and_records_cancelled(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    stubborn = "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    stubborn += "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    control = JobControl(store, SystemClock(), lambda _id: [sys.executable, "-c", stubborn], poll_s=0.01)
    spec = _spec(lambda progress: RunOutcome(True, "never", {}))
    job = control.submit(spec, data_pb2.DownloadRequest(symbol="SHFE.cu2612"), source="terminal")
    spawned = store.get(job.id)
    assert spawned is not None and spawned.pgid is not None
    time.sleep(0.5)  # let it install its handler and start its child
    started = time.monotonic()
    final = control.cancel(job.id, grace_s=0.5)
    assert time.monotonic() - started < 10
    assert final.state == "cancelled" and final.error == "cancelled on request"
    assert not process_group_alive(spawned.pgid)  # the child in its group went too
    time.sleep(0.2)
    assert store.get(job.id).state == "cancelled"  # type: ignore[union-attr]  # the reaper did not overwrite it
    assert control.cancel(job.id).state == "cancelled"  # cancelling a finished job changes nothing
    assert EXIT_CANCELLED == 143


def test_a_job_process_that_dies_unrecorded_is_failed_by_its_reaper(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    control = JobControl(store, SystemClock(), lambda _id: [sys.executable, "-c", "raise SystemExit(7)"])
    spec = _spec(lambda progress: RunOutcome(True, "never", {}))
    job = control.submit(spec, data_pb2.DownloadRequest(symbol="SHFE.cu2612"))
    deadline = time.monotonic() + 30
    while not store.get(job.id).finished and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.05)
    dead = store.get(job.id)
    assert dead is not None and dead.state == "failed" and dead.exit_code == 7 and dead.error_kind == "ProcessDied"
    assert dead.source == "api" and Path(dead.log_path).exists()


def test_an_in_process_server_cancels_the_jobs_it_started_when_it_ends(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    control = JobControl(store, SystemClock(), lambda _id: sleeper, cancel_grace_s=5.0)
    spec = _spec(lambda progress: RunOutcome(True, "never", {}))
    running = control.submit(spec, data_pb2.DownloadRequest(symbol="SHFE.cu2612"))
    other = _submit(store, spec)  # registered by someone else: not this server's to cancel
    assert control.cancel_submitted("the --local command ended") == [running.id]
    assert store.get(running.id).state == "cancelled"  # type: ignore[union-attr]
    assert store.get(other).state == "queued"  # type: ignore[union-attr]


def test_the_recorder_stamps_the_code_version_and_writes_a_manifest_for_every_end(tmp_path: Path) -> None:
    from ghtrader.adapters.filesystem.run_manifests import JsonRunManifestStore
    from ghtrader.application.run_manifest import CodeVersion, RunRecorder

    store = SqliteJobStore(tmp_path / "jobs.db")
    recorder = RunRecorder(JsonRunManifestStore(tmp_path / "manifests"), CodeVersion("abc", True), {"seed": 7})

    def fails(progress: Callable[[int, int, str], None]) -> RunOutcome:
        raise NotFound("no ticks for SHFE.cu2612")

    spec = _spec(fails)
    job_id = _submit(store, spec)
    assert run_job(job_id, store, {spec.type_name: spec}, SystemClock(), recorder=recorder) == EXIT_FAILED
    job = store.get(job_id)
    assert job is not None and (job.git_commit, job.git_dirty) == ("abc", True)
    manifest = json.loads(Path(job.manifest_path).read_text())
    assert manifest["state"] == "failed" and manifest["exit_code"] == EXIT_FAILED and manifest["metrics"] == {}
    assert manifest["code"] == {"git_commit": "abc", "git_dirty": True} and manifest["config"]["settings"] == {
        "seed": 7
    }

    spec = _spec(lambda progress: RunOutcome(True, "3 days", {"days": 3, "rows": 9, "took_s": 0.1}, "/r.json"))
    job_id = _submit(store, spec)
    assert run_job(job_id, store, {spec.type_name: spec}, SystemClock(), recorder=recorder) == EXIT_OK
    job = store.get(job_id)
    assert job is not None and job.manifest_path.endswith(f"job-{job_id}.json")
    manifest = json.loads(Path(job.manifest_path).read_text())
    assert manifest["metrics"] == {"rows": 9.0} and manifest["data"] == {"days": 3} and manifest["ok"] is True


def test_the_server_records_its_code_version_on_every_job_it_submits(tmp_path: Path) -> None:
    from ghtrader.application.run_manifest import CodeVersion

    store = SqliteJobStore(tmp_path / "jobs.db")
    control = JobControl(store, SystemClock(), lambda _id: ["true"], code_version=CodeVersion("5e1f00", True))
    spec = _spec(lambda progress: RunOutcome(True, "x", {}))
    job = control.submit(spec, data_pb2.DownloadRequest(symbol="SHFE.cu2612"))
    got = store.get(job.id)
    assert got is not None and (got.git_commit, got.git_dirty) == ("5e1f00", True)  # even if it never runs


def test_a_job_whose_process_dies_unrecorded_gets_its_manifest_from_the_server(tmp_path: Path) -> None:
    from ghtrader.adapters.filesystem.run_manifests import JsonRunManifestStore
    from ghtrader.application.run_manifest import CodeVersion, RunRecorder

    store = SqliteJobStore(tmp_path / "jobs.db")
    recorder = RunRecorder(JsonRunManifestStore(tmp_path / "manifests"), CodeVersion("abc", False), {})
    control = JobControl(
        store, SystemClock(), lambda _id: [sys.executable, "-c", "raise SystemExit(9)"], recorder=recorder
    )
    job = control.submit(
        _spec(lambda progress: RunOutcome(True, "x", {})), data_pb2.DownloadRequest(symbol="SHFE.cu2612")
    )
    deadline = time.monotonic() + 30
    while (got := store.get(job.id)) is not None and not got.manifest_path and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got is not None and got.state == "failed" and got.error_kind == "ProcessDied" and got.exit_code == 9
    manifest = json.loads(Path(got.manifest_path).read_text())
    assert manifest["state"] == "failed" and manifest["exit_code"] == 9 and manifest["metrics"] == {}
    assert manifest["code"] == {"git_commit": "abc", "git_dirty": False}


def test_a_job_reconciled_at_server_start_gets_its_manifest(tmp_path: Path) -> None:
    from ghtrader.adapters.filesystem.run_manifests import JsonRunManifestStore
    from ghtrader.application.run_manifest import CodeVersion, RunRecorder

    store = SqliteJobStore(tmp_path / "jobs.db", is_alive=lambda _pid, _since: False)
    recorder = RunRecorder(JsonRunManifestStore(tmp_path / "manifests"), CodeVersion("abc", False), {})
    control = JobControl(store, SystemClock(), lambda _id: ["true"], recorder=recorder)
    job_id = _submit(store, _spec(lambda progress: RunOutcome(True, "x", {})))
    store.set_process(job_id, 4_000_000, 4_000_000)
    assert store.mark_running(job_id, [], time.time_ns())
    assert control.reconcile() == [job_id]
    job = store.get(job_id)
    assert job is not None and job.state == "failed" and job.manifest_path
    assert json.loads(Path(job.manifest_path).read_text())["state"] == "failed"


def test_a_research_job_is_an_experiment_finished_before_its_state_turns_final(tmp_path: Path) -> None:
    from ghtrader.adapters.memory.experiment_store import InMemoryExperimentStore
    from ghtrader.application.experiments import ExperimentRecorder
    from ghtrader.application.run_manifest import CodeVersion

    store = SqliteJobStore(tmp_path / "jobs.db")
    experiments = InMemoryExperimentStore()
    recorder = ExperimentRecorder(experiments, SystemClock(), CodeVersion("abc", False), project="cu")
    seen_running: list[str] = []

    def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
        seen_running.extend(r.status for r in experiments.list())
        return RunOutcome(True, "trained", {"metrics": {"accuracy": 0.6}, "onnx_path": "/a/model.onnx"}, "/a/meta.json")

    def build(request: data_pb2.DownloadRequest, stop: Callable[[], bool]) -> Work:
        return work

    train = JobSpec("Train", data_pb2.DownloadRequest, build)
    download = _spec(lambda progress: RunOutcome(True, "ok", {}))
    catalog = {train.type_name: train}
    train_id = _submit(store, train)
    assert run_job(train_id, store, catalog, SystemClock(), experiments=lambda: recorder) == EXIT_OK
    assert seen_running == ["running"]
    (record,) = experiments.list()
    assert (record.kind, record.run_id, record.status, record.project) == ("train", str(train_id), "succeeded", "cu")
    assert record.metrics == {"accuracy": 0.6} and record.artifacts == ("/a/model.onnx",)
    assert record.duration_s is not None and record.duration_s >= 0

    other = _submit(store, download)  # not a research command: no experiment
    assert run_job(other, store, {download.type_name: download}, SystemClock(), experiments=lambda: recorder) == EXIT_OK
    assert len(experiments.list()) == 1

    def broken(progress: Callable[[int, int, str], None]) -> RunOutcome:
        raise ZeroDivisionError("boom")

    failing = JobSpec("Train", data_pb2.DownloadRequest, lambda r, s: broken)
    failed_id = _submit(store, failing)
    assert run_job(failed_id, store, {failing.type_name: failing}, SystemClock(), experiments=lambda: recorder) == 2
    failed = experiments.list()[0]
    assert failed.run_id == str(failed_id) and failed.status == "failed" and "ZeroDivisionError" in failed.error


def test_a_research_job_whose_process_dies_has_its_experiment_failed_by_the_server(tmp_path: Path) -> None:
    from ghtrader.adapters.memory.experiment_store import InMemoryExperimentStore
    from ghtrader.application.experiments import ExperimentRecorder
    from ghtrader.application.run_manifest import CodeVersion

    store = SqliteJobStore(tmp_path / "jobs.db")
    experiments = InMemoryExperimentStore()
    recorder = ExperimentRecorder(experiments, SystemClock(), CodeVersion("abc", False))
    # the "process" dies once its experiment is running, as a worker killed mid-train would
    control = JobControl(
        store, SystemClock(), lambda _id: [sys.executable, "-c", "raise SystemExit(9)"], experiments=lambda: recorder
    )
    train = JobSpec("Train", data_pb2.DownloadRequest, lambda r, s: lambda progress: RunOutcome(True, "x", {}))
    other = recorder.start("train", {}, run_id="999")  # another job's record stays as it is
    eid = recorder.start("train", {"family": "tcn"}, run_id="1")  # before the process can die
    job = control.submit(train, data_pb2.DownloadRequest(symbol="SHFE.cu2612"))
    assert job.id == 1  # a fresh registry's first job
    deadline = time.monotonic() + 30
    while (r := experiments.get(eid)) is not None and r.status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r is not None and r.status == "failed" and "exited with code 9" in r.error and r.duration_s is not None
    assert experiments.get(other).status == "running"  # type: ignore[union-attr]
