"""Typed results (results.proto) from a command's result, as RunResult's ``typed`` oneof.

Built from the JSON form of the result object (what ``result_json`` carries and what a job
process stores), so a result streamed from a server thread and one read back from the job
store give the same message.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.message import Message

from ghtrader.v1 import hpo_results_pb2, results_pb2

log = logging.getLogger(__name__)

Json = Mapping[str, Any]


def _int(value: Any) -> int:
    if isinstance(value, int | float) and math.isfinite(value):
        return int(value)
    return 0


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _numbers(values: Any) -> dict[str, float]:
    if not isinstance(values, Mapping):
        return {}
    return {str(k): float(v) for k, v in values.items() if isinstance(v, int | float)}


def _rejected(r: Json) -> int:
    if "rejected_total" in r:
        return _int(r["rejected_total"])
    return sum(_int(v) for v in (r.get("rejected_rows") or {}).values())


def _contract_days(r: Json) -> results_pb2.ContractDays:
    return results_pb2.ContractDays(
        symbol=_str(r.get("symbol")),
        start_day=_str(r.get("start_day")),
        end_day=_str(r.get("end_day")),
        requested=_int(r.get("requested")),
        present_before=_int(r.get("present_before")),
        downloaded=_int(r.get("downloaded")),
        no_data=_int(r.get("no_data")),
        missing=_int(r.get("missing")),
        missing_days=[_str(d) for d in r.get("missing_days") or ()],
        rows_written=_int(r.get("rows_written")),
        rows_rejected=_rejected(r),
    )


def ingest_result(r: Json) -> results_pb2.IngestResult:
    """A single download (DownloadTicksResult) or several (MultiDownloadResult, fill-missing's ``download``)."""
    if "download" in r and isinstance(r["download"], Mapping):  # fill-missing wraps a multi download
        r = r["download"]
    if "contracts" not in r:  # one contract
        one = _contract_days(r)
        return results_pb2.IngestResult(
            downloaded=one.downloaded,
            no_data=one.no_data,
            missing=one.missing,
            rows_written=one.rows_written,
            rows_rejected=one.rows_rejected,
            contracts=[one],
        )
    return results_pb2.IngestResult(
        variety=_str(r.get("variety_key")),
        downloaded=_int(r.get("downloaded")),
        no_data=_int(r.get("no_data")),
        missing=_int(r.get("missing")),
        rows_written=_int(r.get("rows_written")),
        rows_rejected=_rejected(r),
        contracts=[_contract_days(c) for c in r.get("contracts") or ()],
        skipped=[_str(s.get("symbol") if isinstance(s, Mapping) else s) for s in r.get("skipped") or ()],
        unknown_symbols=_str(r.get("unknown_symbols")),
    )


def verify_result(r: Json) -> results_pb2.VerifyResult:
    return results_pb2.VerifyResult(
        expected=_int(r.get("expected")),
        present=_int(r.get("present")),
        no_data=_int(r.get("no_data")),
        missing=_int(r.get("missing")),
        contracts=[
            results_pb2.ContractCoverageDays(
                symbol=_str(c.get("symbol")),
                expected=_int(c.get("expected")),
                present=_int(c.get("present")),
                no_data=_int(c.get("no_data")),
                missing=_int(c.get("missing")),
                missing_days=[_str(d) for d in c.get("missing_days") or ()],
            )
            for c in r.get("contracts") or ()
        ],
        unindexed=[_str(s) for s in r.get("unindexed") or ()],
    )


def build_result(r: Json) -> results_pb2.BuildResult:
    kinds = r.get("kinds") or {}
    return results_pb2.BuildResult(
        symbol=_str(r.get("symbol")),
        ticks_lake=_str(r.get("ticks_lake")),
        source_days=_int(r.get("source_days")),
        kinds=[
            results_pb2.BuildKindResult(
                kind=_str(k.get("kind") or name),
                build_id=_str(k.get("build_id")),
                config_hash=_str(k.get("config_hash")),
                days_written=len(k.get("days_written") or ()),
                days_deleted=len(k.get("days_deleted") or ()),
                days_up_to_date=_int(k.get("days_up_to_date")),
                rows_written=_int(k.get("rows_written")),
                columns=len(k.get("columns") or ()),
            )
            for name, k in kinds.items()
        ],
    )


def train_result(r: Json) -> results_pb2.TrainResult:
    e = r.get("entry") or {}
    return results_pb2.TrainResult(
        model_id=_str(e.get("model_id")),
        version=_str(e.get("version")),
        model_type=_str(e.get("model_type")),
        status=_str(e.get("status")),
        config_hash=_str(e.get("config_hash")),
        metrics=_numbers(r.get("metrics") or e.get("metrics")),
        meta_path=_str(r.get("meta_path")),
        onnx_path=_str(r.get("onnx_path")),
        artifact_dir=_str(r.get("artifact_dir")),
    )


def backtest_result(r: Json) -> results_pb2.BacktestResult:
    s = _numbers(r.get("summary"))
    return results_pb2.BacktestResult(
        model_id=_str(r.get("model_id")),
        version=_str(r.get("version")),
        symbol=_str(r.get("symbol")),
        start_day=_str(r.get("start_day")),
        end_day=_str(r.get("end_day")),
        execution=_str(r.get("execution")),
        pnl_net=s.get("pnl_net", math.nan),
        pnl_gross=s.get("pnl_gross", math.nan),
        fees=s.get("fees", math.nan),
        sharpe=s.get("sharpe", math.nan),
        max_drawdown=s.get("max_drawdown", math.nan),
        fills=int(s.get("fills", 0)),
        round_trips=int(s.get("round_trips", 0)),
        summary=s,
    )


def _stat(v: Any) -> results_pb2.MetricStat:
    v = v if isinstance(v, Mapping) else {}
    return results_pb2.MetricStat(mean=_float(v.get("mean")), std=_float(v.get("std")), n=_int(v.get("n")))


def benchmark_result(r: Json) -> results_pb2.BenchmarkResult:
    summary = r.get("summary") or {}
    return results_pb2.BenchmarkResult(
        symbol=_str(r.get("symbol")),
        horizon=_int(r.get("horizon")),
        n_splits=_int(r.get("n_splits")),
        plan_fingerprint=_str(r.get("plan_fingerprint")),
        families=[
            results_pb2.FamilyMetrics(
                family=_str(r.get("family")), metrics={str(k): _stat(v) for k, v in summary.items()}
            )
        ],
    )


def compare_result(r: Json) -> results_pb2.BenchmarkResult:
    table = r.get("table") or {}  # metric -> family -> {mean, std, n}
    families = [str(f) for f in r.get("families") or ()]
    return results_pb2.BenchmarkResult(
        plan_fingerprint=_str(r.get("plan_fingerprint")),
        families=[
            results_pb2.FamilyMetrics(
                family=f, metrics={str(m): _stat(per[f]) for m, per in table.items() if f in (per or {})}
            )
            for f in families
        ],
    )


def hpo_trial(t: Json, objectives: list[str]) -> hpo_results_pb2.HpoTrial:
    """One trial of an HPO report's JSON (values keyed by objective) as a message."""
    values = t.get("values") or {}
    duration = t.get("duration_s")
    return hpo_results_pb2.HpoTrial(
        number=_int(t.get("number")),
        state=_str(t.get("state")),
        params_json=json.dumps(t.get("params") or {}, sort_keys=True),
        values=[_float(values.get(o)) for o in objectives] if values else [],
        worker=_str(t.get("worker")),
        baseline=bool(t.get("baseline")),
        error=_str(t.get("error")),
        created_at_ns=_int(t.get("created_at_ns")),
        experiment_id=_str(t.get("experiment_id")),
        **({"duration_s": float(duration)} if isinstance(duration, int | float) else {}),
    )


def hpo_result(r: Json) -> hpo_results_pb2.HpoResult:
    objectives = [str(o) for o in r.get("objectives") or ()]
    counts = r.get("counts") or {}
    baseline = r.get("baseline")
    return hpo_results_pb2.HpoResult(
        study=_str(r.get("study")),
        family=_str(r.get("family")),
        symbol=_str(r.get("symbol")),
        horizon=_int(r.get("horizon")),
        objectives=objectives,
        directions=[str(d) for d in r.get("directions") or ()],
        sampler=_str(r.get("sampler")),
        pruner=_str(r.get("pruner")),
        executor=_str(r.get("executor")),
        best=[hpo_trial(t, objectives) for t in r.get("best") or ()],
        completed=_int(counts.get("completed")),
        pruned=_int(counts.get("pruned")),
        failed=_int(counts.get("failed")),
        workers=[str(w) for w in r.get("workers") or ()],
        ran_now=[_int(n) for n in r.get("ran_now") or ()],
        experiment_id=_str(r.get("experiment_id")),
        **({"baseline": hpo_trial(baseline, objectives)} if isinstance(baseline, Mapping) else {}),
    )


# command (JobSpec.command) -> (RunResult oneof field, converter)
_TYPED: dict[str, tuple[str, Callable[[Json], Message]]] = {
    "Download": ("ingest", ingest_result),
    "DownloadContractRange": ("ingest", ingest_result),
    "Update": ("ingest", ingest_result),
    "FillMissing": ("ingest", ingest_result),
    "Verify": ("verify", verify_result),
    "BuildDataset": ("build", build_result),
    "Train": ("train", train_result),
    "Backtest": ("backtest", backtest_result),
    "Benchmark": ("benchmark", benchmark_result),
    "Compare": ("benchmark", compare_result),
    "RunHpo": ("hpo", hpo_result),
}


def typed_fields(command: str, result: Any) -> dict[str, Message]:
    """``{oneof field: message}`` for RunResult, empty when ``command`` has no typed result or
    its result has an unexpected shape (logged; result_json still carries everything)."""
    entry = _TYPED.get(command)
    if entry is None or not isinstance(result, Mapping):
        return {}
    name, convert = entry
    try:
        return {name: convert(result)}
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        log.warning("no typed %s result for %s: %s", name, command, exc)
        return {}
