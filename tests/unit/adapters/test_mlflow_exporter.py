"""The MLflow exporter against a local MLflow file store: params, metrics (with per-epoch steps),
tags, the report JSON and the ONNX model are in the run; exporting again never duplicates."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ghtrader.application.ports.experiments import ExperimentRecord


def test_a_finished_experiment_is_mirrored_once(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from ghtrader.adapters.mlflow import MlflowExperimentExporter

    model_dir = tmp_path / "artifacts" / "models" / "tcn" / "3"
    model_dir.mkdir(parents=True)
    (model_dir / "model.onnx").write_bytes(b"onnx-bytes")
    report = model_dir / "meta_h10.json"
    report.write_text(json.dumps({"model_id": "m"}))
    record = ExperimentRecord(
        experiment_id="abc123def456",
        kind="train",
        project="cu",
        run_id="42",
        name="train tcn KQ.m@SHFE.cu",
        status="succeeded",
        hyperparameters={"family": "tcn", "scope": {"horizon": 10, "train": {"params": {"lr": 0.001}}}},
        metrics={"accuracy": 0.61, "macro_f1": 0.44, "log_loss": math.nan},
        learning_curves={"train_loss": ((1, 1.0), (2, 0.8), (3, 0.7))},
        artifacts=(str(model_dir), str(model_dir / "model.onnx"), str(report)),
        git_commit="0123456789ab",
        git_dirty=True,
        created_at_ns=1_760_000_000_000_000_000,
        finished_at_ns=1_760_000_005_000_000_000,
        duration_s=5.0,
        tags=("baseline",),
        notes="first deep run",
        report_path=str(report),
    )
    uri = (tmp_path / "mlruns").as_uri()
    exporter = MlflowExperimentExporter(uri)
    run_id = exporter.export(record)
    assert exporter.export(record) == run_id  # idempotent

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("ghtrader/cu")
    assert experiment is not None
    assert len(client.search_runs([experiment.experiment_id])) == 1
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"family": "tcn", "scope.horizon": "10", "scope.train.params.lr": "0.001"}
    assert run.data.metrics["accuracy"] == pytest.approx(0.61) and "log_loss" not in run.data.metrics
    history = client.get_metric_history(run_id, "curve.train_loss")
    assert sorted((m.step, m.value) for m in history) == [(1, 1.0), (2, 0.8), (3, 0.7)]
    tags = run.data.tags
    assert tags["mlflow.source.git.commit"] == "0123456789ab" and tags["ghtrader.git_dirty"] == "true"
    assert tags["ghtrader.experiment_id"] == "abc123def456" and tags["ghtrader.run_id"] == "42"
    assert tags["tag.baseline"] == "true" and tags["mlflow.note.content"] == "first deep run"
    assert [a.path for a in client.list_artifacts(run_id, "model")] == ["model/model.onnx"]
    assert [a.path for a in client.list_artifacts(run_id, "report")] == ["report/meta_h10.json"]
    local = Path(client.download_artifacts(run_id, "model/model.onnx", str(tmp_path / "dl")))
    assert local.read_bytes() == b"onnx-bytes"
