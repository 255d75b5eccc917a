"""``RunHpo``: hyper-parameter optimisation of one model family on the walk-forward benchmark.

The study (sampler TPE / random / grid / NSGA-II, pruner median / Hyperband / none) lives in the
shared study storage under its name, so a rerun with the same name resumes it and any number of
drivers can join it. Each trial is a :class:`~ghtrader.application.research.hpo_trial.TrialTask`
run through the fan-out executor (local worker processes or Ray); the driver asks the study for
parameters, keeps ``parallel`` trials in flight, records a heartbeat for each, and tells the
study what became of them. Every trial is mirrored in the trials table as it starts and ends,
and is an experiment record of its own whose parent is the study's (``hpo_tracking``).

On a new study the family's default parameters run first (trial 0, the baseline), so the
report can say how much the search gained. Trials left running by a killed driver are failed
when the study is opened again (stale heartbeat); a trial whose worker dies fails alone and
the study goes on.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.experiments import ExperimentRecorder
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.fanout import FanoutExecutor, FanoutTask, InlineShared, TaskOutcome, TaskResources
from ghtrader.application.ports.hpo import (
    HpoStudies,
    HpoStudy,
    HpoTrialStore,
    SearchSpace,
    SpaceCatalog,
    StudyConfig,
    TrialRecord,
)
from ghtrader.application.ports.models import FeatureFrame, InferenceRuntime, ModelFamilies, ModelFamily
from ghtrader.application.ports.providers import CalendarSource
from ghtrader.application.ports.reports import BenchmarkReportWriter, LineFigure, PlotSeries, ReportTable
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.application.research.benchmark import RunBenchmark
from ghtrader.application.research.benchmark_ceiling import bayes_probs
from ghtrader.application.research.benchmark_report import BenchmarkRequest
from ghtrader.application.research.hpo_tracking import StudyTracker
from ghtrader.application.research.hpo_trial import (
    OBJECTIVES,
    LoadedCalendar,
    TrialResult,
    TrialTask,
    objective_metric,
)
from ghtrader.domain.evaluation import WalkForwardPlan

__all__ = ["SAMPLERS", "PRUNERS", "HpoReport", "HpoRequest", "RunHpo", "default_study_name"]

SAMPLERS = ("tpe", "random", "grid", "nsga2")
PRUNERS = ("median", "hyperband", "none")
_MAX_ERROR = 4000


@dataclass(frozen=True)
class HpoRequest:
    family: str
    base: BenchmarkRequest  # data, splits and costs of every trial's walk-forward benchmark
    study: str = ""  # default: hpo_<family>_<symbol>_h<horizon>
    n_trials: int = 20  # trials this run adds to the study
    timeout_s: float | None = None  # no new trial starts after this many seconds
    objectives: tuple[str, ...] = ("info_captured",)
    sampler: str = ""  # default: tpe (nsga2 with several objectives)
    pruner: str = "median"
    space_text: str = ""  # a search-space document (YAML); empty: the family's shipped space
    parallel: int | None = None  # trials in flight; None: what the executor can run at once
    include_defaults: bool = True  # a new study runs the family's defaults first
    resources: TaskResources = field(default_factory=TaskResources)
    write_report: bool = True


def default_study_name(family: str, symbol: str, horizon: int) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"hpo_{family}_{symbol}_h{horizon}")


@dataclass
class HpoReport:
    report_id: str
    study: str
    family: str
    symbol: str
    horizon: int
    objectives: tuple[str, ...]
    directions: tuple[str, ...]
    sampler: str
    pruner: str
    executor: str
    space: dict[str, Any]
    trials: list[TrialRecord]
    best: list[TrialRecord]
    baseline: TrialRecord | None
    ran_now: list[int]  # trial numbers this run started
    stale_failed: list[int]  # trials of an earlier, killed run marked failed on open
    n_folds: int
    notes: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    provenance: dict[str, Any] | None = None
    report_paths: dict[str, Any] | None = None
    experiment_id: str = ""  # the study's experiment record (its trials' parent)

    def counts(self) -> dict[str, int]:
        out = {"running": 0, "completed": 0, "pruned": 0, "failed": 0}
        for t in self.trials:
            out[t.state] += 1
        return out

    def improvement(self) -> dict[str, float]:
        """Best minus baseline per objective (single objective; sign: better is positive)."""
        if self.baseline is None or self.baseline.values is None or len(self.best) != 1 or not self.best[0].values:
            return {}
        out = {}
        for i, name in enumerate(self.objectives):
            sign = 1.0 if self.directions[i] == "maximize" else -1.0
            out[name] = sign * (self.best[0].values[i] - self.baseline.values[i])
        return out

    def to_payload(self) -> dict[str, Any]:
        def trial(t: TrialRecord) -> dict[str, Any]:
            return {
                "number": t.number,
                "state": t.state,
                "params": dict(t.params),
                "values": None if t.values is None else dict(zip(self.objectives, t.values, strict=False)),
                "intermediate": {str(k): v for k, v in t.intermediate.items()},
                "worker": t.worker,
                "duration_s": t.duration_s,
                "created_at_ns": t.created_at_ns,
                "baseline": t.baseline,
                "error": t.error,
                "experiment_id": t.experiment_id,
            }

        return to_jsonable(
            {
                "report_id": self.report_id,
                "kind": "hpo",
                "study": self.study,
                "family": self.family,
                "symbol": self.symbol,
                "horizon": self.horizon,
                "objectives": list(self.objectives),
                "directions": list(self.directions),
                "sampler": self.sampler,
                "pruner": self.pruner,
                "executor": self.executor,
                "space": self.space,
                "n_folds": self.n_folds,
                "counts": self.counts(),
                "best": [trial(t) for t in self.best],
                "baseline": None if self.baseline is None else trial(self.baseline),
                "improvement": self.improvement(),
                "ran_now": self.ran_now,
                "stale_failed": self.stale_failed,
                "workers": sorted({t.worker for t in self.trials if t.worker}),
                "trials": [trial(t) for t in self.trials],
                "notes": self.notes,
                "duration_s": self.duration_s,
                "provenance": self.provenance,
                "report_paths": self.report_paths,
                "experiment_id": self.experiment_id,
            }
        )


def _space_payload(space: SearchSpace) -> dict[str, Any]:
    return to_jsonable(
        {
            "fixed": dict(space.fixed),
            "params": [
                {k: v for k, v in vars(p).items() if v not in (None, (), {}, False) or k == "name"}
                for p in space.params
            ],
        }
    )


def _defaults_in_space(space: SearchSpace, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The family's defaults restricted to the searched parameters they fit (the baseline trial)."""
    chosen: dict[str, Any] = {}
    for p in space.params:
        if p.active(chosen) and p.name in defaults and p.contains(defaults[p.name]):
            chosen[p.name] = defaults[p.name]
    return chosen


class RunHpo:
    """Hyper-parameter optimisation (see the module docstring).

    Args:
        benchmark: loads the frame and plans the folds (the trials re-run its per-fold scoring).
        families: name -> family.
        studies: the study storage.
        spaces: shipped search spaces and the parser of a user's.
        trials: the trials table.
        executor: where trials run.
        clock: "now" (trial rows, report ids); must pickle (it travels with each trial).
        runtime: ONNX runtime for the latency objective.
        calendar: trading sessions of the benchmark's per-session metrics.
        writer: report writer (None: no files).
        heartbeat_s: heartbeat interval of running trials (stale after twice this).
        timer: monotonic seconds.
        experiments: records the study and each trial as experiments (None: not recorded).
        share_frame: put the frame once per run where the workers read it (``FanoutRun.share``);
            False pickles it into every trial task (the old way, kept to measure the difference).
    """

    def __init__(
        self,
        *,
        benchmark: RunBenchmark,
        families: ModelFamilies,
        studies: HpoStudies,
        spaces: SpaceCatalog,
        trials: HpoTrialStore,
        executor: FanoutExecutor,
        clock: Clock,
        runtime: InferenceRuntime | None = None,
        calendar: CalendarSource | None = None,
        writer: BenchmarkReportWriter | None = None,
        heartbeat_s: int = 30,
        timer: Callable[[], float] = time.monotonic,
        experiments: ExperimentRecorder | None = None,
        share_frame: bool = True,
    ) -> None:
        self._share_frame = share_frame
        self._benchmark = benchmark
        self._experiments = experiments
        self._families = families
        self._studies = studies
        self._spaces = spaces
        self._trials = trials
        self._executor = executor
        self._clock = clock
        self._runtime = runtime
        self._calendar = calendar
        self._writer = writer
        self._heartbeat_s = heartbeat_s
        self._timer = timer

    # --- validation ----------------------------------------------------------------------------
    def _check(self, request: HpoRequest) -> tuple[str, tuple[str, ...]]:
        if request.n_trials < 1:
            raise InvalidArgument(f"n_trials must be >= 1, got {request.n_trials}")
        if request.timeout_s is not None and request.timeout_s <= 0:
            raise InvalidArgument(f"timeout must be > 0 seconds, got {request.timeout_s}")
        if request.parallel is not None and request.parallel < 1:
            raise InvalidArgument(f"parallel must be >= 1, got {request.parallel}")
        if not request.objectives or len(set(request.objectives)) != len(request.objectives):
            raise InvalidArgument("name one or more distinct objectives")
        for o in request.objectives:
            if o not in OBJECTIVES:
                raise InvalidArgument(f"unknown objective {o!r}; known: {', '.join(OBJECTIVES)}")
        multi = len(request.objectives) > 1
        sampler = request.sampler or ("nsga2" if multi else "tpe")
        if sampler not in SAMPLERS:
            raise InvalidArgument(f"sampler must be one of {', '.join(SAMPLERS)} (got {sampler!r})")
        if request.pruner not in PRUNERS:
            raise InvalidArgument(f"pruner must be one of {', '.join(PRUNERS)} (got {request.pruner!r})")
        directions = tuple(objective_metric(o)[1] for o in request.objectives)
        return sampler, directions

    def space(self, request: HpoRequest, family: ModelFamily) -> SearchSpace:
        """The search space of the request (given document or the shipped one), checked against the family."""
        space = (
            self._spaces.parse(request.space_text, family.name)
            if request.space_text.strip()
            else self._spaces.default(family.name)
        )
        known = family.default_params()
        unknown = sorted((set(space.names()) | set(space.fixed)) - set(known))
        if unknown:
            raise InvalidArgument(
                f"the search space names unknown {family.name} params {unknown}; known: {sorted(known)}"
            )
        return space

    # --- the run -------------------------------------------------------------------------------
    def __call__(
        self,
        request: HpoRequest,
        progress: ProgressCallback = no_progress,
        *,
        frame: FeatureFrame | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> HpoReport:
        started = self._timer()
        sampler, directions = self._check(request)
        base = replace(request.base, family=request.family)
        family = self._benchmark.resolve_family(base, None)
        space = self.space(request, family)
        progress(0, request.n_trials, f"loading the {base.symbol or 'given'} frame")
        frame, provenance = self._benchmark.load_frame(base, frame)
        plan = self._benchmark.plan(base, frame)
        if "info_captured" in request.objectives and bayes_probs(frame) is None:
            raise FailedPrecondition(
                "objective info_captured needs the Bayes oracle in the frame (synthetic data); "
                "choose another objective, e.g. --objective net_sharpe or macro_f1"
            )
        if "latency" in request.objectives and self._runtime is None:
            raise FailedPrecondition("objective latency needs an inference runtime, and none is configured")
        name = request.study or default_study_name(family.name, frame.symbol or base.symbol, base.horizon)
        study = self._studies.open(
            StudyConfig(
                name=name,
                directions=directions,  # type: ignore[arg-type]
                sampler=sampler,
                pruner=request.pruner,
                seed=base.seed,
                space=space,
                heartbeat_s=self._heartbeat_s,
                max_steps=len(plan.splits),
            )
        )
        tracker = StudyTracker(
            self._experiments,
            study.name,
            {"family": family.name, "symbol": frame.symbol or base.symbol, "horizon": base.horizon},
        )
        stale = study.fail_stale()
        if stale:
            known = {t.number: t for t in study.trials()}
            rows = {t.number: t for t in self._trials.list(study.name)}
            for n in stale:
                if n in known:
                    record = _merge(self._with_meta(known[n], family.name, request.objectives), rows.get(n))
                    self._trials.upsert(record)
                    tracker.trial_finished(record, "failed", None, error=record.error or "its driver or worker died")
        baseline_pending = False
        if request.include_defaults and not study.trials():
            defaults = _defaults_in_space(space, family.default_params())
            if defaults:
                study.enqueue(defaults)
                baseline_pending = True

        try:
            ran_now = self._drive(
                request, study, space, family, base, frame, plan, progress, should_stop, started, baseline_pending,
                tracker,
            )  # fmt: skip
        except BaseException:
            tracker.study_finished((), request.objectives, failed=True)
            raise
        records = [self._with_meta(t, family.name, request.objectives) for t in study.trials()]
        by_number = {t.number: t for t in self._trials.list(study.name)}
        records = [_merge(t, by_number.get(t.number)) for t in records]
        best = [_merge(t, by_number.get(t.number)) for t in study.best()]
        baseline = next((t for t in records if t.baseline), None)
        notes = [plan.note] if plan.note else []
        if not best:
            notes.append("no trial completed: see the trials' errors")
        report = HpoReport(
            report_id=make_run_id(self._clock.now_ns(), f"hpo_{study.name}"),
            study=study.name,
            family=family.name,
            symbol=frame.symbol or base.symbol,
            horizon=base.horizon,
            objectives=tuple(request.objectives),
            directions=directions,
            sampler=sampler,
            pruner="none" if len(directions) > 1 else request.pruner,
            executor=self._executor.name,
            space=_space_payload(space),
            trials=records,
            best=best,
            baseline=baseline,
            ran_now=ran_now,
            stale_failed=stale,
            n_folds=len(plan.splits),
            notes=notes,
            duration_s=self._timer() - started,
            provenance=to_jsonable(provenance) if provenance else None,
            experiment_id=tracker.parent,
        )
        tracker.study_finished(best, request.objectives)
        if request.write_report and self._writer is not None:
            written = self._writer.write(
                report.report_id,
                report.to_payload(),
                hpo_figures(report),
                hpo_tables(report),
                title=f"HPO {report.family} on {report.symbol} (h={report.horizon}): study {report.study}",
            )
            report.report_paths = to_jsonable(written)
        return report

    def _with_meta(self, t: TrialRecord, family: str, objectives: tuple[str, ...]) -> TrialRecord:
        return replace(t, family=t.family or family, objectives=t.objectives or tuple(objectives))

    def _drive(
        self,
        request: HpoRequest,
        study: HpoStudy,
        space: SearchSpace,
        family: ModelFamily,
        base: BenchmarkRequest,
        frame: FeatureFrame,
        plan: WalkForwardPlan,
        progress: ProgressCallback,
        should_stop: Callable[[], bool],
        started: float,
        baseline_pending: bool,
        tracker: StudyTracker,
    ) -> list[int]:
        slots = request.parallel or self._executor.slots(request.resources)
        slots = max(1, min(slots, request.n_trials))
        deadline = None if request.timeout_s is None else started + request.timeout_s
        runtime = self._runtime if "latency" in request.objectives else None
        calendar = LoadedCalendar(self._calendar.load()) if self._calendar is not None else None
        inflight: dict[int, TrialRecord] = {}
        ran: list[int] = []
        done = 0
        run = self._executor.open()
        try:
            shared = run.share(frame) if self._share_frame else InlineShared(frame)
            while True:
                cancelled = should_stop()
                out_of_time = deadline is not None and self._timer() >= deadline
                while not (cancelled or out_of_time) and len(ran) < request.n_trials and len(inflight) < slots:
                    asked = study.ask(space)
                    record = TrialRecord(
                        study=study.name,
                        number=asked.number,
                        state="running",
                        params={**space.fixed, **asked.params},
                        created_at_ns=self._clock.now_ns(),
                        family=family.name,
                        objectives=tuple(request.objectives),
                        baseline=baseline_pending,
                    )
                    baseline_pending = False
                    record = replace(record, experiment_id=tracker.trial_started(record))
                    self._trials.upsert(record)
                    task = TrialTask(
                        family=family,
                        params=dict(record.params),
                        request=base,
                        frame=shared,
                        plan=plan,
                        objectives=tuple(request.objectives),
                        reporter=study.reporter(asked.number),
                        clock=self._clock,
                        runtime=runtime,
                        calendar=calendar,
                    )
                    run.submit([FanoutTask(str(asked.number), task, request.resources)])
                    inflight[asked.number] = record
                    ran.append(asked.number)
                if not inflight:
                    break
                if cancelled:
                    run.cancel()
                    for number, record in list(inflight.items()):
                        self._finish(study, record, TaskOutcome(str(number), False, error="cancelled"), tracker)
                    inflight.clear()
                    break
                outcome = run.next_done(timeout_s=max(1.0, self._heartbeat_s / 2))
                study.heartbeat(list(inflight))
                if outcome is None:
                    continue
                record = inflight.pop(int(outcome.key))
                state = self._finish(study, record, outcome, tracker)
                done += 1
                progress(done, request.n_trials, f"trial {record.number} {state} ({done}/{request.n_trials})")
        finally:
            run.close()
        return ran

    def _finish(self, study: HpoStudy, record: TrialRecord, outcome: TaskOutcome, tracker: StudyTracker) -> str:
        result = outcome.value if outcome.ok else None
        attrs: dict[str, Any] = {
            "worker": outcome.node,
            "duration_s": outcome.duration_s,
            "family": record.family,
            "objectives": list(record.objectives),
            "baseline": record.baseline,
            "experiment_id": record.experiment_id,
        }
        values: tuple[float, ...] | None = None
        intermediate: dict[int, float] = {}
        if isinstance(result, TrialResult):
            attrs["fold_values"] = [list(f) for f in result.fold_values]
            running: list[float] = []
            for i, f in enumerate(result.fold_values):
                running.append(f[0])
                finite = [v for v in running if math.isfinite(v)]
                intermediate[i] = sum(finite) / len(finite) if finite else math.nan
            if result.pruned:
                state = "pruned"
            elif all(math.isfinite(v) for v in result.values):
                state, values = "completed", result.values
            else:
                state = "failed"
                bad = [o for o, v in zip(record.objectives, result.values, strict=True) if not math.isfinite(v)]
                attrs["error"] = f"objective(s) {', '.join(bad)} undefined on every fold"
        else:
            state = "failed"
            attrs["error"] = (outcome.error or "the trial returned no result")[-_MAX_ERROR:]
        study.tell(record.number, state, values, attrs)  # type: ignore[arg-type]
        self._trials.upsert(
            replace(
                record,
                state=state,  # type: ignore[arg-type]
                values=values,
                intermediate=intermediate,
                duration_s=outcome.duration_s,
                worker=outcome.node,
                error=str(attrs.get("error", "")),
            )
        )
        folds = result.fold_values if isinstance(result, TrialResult) else ()
        tracker.trial_finished(record, state, values, folds, str(attrs.get("error", "")))
        return state

    def show(self, name: str) -> HpoReport:
        """A stored study: its trials (the study's, with the trials table's worker and family) and best."""
        study = self._studies.load(name)
        table = {t.number: t for t in self._trials.list(name)}
        records = [_merge(t, table.get(t.number)) for t in study.trials()]
        best = [_merge(t, table.get(t.number)) for t in study.best()]
        first = next((t for t in records if t.family), None)
        objectives = (
            first.objectives if first is not None else tuple(f"objective_{i}" for i in range(len(study.directions)))
        )
        return HpoReport(
            report_id="",
            study=name,
            family=first.family if first is not None else "",
            symbol="",
            horizon=0,
            objectives=tuple(objectives),
            directions=tuple(study.directions),
            sampler="",
            pruner="",
            executor="",
            space={},
            trials=records,
            best=best,
            baseline=next((t for t in records if t.baseline), None),
            ran_now=[],
            stale_failed=[],
            n_folds=0,
        )


def _merge(study_rec: TrialRecord, table_rec: TrialRecord | None) -> TrialRecord:
    """The study's record, with what only the trials table knows (family, fixed params, worker)."""
    if table_rec is None:
        return study_rec
    return replace(
        study_rec,
        params={**table_rec.params, **study_rec.params},
        family=study_rec.family or table_rec.family,
        objectives=study_rec.objectives or table_rec.objectives,
        worker=study_rec.worker or table_rec.worker,
        baseline=study_rec.baseline or table_rec.baseline,
        error=study_rec.error or table_rec.error,
        created_at_ns=study_rec.created_at_ns or table_rec.created_at_ns,
        experiment_id=study_rec.experiment_id or table_rec.experiment_id,
        duration_s=study_rec.duration_s if study_rec.duration_s is not None else table_rec.duration_s,
    )


# --- figures and tables ------------------------------------------------------------------------
def hpo_figures(report: HpoReport) -> list[LineFigure]:
    """Optimisation history of each objective (trials, best so far, the baseline) and, with two or
    more objectives, the Pareto front of the first two."""
    done = [t for t in report.trials if t.state == "completed" and t.values]
    figures: list[LineFigure] = []
    for i, (name, direction) in enumerate(zip(report.objectives, report.directions, strict=True)):
        xs = [float(t.number) for t in done if t.values]
        ys = [float(t.values[i]) for t in done if t.values]
        best: list[float] = []
        for y in ys:
            if not best:
                best.append(y)
            else:
                best.append(max(best[-1], y) if direction == "maximize" else min(best[-1], y))
        series = [PlotSeries("trials", xs, ys, style="markers")]
        if len(report.objectives) == 1:
            series.append(PlotSeries("best so far", xs, best, style="step"))
        base = report.baseline
        figures.append(
            LineFigure(
                name=f"history_{name}",
                title=f"Optimisation history: {name} ({direction})",
                xlabel="trial",
                ylabel=name,
                series=tuple(series),
                hline=float(base.values[i]) if base is not None and base.values else None,
                caption="horizontal line: the family's default parameters (the baseline trial)" if base else "",
            )
        )
    if len(report.objectives) >= 2:
        every = [(t.values[0], t.values[1]) for t in done if t.values]
        front = sorted((t.values[0], t.values[1]) for t in report.best if t.values)
        if every:
            figures.append(
                LineFigure(
                    name="pareto_front",
                    title=f"Pareto front: {report.objectives[0]} vs {report.objectives[1]}",
                    xlabel=f"{report.objectives[0]} ({report.directions[0]})",
                    ylabel=f"{report.objectives[1]} ({report.directions[1]})",
                    series=(
                        PlotSeries("trials", [x for x, _ in every], [y for _, y in every], style="markers"),
                        PlotSeries("Pareto front", [x for x, _ in front], [y for _, y in front], style="points"),
                    ),
                )
            )
    return figures


def _v(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.4g}"


def hpo_tables(report: HpoReport) -> list[ReportTable]:
    tables: list[ReportTable] = []
    for t in report.best:
        tables.append(
            ReportTable(
                title=f"Best trial {t.number}" if len(report.best) == 1 else f"Pareto trial {t.number}",
                columns=("parameter", "value"),
                rows=tuple((k, str(v)) for k, v in sorted(t.params.items()))
                + tuple((f"objective {o}", _v(v)) for o, v in zip(report.objectives, t.values or (), strict=False)),
            )
        )
    tables.append(
        ReportTable(
            title="Trials",
            columns=("trial", "state", *report.objectives, "params", "worker", "seconds"),
            rows=tuple(
                (
                    f"{t.number}{' (defaults)' if t.baseline else ''}",
                    t.state,
                    *(_v(v) for v in (t.values or (None,) * len(report.objectives))),
                    ", ".join(
                        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(t.params.items())
                    ),
                    t.worker,
                    _v(t.duration_s),
                )
                for t in report.trials
            ),
        )
    )
    return tables
