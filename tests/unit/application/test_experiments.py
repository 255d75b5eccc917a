"""ExperimentRecorder (start / finish / job hooks / export) and Experiments (get by job id, diff)."""

from __future__ import annotations

import json
import math

import pytest

from ghtrader.adapters.memory.experiment_store import InMemoryExperimentStore
from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.experiments import (
    ExperimentRecorder,
    Experiments,
    current_experiment,
    result_artifacts,
    result_curves,
    result_metrics,
    running_experiment,
)
from ghtrader.application.ports.experiments import ExperimentFilter, ExperimentRecord
from ghtrader.application.ports.jobs import JobOutcome, JobRecord
from ghtrader.application.run_manifest import CodeVersion
from tests.fakes.system import FakeClock


class ListExporter:
    def __init__(self, fail: bool = False) -> None:
        self.exported: list[ExperimentRecord] = []
        self.fail = fail

    def export(self, record: ExperimentRecord) -> str:
        if self.fail:
            raise RuntimeError("tracking server down")
        self.exported.append(record)
        return f"mlflow-{record.experiment_id}"


def _job(job_id: int, command: str, args: dict[str, object], report: str = "") -> JobRecord:
    return JobRecord(
        id=job_id, command=command, args_json=json.dumps(args), request_type=f"ghtrader.v1.{command}Request",
        request_b64="", source="terminal", state="running", created_ns=0, locks_wanted=(), tqsdk=False,
        no_wait=False, log_path="", outcome=JobOutcome(ok=True, report_path=report),
    )  # fmt: skip


def _recorder(exporter: ListExporter | None = None) -> tuple[ExperimentRecorder, InMemoryExperimentStore, FakeClock]:
    store, clock = InMemoryExperimentStore(), FakeClock()
    ids = iter(f"e{i}" for i in range(1, 100))
    rec = ExperimentRecorder(
        store, clock, CodeVersion("abc123", True), project="cu", exporter=exporter, new_id=lambda: next(ids)
    )
    return rec, store, clock


TRAIN_RESULT = {
    "entry": {"model_id": "m", "version": "2", "artifact_path": "artifacts/models/tcn/2"},
    "artifact_dir": "artifacts/models/tcn/2",
    "meta_path": "artifacts/models/tcn/2/meta_h10.json",
    "onnx_path": "artifacts/models/tcn/2/model.onnx",
    "metrics": {"accuracy": 0.6, "macro_f1": 0.5, "by_session": {"day": {"accuracy": 0.7}}, "n_train": 900},
    "learning_curve": [
        {"epoch": 1, "train_loss": 1.0, "valid_loss": 1.1, "seconds": 3.0, "samples_per_s": 10.0},
        {"epoch": 2, "train_loss": 0.8, "valid_loss": 1.0, "seconds": 3.0, "samples_per_s": 10.0},
    ],
}


def test_a_train_job_is_recorded_with_metrics_curves_artifacts_and_exported() -> None:
    exporter = ListExporter()
    rec, store, clock = _recorder(exporter)
    job = _job(7, "Train", {"family": "tcn", "scope": {"symbol": "KQ.m@SHFE.cu", "horizon": 10}})
    eid = rec.job_started(job)
    assert eid == "e1"
    running = store.get("e1")
    assert running is not None and running.status == "running" and running.run_id == "7" and running.project == "cu"
    assert running.name == "train tcn KQ.m@SHFE.cu" and running.git_commit == "abc123" and running.git_dirty is True
    assert running.hyperparameters["scope"]["horizon"] == 10
    clock.now += 4_000_000_000
    done = rec.job_finished(eid, job, "succeeded", TRAIN_RESULT)
    assert done is not None and done.status == "succeeded" and done.duration_s == pytest.approx(4.0)
    assert done.metrics == {"accuracy": 0.6, "macro_f1": 0.5, "by_session.day.accuracy": 0.7, "n_train": 900.0}
    assert done.learning_curves == {"train_loss": ((1, 1.0), (2, 0.8)), "valid_loss": ((1, 1.1), (2, 1.0))}
    assert "artifacts/models/tcn/2/model.onnx" in done.artifacts and done.report_path.endswith("meta_h10.json")
    assert exporter.exported == [done]


def test_other_commands_are_not_experiments_and_failures_are_recorded() -> None:
    rec, store, _ = _recorder()
    assert rec.job_started(_job(1, "Download", {})) is None
    job = _job(2, "Benchmark", {"family": "lightgbm"})
    eid = rec.job_started(job)
    rec.job_finished(eid, job, "failed", None, error="boom")
    r = store.get(eid or "")
    assert r is not None and (r.kind, r.status, r.error, r.metrics) == ("benchmark", "failed", "boom", {})
    assert rec.job_finished(None, job, "failed", None) is None


def test_a_failing_exporter_never_fails_the_run() -> None:
    rec, store, _ = _recorder(ListExporter(fail=True))
    eid = rec.start("hpo", {"n_trials": 3})
    r = rec.finish(eid, "succeeded", metrics={"best_value": 0.2})
    assert r.metrics == {"best_value": 0.2} and store.get(eid) == r


def test_metrics_per_kind() -> None:
    bench = {"summary": {"macro_f1": {"mean": 0.4, "std": 0.1, "n": 3}}, "folds": [{"metrics": {"x": 1}}]}
    assert result_metrics("benchmark", bench) == {"macro_f1.mean": 0.4, "macro_f1.std": 0.1, "macro_f1.n": 3.0}
    compare = {"table": {"macro_f1": {"lightgbm": {"mean": 0.5, "std": 0.0}}}}
    assert result_metrics("compare", compare) == {"macro_f1.lightgbm.mean": 0.5, "macro_f1.lightgbm.std": 0.0}
    assert result_metrics("backtest", {"summary": {"pnl_net": -3.0, "fills": 2}}) == {"pnl_net": -3.0, "fills": 2.0}
    assert result_metrics("hpo", {"best_value": 0.3, "ok": True, "best": {"lr": 0.1}}) == {
        "best_value": 0.3,
        "best.lr": 0.1,
    }
    assert result_curves({"learning_curve": []}) == {} and result_curves(None) == {}
    assert result_artifacts({"report_paths": {"html_path": "r.html", "json_path": "r.json"}, "log_path": "x.log"}) == (
        "r.html",
        "r.json",
    )


def test_get_by_job_id_diff_annotate_and_list() -> None:
    rec, store, clock = _recorder()
    a = rec.start("train", {"family": "lightgbm", "scope": {"train": {"params": {"num_leaves": 15}}}}, run_id="11")
    rec.finish(a, "succeeded", metrics={"accuracy": 0.5, "only_a": 1.0})
    clock.now += 1000
    b = rec.start("train", {"family": "lightgbm", "scope": {"train": {"params": {"num_leaves": 63}}}}, run_id="12")
    rec.finish(b, "succeeded", metrics={"accuracy": 0.75})
    exps = Experiments(store, rec)
    assert exps.get("12").experiment_id == b and exps.get(a).run_id == "11"
    with pytest.raises(NotFound):
        exps.get("99")
    d = exps.diff("11", "12")
    assert [(p.key, p.a, p.b) for p in d.parameters] == [("scope.train.params.num_leaves", "15", "63")]
    by_key = {m.key: m for m in d.metrics}
    assert by_key["accuracy"].delta == pytest.approx(0.25)
    assert math.isnan(by_key["only_a"].b) and not d.same_code  # both ran on a dirty checkout
    r = exps.annotate("12", notes="wider", add_tags=["keep"])
    assert [x.experiment_id for x in exps.list(ExperimentFilter(tag="keep"))] == [b] and r.notes == "wider"
    with pytest.raises(InvalidArgument):
        exps.list(ExperimentFilter(kind="nonsense"))
    with pytest.raises(InvalidArgument):
        exps.export()  # no exporter configured


def test_an_hpo_job_is_an_experiment_and_its_record_is_current_while_it_runs() -> None:
    rec, store, _ = _recorder()
    eid = rec.job_started(_job(3, "RunHpo", {"family": "logistic"}))  # HpoService.RunHpo's job command
    assert eid is not None and store.get(eid).kind == "hpo"  # type: ignore[union-attr]
    assert current_experiment() is None
    with running_experiment(eid):
        assert current_experiment() == eid
        with running_experiment(None):  # nested: restored on exit
            assert current_experiment() is None
        assert current_experiment() == eid
    assert current_experiment() is None
    assert rec.tag(eid, ["study=s1"]).tags == ("study=s1",)
