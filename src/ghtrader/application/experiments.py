"""Experiment tracking: record every research run, list / show / compare / annotate them.

:class:`ExperimentRecorder` is the one entry point that writes experiments. The job runner calls
:meth:`ExperimentRecorder.job_started` / :meth:`ExperimentRecorder.job_finished` for every job
whose command is a research kind (train, benchmark, compare, backtest, hpo), so no use case
records anything itself; other code (an HPO study recording its trials) calls
:meth:`ExperimentRecorder.start` / :meth:`ExperimentRecorder.finish` directly. A finished
experiment is mirrored by the exporter when one is configured (MLflow); an export failure is
logged, never raised.
"""

from __future__ import annotations

import builtins
import json
import logging
import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.experiments import (
    EXPERIMENT_KINDS,
    EXPERIMENT_STATUSES,
    Curve,
    ExperimentExporter,
    ExperimentFilter,
    ExperimentKind,
    ExperimentOutcome,
    ExperimentRecord,
    ExperimentStatus,
    ExperimentStore,
)
from ghtrader.application.ports.jobs import JobRecord
from ghtrader.application.run_manifest import CodeVersion

log = logging.getLogger(__name__)

__all__ = [
    "JOB_KINDS",
    "ExperimentDiff",
    "ExperimentRecorder",
    "Experiments",
    "check_record",
    "current_experiment",
    "diff_experiments",
    "flatten",
    "matches",
    "merge_tags",
    "running_experiment",
]

#: Job command -> experiment kind (the research commands that are experiments).
JOB_KINDS: dict[str, ExperimentKind] = {
    "Train": "train",
    "Benchmark": "benchmark",
    "Compare": "compare",
    "Backtest": "backtest",
    "RunHpo": "hpo",  # the HPO job's command (HpoService.RunHpo)
    "Hpo": "hpo",
    "HPO": "hpo",
}
# Per-epoch values that are not a curve worth keeping (timings).
_NOT_CURVES = frozenset({"epoch", "seconds", "samples_per_s"})
_MAX_METRICS = 500


_CURRENT: ContextVar[str | None] = ContextVar("ghtrader_current_experiment", default=None)


def current_experiment() -> str | None:
    """The experiment id of the research job this code runs in (None outside one), so a run
    recording child experiments (an HPO study's trials) can name their parent."""
    return _CURRENT.get()


@contextmanager
def running_experiment(experiment_id: str | None) -> Iterator[None]:
    """Make ``experiment_id`` the current experiment for the duration (the job runner)."""
    token = _CURRENT.set(experiment_id)
    try:
        yield
    finally:
        _CURRENT.reset(token)


# --- shared rules (every store) -----------------------------------------------------------------
def check_record(record: ExperimentRecord) -> ExperimentRecord:
    """``record`` validated (InvalidArgument naming the bad field), tags de-duplicated."""
    if not record.experiment_id:
        raise InvalidArgument("experiment_id must not be empty")
    if record.kind not in EXPERIMENT_KINDS:
        raise InvalidArgument(f"unknown experiment kind {record.kind!r}: expected one of {EXPERIMENT_KINDS}")
    if record.status not in EXPERIMENT_STATUSES:
        raise InvalidArgument(f"unknown status {record.status!r}: expected one of {EXPERIMENT_STATUSES}")
    if not record.project:
        raise InvalidArgument("project must not be empty")
    # timestamps kept to the microsecond, as every store holds them
    return replace(
        record,
        tags=merge_tags((), record.tags, ()),
        created_at_ns=_whole_us(record.created_at_ns) or 0,
        finished_at_ns=_whole_us(record.finished_at_ns),
    )


def _whole_us(ns: int | None) -> int | None:
    return None if ns is None else int(ns) - int(ns) % 1000


def merge_tags(tags: Iterable[str], add: Iterable[str], remove: Iterable[str]) -> tuple[str, ...]:
    """``tags`` plus ``add`` less ``remove``, in first-seen order, blanks dropped."""
    gone = {t.strip() for t in remove}
    out: list[str] = []
    for t in (*tags, *add):
        t = t.strip()
        if t and t not in gone and t not in out:
            out.append(t)
    return tuple(out)


def matches(record: ExperimentRecord, where: ExperimentFilter) -> bool:
    """Whether ``record`` passes ``where`` (the in-memory twin of the SQL filter)."""
    return (
        (where.project is None or record.project == where.project)
        and (where.kind is None or record.kind == where.kind)
        and (where.tag is None or where.tag in record.tags)
        and (where.status is None or record.status == where.status)
        and (where.run_id is None or record.run_id == where.run_id)
        and (where.since_ns is None or record.created_at_ns >= where.since_ns)
    )


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as ``a.b.c`` keys; lists stay values (JSON text when compared)."""
    out: dict[str, Any] = {}
    if isinstance(value, Mapping):
        for k in sorted(value, key=str):
            path = f"{prefix}.{k}" if prefix else str(k)
            v = value[k]
            if isinstance(v, Mapping) and v:
                out.update(flatten(v, path))
            else:
                out[path] = v
    elif prefix:
        out[prefix] = value
    return out


def _numbers(value: Any, prefix: str = "") -> dict[str, float]:
    """Every finite or non-finite numeric leaf of nested mappings (booleans excluded), by path."""
    return {
        k: float(v) for k, v in flatten(value, prefix).items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


# --- what a job's result says -------------------------------------------------------------------
def result_metrics(kind: str, result: Any) -> dict[str, float]:
    """The headline metrics of a research result (decoded result JSON)."""
    if not isinstance(result, Mapping):
        return {}
    if kind == "train":
        out = _numbers(result.get("metrics") or {})
    elif kind == "benchmark":
        out = _numbers(result.get("summary") or {})
    elif kind == "compare":
        out = _numbers(result.get("table") or {})
    elif kind == "backtest":
        out = _numbers(result.get("summary") or {})
    else:  # hpo and anything new: its top-level numbers and any metrics / summary / best section
        out = {k: float(v) for k, v in result.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        for section in ("metrics", "summary", "best"):
            if isinstance(result.get(section), Mapping):
                out.update(_numbers(result[section], section))
    return dict(list(out.items())[:_MAX_METRICS])


def result_curves(result: Any) -> dict[str, Curve]:
    """Learning curves of a result carrying ``learning_curve`` (one mapping per epoch)."""
    rows = result.get("learning_curve") if isinstance(result, Mapping) else None
    if not isinstance(rows, Sequence) or not rows:
        return {}
    curves: dict[str, list[tuple[int, float]]] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            continue
        step = int(row.get("epoch", i + 1))
        for k, v in row.items():
            if k not in _NOT_CURVES and isinstance(v, int | float) and not isinstance(v, bool):
                curves.setdefault(str(k), []).append((step, float(v)))
    return {k: tuple(v) for k, v in curves.items()}


def result_artifacts(result: Any) -> tuple[str, ...]:
    """Every path a result names (values of ``*_path`` / ``*_dir`` keys, logs excepted)."""
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, Mapping):
            for k, x in v.items():
                key = str(k)
                if isinstance(x, str) and x and key != "log_path" and key.endswith(("_path", "_dir")):
                    if x not in found:
                        found.append(x)
                else:
                    walk(x)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x)

    walk(result)
    return tuple(found)


def _describe(kind: str, params: Mapping[str, Any]) -> str:
    scope = params.get("scope") if isinstance(params.get("scope"), Mapping) else {}
    what = params.get("family") or ",".join(params.get("families") or []) or params.get("model_id") or ""
    symbol = scope.get("symbol", "") if isinstance(scope, Mapping) else ""
    return " ".join(str(p) for p in (kind, what, symbol) if p)


_JOB_STATUS: dict[str, ExperimentStatus] = {"succeeded": "succeeded", "failed": "failed", "cancelled": "cancelled"}


class ExperimentRecorder:
    """Writes experiments: ``start`` when a run starts, ``finish`` when it ends (then exports).

    Args:
        store: where records live.
        clock: epoch-ns "now".
        code: the code version every record carries (git commit, dirty flag).
        project: the project a record goes to when the caller names none.
        exporter: mirrors each finished record (None: no mirror).
        new_id: makes experiment ids (default: 12 hex digits of a random UUID).
    """

    def __init__(
        self,
        store: ExperimentStore,
        clock: Clock,
        code: CodeVersion,
        *,
        project: str = "default",
        exporter: ExperimentExporter | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._code = code
        self._project = project or "default"
        self._exporter = exporter
        self._new_id = new_id or (lambda: uuid.uuid4().hex[:12])

    def start(
        self,
        kind: ExperimentKind,
        hyperparameters: Mapping[str, Any],
        *,
        run_id: str = "",
        project: str | None = None,
        name: str = "",
        tags: Sequence[str] = (),
        notes: str = "",
    ) -> str:
        """Record a running experiment; returns its id."""
        record = ExperimentRecord(
            experiment_id=self._new_id(),
            kind=kind,
            project=project or self._project,
            run_id=run_id,
            name=name or _describe(kind, hyperparameters),
            hyperparameters=dict(hyperparameters),
            git_commit=self._code.commit,
            git_dirty=self._code.dirty,
            created_at_ns=int(self._clock.now_ns()),
            tags=tuple(tags),
            notes=notes,
        )
        self._store.start(record)
        return record.experiment_id

    def finish(
        self,
        experiment_id: str,
        status: ExperimentStatus,
        *,
        metrics: Mapping[str, float] | None = None,
        learning_curves: Mapping[str, Curve] | None = None,
        artifacts: Sequence[str] = (),
        report_path: str = "",
        error: str = "",
    ) -> ExperimentRecord:
        """Record how it ended (the duration runs from its start to now), then export it."""
        current = self._store.get(experiment_id)
        if current is None:
            raise NotFound(f"no experiment {experiment_id!r}")
        now = _whole_us(int(self._clock.now_ns())) or 0
        outcome = ExperimentOutcome(
            status=status,
            finished_at_ns=now,
            duration_s=max(0.0, (now - current.created_at_ns) / 1e9),
            metrics={k: float(v) for k, v in (metrics or {}).items()},
            learning_curves=dict(learning_curves or {}),
            artifacts=tuple(artifacts),
            report_path=report_path,
            error=error,
        )
        record = self._store.finish(experiment_id, outcome)
        self.export(record)
        return record

    def tag(self, experiment_id: str, tags: Sequence[str]) -> ExperimentRecord:
        """Add ``tags`` to a recorded experiment (NotFound when unknown)."""
        return self._store.annotate(experiment_id, add_tags=tags)

    @property
    def exporting(self) -> bool:
        """Whether finished experiments are mirrored (an exporter is configured)."""
        return self._exporter is not None

    def export(self, record: ExperimentRecord) -> str:
        """Mirror ``record`` when an exporter is configured; "" when none is or it failed (logged)."""
        if self._exporter is None:
            return ""
        try:
            return self._exporter.export(record)
        except Exception:  # noqa: BLE001 - the mirror is best effort; the record is kept
            log.warning("experiment %s: export failed", record.experiment_id, exc_info=True)
            return ""

    # --- the job runner's hooks -------------------------------------------------------------------
    def job_started(self, job: JobRecord) -> str | None:
        """Start the experiment of a research job (None for other commands, or when the store
        failed: logged, the job runs anyway)."""
        kind = JOB_KINDS.get(job.command)
        if kind is None:
            return None
        try:
            params = json.loads(job.args_json) if job.args_json else {}
        except ValueError:
            params = {"_raw": job.args_json}
        try:
            return self.start(kind, params if isinstance(params, Mapping) else {"request": params}, run_id=str(job.id))
        except Exception:  # noqa: BLE001 - tracking never fails the job
            log.warning("job %d: could not record its experiment", job.id, exc_info=True)
            return None

    def job_finished(
        self, experiment_id: str | None, job: JobRecord, state: str, result: Any | None, error: str = ""
    ) -> ExperimentRecord | None:
        """Finish the experiment of a job that ended in ``state`` with decoded ``result``."""
        if experiment_id is None:
            return None
        kind = JOB_KINDS.get(job.command, "train")
        status = _JOB_STATUS.get(state, "failed")
        report = job.outcome.report_path if job.outcome is not None else ""
        if isinstance(result, Mapping):
            json_report = (
                (result.get("report_paths") or {}).get("json_path")
                if isinstance(result.get("report_paths"), Mapping)
                else None
            )
            report = str(json_report or result.get("meta_path") or report)
        try:
            return self.finish(
                experiment_id,
                status,
                metrics=result_metrics(kind, result),
                learning_curves=result_curves(result),
                artifacts=result_artifacts(result),
                report_path=report,
                error=error,
            )
        except Exception:  # noqa: BLE001 - tracking never fails the job
            log.warning("job %d: could not finish its experiment %s", job.id, experiment_id, exc_info=True)
            return None

    def job_ended_elsewhere(self, job: JobRecord) -> list[ExperimentRecord]:
        """Finish the still-running experiment of ``job``, which ended without its process
        recording it (killed, crashed): failed or cancelled, with the job's error."""
        if not job.finished:
            return []
        status = _JOB_STATUS.get(job.state, "failed")
        running = self._store.list(ExperimentFilter(run_id=str(job.id), status="running"))
        return [self.finish(r.experiment_id, status, error=job.error) for r in running]


# --- reading and comparing ----------------------------------------------------------------------
@dataclass(frozen=True)
class ParameterDifference:
    """A hyper-parameter (dotted path) whose values differ; "-" where one side lacks it."""

    key: str
    a: str
    b: str


@dataclass(frozen=True)
class MetricComparison:
    """One metric of both experiments; ``delta`` is b - a (NaN when one lacks it)."""

    key: str
    a: float
    b: float
    delta: float


@dataclass(frozen=True)
class ExperimentDiff:
    """Two experiments side by side: the parameters that differ, every metric of either."""

    a: ExperimentRecord
    b: ExperimentRecord
    parameters: tuple[ParameterDifference, ...]
    metrics: tuple[MetricComparison, ...]
    same_code: bool


def _text(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def diff_experiments(a: ExperimentRecord, b: ExperimentRecord) -> ExperimentDiff:
    """The parameter differences and the metric comparison of ``a`` and ``b``."""
    fa, fb = flatten(a.hyperparameters), flatten(b.hyperparameters)
    params = tuple(
        ParameterDifference(k, _text(fa.get(k)), _text(fb.get(k)))
        for k in sorted(set(fa) | set(fb))
        if fa.get(k) != fb.get(k)
    )
    metrics = []
    for k in sorted(set(a.metrics) | set(b.metrics)):
        x, y = float(a.metrics.get(k, math.nan)), float(b.metrics.get(k, math.nan))
        metrics.append(MetricComparison(k, x, y, y - x))
    same = a.git_commit == b.git_commit and not a.git_dirty and not b.git_dirty
    return ExperimentDiff(a, b, params, tuple(metrics), same)


class Experiments:
    """Read and annotate experiments: get by experiment id or run (job) id, list, diff, notes / tags."""

    def __init__(self, store: ExperimentStore, recorder: ExperimentRecorder | None = None) -> None:
        self._store = store
        self._recorder = recorder

    def get(self, ref: str) -> ExperimentRecord:
        """The experiment ``ref`` names: its experiment id, else the run (job) id it ran as."""
        ref = ref.strip()
        if not ref:
            raise InvalidArgument("an experiment id (or job id) is required")
        found = self._store.get(ref)
        if found is None:
            runs = self._store.list(ExperimentFilter(run_id=ref, limit=1))
            found = runs[0] if runs else None
        if found is None:
            raise NotFound(f"no experiment {ref!r} (neither an experiment id nor a job id)")
        return found

    def list(self, where: ExperimentFilter) -> list[ExperimentRecord]:
        if where.limit < 1:
            raise InvalidArgument(f"limit must be >= 1 (got {where.limit})")
        if where.kind is not None and where.kind not in EXPERIMENT_KINDS:
            raise InvalidArgument(f"unknown kind {where.kind!r}: expected one of {EXPERIMENT_KINDS}")
        return self._store.list(where)

    def diff(self, a: str, b: str) -> ExperimentDiff:
        return diff_experiments(self.get(a), self.get(b))

    def annotate(
        self, ref: str, *, notes: str | None = None, add_tags: Sequence[str] = (), remove_tags: Sequence[str] = ()
    ) -> ExperimentRecord:
        record = self.get(ref)
        return self._store.annotate(record.experiment_id, notes=notes, add_tags=add_tags, remove_tags=remove_tags)

    def export(self, since_ns: int | None = None, limit: int = 1000) -> builtins.list[tuple[ExperimentRecord, str]]:
        """Mirror every finished experiment created since ``since_ns``: (record, mirror run id)."""
        if self._recorder is None or not self._recorder.exporting:
            raise InvalidArgument("no experiment exporter is configured (set GHTRADER_MLFLOW_TRACKING_URI)")
        records = self._store.list(ExperimentFilter(since_ns=since_ns, limit=limit))
        return [(r, self._recorder.export(r)) for r in reversed(records) if r.status != "running"]
