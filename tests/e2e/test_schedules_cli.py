"""End to end through `ghtrader serve` and the CLI: the server's scheduler and the daily update.

The server stores the daily update schedule (APScheduler, SQLite job store) and lists it with its
next run; firing it submits one ``update`` job per target as a scheduler job; firing it again
while that job is active submits nothing; once the trading day has its update, nothing more; a
bad target setting stops the server at start with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_record_train_cli import GHTRADER, Server
from tests.e2e.test_record_train_cli import server as _server_fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

server = _server_fixture
# 03:00 on January 1st: never during a test run
SERVER_ENV = {
    "GHTRADER_DAILY_UPDATE_TARGETS": "SHFE:cu",
    "GHTRADER_DAILY_UPDATE_CRON": "0 3 1 1 *",
    "GHTRADER_DAILY_TRAIN_SYMBOLS": "KQ.m@SHFE.cu",
    "GHTRADER_DAILY_TRAIN_CRON": "0 4 1 1 *",
}


def _json(srv: Server, *args: str) -> dict:  # type: ignore[type-arg]
    r = srv.cli("--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_daily_update_schedule_fires_one_update_per_trading_day(server: Server) -> None:
    listed = _json(server, "schedules")
    assert listed["running"] and listed["daily_update_targets"] == ["SHFE:cu"]
    train_sched, sched = listed["schedules"]  # by id
    assert train_sched["schedule_id"] == "daily_train" and "KQ.m@SHFE.cu" in train_sched["description"]
    assert sched["schedule_id"] == "daily_update" and sched["coalesce"] and sched["misfire_grace_s"] == 3600
    nxt = datetime.fromtimestamp(sched["next_run_ns"] / 1e9, ZoneInfo("Asia/Shanghai"))
    assert (nxt.month, nxt.day, nxt.hour, nxt.minute) == (1, 1, 3, 0)

    first = _json(server, "schedules", "run", "daily_update")["result"]
    assert first.startswith("SHFE:cu: submitted job "), first
    job_id = int(first.split("submitted job ")[1].split()[0])
    job = _json(server, "jobs", "show", str(job_id))
    assert job["command"] == "Update" and job["source"] == "scheduler", job
    assert job["state"] in ("queued", "running", "succeeded"), job

    again = _json(server, "schedules", "run", "daily_update")["result"]
    if _json(server, "jobs", "show", str(job_id))["state"] in ("queued", "running"):
        assert again.startswith(f"SHFE:cu: already_active job {job_id}") or again.startswith("SHFE:cu: already_done")
        cancelled = server.cli("jobs", "cancel", str(job_id))
        assert cancelled.returncode in (0, 1), cancelled.stderr
    third = _json(server, "schedules", "run", "daily_update")["result"]
    assert third.startswith("SHFE:cu: already_done"), third  # the trading day had its update
    updates = [j for j in _json(server, "jobs", "list")["jobs"] if j["command"] == "Update"]
    assert [j["id"] for j in updates] == [job_id]  # one update job in all
    claims = _json(server, "schedules")["claims"]
    assert [(c["target"], c["job_id"]) for c in claims] == [("SHFE:cu", job_id)]

    # the continual-training loop: one daily-train job of the symbol, as a scheduler job
    train = _json(server, "schedules", "run", "daily_train")["result"]
    assert train.startswith("daily-train:KQ.m@SHFE.cu: submitted job "), train
    train_id = int(train.split("submitted job ")[1].split()[0])
    job = _json(server, "jobs", "show", str(train_id))
    assert job["command"] == "DailyTrain" and job["source"] == "scheduler", job
    server.cli("jobs", "cancel", str(train_id))  # the loop itself is daily-train's own e2e test
    again = _json(server, "schedules", "run", "daily_train")["result"]
    assert again.startswith("daily-train:KQ.m@SHFE.cu: already_done"), again


def test_a_bad_daily_update_target_stops_the_server_with_the_reason(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHTRADER_", "TQ"))}
    env.update(
        GHTRADER_DATA_DIR=str(tmp_path / "data"),
        GHTRADER_RUNS_DIR=str(tmp_path / "runs"),
        GHTRADER_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
        GHTRADER_GRPC_PORT="0",
        GHTRADER_DAILY_UPDATE_TARGETS="DCE:m",
    )
    started = time.monotonic()
    r = subprocess.run([str(GHTRADER), "serve"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "daily update target 'DCE:m'" in r.stderr
    assert time.monotonic() - started < 120
