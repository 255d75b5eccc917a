"""Experiment records of an HPO study and its trials (``ghtrader_experiments_v2``).

The study's record is the experiment of the job that runs it (the job runner starts it and
makes it the current experiment, :func:`~ghtrader.application.experiments.current_experiment`);
outside a job (a direct call, a test) the tracker starts one itself. It gets the tag
``study=<name>``. Every trial is a record of its own in project ``hpo``: hyper-parameters (the
trial's params, family, study, objectives), the objective values and per-fold values as metrics,
the per-fold values as a curve, tags ``study=<name>``, ``trial=<n>`` and ``parent=<id>`` (the
study's record), and its id is stored on the trial's row. Tracking never fails a study: an
error is logged and the trial runs untracked.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ghtrader.application.experiments import ExperimentRecorder, current_experiment
from ghtrader.application.ports.experiments import ExperimentStatus
from ghtrader.application.ports.hpo import TrialRecord

log = logging.getLogger(__name__)

__all__ = ["TRIAL_PROJECT", "StudyTracker"]

TRIAL_PROJECT = "hpo"

_STATUS: dict[str, ExperimentStatus] = {"completed": "succeeded", "pruned": "cancelled", "failed": "failed"}


class StudyTracker:
    """Experiment records of one study run (see the module docstring). ``recorder`` None: no-op."""

    def __init__(self, recorder: ExperimentRecorder | None, study: str, scope: Mapping[str, Any]) -> None:
        self._recorder = recorder
        self.study = study
        self._scope = dict(scope)
        self.parent = ""
        self._own = False
        if recorder is None:
            return
        try:
            job = current_experiment()
            if job:
                self.parent = job
                recorder.tag(job, (f"study={study}",))
            else:
                self.parent = recorder.start(
                    "hpo",
                    {"study": study, **self._scope},
                    project=TRIAL_PROJECT,
                    name=f"hpo study {study}",
                    tags=(f"study={study}",),
                )
                self._own = True
        except Exception:  # noqa: BLE001 - tracking never fails the study
            log.warning("study %s: could not record its experiment", study, exc_info=True)

    def trial_started(self, record: TrialRecord) -> str:
        """Start the trial's record; its experiment id ("" when untracked)."""
        if self._recorder is None:
            return ""
        tags = [f"study={self.study}", f"trial={record.number}"]
        if self.parent:
            tags.append(f"parent={self.parent}")
        if record.baseline:
            tags.append("baseline")
        params = {
            "study": self.study,
            "trial": record.number,
            "family": record.family,
            "objectives": list(record.objectives),
            "params": dict(record.params),
            "baseline": record.baseline,
            "parent_experiment": self.parent,
            **self._scope,
        }
        try:
            return self._recorder.start(
                "hpo", params, project=TRIAL_PROJECT, name=f"hpo {self.study} trial {record.number}", tags=tags
            )
        except Exception:  # noqa: BLE001
            log.warning("study %s trial %d: could not record its experiment", self.study, record.number, exc_info=True)
            return ""

    def trial_finished(
        self,
        record: TrialRecord,
        state: str,
        values: Sequence[float] | None,
        fold_values: Sequence[Sequence[float]] = (),
        error: str = "",
    ) -> None:
        """Finish the trial's record: objective values, per-fold values and their curves."""
        if self._recorder is None or not record.experiment_id:
            return
        objectives = list(record.objectives)
        metrics: dict[str, float] = {}
        if values is not None:
            metrics.update({o: float(v) for o, v in zip(objectives, values, strict=False)})
        curves: dict[str, tuple[tuple[int, float], ...]] = {}
        for i, name in enumerate(objectives):
            points = tuple((k + 1, float(f[i])) for k, f in enumerate(fold_values) if i < len(f))
            if points:
                curves[name] = points
                metrics.update({f"fold_{k}.{name}": v for k, v in points})
                finite = [v for _, v in points if math.isfinite(v)]
                if values is None and finite:  # pruned / failed: the mean over the folds it ran
                    metrics.setdefault(name, sum(finite) / len(finite))
        try:
            self._recorder.finish(
                record.experiment_id,
                "cancelled" if error == "cancelled" else _STATUS.get(state, "failed"),  # a cancelled study's trials
                metrics=metrics,
                learning_curves=curves,
                error=error or ("pruned" if state == "pruned" else ""),
            )
            self._recorder.tag(record.experiment_id, (f"state={state}",))
        except Exception:  # noqa: BLE001
            log.warning("study %s trial %d: could not finish its experiment", self.study, record.number, exc_info=True)

    def study_finished(self, best: Sequence[TrialRecord], objectives: Sequence[str], failed: bool = False) -> None:
        """Finish the study's record when this tracker started it (a job's record is the runner's)."""
        if self._recorder is None or not self._own or not self.parent:
            return
        metrics: dict[str, float] = {}
        if len(best) == 1 and best[0].values:
            metrics = {f"best.{o}": float(v) for o, v in zip(objectives, best[0].values, strict=False)}
        try:
            self._recorder.finish(self.parent, "failed" if failed else "succeeded", metrics=metrics)
        except Exception:  # noqa: BLE001
            log.warning("study %s: could not finish its experiment", self.study, exc_info=True)
