"""`ghtrader jobs ...` and `ghtrader locks` against a real gRPC server over a SQLite job store."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ghtrader.adapters.host.clock import SystemClock
from ghtrader.adapters.sqlite import SqliteJobStore
from ghtrader.application.ports.jobs import JobOutcome, NewJob
from ghtrader.interfaces.cli import CliHooks, ConnectionDefaults, run
from ghtrader.interfaces.grpc.jobs import JobControl
from ghtrader.interfaces.grpc.server import GrpcServer, ServerOptions
from ghtrader.interfaces.grpc.servicers.jobs import jobs_service

Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[tuple[SqliteJobStore, Invoke]]:
    store = SqliteJobStore(tmp_path / "control" / "jobs.db")
    control = JobControl(store, SystemClock(), lambda _id: ["true"])
    server = GrpcServer(ServerOptions(port=0), [jobs_service(control)])
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
        yield store, invoke
    finally:
        server.stop(grace_s=0.1)


def test_jobs_list_show_logs_and_locks(cli: tuple[SqliteJobStore, Invoke]) -> None:
    store, invoke = cli
    now = time.time_ns()
    done = store.create(NewJob("Download", '{"symbol": "SHFE.cu2612"}', "t", "", "terminal", ("ticks:symbol=a",)), now)
    store.set_process(done.id, 4242, 4242)
    store.mark_running(done.id, ["ticks:symbol=a"], now)
    store.finish(done.id, "succeeded", now + 2_000_000_000, exit_code=0, outcome=JobOutcome(True, "5 days", "", "{}"))
    Path(done.log_path).write_text("line one\nline two\n")
    queued = store.create(NewJob("BuildDataset", "{}", "t", "", "api"), now)

    code, out, _ = invoke("jobs", "list")
    assert code == 0 and "Download" in out and "succeeded" in out and "5 days" in out and "BuildDataset" in out
    code, out, _ = invoke("--json", "jobs", "list", "--state", "queued")
    assert code == 0 and [j["id"] for j in json.loads(out)["jobs"]] == [queued.id]
    code, out, _ = invoke("--json", "jobs", "list", "--source", "terminal")
    assert [j["id"] for j in json.loads(out)["jobs"]] == [done.id]

    code, out, _ = invoke("jobs", "show", str(done.id))
    assert code == 0 and "(succeeded, from terminal)" in out and "took 2.0s, exit 0" in out
    assert "ticks:symbol=a" in out and "ok: 5 days" in out
    code, out, _ = invoke("jobs", "logs", str(done.id))
    assert code == 0 and out == "line one\nline two\n"
    code, out, _ = invoke("jobs", "logs", str(done.id), "--tail", "9", "--follow")  # ended: follow returns
    assert code == 0 and out == "line two\n"

    assert store.try_acquire(queued.id, 1, ["build:symbol=x,ticks_lake=raw"], now) == ()
    code, out, _ = invoke("--json", "locks")
    assert [(lk["key"], lk["job_id"]) for lk in json.loads(out)["locks"]] == [
        ("build:symbol=x,ticks_lake=raw", queued.id)
    ]
    code, out, _ = invoke("locks")
    assert "build:symbol=x,ticks_lake=raw" in out

    code, _, err = invoke("jobs", "show", "999")
    assert code == 3 and "no job 999" in err
    code, _, err = invoke("jobs", "show", "abc")
    assert code == 2


def test_cancel_of_a_job_never_started_records_cancelled(cli: tuple[SqliteJobStore, Invoke]) -> None:
    store, invoke = cli
    job = store.create(NewJob("Train", "{}", "t", "", "api"), time.time_ns())
    code, out, _ = invoke("--json", "jobs", "cancel", str(job.id), "--grace", "0")
    assert code == 0 and json.loads(out)["state"] == "cancelled"
    code, out, _ = invoke("jobs", "cancel", str(job.id))  # already final: reported, not changed
    assert code == 0 and "cancelled" in out
