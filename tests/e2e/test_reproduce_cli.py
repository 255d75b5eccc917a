"""End to end through `ghtrader serve`: a small train on the synthetic market, then
`ghtrader reproduce <job> --wait` reruns it as a new job and finds the two runs equal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghtrader.adapters.sqlite import SqliteJobStore
from tests.e2e.test_record_train_cli import Server
from tests.e2e.test_record_train_cli import server as _server_fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

server = _server_fixture
CONTRACT, START, END = "SHFE.cu2705", "2026-10-12", "2026-10-16"


def test_reproduce_a_small_synthetic_train_gives_equal_metrics(server: Server) -> None:
    from ghtrader.domain.factors import CORE_L5_FACTORS

    steps = [
        ("download", CONTRACT, "--start", START, "--end", END),
        ("main-schedule", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("main-l5", "--var", "SHFE.cu", "--start", START, "--end", END),
        (
            "build",
            "KQ.m@SHFE.cu",
            "--start",
            START,
            "--end",
            END,
            "--horizons",
            "10",
            "--factors",
            ",".join(CORE_L5_FACTORS),
            "--overwrite",  # a full rebuild: its rerun rebuilds the same days (an incremental one finds them done)
        ),
        ("train", "logistic", "--start", "2026-10-13", "--end", END, "--seed", "1"),
    ]
    for step in steps:
        done = server.cli(*step, timeout=600)
        assert done.returncode == 0, f"{step[0]}: {done.stdout[-2000:]}{done.stderr[-2000:]}"

    jobs = SqliteJobStore(server.tmp / "runs" / "control" / "jobs.db")
    train = next(j for j in jobs.list_jobs() if j.command == "Train")
    assert train.state == "succeeded" and train.git_commit and train.manifest_path
    manifest = json.loads(Path(train.manifest_path).read_text())
    assert (
        manifest["config"]["settings"]["synthetic_seed"] == 7
        and int(manifest["config"]["request"]["scope"]["seed"]) == 1
    )
    assert manifest["metrics"]["metrics.accuracy"] > 0 and manifest["metrics"]["metrics.n_valid"] > 0
    meta = json.loads(Path(json.loads(train.outcome.result_json)["meta_path"]).read_text())  # type: ignore[union-attr]
    assert meta["git_commit"] == train.git_commit and meta["git_dirty"] == train.git_dirty

    shown = server.cli("jobs", "show", str(train.id))
    assert shown.returncode == 0 and f"code          {train.git_commit}" in shown.stdout, shown.stdout

    again = server.cli("--json", "reproduce", str(train.id), "--wait", timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    payload = json.loads(again.stdout)
    comparison = payload["comparison"]
    assert comparison["equal"] is True and comparison["metrics_compared"] >= 5, comparison
    assert [d for d in comparison["differences"] if d["section"] != "code"] == []
    assert payload["job"]["id"] != train.id and payload["job"]["state"] == "succeeded"
    assert payload["job"]["source"] == "terminal" and payload["job"]["args_json"] == train.args_json

    # The human form names the verdict; a rerun of the (full) build job also matches, though its
    # build id (which carries the build's time) is new: an output, recorded but not compared.
    build = next(j for j in jobs.list_jobs() if j.command == "BuildDataset")
    human = server.cli("reproduce", str(build.id), "--wait", timeout=600)
    assert human.returncode == 0 and "EQUAL" in human.stdout, human.stdout[-3000:] + human.stderr[-3000:]
