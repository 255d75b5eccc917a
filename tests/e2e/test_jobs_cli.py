"""End to end through `ghtrader serve` and the CLI: long-running commands run as subprocess jobs.

A job outlives a SIGKILLed server and records its own final state; a job whose process died with
the server is reconciled to failed at the next start; ``--no-wait`` fails at once naming the
holder; cancel ends the job's whole process group and records cancelled; two conflicting jobs
serialize on their lock and both end correct.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghtrader.adapters.sqlite import SqliteJobStore
from tests.e2e.test_record_train_cli import GHTRADER, Server, _current_cu_contract, _stored_raw
from tests.e2e.test_record_train_cli import server as _server_fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

server = _server_fixture
SERVER_ENV = {"GHTRADER_JOB_CANCEL_GRACE_S": "5"}
HISTORY = ("SHFE.cu2612", "2026-10-12", "2026-11-06")


def _jobs(tmp: Path) -> SqliteJobStore:
    return SqliteJobStore(tmp / "runs" / "control" / "jobs.db")


def _wait_for(predicate, timeout: float, what: str, every: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def _group_alive(pgid: int) -> bool:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def _background(srv: Server, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(GHTRADER), "--port", str(srv.port), "--wait", *args],
        env=srv.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _restart(srv: Server) -> None:
    srv.proc = subprocess.Popen(
        [str(GHTRADER), "serve"], env=srv.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_for(lambda: srv.cli("--timeout", "5", "status", timeout=60).returncode in (0, 1), 120, "the restarted server")


def _show(srv: Server, job_id: int) -> dict:  # type: ignore[type-arg]
    shown = srv.cli("--json", "jobs", "show", str(job_id))
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def recording(server: Server) -> Iterator[tuple[Server, str]]:
    yield server, _current_cu_contract(server.tmp)


def test_a_job_survives_a_killed_server_and_a_dead_job_is_reconciled(recording: tuple[Server, str]) -> None:
    srv, symbol = recording
    jobs = _jobs(srv.tmp)
    client = _background(srv, "record", symbol, "--duration", "6")
    job = _wait_for(lambda: next(iter(jobs.list_jobs(states=["running"])), None), 120, "the record job to run")
    assert job.command == "Record" and job.source == "terminal" and f"ticks:symbol={symbol}" in job.locks_held
    srv.proc.kill()  # SIGKILL: no graceful shutdown, no chance to touch the job
    srv.proc.wait(timeout=30)
    client.kill()
    client.wait(timeout=30)

    done = _wait_for(lambda: (j := jobs.get(job.id)) is not None and j.finished and j, 120, "the job to finish alone")
    assert done.state == "succeeded" and done.exit_code == 0, done
    assert done.outcome is not None and done.outcome.ok and "rows written" in done.outcome.summary
    stored, indexed = _stored_raw(srv.tmp, symbol)
    assert stored > 0 and stored == indexed

    # Now the server and the job die together: the next server start reconciles the job to failed.
    _restart(srv)
    assert _show(srv, job.id)["state"] == "succeeded"
    client = _background(srv, "record", symbol, "--duration", "120")
    srv_job = _wait_for(lambda: next(iter(jobs.list_jobs(states=["running"])), None), 120, "the second record job")
    assert srv_job.pgid is not None
    srv.proc.kill()
    os.killpg(srv_job.pgid, signal.SIGKILL)
    srv.proc.wait(timeout=30)
    client.kill()
    client.wait(timeout=30)
    _wait_for(lambda: not _group_alive(srv_job.pgid), 30, "the job's process group to die")
    assert jobs.get(srv_job.id).state == "running"  # type: ignore[union-attr]  # nobody recorded the death yet
    _restart(srv)
    reconciled = _show(srv, srv_job.id)
    assert reconciled["state"] == "failed" and reconciled["error"] == "process died; server restarted", reconciled
    assert _show(srv, job.id)["state"] == "succeeded"  # history kept
    assert srv.cli("--json", "locks").returncode == 0
    assert json.loads(srv.cli("--json", "locks").stdout)["locks"] == []
    srv.stop()
    _stop_database(srv)


def test_a_job_survives_a_graceful_server_stop_and_keeps_its_store(recording: tuple[Server, str]) -> None:
    srv, symbol = recording
    jobs = _jobs(srv.tmp)
    client = _background(srv, "record", symbol, "--duration", "8")
    job = _wait_for(lambda: next(iter(jobs.list_jobs(states=["running"])), None), 120, "the record job to run")
    srv.stop()  # SIGTERM: a graceful stop leaves the embedded PostgreSQL up for the running job
    assert srv.proc.returncode == 0
    client.kill()
    client.wait(timeout=30)
    done = _wait_for(lambda: (j := jobs.get(job.id)) is not None and j.finished and j, 120, "the job to finish alone")
    assert done.state == "succeeded" and done.exit_code == 0, done
    stored, indexed = _stored_raw(srv.tmp, symbol)
    assert stored > 0 and stored == indexed
    _stop_database(srv)


def _stop_database(srv: Server) -> None:
    """Stop the embedded PostgreSQL a killed or job-serving server left running."""
    from ghtrader.adapters.postgres import EmbeddedPostgres

    EmbeddedPostgres(srv.tmp / "data" / "postgres").stop(force=True)


def test_no_wait_names_the_holder_and_cancel_ends_the_process_group(recording: tuple[Server, str]) -> None:
    srv, symbol = recording
    jobs = _jobs(srv.tmp)
    client = _background(srv, "record", symbol, "--duration", "300")
    job = _wait_for(lambda: next(iter(jobs.list_jobs(states=["running"])), None), 120, "the record job to run")
    assert job.pgid is not None and _group_alive(job.pgid)
    refused = srv.cli("--no-wait", "download", symbol, "--start", "2026-10-12", "--end", "2026-10-16")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert f"ticks:symbol={symbol} held by job {job.id}" in refused.stderr, refused.stderr
    failed = jobs.list_jobs(states=["failed"])
    assert len(failed) == 1 and failed[0].error_kind == "FailedPrecondition" and failed[0].exit_code == 3
    started = time.monotonic()
    cancelled = srv.cli("--json", "jobs", "cancel", str(job.id))
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    shown = json.loads(cancelled.stdout)
    assert shown["state"] == "cancelled" and shown["exit_code"] == 143, shown  # the job recorded it itself
    assert time.monotonic() - started < 30
    assert not _group_alive(job.pgid)
    out, err = client.communicate(timeout=60)
    assert "recorded" in out, out + err  # the follower got the (partial) result of the stopped recording
    logs = srv.cli("jobs", "logs", str(job.id))
    assert logs.returncode == 0 and "received SIGTERM" in logs.stdout, logs.stdout[-2000:]
    assert jobs.holders() == []
    listed = json.loads(srv.cli("--json", "jobs", "list", "--state", "cancelled").stdout)["jobs"]
    assert [j["id"] for j in listed] == [job.id]
    newest = failed[0].id  # the refused download came after the recording
    older = json.loads(srv.cli("--json", "jobs", "list", "--before-id", str(newest)).stdout)["jobs"]
    assert job.id in [j["id"] for j in older] and all(j["id"] < newest for j in older)  # the next page


def test_conflicting_jobs_serialize_and_both_end_correct(server: Server) -> None:
    symbol, start, end = HISTORY
    jobs = _jobs(server.tmp)
    assert server.cli("status").returncode == 0
    first = _background(server, "--json", "download", symbol, "--start", start, "--end", end, "--chunk-days", "1")
    second = _background(server, "--json", "download", symbol, "--start", start, "--end", end, "--chunk-days", "1")
    outs = [p.communicate(timeout=600) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    results = [json.loads(out)["result"] for out, _ in outs]
    assert all(r["missing"] == 0 for r in results)
    assert sorted(r["downloaded"] for r in results)[0] == 0  # the later one found every day already there

    ran = sorted(
        (j for j in jobs.list_jobs(states=["succeeded"]) if j.command == "Download"), key=lambda j: j.start_ns or 0
    )
    assert len(ran) == 2
    assert ran[1].start_ns >= ran[0].end_ns  # type: ignore[operator]  # one after the other
    assert ran[1].waited_for.startswith(f"ticks:symbol={symbol} held by job {ran[0].id}"), ran[1].waited_for
    stored, indexed = _stored_raw(server.tmp, symbol)
    assert stored > 0 and stored == indexed


def test_without_wait_a_command_prints_its_job_id_and_the_job_runs_on(server: Server) -> None:
    """The CLI's default for a long-running command: submit, print the job id, return at once;
    the job finishes on its own (``--wait`` follows it instead)."""
    symbol, start, end = HISTORY
    started = time.monotonic()
    r = subprocess.run(
        [str(GHTRADER), "--port", str(server.port), "--json", "download", symbol, "--start", start, "--end", start],
        env=server.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    submitted = json.loads(r.stdout)
    assert submitted["submitted"] is True and submitted["job_id"] > 0
    human = subprocess.run(
        [str(GHTRADER), "--port", str(server.port), "download", symbol, "--start", start, "--end", start],
        env=server.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert human.returncode == 0 and "submitted: `ghtrader jobs logs" in human.stdout, human
    jobs = _jobs(server.tmp)
    first = _wait_for(
        lambda: (j := jobs.get(submitted["job_id"])) is not None and j.finished and j, 180, "the detached job"
    )
    assert first.state == "succeeded" and first.source == "terminal", first
    assert time.monotonic() - started < 180
    waited = server.cli("--json", "download", symbol, "--start", start, "--end", end)  # Server.cli adds --wait
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["job_id"] > submitted["job_id"]
