"""RunHpo: an Optuna study (SQLite storage here) of the logistic family on a small synthetic
frame, trials fanned out to spawned worker processes, mirrored in the trials table; resume by
name, stale trials of a killed driver, multi-objective Pareto front, bad requests."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.local_fanout import LocalFanoutExecutor
from ghtrader.adapters.memory.experiment_store import InMemoryExperimentStore
from ghtrader.adapters.memory.fanout import InlineFanoutExecutor
from ghtrader.adapters.memory.hpo_trials import InMemoryHpoTrialStore
from ghtrader.adapters.optuna import OptunaStudies, YamlSpaceCatalog
from ghtrader.adapters.reports import MatplotlibBenchmarkReportWriter
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.experiments import ExperimentRecorder, running_experiment
from ghtrader.application.ports.experiments import ExperimentFilter
from ghtrader.application.ports.hpo import StudyConfig
from ghtrader.application.research.benchmark import RunBenchmark
from ghtrader.application.research.families import FamilyRegistry
from ghtrader.application.research.hpo import HpoRequest, RunHpo
from ghtrader.application.run_manifest import CodeVersion
from tests.fakes.frames import synthetic_frame
from tests.fakes.system import FakeClock

from .bench_families import FRAME_ARGS, REQUEST, bayes_frame

SPACE = """
family: logistic
fixed: {class_weight: balanced}
params:
  l2_path: {type: float, low: 0.0001, high: 10.0, log: true}
  max_iter: {type: int, low: 20, high: 300, step: 20}
"""


@pytest.fixture(scope="module")
def frame():  # type: ignore[no-untyped-def]
    return bayes_frame(synthetic_frame(**FRAME_ARGS))


def _hpo(
    tmp_path: Path,
    *,
    workers: int = 0,
    heartbeat_s: int = 30,
    store: InMemoryHpoTrialStore | None = None,
    experiments: ExperimentRecorder | None = None,
) -> tuple[RunHpo, InMemoryHpoTrialStore, OptunaStudies]:
    """The use case on SQLite study storage; ``workers`` spawned processes, or inline when 0."""
    families = FamilyRegistry([LogisticFamily()])
    studies = OptunaStudies(f"sqlite:///{tmp_path / 'hpo.db'}")
    store = store if store is not None else InMemoryHpoTrialStore()
    uc = RunHpo(
        benchmark=RunBenchmark(families=families, clock=FakeClock()),
        families=families,
        studies=studies,
        spaces=YamlSpaceCatalog(),
        trials=store,
        executor=LocalFanoutExecutor(workers=workers) if workers else InlineFanoutExecutor(slots=2),
        clock=FakeClock(),
        writer=MatplotlibBenchmarkReportWriter(tmp_path, "hpo"),
        heartbeat_s=heartbeat_s,
        experiments=experiments,
    )
    return uc, store, studies


@pytest.mark.slow
def test_a_study_runs_trials_in_workers_records_them_and_resumes_by_name(tmp_path: Path, frame) -> None:  # type: ignore[no-untyped-def]
    uc, store, _ = _hpo(tmp_path, workers=2)
    req = HpoRequest("logistic", REQUEST, study="s1", n_trials=3, space_text=SPACE, pruner="none")
    report = uc(req, frame=frame)
    rows = store.list("s1")
    assert [r.number for r in rows] == [0, 1, 2] and {r.state for r in rows} == {"completed"}
    assert rows[0].baseline and rows[0].params["max_iter"] == 300  # the family default runs first
    assert all(r.worker and r.values and r.duration_s and r.duration_s > 0 for r in rows)
    assert len({r.worker for r in rows}) == 2  # both worker processes ran trials
    assert all(r.params["class_weight"] == "balanced" for r in rows)  # fixed params recorded
    assert len(rows[1].intermediate) == report.n_folds
    best = report.best[0]
    assert best.values is not None and best.values[0] == max(r.values[0] for r in rows if r.values)
    assert report.baseline is not None and report.improvement()["info_captured"] >= 0
    payload = json.loads(Path(report.report_paths["json_path"]).read_text())
    assert payload["counts"]["completed"] == 3 and payload["best"][0]["number"] == best.number
    assert "history_info_captured" in report.report_paths["figure_paths"]

    uc, _, _ = _hpo(tmp_path, store=store)  # another driver, same storage and name: the study goes on
    again = uc(replace(req, n_trials=2), frame=frame)
    assert again.ran_now == [3, 4] and len(again.trials) == 5
    assert sum(t.baseline for t in again.trials) == 1
    assert [r.number for r in store.list("s1")] == list(range(5))
    shown = uc.show("s1")
    assert len(shown.trials) == 5 and shown.best[0].number == again.best[0].number


def test_trials_left_running_by_a_killed_driver_are_failed_on_reopen(tmp_path: Path, frame) -> None:  # type: ignore[no-untyped-def]
    uc, store, studies = _hpo(tmp_path, heartbeat_s=1)
    space = YamlSpaceCatalog().parse(SPACE, "logistic")
    dead = studies.open(StudyConfig(name="s2", directions=("maximize",), space=space, heartbeat_s=1))
    orphan = dead.ask(space)
    dead.heartbeat([orphan.number])  # then the driver "dies": no more heartbeats
    # stale after the 2 s grace period; SQLite's CURRENT_TIMESTAMP has 1 s resolution, hence 2 + 1 + margin
    time.sleep(3.5)
    report = uc(HpoRequest("logistic", REQUEST, study="s2", n_trials=1, space_text=SPACE), frame=frame)
    assert report.stale_failed == [orphan.number]
    states = {t.number: t.state for t in report.trials}
    assert states == {orphan.number: "failed", report.ran_now[0]: "completed"}
    assert store.list("s2")[0].state == "failed" and "stale" in store.list("s2")[0].error


def test_a_failing_trial_fails_alone(tmp_path: Path, frame) -> None:  # type: ignore[no-untyped-def]
    uc, store, _ = _hpo(tmp_path)
    bad = SPACE.replace("{type: float, low: 0.0001, high: 10.0, log: true}", "{type: categorical, choices: [-1.0]}")
    report = uc(
        HpoRequest("logistic", REQUEST, study="s3", n_trials=2, space_text=bad, include_defaults=False), frame=frame
    )
    assert {t.state for t in report.trials} == {"failed"}
    assert all("l2_path must hold finite values >= 0" in t.error for t in store.list("s3"))
    assert report.best == [] and "no trial completed" in " ".join(report.notes)


def test_two_objectives_give_a_pareto_front(tmp_path: Path, frame) -> None:  # type: ignore[no-untyped-def]
    uc, _, _ = _hpo(tmp_path)
    report = uc(
        HpoRequest(
            "logistic", REQUEST, study="s4", n_trials=3, space_text=SPACE, objectives=("info_captured", "max_drawdown")
        ),
        frame=frame,
    )
    assert report.sampler == "nsga2" and report.directions == ("maximize", "minimize")
    done = [t for t in report.trials if t.values]
    assert report.best and all(t.values for t in report.best)
    for b in report.best:  # nothing completed dominates a front member
        assert not any(t.values[0] >= b.values[0] and t.values[1] <= b.values[1] and t.values != b.values for t in done)
    assert "pareto_front" in report.report_paths["figure_paths"]


def test_bad_requests_are_refused_before_any_trial(tmp_path: Path, frame) -> None:  # type: ignore[no-untyped-def]
    uc, store, _ = _hpo(tmp_path)
    with pytest.raises(InvalidArgument, match="unknown objective"):
        uc(HpoRequest("logistic", REQUEST, objectives=("profit",)), frame=frame)
    with pytest.raises(InvalidArgument, match="unknown logistic params"):
        uc(HpoRequest("logistic", REQUEST, space_text="params: {depth: {type: int, low: 1, high: 3}}"), frame=frame)
    with pytest.raises(InvalidArgument, match="sampler"):
        uc(HpoRequest("logistic", REQUEST, sampler="cmaes"), frame=frame)
    with pytest.raises(FailedPrecondition, match="Bayes oracle"):
        uc(HpoRequest("logistic", REQUEST, space_text=SPACE), frame=synthetic_frame(**FRAME_ARGS))
    assert store.list("hpo_logistic__h10") == []


def test_the_calendar_a_trial_carries_pickles() -> None:
    import pickle
    from datetime import date

    from ghtrader.application.research.hpo_trial import LoadedCalendar
    from ghtrader.domain.calendar import TradingCalendar

    cal = TradingCalendar([date(2026, 10, 1), date(2026, 10, 2)])
    back = pickle.loads(pickle.dumps(LoadedCalendar(cal))).load()
    assert back.holidays == cal.holidays and back.is_trading_day(date(2026, 10, 5))
    assert not back.is_trading_day(date(2026, 10, 1))


def _recorder() -> tuple[ExperimentRecorder, InMemoryExperimentStore]:
    store = InMemoryExperimentStore()
    return ExperimentRecorder(store, FakeClock(), CodeVersion("abc123", False)), store


def test_each_trial_is_an_experiment_whose_parent_is_the_study(tmp_path: Path, frame) -> None:  # type: ignore[no-untyped-def]
    recorder, experiments = _recorder()
    uc, store, _ = _hpo(tmp_path, experiments=recorder)
    req = HpoRequest("logistic", REQUEST, study="s5", n_trials=3, space_text=SPACE, pruner="none")
    report = uc(req, frame=frame)
    study = experiments.get(report.experiment_id)
    assert study is not None and study.status == "succeeded" and "study=s5" in study.tags
    assert study.metrics["best.info_captured"] == report.best[0].values[0]  # type: ignore[index]
    rows = store.list("s5")
    tagged = experiments.list(ExperimentFilter(tag="study=s5"))
    assert {e.experiment_id for e in tagged} == {report.experiment_id, *(r.experiment_id for r in rows)}
    for row in rows:
        e = experiments.get(row.experiment_id)
        assert e is not None and e.project == "hpo" and e.kind == "hpo" and e.status == "succeeded"
        assert {f"trial={row.number}", f"parent={report.experiment_id}", "state=completed"} <= set(e.tags)
        assert e.hyperparameters["params"] == dict(row.params) and e.hyperparameters["family"] == "logistic"
        assert e.hyperparameters["parent_experiment"] == report.experiment_id
        assert row.values is not None and e.metrics["info_captured"] == row.values[0]
        curve = e.learning_curves["info_captured"]
        assert len(curve) == report.n_folds and e.metrics["fold_1.info_captured"] == curve[0][1]
        assert abs(sum(v for _, v in curve) / len(curve) - row.values[0]) < 1e-12  # the mean over folds
    assert [t.experiment_id for t in report.trials] == [r.experiment_id for r in rows]
    assert report.to_payload()["trials"][0]["experiment_id"] == rows[0].experiment_id
    assert [t.experiment_id for t in uc.show("s5").trials] == [r.experiment_id for r in rows]


def test_inside_a_job_the_jobs_experiment_is_the_parent(tmp_path: Path, frame) -> None:  # type: ignore[no-untyped-def]
    recorder, experiments = _recorder()
    job = recorder.start("hpo", {"family": "logistic"}, run_id="42")
    uc, store, _ = _hpo(tmp_path, experiments=recorder)
    bad = SPACE.replace("{type: float, low: 0.0001, high: 10.0, log: true}", "{type: categorical, choices: [-1.0]}")
    with running_experiment(job):
        report = uc(
            HpoRequest("logistic", REQUEST, study="s6", n_trials=1, space_text=bad, include_defaults=False),
            frame=frame,
        )
    assert report.experiment_id == job and "study=s6" in experiments.get(job).tags  # type: ignore[union-attr]
    assert experiments.get(job).status == "running"  # type: ignore[union-attr]  # the job runner finishes it
    (row,) = store.list("s6")
    trial = experiments.get(row.experiment_id)
    assert trial is not None and trial.status == "failed" and "l2_path" in trial.error
    assert f"parent={job}" in trial.tags and "state=failed" in trial.tags
    assert len(experiments.list(ExperimentFilter(tag="study=s6"))) == 2
