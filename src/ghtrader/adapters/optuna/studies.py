"""``OptunaStudies``: HpoStudies on Optuna's RDB storage (the project's PostgreSQL, or a SQLite
file), so any number of drivers and workers share a study by name.

Trials are driven ask / tell: the driver asks for parameters, a worker anywhere runs the trial
and reports per-fold values through :class:`OptunaTrialReporter` (it opens the storage itself),
the driver tells the outcome. Heartbeats: the driver records one for each running trial; on
open, trials whose heartbeat is stale (driver or worker killed) are marked failed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import TrialState as OptunaState

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.hpo import AskedTrial, SearchSpace, StudyConfig, TrialRecord, TrialState

__all__ = ["OptunaStudies", "OptunaStudy", "OptunaTrialReporter", "sqlalchemy_url"]

_STATE: dict[OptunaState, TrialState] = {
    OptunaState.RUNNING: "running",
    OptunaState.COMPLETE: "completed",
    OptunaState.PRUNED: "pruned",
    OptunaState.FAIL: "failed",
}
_TO_OPTUNA = {"completed": OptunaState.COMPLETE, "pruned": OptunaState.PRUNED, "failed": OptunaState.FAIL}
SAMPLERS = ("tpe", "random", "grid", "nsga2")
PRUNERS = ("median", "hyperband", "none")


def sqlalchemy_url(url: str) -> str:
    """A SQLAlchemy URL for a libpq ``postgresql://`` URI (psycopg 3 driver); others unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _pruner(name: str, max_steps: int) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, max_steps))
    if name == "none":
        return optuna.pruners.NopPruner()
    raise InvalidArgument(f"pruner must be one of {', '.join(PRUNERS)} (got {name!r})")


def _sampler(config: StudyConfig) -> optuna.samplers.BaseSampler:
    if config.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=config.seed)
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=config.seed)
    if config.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=config.seed)
    if config.sampler == "grid":
        if config.space is None:
            raise InvalidArgument("grid search needs the search space")
        try:
            grid = {p.name: list(p.grid_values()) for p in config.space.params}
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from exc
        return optuna.samplers.GridSampler(grid, seed=config.seed)
    raise InvalidArgument(f"sampler must be one of {', '.join(SAMPLERS)} (got {config.sampler!r})")


def _storage(url: str, heartbeat_s: int | None) -> optuna.storages.RDBStorage:
    kwargs: dict[str, Any] = {"engine_kwargs": {"pool_pre_ping": True}}
    if heartbeat_s:
        kwargs.update(heartbeat_interval=int(heartbeat_s), grace_period=2 * int(heartbeat_s))
    return optuna.storages.RDBStorage(sqlalchemy_url(url), **kwargs)


def _record(study: str, t: optuna.trial.FrozenTrial) -> TrialRecord:
    attrs = t.user_attrs
    return TrialRecord(
        study=study,
        number=t.number,
        state=_STATE[t.state],
        params=dict(t.params),
        values=tuple(float(v) for v in t.values) if t.state == OptunaState.COMPLETE and t.values else None,
        intermediate={int(k): float(v) for k, v in t.intermediate_values.items()},
        created_at_ns=int(t.datetime_start.timestamp() * 1e9) if t.datetime_start else 0,
        duration_s=attrs.get("duration_s", t.duration.total_seconds() if t.duration else None),
        worker=str(attrs.get("worker", "")),
        error=str(attrs.get("error", "stale: its driver or worker stopped" if t.state == OptunaState.FAIL else "")),
        family=str(attrs.get("family", "")),
        objectives=tuple(attrs.get("objectives", ())),
        baseline=bool(attrs.get("baseline", False)),
        experiment_id=str(attrs.get("experiment_id", "")),
    )


class OptunaTrialReporter:
    """TrialReporter for one trial; pickles to its storage URL and ids, reconnects where it runs."""

    def __init__(self, url: str, study: str, trial_id: int, pruner: str, max_steps: int, multi: bool) -> None:
        self.url, self.study, self.trial_id = url, study, trial_id
        self.pruner, self.max_steps, self.multi = pruner, max_steps, multi
        self._trial: optuna.trial.Trial | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_trial"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._trial = None

    def report(self, step: int, value: float) -> bool:
        if self.multi or not math.isfinite(value):  # Optuna prunes single-objective studies only
            return False
        if self._trial is None:
            study = optuna.load_study(
                study_name=self.study,
                storage=_storage(self.url, None),
                pruner=_pruner(self.pruner, self.max_steps),
            )
            self._trial = optuna.trial.Trial(study, self.trial_id)
        self._trial.report(float(value), int(step))
        return bool(self._trial.should_prune())


class OptunaStudy:
    """HpoStudy on one Optuna study (see the module docstring)."""

    def __init__(self, url: str, study: optuna.Study, config: StudyConfig) -> None:
        self._url = url
        self._study = study
        self._config = config
        self.name = study.study_name
        self.directions = tuple(d.name.lower() for d in study.directions)
        self._live: dict[int, optuna.trial.Trial] = {}

    def fail_stale(self) -> list[int]:
        running = {t.number for t in self._study.get_trials(deepcopy=False, states=(OptunaState.RUNNING,))}
        optuna.storages.fail_stale_trials(self._study)
        failed = {t.number for t in self._study.get_trials(deepcopy=False, states=(OptunaState.FAIL,))}
        return sorted(running & failed)

    def enqueue(self, params: Mapping[str, Any]) -> None:
        self._study.enqueue_trial(dict(params), skip_if_exists=True)

    def ask(self, space: SearchSpace) -> AskedTrial:
        trial = self._study.ask()
        chosen: dict[str, Any] = {}
        for p in space.params:
            if not p.active(chosen):
                continue
            if p.kind == "categorical":
                chosen[p.name] = trial.suggest_categorical(p.name, list(p.choices))
            elif p.kind == "int":
                assert p.low is not None and p.high is not None
                chosen[p.name] = trial.suggest_int(
                    p.name, int(p.low), int(p.high), step=int(p.step or 1), log=p.log and p.step is None
                )
            else:
                assert p.low is not None and p.high is not None
                chosen[p.name] = trial.suggest_float(p.name, p.low, p.high, step=p.step, log=p.log and p.step is None)
        self._live[trial.number] = trial
        return AskedTrial(trial.number, chosen)

    def _trial_id(self, number: int) -> int:
        live = self._live.get(number)
        if live is not None:
            return live._trial_id
        for t in self._study.get_trials(deepcopy=False):
            if t.number == number:
                return t._trial_id
        raise NotFound(f"study {self.name!r} has no trial {number}")

    def reporter(self, number: int) -> OptunaTrialReporter:
        return OptunaTrialReporter(
            self._url,
            self.name,
            self._trial_id(number),
            self._config.pruner,
            self._config.max_steps,
            multi=len(self.directions) > 1,
        )

    def heartbeat(self, numbers: Sequence[int]) -> None:
        storage = self._study._storage  # Optuna's cache in front of the RDB storage forwards heartbeats
        if not isinstance(storage, BaseHeartbeat) or storage.get_heartbeat_interval() is None:
            return
        for number in numbers:
            storage.record_heartbeat(self._trial_id(number))

    def tell(
        self,
        number: int,
        state: TrialState,
        values: Sequence[float] | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        trial_id = self._trial_id(number)
        for key, value in (attrs or {}).items():
            self._study._storage.set_trial_user_attr(trial_id, key, value)
        self._study.tell(
            number,
            values=None if state != "completed" else [float(v) for v in values or ()],
            state=_TO_OPTUNA[state],
            skip_if_finished=True,
        )
        self._live.pop(number, None)

    def trials(self) -> list[TrialRecord]:
        return [_record(self.name, t) for t in self._study.get_trials(deepcopy=False) if t.state in _STATE]

    def best(self) -> list[TrialRecord]:
        if not self._study.get_trials(deepcopy=False, states=(OptunaState.COMPLETE,)):
            return []
        if len(self.directions) == 1:
            return [_record(self.name, self._study.best_trial)]
        return sorted((_record(self.name, t) for t in self._study.best_trials), key=lambda r: r.number)


class OptunaStudies:
    """HpoStudies on the RDB storage at ``url`` (a libpq PostgreSQL URI or a SQLAlchemy URL such
    as ``sqlite:///runs/control/hpo.db``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        # heartbeats and stale-trial failing are marked experimental; ask/tell with heartbeats is
        # what this adapter is for, so Optuna's reminders are noise in job logs
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")

    def open(self, config: StudyConfig) -> OptunaStudy:
        if not config.name:
            raise InvalidArgument("a study needs a name")
        storage = _storage(self.url, config.heartbeat_s)
        multi = len(config.directions) > 1
        sampler = _sampler(config)
        if multi and config.sampler == "tpe":
            sampler = optuna.samplers.TPESampler(seed=config.seed)  # TPE handles several objectives too
        pruner = _pruner("none" if multi else config.pruner, config.max_steps)
        try:
            existing = optuna.load_study(study_name=config.name, storage=storage)
        except KeyError:
            existing = None
        if existing is not None:
            have = tuple(d.name.lower() for d in existing.directions)
            if have != tuple(config.directions):
                raise InvalidArgument(
                    f"study {config.name!r} exists with directions {have}, not {tuple(config.directions)}: "
                    "resume it with the same objectives or name a new study"
                )
        study = optuna.create_study(
            storage=storage,
            sampler=sampler,
            pruner=pruner,
            study_name=config.name,
            directions=list(config.directions),
            load_if_exists=True,
        )
        return OptunaStudy(self.url, study, config)

    def load(self, name: str) -> OptunaStudy:
        storage = _storage(self.url, None)
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            raise NotFound(f"no HPO study named {name!r}") from None
        directions = tuple(d.name.lower() for d in study.directions)
        return OptunaStudy(self.url, study, StudyConfig(name=name, directions=directions))  # type: ignore[arg-type]

    def names(self) -> list[str]:
        """Every study in the storage."""
        return sorted(s.study_name for s in optuna.get_all_study_summaries(_storage(self.url, None)))
