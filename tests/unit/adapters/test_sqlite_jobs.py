"""SQLite job registry and lock table: compare-and-set states, all-or-nothing locks, reaping of
dead holders, the TqSdk slot cap, and real processes racing for one lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ghtrader.adapters.sqlite import SqliteJobStore
from ghtrader.application.ports.jobs import JobOutcome, NewJob


def _job(store: SqliteJobStore, locks: tuple[str, ...] = (), tqsdk: bool = False) -> int:
    return store.create(NewJob("download", "{}", "ghtrader.v1.DownloadRequest", "", "terminal", locks, tqsdk), 1).id


def test_create_get_list_and_compare_and_set_transitions(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "control" / "jobs.db")
    a = store.create(NewJob("download", '{"symbol": "SHFE.cu2612"}', "t", "AAA=", "terminal", ("ticks:symbol=x",)), 10)
    b = store.create(NewJob("build", "{}", "t", "", "api"), 20)
    assert a.state == "queued" and a.log_path.endswith(f"logs/job-{a.id}.log") and a.locks_wanted == ("ticks:symbol=x",)
    assert [j.id for j in store.list_jobs()] == [b.id, a.id]
    assert [j.id for j in store.list_jobs(source="terminal")] == [a.id]
    assert store.mark_running(a.id, ["ticks:symbol=x"], 100)
    assert not store.mark_running(a.id, [], 101)  # already running: the CAS refuses
    store.set_progress(a.id, 3, 10, "day 3")
    assert store.finish(a.id, "succeeded", 300, exit_code=0, outcome=JobOutcome(True, "done", "r.json", "{}"))
    assert not store.finish(a.id, "failed", 400, exit_code=1)  # the first final state wins
    got = store.get(a.id)
    assert got is not None and got.state == "succeeded" and got.exit_code == 0 and got.duration_s == pytest.approx(2e-7)
    assert (
        got.progress_done == 3
        and got.outcome == JobOutcome(True, "done", "r.json", "{}")
        and got.locks_held == ("ticks:symbol=x",)
    )
    assert [j.id for j in store.list_jobs(states=["queued"])] == [b.id]
    with pytest.raises(ValueError):
        store.finish(b.id, "running", 1, exit_code=None)


def test_list_pages_by_id_newest_first(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    ids = [_job(store) for _ in range(7)]
    first = store.list_jobs(limit=3)
    assert [j.id for j in first] == ids[::-1][:3]
    second = store.list_jobs(limit=3, before_id=first[-1].id)
    assert [j.id for j in second] == ids[::-1][3:6]
    assert [j.id for j in store.list_jobs(limit=3, before_id=second[-1].id)] == [ids[0]]
    assert store.list_jobs(before_id=ids[0]) == []


def test_locks_all_or_nothing_no_preemption_and_reaping(tmp_path: Path) -> None:
    alive = {111: True, 222: True}
    store = SqliteJobStore(tmp_path / "jobs.db", is_alive=lambda pid, _since: alive.get(pid, False))
    j1, j2 = _job(store), _job(store)
    assert store.try_acquire(j1, 111, ["a", "b"], 1) == ()
    blockers = store.try_acquire(j2, 222, ["b", "c"], 2)
    assert [(h.key, h.job_id, h.pid) for h in blockers] == [("b", j1, 111)]
    assert [h.key for h in store.holders()] == ["a", "b"]  # "c" was not taken: all or nothing
    assert store.try_acquire(j2, 222, ["c"], 3) == ()
    assert store.try_acquire(j1, 111, ["a"], 4) == ()  # a holder re-asking for its own lock is fine
    alive[111] = False  # the holder died: its locks are reaped at the next acquire
    assert store.try_acquire(j2, 222, ["a", "b"], 5) == ()
    assert {(h.key, h.job_id) for h in store.holders()} == {("a", j2), ("b", j2), ("c", j2)}
    assert store.release(j2) == 3 and store.holders() == []


def test_tqsdk_slots_are_a_counted_resource(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db", is_alive=lambda pid, _since: True)
    jobs = [_job(store, tqsdk=True) for _ in range(3)]
    assert store.try_acquire(jobs[0], 1, ["k0"], 1, tqsdk_slots=2) == ()
    assert store.try_acquire(jobs[0], 1, ["k0"], 1, tqsdk_slots=2) == ()  # still one slot for this job
    assert store.try_acquire(jobs[1], 2, ["k1"], 1, tqsdk_slots=2) == ()
    blockers = store.try_acquire(jobs[2], 3, ["k2"], 1, tqsdk_slots=2)
    assert sorted(h.job_id for h in blockers) == jobs[:2]
    assert "k2" not in {h.key for h in store.holders()}
    store.release(jobs[0])
    assert store.try_acquire(jobs[2], 3, ["k2"], 2, tqsdk_slots=2) == ()
    assert sum(h.key.startswith("tqsdk:slot=") for h in store.holders()) == 2


def test_reconcile_fails_active_jobs_whose_process_died_and_keeps_history(tmp_path: Path) -> None:
    alive = {10: True}
    store = SqliteJobStore(tmp_path / "jobs.db", is_alive=lambda pid, _since: alive.get(pid, False))
    live, dead, never, done = (_job(store) for _ in range(4))
    store.set_process(live, 10, 10)
    store.set_process(dead, 20, 20)
    store.mark_running(dead, ["x"], 5)
    store.try_acquire(dead, 20, ["x"], 5)
    store.finish(done, "succeeded", 6, exit_code=0)
    assert sorted(store.reconcile(7, "process died; server restarted")) == sorted([dead, never])
    d = store.get(dead)
    assert d is not None and d.state == "failed" and d.error == "process died; server restarted"
    assert store.get(live).state == "queued" and store.get(done).state == "succeeded"  # type: ignore[union-attr]
    assert store.holders() == [] and len(store.list_jobs()) == 4


_RACER = textwrap.dedent(
    """
    import os, sys, time
    from ghtrader.adapters.sqlite import SqliteJobStore
    store = SqliteJobStore(sys.argv[1])
    job_id, out = int(sys.argv[2]), sys.argv[3]
    while store.try_acquire(job_id, os.getpid(), ["ticks:symbol=SHFE.cu2612"], time.time_ns()):
        time.sleep(0.01)
    start = time.monotonic()
    time.sleep(0.1)
    end = time.monotonic()
    store.release(job_id)
    with open(out, "a") as f:
        f.write(f"{start} {end}\\n")
    """
)


def test_real_processes_racing_for_one_lock_never_overlap(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    store = SqliteJobStore(db)
    out = tmp_path / "intervals.txt"
    procs = [subprocess.Popen([sys.executable, "-c", _RACER, str(db), str(_job(store)), str(out)]) for _ in range(5)]
    deadline = time.monotonic() + 60
    for p in procs:
        assert p.wait(timeout=max(1.0, deadline - time.monotonic())) == 0
    intervals = sorted(tuple(map(float, line.split())) for line in out.read_text().splitlines())
    assert len(intervals) == 5
    for (_s1, e1), (s2, _e2) in zip(intervals, intervals[1:], strict=False):
        assert s2 >= e1, intervals  # one holder at a time


def test_a_killed_holder_process_loses_its_lock(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        j1, j2 = _job(store), _job(store)
        assert store.try_acquire(j1, holder.pid, ["k"], time.time_ns()) == ()
        assert store.try_acquire(j2, 1, ["k"], time.time_ns())  # a live holder is never preempted
        holder.kill()
        holder.wait()
        assert store.try_acquire(j2, 1, ["k"], time.time_ns()) == ()
    finally:
        holder.kill()


def test_a_database_of_another_schema_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    import sqlite3

    from ghtrader.adapters.sqlite.jobs import JobStoreSchemaError

    db = tmp_path / "jobs.db"
    SqliteJobStore(db).list_jobs()  # creates the current schema
    assert SqliteJobStore(db).list_jobs() == []  # and opens it again
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(JobStoreSchemaError, match="move the file aside"):
        SqliteJobStore(db).list_jobs()


def test_a_version_1_database_is_migrated_in_place_and_keeps_its_history(tmp_path: Path) -> None:
    import sqlite3

    from ghtrader.adapters.sqlite.jobs import SCHEMA_VERSION

    db = tmp_path / "jobs.db"
    old = SqliteJobStore(db)
    kept = _job(old)
    assert old.finish(kept, "succeeded", 5, exit_code=0, outcome=JobOutcome(True, "done", "", "{}"))
    with sqlite3.connect(db) as conn:  # back to the version-1 table: no code version, no manifest
        for column in ("git_commit", "git_dirty", "manifest_path"):
            conn.execute(f"ALTER TABLE jobs DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 1")
    store = SqliteJobStore(db)
    got = store.get(kept)
    assert got is not None and got.state == "succeeded" and got.outcome == JobOutcome(True, "done", "", "{}")
    assert (got.git_commit, got.git_dirty, got.manifest_path) == ("", None, "")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    store.set_code_version(kept, "abc123def456", True)
    store.set_manifest_path(kept, "/runs/control/manifests/job-1.json")
    got = SqliteJobStore(db).get(kept)
    assert got is not None and (got.git_commit, got.git_dirty, got.manifest_path) == (
        "abc123def456",
        True,
        "/runs/control/manifests/job-1.json",
    )
    fresh = _job(store)
    store.set_code_version(fresh, "unknown", None)
    got = store.get(fresh)
    assert got is not None and got.git_commit == "unknown" and got.git_dirty is None
