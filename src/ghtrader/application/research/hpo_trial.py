"""One HPO trial as a picklable fan-out task: benchmark a family with fixed hyper-parameters on
the walk-forward folds, fold by fold, reporting the running objective after each fold so the
pruner can stop a hopeless trial early.

Objectives are means over folds of the benchmark's per-fold metrics (NaN folds skipped), the
same numbers `ghtrader benchmark` reports per fold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.fanout import Shared
from ghtrader.application.ports.hpo import TrialReporter
from ghtrader.application.ports.models import FeatureFrame, InferenceRuntime, ModelFamily
from ghtrader.application.ports.providers import CalendarSource
from ghtrader.application.research.benchmark import RunBenchmark
from ghtrader.application.research.benchmark_report import BenchmarkRequest
from ghtrader.application.research.sweep import ParamsVariant
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.evaluation import WalkForwardPlan

__all__ = ["OBJECTIVES", "LoadedCalendar", "TrialResult", "TrialTask", "objective_metric"]

# objective name -> (per-fold benchmark metric, direction)
OBJECTIVES: dict[str, tuple[str, str]] = {
    "info_captured": ("info_captured", "maximize"),  # share of the Bayes ceiling's log-loss gain captured
    "net_sharpe": ("net_sharpe", "maximize"),  # annualised Sharpe of the cost-adjusted signal
    "max_drawdown": ("net_max_drawdown", "minimize"),  # net PnL's largest fall from its peak
    "latency": ("latency_p50_ms", "minimize"),  # ONNX batch-1 inference latency, median
    "macro_f1": ("macro_f1", "maximize"),
    "log_loss": ("log_loss", "minimize"),
}


def objective_metric(name: str) -> tuple[str, str]:
    """``(metric key, direction)`` of objective ``name`` (ValueError when unknown)."""
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ValueError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}") from None


@dataclass(frozen=True)
class LoadedCalendar:
    """A CalendarSource holding an already loaded calendar (what a trial carries to its worker:
    the driver's source may hold locks and files, the calendar itself pickles)."""

    calendar: TradingCalendar

    def load(self) -> TradingCalendar:
        return self.calendar


@dataclass(frozen=True)
class TrialResult:
    """What a trial task returns: objective means, or where it was pruned."""

    values: tuple[float, ...]  # mean over the folds run, one per objective
    fold_values: tuple[tuple[float, ...], ...]  # per fold, per objective
    pruned: bool = False
    notes: tuple[str, ...] = ()


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


@dataclass(frozen=True)
class TrialTask:
    """Runs one trial where the fan-out executor puts it (everything here pickles). ``frame`` is
    the run's shared handle (:meth:`FanoutRun.share`): the frame itself crosses once per worker."""

    family: ModelFamily
    params: dict[str, Any]
    request: BenchmarkRequest
    frame: Shared[FeatureFrame]
    plan: WalkForwardPlan
    objectives: tuple[str, ...]
    reporter: TrialReporter
    clock: Clock
    runtime: InferenceRuntime | None = None  # only for the latency objective
    calendar: CalendarSource | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __call__(self) -> TrialResult:
        bench = RunBenchmark(runtime=self.runtime, clock=self.clock, calendar=self.calendar)
        variant = ParamsVariant(self.family, self.params)
        frame = self.frame.get()
        context = bench.context(self.request, frame)
        keys = [objective_metric(o)[0] for o in self.objectives]
        folds: list[tuple[float, ...]] = []
        notes: list[str] = []
        for step, split in enumerate(self.plan.splits):
            one = replace(self.plan, splits=(split,), note=None)
            report = bench.run_on_plan(self.request, variant, frame, one, context=context)
            metrics = report.folds[0].metrics
            folds.append(tuple(float(metrics.get(k, math.nan)) for k in keys))
            notes.extend(n for n in report.notes if n not in notes)
            running = _nanmean([f[0] for f in folds])
            if step + 1 < len(self.plan.splits) and self.reporter.report(step, running):
                means = tuple(_nanmean([f[i] for f in folds]) for i in range(len(keys)))
                return TrialResult(means, tuple(folds), pruned=True, notes=tuple(notes))
        means = tuple(_nanmean([f[i] for f in folds]) for i in range(len(keys)))
        self.reporter.report(len(folds) - 1, means[0])
        return TrialResult(means, tuple(folds), notes=tuple(notes))
