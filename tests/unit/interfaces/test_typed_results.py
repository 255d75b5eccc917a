"""Typed results in RunResult: each command's typed message is filled from the same result
object as result_json, streamed from a server thread or read back from the job store, and the
client exposes it (a real gRPC server with small servicers returning real result objects)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import grpc
import pytest

from ghtrader.application.coverage import ContractCoverage, VerifyCoverageResult
from ghtrader.application.datasets.build import BuildDatasetResult, KindBuildResult
from ghtrader.application.ingest import DownloadTicksResult, MultiDownloadResult
from ghtrader.application.ports.jobs import JobOutcome, JobRecord
from ghtrader.application.ports.models import RegistryEntry
from ghtrader.application.reporting import to_jsonable
from ghtrader.application.research.compare import ComparisonReport
from ghtrader.application.research.train import TrainResult
from ghtrader.interfaces.client import GhTraderClient
from ghtrader.interfaces.grpc.jobs import InThreadLauncher, JobSpec, result_event
from ghtrader.interfaces.grpc.server import GrpcServer, ServerOptions, ServiceRegistration
from ghtrader.interfaces.grpc.streaming import RunOutcome
from ghtrader.interfaces.grpc.typed_results import typed_fields
from ghtrader.v1 import data_pb2, data_pb2_grpc, datasets_pb2, datasets_pb2_grpc, research_pb2, research_pb2_grpc

D1, D2 = date(2026, 10, 12), date(2026, 10, 16)


def _download(symbol: str = "SHFE.cu2612", downloaded: int = 4, missing: int = 1) -> DownloadTicksResult:
    return DownloadTicksResult(
        symbol=symbol,
        start_day=D1,
        end_day=D2,
        requested=5,
        present_before=0,
        no_data_before=0,
        downloaded=downloaded,
        no_data=5 - downloaded - missing,
        missing=missing,
        missing_days=[D2] if missing else [],
        rows_written=1000 * downloaded,
        rejected_rows={"crossed book": 2},
        rejected_total=2,
        not_yet_complete=0,
        duration_s=1.5,
    )


def _multi() -> MultiDownloadResult:
    a, b = _download("SHFE.cu2612"), _download("SHFE.cu2701", downloaded=5, missing=0)
    return MultiDownloadResult("SHFE.cu", [a, b], [], 9, 0, 1, 9000, {"crossed book": 4}, 3.0)


def _verify() -> VerifyCoverageResult:
    c = ContractCoverage("SHFE.cu2612", D1, D2, 5, 3, 1, 1, [D2], D1, date(2026, 10, 14), date(2026, 10, 15))
    return VerifyCoverageResult([c], ["SHFE.cu2799"], [], D2, 5, 3, 1, 1)


def _build() -> BuildDatasetResult:
    kind = KindBuildResult("features", "cfg-1", "20261207T101500Z_features_ab", ["f1", "f2"], [D1, D2], [], 3, 7000)
    return BuildDatasetResult("KQ.m@SHFE.cu", "main_l5", 5, 2, {"features": kind}, None, 2.5)


def _train() -> TrainResult:
    entry = RegistryEntry("logistic-KQ.m@SHFE.cu-h10", "3", "logistic", "development", "/a/3", "h" * 64, {})
    metrics = {"accuracy": 0.61, "macro_f1": 0.4, "n_valid": 812, "note": "text is left out"}
    return TrainResult(entry, Path("/a/3"), Path("/a/3/meta.json"), Path("/a/3/model.onnx"), metrics)


BACKTEST = {  # the payload shape of BacktestReport.to_payload()
    "model_id": "logistic-KQ.m@SHFE.cu-h10",
    "version": "3",
    "symbol": "KQ.m@SHFE.cu",
    "start_day": "2026-10-13",
    "end_day": "2026-10-16",
    "execution": "microsim",
    "summary": {
        "pnl_net": 1234.5,
        "pnl_gross": 1500.0,
        "fees": 265.5,
        "sharpe": 1.8,
        "max_drawdown": 300.0,
        "fills": 42,
        "round_trips": 20,
    },
}
BENCHMARK = {  # the payload shape of BenchmarkReport.to_payload()
    "family": "lightgbm",
    "symbol": "KQ.m@SHFE.cu",
    "horizon": 10,
    "n_splits": 5,
    "plan_fingerprint": "fp",
    "summary": {
        "macro_f1": {"mean": 0.41, "std": 0.02, "n": 5},
        "accuracy": {"mean": 0.6, "std": float("nan"), "n": 1},
    },
}


def _compare() -> ComparisonReport:
    table = {
        "macro_f1": {"lightgbm": {"mean": 0.41, "std": 0.02, "n": 5}, "logistic": {"mean": 0.38, "std": 0.03, "n": 5}},
        "accuracy": {"lightgbm": {"mean": 0.6, "std": 0.01, "n": 5}},
    }
    return ComparisonReport("cmp-1", ("lightgbm", "logistic"), "fp", table, [], [])


# (RPC command, oneof field, result object as the servicer returns it)
CASES: dict[str, tuple[str, Any]] = {
    "Download": ("ingest", _download()),
    "Update": ("ingest", _multi()),
    "Verify": ("verify", _verify()),
    "BuildDataset": ("build", _build()),
    "Train": ("train", _train()),
    "Backtest": ("backtest", BACKTEST),
    "Benchmark": ("benchmark", BENCHMARK),
    "Compare": ("benchmark", _compare().to_payload()),
}


def check(command: str, kind: str, typed: Any) -> None:
    """The typed message of each case carries the result's numbers."""
    assert kind == CASES[command][0]
    if command == "Download":
        assert (typed.downloaded, typed.missing, typed.rows_written, typed.rows_rejected) == (4, 1, 4000, 2)
        (c,) = typed.contracts
        assert (c.symbol, c.start_day, c.end_day, list(c.missing_days)) == (
            "SHFE.cu2612",
            "2026-10-12",
            "2026-10-16",
            ["2026-10-16"],
        )
    elif command == "Update":
        assert (typed.variety, typed.downloaded, typed.missing, typed.rows_written, typed.rows_rejected) == (
            "SHFE.cu",
            9,
            1,
            9000,
            4,
        )
        assert [c.symbol for c in typed.contracts] == ["SHFE.cu2612", "SHFE.cu2701"] and typed.contracts[
            1
        ].downloaded == 5
    elif command == "Verify":
        assert (typed.expected, typed.present, typed.no_data, typed.missing) == (5, 3, 1, 1)
        assert typed.contracts[0].missing_days == ["2026-10-16"] and list(typed.unindexed) == ["SHFE.cu2799"]
    elif command == "BuildDataset":
        assert (typed.symbol, typed.ticks_lake, typed.source_days) == ("KQ.m@SHFE.cu", "main_l5", 5)
        (k,) = typed.kinds
        assert (k.kind, k.build_id, k.config_hash, k.days_written, k.days_up_to_date, k.rows_written, k.columns) == (
            "features",
            "20261207T101500Z_features_ab",
            "cfg-1",
            2,
            3,
            7000,
            2,
        )
    elif command == "Train":
        assert (typed.model_id, typed.version, typed.model_type, typed.status) == (
            "logistic-KQ.m@SHFE.cu-h10",
            "3",
            "logistic",
            "development",
        )
        assert dict(typed.metrics) == {"accuracy": 0.61, "macro_f1": 0.4, "n_valid": 812.0}
        assert (typed.meta_path, typed.onnx_path) == ("/a/3/meta.json", "/a/3/model.onnx")
    elif command == "Backtest":
        assert (typed.pnl_net, typed.sharpe, typed.max_drawdown, typed.fills, typed.round_trips) == (
            1234.5,
            1.8,
            300.0,
            42,
            20,
        )
        assert typed.summary["fees"] == 265.5 and typed.execution == "microsim"
    elif command == "Benchmark":
        (f,) = typed.families
        assert (typed.symbol, typed.horizon, typed.n_splits, f.family) == ("KQ.m@SHFE.cu", 10, 5, "lightgbm")
        assert f.metrics["macro_f1"].mean == 0.41 and f.metrics["macro_f1"].n == 5
        assert math.isnan(f.metrics["accuracy"].std)
    elif command == "Compare":
        assert [f.family for f in typed.families] == ["lightgbm", "logistic"] and typed.plan_fingerprint == "fp"
        assert typed.families[0].metrics["accuracy"].mean == 0.6 and "accuracy" not in typed.families[1].metrics
        assert typed.families[1].metrics["macro_f1"].mean == 0.38


@pytest.mark.parametrize("command", sorted(CASES))
def test_a_job_result_read_back_from_the_store_carries_its_typed_result(command: str) -> None:
    kind, result = CASES[command]
    job = JobRecord(
        id=9,
        command=command,
        args_json="{}",
        request_type="t",
        request_b64="",
        source="api",
        state="succeeded",
        created_ns=1,
        locks_wanted=(),
        tqsdk=False,
        no_wait=False,
        log_path="/l",
        exit_code=0,
        outcome=JobOutcome(True, "done", "", json.dumps(to_jsonable(result), sort_keys=True)),
    )
    r = result_event(job).result
    assert r.WhichOneof("typed") == kind and r.job_id == 9
    check(command, kind, getattr(r, kind))
    assert json.loads(r.result_json) == json.loads(job.outcome.result_json)  # type: ignore[union-attr]  # unchanged


def test_commands_without_a_typed_result_and_odd_shapes_set_none() -> None:
    assert typed_fields("Record", {"rows_written": 3}) == {}
    assert typed_fields("Train", None) == {} and typed_fields("Train", [1, 2]) == {}
    assert typed_fields("BuildDataset", {"kinds": {"features": "not a mapping"}}) == {}  # logged, not raised


class _Servicers(
    data_pb2_grpc.DataServiceServicer,
    datasets_pb2_grpc.DatasetServiceServicer,
    research_pb2_grpc.ResearchServiceServicer,
):
    """Each RPC runs in the server's thread (InThreadLauncher) and returns its case's result object."""

    def __init__(self) -> None:
        self._launcher = InThreadLauncher()

    def _run(self, command: str, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        result = CASES[command][1]
        spec = JobSpec(command, type(request), lambda _r, _stop: lambda progress: RunOutcome(True, command, result))
        return self._launcher.run(spec, request, context)

    def Download(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        return self._run("Download", request, context)

    def Update(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        return self._run("Update", request, context)

    def Verify(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        return self._run("Verify", request, context)

    def BuildDataset(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        return self._run("BuildDataset", request, context)

    def Train(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        return self._run("Train", request, context)

    def Backtest(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        return self._run("Backtest", request, context)

    def Benchmark(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        return self._run("Benchmark", request, context)

    def Compare(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        return self._run("Compare", request, context)


@pytest.fixture
def client() -> Iterator[GhTraderClient]:
    s = _Servicers()
    services = [
        ServiceRegistration(
            data_pb2.DESCRIPTOR.services_by_name["DataService"].full_name,
            lambda server: data_pb2_grpc.add_DataServiceServicer_to_server(s, server),
        ),
        ServiceRegistration(
            datasets_pb2.DESCRIPTOR.services_by_name["DatasetService"].full_name,
            lambda server: datasets_pb2_grpc.add_DatasetServiceServicer_to_server(s, server),
        ),
        ServiceRegistration(
            research_pb2.DESCRIPTOR.services_by_name["ResearchService"].full_name,
            lambda server: research_pb2_grpc.add_ResearchServiceServicer_to_server(s, server),
        ),
    ]
    server = GrpcServer(ServerOptions(port=0), services)
    server.start()
    c = GhTraderClient(server.target)
    try:
        yield c
    finally:
        c.close()
        server.stop(grace_s=0.1)


def test_the_client_exposes_every_typed_result(client: GhTraderClient) -> None:
    scope = research_pb2.ResearchScope(symbol="KQ.m@SHFE.cu")
    calls = {
        "Download": lambda: client.download("SHFE.cu2612", "2026-10-12", "2026-10-16"),
        "Update": lambda: client.update("SHFE.cu"),
        "Verify": lambda: client.verify("SHFE.cu"),
        "BuildDataset": lambda: client.build_dataset("KQ.m@SHFE.cu"),
        "Train": lambda: client.train("logistic", scope),
        "Backtest": lambda: client.backtest("m", start_day="2026-10-13", end_day="2026-10-16"),
        "Benchmark": lambda: client.benchmark("lightgbm", scope),
        "Compare": lambda: client.compare(["lightgbm", "logistic"], scope),
    }
    for command, call in calls.items():
        view = call()
        check(command, view.typed_kind, view.typed)
        assert view.result == json.loads(json.dumps(to_jsonable(CASES[command][1]), sort_keys=True))
        assert "typed" not in view.to_dict() and view.to_dict()["summary"] == command
