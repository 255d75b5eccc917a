"""StudyTracker: a pruned trial's record (cancelled, the mean over the folds it ran), a cancelled
study's trials, no recorder (nothing recorded), and a store that fails (logged, never raised)."""

from __future__ import annotations

import math

import pytest

from ghtrader.adapters.memory.experiment_store import InMemoryExperimentStore
from ghtrader.application.experiments import ExperimentRecorder
from ghtrader.application.ports.hpo import TrialRecord
from ghtrader.application.research.hpo_tracking import StudyTracker
from ghtrader.application.run_manifest import CodeVersion
from tests.fakes.system import FakeClock


def _tracker() -> tuple[StudyTracker, InMemoryExperimentStore]:
    store = InMemoryExperimentStore()
    recorder = ExperimentRecorder(store, FakeClock(), CodeVersion("abc", False))
    return StudyTracker(recorder, "s", {"family": "logistic"}), store


def _trial(number: int) -> TrialRecord:
    return TrialRecord("s", number, "running", {"l2": 0.1}, family="logistic", objectives=("log_loss", "macro_f1"))


def test_a_pruned_trial_is_cancelled_with_the_mean_of_the_folds_it_ran() -> None:
    tracker, store = _tracker()
    t = _trial(0)
    t = TrialRecord(**{**t.__dict__, "experiment_id": tracker.trial_started(t)})
    tracker.trial_finished(t, "pruned", None, [(1.0, 0.4), (math.nan, 0.5), (0.5, 0.6)])
    e = store.get(t.experiment_id)
    assert e is not None and e.status == "cancelled" and e.error == "pruned" and "state=pruned" in e.tags
    assert e.metrics["log_loss"] == pytest.approx(0.75) and e.metrics["macro_f1"] == pytest.approx(0.5)
    assert e.learning_curves["macro_f1"] == ((1, 0.4), (2, 0.5), (3, 0.6)) and e.metrics["fold_3.log_loss"] == 0.5
    parent = store.get(tracker.parent)
    assert parent is not None and parent.project == "hpo" and "study=s" in parent.tags


def test_cancelled_trials_and_the_tracker_s_own_study_record() -> None:
    tracker, store = _tracker()
    t = _trial(1)
    t = TrialRecord(**{**t.__dict__, "experiment_id": tracker.trial_started(t)})
    tracker.trial_finished(t, "failed", None, error="cancelled")
    assert store.get(t.experiment_id).status == "cancelled"  # type: ignore[union-attr]
    tracker.study_finished((), ("log_loss",), failed=True)
    assert store.get(tracker.parent).status == "failed"  # type: ignore[union-attr]


def test_no_recorder_records_nothing_and_a_failing_store_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    none = StudyTracker(None, "s", {})
    assert none.parent == "" and none.trial_started(_trial(0)) == ""

    class Down(InMemoryExperimentStore):
        def start(self, record: object) -> None:  # type: ignore[override]
            raise RuntimeError("database down")

    recorder = ExperimentRecorder(Down(), FakeClock(), CodeVersion("abc", False))
    tracker = StudyTracker(recorder, "s", {})
    assert tracker.parent == "" and tracker.trial_started(_trial(0)) == ""
    assert "could not record" in caplog.text
