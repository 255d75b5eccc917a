"""End to end through `ghtrader serve` and the CLI: `hpo logistic` on a small synthetic window
runs a study of a few trials in two local worker processes (the family's defaults first), stores
every trial in ghtrader_hpo_trials_v2 and the study in the embedded PostgreSQL, resumes it by
name, and `hpo show` prints it back; every trial is an experiment record whose parent is the
study's (the job's) record, listed by `experiments list --tag study=NAME`."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SERVER_ENV = {"GHTRADER_FANOUT_WORKERS": "2"}
THIN, START, END = "SHFE.cu2705", "2026-10-12", "2026-10-21"  # a thin far month: quick trials
STUDY = "e2e_logistic"


def _ok(done: object, what: str) -> None:
    assert done.returncode == 0, f"{what}: {done.stdout[-3000:]}{done.stderr[-3000:]}"  # type: ignore[attr-defined]


def _trial_rows(server: Server) -> list[tuple]:  # noqa: F811
    from ghtrader.adapters.postgres import open_postgres_stores

    bundle, close = open_postgres_stores(None, server.tmp / "data" / "postgres", ensure_schema=False)
    try:
        with bundle.pool.connection() as conn:
            return conn.execute(
                "SELECT trial_id, status, worker, baseline, objective_values, hyperparameters, experiment_id "
                "FROM ghtrader_hpo_trials_v2 WHERE study_id = %s ORDER BY trial_id",
                (STUDY,),
            ).fetchall()
    finally:
        close()


def test_hpo_runs_stores_resumes_and_shows_a_study(server: Server) -> None:  # noqa: F811
    for step in (
        ("download", THIN, "--start", START, "--end", END),
        ("main-schedule", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("main-l5", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("build", "KQ.m@SHFE.cu", "--start", START, "--end", END, "--horizons", "10"),
    ):
        _ok(server.cli(*step), step[0])
    args = ("hpo", "logistic", "--study", STUDY, "--start", START, "--end", END, "--max-train-rows", "3000")
    done = server.cli("--json", *args, "--n-trials", "4", "--objective", "log_loss", timeout=900)
    _ok(done, "hpo")
    out = json.loads(done.stdout)
    r = out["result"]
    assert r["study"] == STUDY and r["executor"] == "local" and r["objectives"] == ["log_loss"]
    assert r["counts"]["completed"] + r["counts"]["pruned"] == 4 and r["counts"]["failed"] == 0
    assert r["baseline"]["number"] == 0 and r["baseline"]["params"]["calibration"] == "auto"
    best = r["best"][0]
    assert best["values"]["log_loss"] <= r["baseline"]["values"]["log_loss"]
    assert r["report_paths"]["figure_paths"]["history_log_loss"].endswith(".png")

    rows = _trial_rows(server)
    assert [row[0] for row in rows] == [0, 1, 2, 3] and rows[0][3] is True
    assert all(row[1] in ("completed", "pruned") and row[2] for row in rows)
    assert all("l2_path" in row[5] for row in rows)

    # each trial is an experiment (project hpo) whose parent is the study's: the job's record
    listed = json.loads(server.cli("--json", "experiments", "list", "--tag", f"study={STUDY}").stdout)["experiments"]
    by_id = {e["experiment_id"]: e for e in listed}
    assert set(by_id) == {r["experiment_id"], *(row[6] for row in rows)} and len(by_id) == 5
    assert by_id[r["experiment_id"]]["run_id"] == str(out["job_id"])
    for row in rows:
        e = by_id[row[6]]
        assert e["project"] == "hpo" and f"parent={r['experiment_id']}" in e["tags"] and f"trial={row[0]}" in e["tags"]
        if row[1] == "completed":
            assert e["status"] == "succeeded" and e["metrics"]["log_loss"] == row[4][0]

    again = server.cli("--json", *args, "--n-trials", "1", "--objective", "log_loss", timeout=600)
    _ok(again, "hpo (resume)")
    assert json.loads(again.stdout)["result"]["ran_now"] == [4]
    assert len(_trial_rows(server)) == 5

    shown = server.cli("hpo", "show", STUDY)
    _ok(shown, "hpo show")
    assert f"study {STUDY} (logistic): 5 trial(s)" in shown.stdout and "0*" in shown.stdout
    assert rows[0][6] in shown.stdout and f"--tag study={STUDY}" in shown.stdout
    other = server.cli("--json", *args, "--n-trials", "1", "--objective", "net_sharpe,max_drawdown")
    assert other.returncode != 0 and "directions" in (other.stdout + other.stderr)
    missing = server.cli("hpo", "show", "no_such_study")
    assert missing.returncode != 0 and "no HPO study" in (missing.stdout + missing.stderr)
