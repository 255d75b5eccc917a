"""Experiment tracking ports: one record per research run (train, benchmark, compare, hpo, backtest).

An experiment is started when its run starts (status ``running``) and finished once with its
status, metrics, duration, report, artifacts and learning curves. Records are keyed by
``experiment_id``; ``run_id`` is the job id when the run was a job. ``ExperimentStore`` keeps
them (PostgreSQL table ``ghtrader_experiments_v2``, or the in-memory fake); an
``ExperimentExporter`` mirrors finished ones elsewhere (MLflow).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

ExperimentKind = Literal["train", "benchmark", "compare", "hpo", "backtest"]
ExperimentStatus = Literal["running", "succeeded", "failed", "cancelled"]

EXPERIMENT_KINDS: tuple[ExperimentKind, ...] = ("train", "benchmark", "compare", "hpo", "backtest")
EXPERIMENT_STATUSES: tuple[ExperimentStatus, ...] = ("running", "succeeded", "failed", "cancelled")

#: A learning curve: ``(step, value)`` points, step = epoch (1-based) or fold.
Curve = tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class ExperimentRecord:
    """One experiment. ``hyperparameters`` is JSON (nested as the run's request was);
    ``metrics`` flat name -> number; ``learning_curves`` name -> points; ``duration_s`` is None
    while running."""

    experiment_id: str
    kind: ExperimentKind
    project: str = "default"
    run_id: str = ""
    name: str = ""
    status: ExperimentStatus = "running"
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    learning_curves: Mapping[str, Curve] = field(default_factory=dict)
    artifacts: tuple[str, ...] = ()
    git_commit: str = "unknown"
    git_dirty: bool | None = None
    created_at_ns: int = 0
    finished_at_ns: int | None = None
    duration_s: float | None = None
    tags: tuple[str, ...] = ()
    notes: str = ""
    report_path: str = ""
    error: str = ""


@dataclass(frozen=True)
class ExperimentOutcome:
    """How an experiment ended (what :meth:`ExperimentStore.finish` records)."""

    status: ExperimentStatus
    finished_at_ns: int
    duration_s: float
    metrics: Mapping[str, float] = field(default_factory=dict)
    learning_curves: Mapping[str, Curve] = field(default_factory=dict)
    artifacts: tuple[str, ...] = ()
    report_path: str = ""
    error: str = ""


@dataclass(frozen=True)
class ExperimentFilter:
    """Which experiments to list (every field optional); newest first, at most ``limit``."""

    project: str | None = None
    kind: str | None = None
    tag: str | None = None
    status: str | None = None
    run_id: str | None = None
    since_ns: int | None = None  # created at or after
    limit: int = 50


class ExperimentStore(Protocol):
    """Where experiment records live. Writes are idempotent on ``experiment_id``."""

    def start(self, record: ExperimentRecord) -> None:
        """Insert ``record`` (a retry with the same id changes nothing)."""
        ...

    def finish(self, experiment_id: str, outcome: ExperimentOutcome) -> ExperimentRecord:
        """Record how it ended (NotFound when unknown); returns the updated record."""
        ...

    def get(self, experiment_id: str) -> ExperimentRecord | None: ...

    def list(self, where: ExperimentFilter | None = None) -> builtins.list[ExperimentRecord]:
        """Matching records, newest first."""
        ...

    def annotate(
        self,
        experiment_id: str,
        *,
        notes: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> ExperimentRecord:
        """Replace the notes (when given) and add / remove tags; NotFound when unknown."""
        ...


class ExperimentExporter(Protocol):
    """Mirrors finished experiments to another tracker (e.g. MLflow)."""

    def export(self, record: ExperimentRecord) -> str:
        """Mirror ``record`` (idempotent: an already mirrored one is not duplicated); returns the
        other tracker's run id."""
        ...
