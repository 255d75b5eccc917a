"""Hyper-parameter optimisation ports: search spaces, the study (an optimiser that proposes
parameters and learns from results, shared by any number of workers through its storage),
the per-trial reporter a worker uses for pruning, and the trials table.

The optimiser technology (Optuna today) lives in ``adapters/optuna``; search spaces arrive as
the plain dataclasses below, whatever file format they were written in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "TRIAL_STATES",
    "AskedTrial",
    "HpoStudies",
    "HpoStudy",
    "HpoTrialStore",
    "ParamSpec",
    "SearchSpace",
    "SpaceCatalog",
    "StudyConfig",
    "TrialRecord",
    "TrialReporter",
    "TrialState",
]

TrialState = Literal["running", "completed", "pruned", "failed"]
TRIAL_STATES: tuple[TrialState, ...] = ("running", "completed", "pruned", "failed")
ParamKind = Literal["float", "int", "categorical"]


@dataclass(frozen=True)
class ParamSpec:
    """One searched hyper-parameter.

    ``float``/``int``: ``low``..``high`` (``log`` scale, optional ``step``); ``categorical``:
    ``choices``. ``grid`` lists the values a grid search tries (default: the choices, or the
    ``step`` ladder of a range). ``when`` makes it conditional: it is searched only when every
    named (earlier) parameter took one of the listed values, e.g. ``{"boosting": ("dart",)}``.
    """

    name: str
    kind: ParamKind
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    grid: tuple[Any, ...] = ()
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a searched parameter needs a name")
        if self.kind == "categorical":
            if not self.choices:
                raise ValueError(f"categorical parameter {self.name!r} needs choices")
        elif self.kind in ("float", "int"):
            if self.low is None or self.high is None or not self.low <= self.high:
                raise ValueError(f"parameter {self.name!r} needs low <= high (got {self.low}, {self.high})")
            if self.log and self.low <= 0:
                raise ValueError(f"log-scaled parameter {self.name!r} needs low > 0")
            if self.step is not None and self.step <= 0:
                raise ValueError(f"parameter {self.name!r}: step must be > 0")
        else:
            raise ValueError(f"parameter {self.name!r}: kind must be float, int or categorical (got {self.kind!r})")

    def active(self, chosen: Mapping[str, Any]) -> bool:
        """Whether this parameter is searched given the values ``chosen`` so far."""
        return all(name in chosen and chosen[name] in values for name, values in self.when.items())

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in this parameter's range or choices."""
        if self.kind == "categorical":
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        assert self.low is not None and self.high is not None
        return self.low <= value <= self.high

    def grid_values(self) -> tuple[Any, ...]:
        """The values a grid search tries (see the class docstring)."""
        if self.grid:
            return self.grid
        if self.kind == "categorical":
            return self.choices
        if self.step is None:
            raise ValueError(f"grid search: give parameter {self.name!r} a step or grid values")
        assert self.low is not None and self.high is not None
        n = int(round((self.high - self.low) / self.step)) + 1
        values = [self.low + i * self.step for i in range(n)]
        return tuple(int(round(v)) for v in values) if self.kind == "int" else tuple(float(v) for v in values)


@dataclass(frozen=True)
class SearchSpace:
    """A family's searched parameters (in sampling order) plus fixed overrides."""

    family: str
    params: tuple[ParamSpec, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)  # always passed to the family

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if not names:
            raise ValueError(f"the search space of {self.family!r} has no parameters")
        if len(set(names)) != len(names):
            raise ValueError(f"the search space of {self.family!r} names a parameter twice")
        seen: set[str] = set()
        for p in self.params:
            unknown = set(p.when) - seen
            if unknown:
                raise ValueError(f"{p.name!r} depends on {sorted(unknown)}, which must be searched before it")
            seen.add(p.name)
        clash = set(names) & set(self.fixed)
        if clash:
            raise ValueError(f"parameters both searched and fixed: {sorted(clash)}")

    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)


class SpaceCatalog(Protocol):
    """Where search spaces come from: one shipped per family, or a user's document."""

    def default(self, family: str) -> SearchSpace:
        """The shipped space of ``family``; InvalidArgument when there is none."""
        ...

    def parse(self, text: str, family: str) -> SearchSpace:
        """A space from a user's document (e.g. YAML text); InvalidArgument when malformed."""
        ...


@dataclass(frozen=True)
class StudyConfig:
    """How a study is opened (created, or loaded by name to resume)."""

    name: str
    directions: tuple[Literal["minimize", "maximize"], ...]
    sampler: str = "tpe"  # tpe | random | grid | nsga2
    pruner: str = "median"  # median | hyperband | none
    seed: int = 0
    space: SearchSpace | None = None  # grid search needs it up front
    heartbeat_s: int = 30  # running trials whose heartbeat is older than 2x this are failed on open
    max_steps: int = 1  # intermediate steps per trial (folds), for Hyperband


@dataclass(frozen=True)
class AskedTrial:
    """A trial the optimiser proposed: its number within the study and the parameters to try."""

    number: int
    params: Mapping[str, Any]


@dataclass(frozen=True)
class TrialRecord:
    """One trial as stored (the study's view and the trials table's row)."""

    study: str
    number: int
    state: TrialState
    params: Mapping[str, Any]
    values: tuple[float, ...] | None = None  # one per objective; None unless completed
    intermediate: Mapping[int, float] = field(default_factory=dict)  # step (fold) -> value
    created_at_ns: int = 0
    duration_s: float | None = None
    worker: str = ""  # where it ran (host:pid or the Ray node id)
    error: str = ""
    family: str = ""
    objectives: tuple[str, ...] = ()
    baseline: bool = False  # the family's default parameters, run as a reference
    experiment_id: str = ""  # the trial's experiment record (ghtrader_experiments_v2), "" when untracked


class TrialReporter(Protocol):
    """Picklable handle a worker uses to report one trial's intermediate values."""

    def report(self, step: int, value: float) -> bool:
        """Record ``value`` at ``step``; True when the pruner says stop this trial."""
        ...


class HpoStudy(Protocol):
    name: str
    directions: tuple[str, ...]

    def fail_stale(self) -> list[int]:
        """Mark trials left running by a dead driver or worker failed; their numbers."""
        ...

    def enqueue(self, params: Mapping[str, Any]) -> None:
        """Make ``params`` the next trial proposed (e.g. the family's defaults as a baseline)."""
        ...

    def ask(self, space: SearchSpace) -> AskedTrial:
        """Start a trial and sample its parameters from ``space``."""
        ...

    def reporter(self, number: int) -> TrialReporter:
        """A picklable reporter for trial ``number`` (usable from another process or node)."""
        ...

    def heartbeat(self, numbers: Sequence[int]) -> None:
        """Say these running trials are alive."""
        ...

    def tell(
        self,
        number: int,
        state: TrialState,
        values: Sequence[float] | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        """Finish trial ``number`` as completed (with ``values``), pruned or failed."""
        ...

    def trials(self) -> list[TrialRecord]:
        """Every trial of the study, by number."""
        ...

    def best(self) -> list[TrialRecord]:
        """The best completed trial (single objective) or the Pareto front (several)."""
        ...


class HpoStudies(Protocol):
    """Opens studies in the shared study storage."""

    def open(self, config: StudyConfig) -> HpoStudy:
        """Create the study, or load it by name (same directions) to resume it."""
        ...

    def load(self, name: str) -> HpoStudy:
        """An existing study; NotFound when there is none of that name."""
        ...


class HpoTrialStore(Protocol):
    """The trials table (``ghtrader_hpo_trials_v2``): one row per (study, trial), upserted."""

    def upsert(self, record: TrialRecord) -> None: ...

    def list(self, study: str) -> list[TrialRecord]:
        """The study's trials by number (empty when unknown)."""
        ...
