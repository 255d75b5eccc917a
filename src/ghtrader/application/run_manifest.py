"""Run manifests: what a job ran (code, config, data) and what it measured, and their comparison.

A manifest is written for every job when it ends (``runs/control/manifests/job-<id>.json``):

- ``code``: the git commit and dirty flag of the checkout that ran it;
- ``config``: the request (as JSON) and the settings that shape results (provider, seed, store,
  synthetic market parameters; never secrets);
- ``data``: the data provenance its result carries (schedule hash, build ids, day ranges and
  day manifests), keyed by their path in the result;
- ``metrics``: every numeric value of its result, keyed by path, less the volatile ones
  (durations, timestamps, sizes on disk);
- ``outputs``: what the run made and names afresh on every run (a build's id, a model version,
  report and artifact paths): recorded to find them, never compared.

``ghtrader reproduce`` reruns a job and compares the two manifests with :func:`compare_manifests`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ghtrader.application.ports.jobs import JobRecord

MANIFEST_FORMAT = 1

# Keys of a result that describe the data it used (matched on the last path segment).
DATA_KEYS = frozenset(
    {
        "schedule_hash",
        "schedule_id",
        "feature_build_id",
        "label_build_id",
        "dataset_config_hash",
        "config_hash",
        "dataset_hash",
        "lake_version",
        "ticks_lake",
        "start_day",
        "end_day",
        "days",
        "trading_days",
        "day_manifests",
        "manifests",
        "days_touched",
        "symbols",
        "symbol",
    }
)
# Keys naming what a run produced, fresh on every run (a build id carries its time): not compared.
OUTPUT_KEYS = frozenset(
    {
        "build_id",
        "run_id",
        "version",
        "report_path",
        "meta_path",
        "onnx_path",
        "artifact_dir",
        "artifact_path",
        "log_path",
    }
)
# A numeric list longer than this (a curve, an equity series) counts as one metric: its length.
MAX_SERIES = 256
# Numeric leaves that differ between two faithful runs: wall-clock, timestamps, files, versions.
_VOLATILE_PARTS = ("duration", "elapsed", "seconds", "created", "timestamp", "wall", "latency", "bytes", "size_mb")
_VOLATILE_SUFFIXES = ("_ns", "_s", "_ms", "_us", "_at", "_time", "_id", "version", "pid", "job_id")


@dataclass(frozen=True)
class CodeVersion:
    """The code a run used: ``commit`` ("unknown" outside a checkout) and whether the tree was dirty."""

    commit: str = "unknown"
    dirty: bool | None = None  # None when unknown

    def describe(self) -> str:
        if self.dirty is None:
            return self.commit
        return f"{self.commit}{' (dirty)' if self.dirty else ''}"


class ManifestStore(Protocol):
    """Where run manifests live (one JSON document per job)."""

    def write(self, job_id: int, manifest: Mapping[str, Any]) -> str:
        """Store the manifest of ``job_id`` (atomically, replacing any) and return its path."""
        ...

    def read(self, path: str) -> dict[str, Any]:
        """The manifest stored at ``path`` (FileNotFoundError when it is gone)."""
        ...


def _is_volatile(path: str) -> bool:
    last = path.rsplit(".", 1)[-1].lower()
    return any(p in last for p in _VOLATILE_PARTS) or last.endswith(_VOLATILE_SUFFIXES)


def _stable(value: Any) -> Any:
    """``value`` less what differs between faithful runs (volatile keys and outputs), at any depth."""
    if isinstance(value, Mapping):
        return {
            k: _stable(v)
            for k, v in value.items()
            if str(k) in DATA_KEYS or not (_is_volatile(str(k)) or str(k) in OUTPUT_KEYS)
        }
    if isinstance(value, list | tuple):
        return [_stable(v) for v in value]
    return value


def _walk(
    value: Any, prefix: str, out: dict[str, Any], *, want: Callable[[str, Any], bool], take: frozenset[str]
) -> None:
    """Collect into ``out`` the values under a ``take`` key whole, else the leaves ``want`` accepts;
    values under a data or output key are never leaves of another section."""
    if isinstance(value, Mapping):
        for key in sorted(value, key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if str(key) in take:
                out[path] = _stable(value[key]) if take is DATA_KEYS else value[key]
            elif str(key) not in DATA_KEYS and str(key) not in OUTPUT_KEYS:
                _walk(value[key], path, out, want=want, take=take)
    elif isinstance(value, list | tuple):
        if len(value) > MAX_SERIES and all(isinstance(v, int | float) for v in value):
            if want(f"{prefix}.length", len(value)):  # a long series (a curve): its length, not its points
                out[f"{prefix}.length"] = len(value)
            return
        for i, item in enumerate(value):
            _walk(item, f"{prefix}[{i}]", out, want=want, take=take)
    elif want(prefix, value):
        out[prefix] = value


def data_manifest(result: Any) -> dict[str, Any]:
    """The data provenance a result carries: every value under a :data:`DATA_KEYS` key, by path."""
    out: dict[str, Any] = {}
    _walk(result, "", out, want=lambda _p, _v: False, take=DATA_KEYS)
    return out


def result_outputs(result: Any) -> dict[str, Any]:
    """What a run made (every value under an :data:`OUTPUT_KEYS` key, by path): not compared."""
    out: dict[str, Any] = {}
    _walk(result, "", out, want=lambda _p, _v: False, take=OUTPUT_KEYS)
    return out


def result_metrics(result: Any) -> dict[str, float]:
    """Every numeric leaf of a result by path (booleans as 0/1), less volatile and data values."""

    def want(path: str, value: Any) -> bool:
        return isinstance(value, int | float) and not _is_volatile(path)

    out: dict[str, Any] = {}
    _walk(result, "", out, want=want, take=frozenset())
    return {k: float(v) for k, v in out.items()}


def build_manifest(
    job: JobRecord, code: CodeVersion, settings: Mapping[str, Any], result: Any | None
) -> dict[str, Any]:
    """The manifest of a finished ``job`` (``result``: its decoded result JSON, None if it has none)."""
    try:
        request = json.loads(job.args_json) if job.args_json else {}
    except ValueError:
        request = {"_raw": job.args_json}
    return {
        "format": MANIFEST_FORMAT,
        "job_id": job.id,
        "command": job.command,
        "request_type": job.request_type,
        "source": job.source,
        "state": job.state,
        "exit_code": job.exit_code,
        "ok": None if job.outcome is None else job.outcome.ok,
        "report_path": "" if job.outcome is None else job.outcome.report_path,
        "code": {"git_commit": code.commit, "git_dirty": code.dirty},
        "config": {"request": request, "settings": dict(settings)},
        "data": {} if result is None else data_manifest(result),
        "metrics": {} if result is None else result_metrics(result),
        "outputs": {} if result is None else result_outputs(result),
    }


class RunRecorder:
    """Records a job's code version when it starts and writes its manifest when it ends."""

    def __init__(self, store: ManifestStore, code: CodeVersion, settings: Mapping[str, Any]) -> None:
        self._store = store
        self.code = code
        self._settings = dict(settings)

    def write(self, job: JobRecord, result: Any | None) -> str:
        return self._store.write(job.id, build_manifest(job, self.code, self._settings, result))


# --- comparison ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Difference:
    """One value that differs: ``section`` is code, config, data or metrics; ``key`` its path."""

    section: str
    key: str
    original: str
    reproduced: str
    abs_diff: float | None = None  # metrics only: |reproduced - original| (inf when one is missing)


@dataclass(frozen=True)
class ManifestComparison:
    """Whether a reproduction matched: code differences only warn; the rest decide ``equal``."""

    equal: bool
    differences: tuple[Difference, ...] = ()
    warnings: tuple[str, ...] = ()
    metrics_compared: int = 0
    rtol: float = 0.0
    atol: float = 0.0
    notes: tuple[str, ...] = field(default=())


def _text(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _flat(section: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in section.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            out.update(_flat(value, path))
        else:
            out[path] = value
    return out


def _exact(name: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Difference]:
    fa, fb = _flat(a), _flat(b)
    return [
        Difference(name, key, _text(fa.get(key)), _text(fb.get(key)))
        for key in sorted(set(fa) | set(fb))
        if fa.get(key) != fb.get(key)
    ]


def close_enough(a: float, b: float, rtol: float, atol: float) -> bool:
    """``|a - b| <= atol + rtol * |a|``; two NaNs are equal, a NaN and a number are not."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(a)


def _metrics(a: Mapping[str, float], b: Mapping[str, float], rtol: float, atol: float) -> list[Difference]:
    out: list[Difference] = []
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            out.append(Difference("metrics", key, _text(a.get(key)), _text(b.get(key)), math.inf))
            continue
        x, y = float(a[key]), float(b[key])
        if not close_enough(x, y, rtol, atol):
            diff = abs(y - x) if not (math.isnan(x) or math.isnan(y)) else math.inf
            out.append(Difference("metrics", key, repr(x), repr(y), diff))
    return out


def compare_manifests(
    original: Mapping[str, Any],
    reproduced: Mapping[str, Any],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    ignore_config: Iterable[str] = (),
) -> ManifestComparison:
    """Compare two manifests: code (a warning when commit or dirty flag differ), config and data
    (exact), metrics (``|b - a| <= atol + rtol*|a|``). ``ignore_config`` drops config paths."""
    if rtol < 0 or atol < 0:
        raise ValueError("tolerances must be >= 0")
    code_a, code_b = original.get("code", {}), reproduced.get("code", {})
    warnings: list[str] = []
    code_diffs = _exact("code", code_a, code_b)
    if code_diffs:
        warnings.append(
            "code version differs: "
            + ", ".join(f"{d.key.rsplit('.', 1)[-1]} {d.original} -> {d.reproduced}" for d in code_diffs)
        )
    if code_a.get("git_dirty") or code_b.get("git_dirty"):
        warnings.append("a run used a dirty checkout: uncommitted changes may explain differences")
    ignored = set(ignore_config)
    config_diffs = [
        d for d in _exact("config", original.get("config", {}), reproduced.get("config", {})) if d.key not in ignored
    ]
    data_diffs = _exact("data", original.get("data", {}), reproduced.get("data", {}))
    ma, mb = original.get("metrics", {}), reproduced.get("metrics", {})
    metric_diffs = _metrics(ma, mb, rtol, atol)
    notes: list[str] = []
    if original.get("state") != reproduced.get("state"):
        notes.append(f"state {original.get('state')} -> {reproduced.get('state')}")
    equal = not (config_diffs or data_diffs or metric_diffs or notes)
    return ManifestComparison(
        equal=equal,
        differences=tuple(code_diffs + config_diffs + data_diffs + metric_diffs),
        warnings=tuple(warnings),
        metrics_compared=len(set(ma) & set(mb)),
        rtol=rtol,
        atol=atol,
        notes=tuple(notes),
    )
