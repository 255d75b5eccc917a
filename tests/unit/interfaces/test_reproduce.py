"""`ghtrader reproduce` and the JobsService's ReproduceJob / CompareJobs against a real gRPC
server, a SQLite job store and real job processes (a small deterministic work)."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ghtrader.adapters.filesystem.run_manifests import JsonRunManifestStore
from ghtrader.adapters.host.clock import SystemClock
from ghtrader.adapters.sqlite import SqliteJobStore
from ghtrader.application.ports.jobs import NewJob
from ghtrader.interfaces.cli import CliHooks, ConnectionDefaults, run
from ghtrader.interfaces.client import GhTraderClient
from ghtrader.interfaces.grpc.jobs import JobControl
from ghtrader.interfaces.grpc.server import GrpcServer, ServerOptions
from ghtrader.interfaces.grpc.servicers.jobs import jobs_service
from ghtrader.v1 import data_pb2

WORKER = Path(__file__).with_name("_reproduce_worker.py")


def _worker_module() -> Any:
    spec = importlib.util.spec_from_file_location("_reproduce_worker", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker_spec = _worker_module().spec

Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[SqliteJobStore, Path, Invoke, str]]:
    db, manifests, bias = tmp_path / "control" / "jobs.db", tmp_path / "control" / "manifests", tmp_path / "bias"
    store = SqliteJobStore(db)
    command = lambda job_id: [sys.executable, str(WORKER), str(job_id), str(db), str(manifests), str(bias)]  # noqa: E731
    control = JobControl(store, SystemClock(), command, poll_s=0.02)
    spec = worker_spec(bias)
    server = GrpcServer(
        ServerOptions(port=0), [jobs_service(control, {spec.type_name: spec}, JsonRunManifestStore(manifests))]
    )
    server.start()

    @contextmanager
    def local() -> Iterator[str]:
        yield server.target

    def invoke(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = run(
            ["--local", *argv],
            defaults=ConnectionDefaults(),
            hooks=CliHooks(serve=lambda h, p: 0, local_server=local),
            stdout=out,
            stderr=err,
        )
        return code, out.getvalue(), err.getvalue()

    try:
        yield store, bias, invoke, server.target
    finally:
        server.stop(grace_s=0.1)


def _original(store: SqliteJobStore) -> int:
    """Run one job through the worker (as the server would) and wait for it."""
    request = data_pb2.DownloadRequest(symbol="SHFE.cu2612", start_day="2026-10-12", end_day="2026-10-16")
    job = store.create(
        NewJob(
            "Download",
            json.dumps({"symbol": "SHFE.cu2612", "start_day": "2026-10-12", "end_day": "2026-10-16"}, sort_keys=True),
            "ghtrader.v1.DownloadRequest",
            base64.b64encode(request.SerializeToString()).decode(),
            "terminal",
        ),
        time.time_ns(),
    )
    db, manifests = store.path, store.path.parent / "manifests"
    bias = store.path.parent.parent / "bias"
    subprocess.run([sys.executable, str(WORKER), str(job.id), str(db), str(manifests), str(bias)], check=True)
    return job.id


def test_reproduce_wait_reruns_the_request_and_finds_it_equal(world: tuple[SqliteJobStore, Path, Invoke, str]) -> None:
    store, _bias, invoke, _target = world
    first = _original(store)
    job = store.get(first)
    assert job is not None and job.state == "succeeded" and job.git_commit == "c0ffee" and job.git_dirty is False
    manifest = json.loads(Path(job.manifest_path).read_text())
    assert manifest["metrics"] == {"rows": 1234.0, "score": pytest.approx(1.1)}  # duration_s is volatile
    assert manifest["data"] == {"days": ["2026-10-12", "2026-10-16"]}
    assert manifest["config"]["request"]["symbol"] == "SHFE.cu2612" and manifest["code"]["git_commit"] == "c0ffee"

    code, out, err = invoke("reproduce", str(first), "--wait")
    assert code == 0, out + err
    assert f"reproduces job {first}: EQUAL (2 metrics compared" in out, out
    again = store.list_jobs(limit=1)[0]
    assert again.id != first and again.state == "succeeded" and again.source == "terminal"
    assert again.request_b64 == job.request_b64 and again.args_json == job.args_json

    code, out, _ = invoke("jobs", "show", str(again.id))
    assert code == 0 and "code          c0ffee (clean)" in out and f"manifests/job-{again.id}.json" in out


def test_reproduce_reports_a_table_of_differences_and_exits_1(world: tuple[SqliteJobStore, Path, Invoke, str]) -> None:
    store, bias, invoke, target = world
    first = _original(store)
    bias.write_text("0.5")  # the data changed underneath: the rerun scores differently
    code, out, err = invoke("--json", "reproduce", str(first), "--wait")
    assert code == 1, out + err
    payload = json.loads(out)
    comparison = payload["comparison"]
    assert comparison["equal"] is False and comparison["metrics_compared"] == 2
    assert [(d["section"], d["key"]) for d in comparison["differences"]] == [("metrics", "score")]
    assert comparison["differences"][0]["abs_diff"] == pytest.approx(0.5)

    code, out, _ = invoke("reproduce", str(first), "--wait", "--atol", "0.6")  # within a looser tolerance
    assert code == 0 and "EQUAL" in out, out
    code, out, _ = invoke("reproduce", str(first), "--wait")
    assert code == 1 and "DIFFERENT" in out and "score" in out and "0.5" in out, out

    # Without --wait: the new job's id at once; compare later through the client.
    code, out, _ = invoke("--json", "reproduce", str(first))
    assert code == 0
    new_id = json.loads(out)["job"]["id"]
    client = GhTraderClient(target)
    try:
        for _ in range(300):
            if client.get_job(new_id)["state"] == "succeeded":
                break
            time.sleep(0.05)
        assert client.compare_jobs(first, new_id, atol=1.0)["equal"] is True
    finally:
        client.close()


def test_reproduce_and_compare_refusals(world: tuple[SqliteJobStore, Path, Invoke, str]) -> None:
    store, _bias, invoke, _target = world
    code, _, err = invoke("reproduce", "999")
    assert code == 3 and "no job 999" in err
    queued = store.create(NewJob("Download", "{}", "ghtrader.v1.DownloadRequest", "", "api"), time.time_ns())
    code, _, err = invoke("reproduce", str(queued.id))
    assert code == 3 and "still queued" in err
    store.finish(queued.id, "failed", time.time_ns(), exit_code=2)
    other = store.create(NewJob("Train", "{}", "ghtrader.v1.TrainRequest", "", "api"), time.time_ns())
    store.finish(other.id, "succeeded", time.time_ns(), exit_code=0)
    code, _, err = invoke("reproduce", str(other.id))
    assert code == 3 and "cannot be rerun by this server" in err
    first = _original(store)
    before = len(store.list_jobs())
    code, _, err = invoke("reproduce", str(first), "--wait", "--rtol", "-1")
    assert code == 2 and "--rtol" in err and len(store.list_jobs()) == before  # refused before submitting
