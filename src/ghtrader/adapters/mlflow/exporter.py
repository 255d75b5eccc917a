"""``MlflowExperimentExporter``: mirrors a finished experiment as an MLflow run.

One MLflow experiment per ghTrader project (``ghtrader/<project>``); one run per experiment,
found again by its ``ghtrader.experiment_id`` tag, so exporting twice never duplicates. The run
gets the flattened hyper-parameters as params, the metrics (and each learning curve point as
a metric step), tags (git commit and dirty flag, kind, job id, the record's tags, notes) and as
artifacts the report file and every ONNX model the experiment names.

A ``file:`` tracking URI is MLflow's file store, which MLflow 3 keeps in maintenance mode behind
``MLFLOW_ALLOW_FILE_STORE``; choosing one here is that opt-in, so the exporter sets it.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from ghtrader.application.experiments import flatten
from ghtrader.application.ports.experiments import ExperimentRecord

__all__ = ["MlflowExperimentExporter"]

EXPERIMENT_PREFIX = "ghtrader/"
ID_TAG = "ghtrader.experiment_id"
_STATUS = {"succeeded": "FINISHED", "failed": "FAILED", "cancelled": "KILLED", "running": "RUNNING"}
_MAX_PARAM_VALUE = 6000  # MLflow's limit on a param value
_MAX_TAG_VALUE = 5000
_BATCH_PARAMS = 100  # MLflow's limits per log_batch call
_BATCH_METRICS = 1000
_KEY_BAD = re.compile(r"[^A-Za-z0-9_\-. /]")
_ARTIFACT_SUFFIXES = (".json", ".html", ".md")


def _key(name: str) -> str:
    """A name MLflow accepts as a param / metric key (letters, digits, ``_-. /``; 250 chars)."""
    return _KEY_BAD.sub("_", name)[:250] or "_"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)


class MlflowExperimentExporter:
    """ExperimentExporter on an MLflow tracking server or file store (``tracking_uri``)."""

    def __init__(self, tracking_uri: str) -> None:
        if tracking_uri.startswith("file:") or "://" not in tracking_uri:
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self._uri = tracking_uri
        self._client: MlflowClient | None = None

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = MlflowClient(tracking_uri=self._uri)
        return self._client

    def _experiment(self, project: str) -> str:
        name = EXPERIMENT_PREFIX + project
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        return str(self.client.create_experiment(name, tags={"ghtrader.project": project}))

    def find(self, record: ExperimentRecord) -> str | None:
        """The MLflow run id mirroring ``record``, or None."""
        found = self.client.get_experiment_by_name(EXPERIMENT_PREFIX + record.project)
        if found is None:
            return None
        runs = self.client.search_runs(
            [found.experiment_id], f"tags.`{ID_TAG}` = '{record.experiment_id}'", max_results=1
        )
        return str(runs[0].info.run_id) if runs else None

    def export(self, record: ExperimentRecord) -> str:
        existing = self.find(record)
        if existing is not None:
            return existing
        client = self.client
        start_ms = record.created_at_ns // 1_000_000
        run = client.create_run(
            self._experiment(record.project),
            start_time=start_ms,
            tags=self._tags(record),
            run_name=record.name or record.experiment_id,
        )
        run_id = str(run.info.run_id)
        params = [Param(_key(k), _text(v)[:_MAX_PARAM_VALUE]) for k, v in flatten(record.hyperparameters).items()]
        end_ms = (record.finished_at_ns or record.created_at_ns) // 1_000_000
        metrics = [Metric(_key(k), float(v), end_ms, 0) for k, v in record.metrics.items() if math.isfinite(v)]
        for name, points in record.learning_curves.items():
            metrics.extend(
                Metric(_key(f"curve.{name}"), float(v), start_ms + int(step), int(step))
                for step, v in points
                if math.isfinite(v)
            )
        for i in range(0, len(params), _BATCH_PARAMS):
            client.log_batch(run_id, params=params[i : i + _BATCH_PARAMS])
        for i in range(0, len(metrics), _BATCH_METRICS):
            client.log_batch(run_id, metrics=metrics[i : i + _BATCH_METRICS])
        for path, folder in self._artifacts(record):
            client.log_artifact(run_id, str(path), folder)
        status = _STATUS.get(record.status, "FINISHED")
        if status != "RUNNING":
            client.set_terminated(run_id, status, end_time=end_ms)
        return run_id

    @staticmethod
    def _tags(record: ExperimentRecord) -> dict[str, str]:
        tags = {
            ID_TAG: record.experiment_id,
            "ghtrader.run_id": record.run_id,
            "ghtrader.kind": record.kind,
            "ghtrader.project": record.project,
            "ghtrader.status": record.status,
            "ghtrader.git_dirty": "unknown" if record.git_dirty is None else str(record.git_dirty).lower(),
            "mlflow.source.git.commit": record.git_commit,
        }
        if record.notes:
            tags["mlflow.note.content"] = record.notes[:_MAX_TAG_VALUE]
        if record.error:
            tags["ghtrader.error"] = record.error[:_MAX_TAG_VALUE]
        for t in record.tags:
            tags[_key(f"tag.{t}")] = "true"
        return tags

    @staticmethod
    def _artifacts(record: ExperimentRecord) -> list[tuple[Path, str]]:
        """(file, artifact folder): the report, then every ONNX model and report-like file named."""
        out: list[tuple[Path, str]] = []
        seen: set[Path] = set()

        def add(path: Path, folder: str) -> None:
            if path.is_file() and path.resolve() not in seen:
                seen.add(path.resolve())
                out.append((path, folder))

        if record.report_path:
            add(Path(record.report_path), "report")
        for name in record.artifacts:
            p = Path(name)
            if p.suffix == ".onnx":
                add(p, "model")
            elif p.is_dir() and (p / "model.onnx").is_file():
                add(p / "model.onnx", "model")
            elif p.suffix in _ARTIFACT_SUFFIXES:
                add(p, "report")
        return out
