"""End to end through `ghtrader serve` and the CLI: two trains with different hyper-parameters are
two experiment records (list / show / diff / annotate), mirrored to a local MLflow file store as
they finish (`experiments export` finds them already there)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONTRACT, START, END = "SHFE.cu2705", "2026-10-12", "2026-10-14"  # a thin far month: quick
FEATURES = "imb_l1,spread_ticks,ret_10"


@pytest.fixture
def mlruns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The server's MLflow file store (set before the ``server`` fixture reads SERVER_ENV)."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # this test reads the file store back
    store = tmp_path / "mlruns"
    module = sys.modules[__name__]
    module.SERVER_ENV = {"GHTRADER_MLFLOW_TRACKING_URI": store.as_uri(), "GHTRADER_EXPERIMENT_PROJECT": "e2e"}  # type: ignore[attr-defined]
    try:
        yield store
    finally:
        del module.SERVER_ENV  # type: ignore[attr-defined]


def _ok(done: object, what: str) -> dict:
    assert done.returncode == 0, f"{what}: {done.stdout[-3000:]}{done.stderr[-3000:]}"  # type: ignore[attr-defined]
    return json.loads(done.stdout) if done.stdout.lstrip().startswith("{") else {}  # type: ignore[attr-defined]


def test_trains_are_experiments_listed_shown_diffed_and_mirrored(mlruns: Path, server: Server) -> None:  # noqa: F811
    for step in (
        ("download", CONTRACT, "--start", START, "--end", END),
        ("main-schedule", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("main-l5", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("build", "KQ.m@SHFE.cu", "--start", START, "--end", END, "--horizons", "10", "--factors", FEATURES),
    ):
        _ok(server.cli(*step), step[0])
    train = ("--json", "train", "logistic", "--start", "2026-10-13", "--end", END, "--features", FEATURES)
    first = _ok(server.cli(*train, "--seed", "1"), "train 1")
    second = _ok(server.cli(*train, "--seed", "2", "--max-train-rows", "3000"), "train 2")

    listed = _ok(server.cli("--json", "experiments", "list", "--kind", "train"), "list")["experiments"]
    assert [e["run_id"] for e in listed] == [str(second["job_id"]), str(first["job_id"])]  # newest first
    assert all(e["status"] == "succeeded" and e["project"] == "e2e" and e["kind"] == "train" for e in listed)
    assert all(e["git_commit"] and e["duration_s"] > 0 and "accuracy" in e["metrics"] for e in listed)
    assert _ok(server.cli("--json", "experiments", "list", "--kind", "backtest"), "list")["experiments"] == []

    shown = _ok(server.cli("--json", "experiments", "show", str(first["job_id"])), "show")
    assert shown["experiment_id"] == listed[1]["experiment_id"] and shown["hyperparameters"]["family"] == "logistic"
    assert shown["metrics"]["accuracy"] == pytest.approx(first["result"]["metrics"]["accuracy"])
    assert any(a.endswith("model.onnx") for a in shown["artifacts"]) and shown["report_path"].endswith(".json")
    human = server.cli("experiments", "show", listed[1]["experiment_id"])
    assert human.returncode == 0 and "train logistic" in human.stdout and "accuracy" in human.stdout

    diff = _ok(server.cli("--json", "experiments", "diff", str(first["job_id"]), str(second["job_id"])), "diff")
    changed = {p["key"]: (p["a"], p["b"]) for p in diff["parameters"]}
    assert changed == {"scope.seed": ("1", "2"), "scope.max_train_rows": ("-", "3000")}
    accuracy = next(m for m in diff["metrics"] if m["key"] == "accuracy")
    assert accuracy["delta"] == pytest.approx(accuracy["b"] - accuracy["a"])
    table = server.cli("experiments", "diff", str(first["job_id"]), str(second["job_id"]))
    assert table.returncode == 0 and "scope.max_train_rows" in table.stdout and "b - a" in table.stdout

    noted = _ok(server.cli("--json", "experiments", "annotate", listed[0]["experiment_id"], "--notes", "fewer rows",
                           "--tag", "small"), "annotate")  # fmt: skip
    assert noted["notes"] == "fewer rows" and noted["tags"] == ["small"]
    tagged = _ok(server.cli("--json", "experiments", "list", "--tag", "small"), "list --tag")["experiments"]
    assert [e["experiment_id"] for e in tagged] == [listed[0]["experiment_id"]]
    missing = server.cli("experiments", "show", "nope")
    assert missing.returncode == 3 and "no experiment" in missing.stderr

    # mirrored to MLflow as each train finished; a backfill finds the same runs
    exported = _ok(server.cli("--json", "experiments", "export"), "export")["exported"]
    assert {e["experiment_id"] for e in exported} == {e["experiment_id"] for e in listed}
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlruns.as_uri())
    experiment = client.get_experiment_by_name("ghtrader/e2e")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 2 and {r.info.run_id for r in runs} == {e["mlflow_run_id"] for e in exported}
    run = next(r for r in runs if r.data.tags["ghtrader.run_id"] == str(second["job_id"]))
    assert run.data.params["scope.seed"] == "2" and run.data.metrics["accuracy"] == pytest.approx(
        listed[0]["metrics"]["accuracy"]
    )
    assert [a.path for a in client.list_artifacts(run.info.run_id, "model")] == ["model/model.onnx"]
