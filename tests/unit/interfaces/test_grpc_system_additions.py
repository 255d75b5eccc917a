"""SystemService additions over the real gRPC stack: GetDirectorySizes (the first call answers
at once, measuring; a later one carries the walked sizes) and GetPipelineReadiness."""

from __future__ import annotations

import time
from pathlib import Path

from ghtrader.adapters.host.directory_sizes import ScandirDirectorySizer
from ghtrader.application.directory_sizes import GetDirectorySizes
from ghtrader.application.pipeline_readiness import GetPipelineReadiness
from ghtrader.application.system import GetSystemStatus
from ghtrader.interfaces.client import GhTraderClient
from ghtrader.interfaces.grpc.server import GrpcServer, ServerOptions
from ghtrader.interfaces.grpc.servicers.system import system_service
from tests.fakes.system import FakeClock, InMemoryHostProbe, InMemoryStoreProbe
from tests.unit.application.test_pipeline_readiness import Schedules, _index


def test_directory_sizes_round_trip(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ticks.bin").write_bytes(b"t" * 4096)
    clock = FakeClock()
    status = GetSystemStatus(
        clock=clock, host_probe=InMemoryHostProbe(), store_probe=InMemoryStoreProbe(), version="1", git_commit="",
        provider="synthetic",
    )  # fmt: skip
    sizes = GetDirectorySizes(
        paths=[str(tmp_path / "data"), str(tmp_path / "runs")], sizer=ScandirDirectorySizer(), clock=clock
    )
    server = GrpcServer(ServerOptions(host="127.0.0.1", port=0), [system_service(status, sizes)])
    server.start()
    try:
        with GhTraderClient(server.target) as client:
            got = client.directory_sizes()
            for _ in range(100):
                if not got["measuring"]:
                    break
                time.sleep(0.02)
                got = client.directory_sizes()
    finally:
        server.stop(grace_s=0)
    data, runs = got["sizes"]
    assert (data["bytes"], data["files"], data["partial"], data["error"]) == (4096, 1, False, "")
    assert runs["path"].endswith("runs") and "not a folder" in runs["error"]
    assert got["ttl_seconds"] == 300.0 and got["budget_seconds"] == 10.0


def test_pipeline_readiness_round_trip() -> None:
    clock = FakeClock()
    status = GetSystemStatus(
        clock=clock, host_probe=InMemoryHostProbe(), store_probe=InMemoryStoreProbe(), version="1", git_commit="",
        provider="synthetic",
    )  # fmt: skip
    readiness = GetPipelineReadiness(probe=InMemoryStoreProbe(), index=_index(), schedules=Schedules("SHFE.cu"))
    server = GrpcServer(ServerOptions(host="127.0.0.1", port=0), [system_service(status, None, readiness)])
    server.start()
    try:
        with GhTraderClient(server.target) as client:
            got = client.pipeline_readiness(["SHFE.cu", "SHFE.ag"])
    finally:
        server.stop(grace_s=0)
    assert got["store_reachable"] and got["store_detail"] == "in-memory 1.0"
    cu, ag = got["varieties"]
    assert cu == {
        "variety": "SHFE.cu", "raw_contracts": 2, "schedule_present": True, "main_l5_days": 2,
        "main_l5_last_day": "2026-01-06", "error": "",
    }  # fmt: skip
    assert (ag["raw_contracts"], ag["schedule_present"], ag["main_l5_days"]) == (0, False, 0)


def test_model_card_round_trip(tmp_path: Path) -> None:
    from ghtrader.application.ports.models import StatusChange
    from ghtrader.interfaces.client import ApiError
    from ghtrader.interfaces.grpc.servicers.research import ResearchUseCases, research_service
    from tests.unit.application.research.test_model_cards import world

    get_card, registry, _ = world(tmp_path)
    registry.change_statuses([StatusChange("cu-lgbm", "1", "development", "production", "gate passed", "cli", 20)])
    unused = lambda: None  # noqa: E731 - the card needs none of the other use cases
    use_cases = ResearchUseCases(
        train=unused, benchmark=unused, compare=unused, registry=lambda: registry, clock=FakeClock,  # type: ignore[arg-type]
        model_card=lambda: get_card,
    )  # fmt: skip
    server = GrpcServer(ServerOptions(host="127.0.0.1", port=0), [research_service(use_cases)])
    server.start()
    try:
        with GhTraderClient(server.target) as client:
            card = client.model_card("cu-lgbm")
            missing = None
            try:
                client.model_card("nope")
            except ApiError as exc:
                missing = exc.code
    finally:
        server.stop(grace_s=0)
    assert card["entry"]["version"] == "1" and card["entry"]["status"] == "production"
    assert [h["to_status"] for h in card["history"]] == ["production"]
    assert card["features"] == ["spread", "imbalance_l1"] and card["horizon"] == 50
    assert card["calibration"]["method"] == "isotonic" and card["onnx_bytes"] == 100
    assert card["train_start_day"] == "2026-01-05" and card["card_markdown"] == "# cu-lgbm v1"
    assert missing == "NOT_FOUND"


def test_run_equity_round_trip(tmp_path: Path) -> None:
    from ghtrader.adapters.filesystem.run_snapshots import FilesystemRunSnapshots
    from ghtrader.application.trading.equity_curve import GetEquityCurve
    from ghtrader.interfaces.client import ApiError
    from ghtrader.interfaces.grpc.servicers.trading import trading_service
    from tests.unit.application.trading.test_equity_curve import write_run

    write_run(tmp_path, "paper-1", [float(100 + (i % 7)) for i in range(5000)])
    curve = GetEquityCurve(FilesystemRunSnapshots(tmp_path))
    no_runs = lambda: None  # noqa: E731 - the equity curve needs no TradingRuns
    server = GrpcServer(ServerOptions(host="127.0.0.1", port=0), [trading_service(no_runs, lambda: curve)])  # type: ignore[arg-type]
    server.start()
    try:
        with GhTraderClient(server.target) as client:
            got = client.trading_run_equity("paper-1", max_points=100)
            whole = client.trading_run_equity("paper-1")
            codes = []
            for run_id, points in (("nope", None), ("paper-1", 2)):
                try:
                    client.trading_run_equity(run_id, max_points=points)
                except ApiError as exc:
                    codes.append(exc.code)
    finally:
        server.stop(grace_s=0)
    assert got["snapshots"] == 5000 and len(got["time_ns"]) <= 100 and got["max_drawdown"] == 6.0
    assert len(whole["equity"]) <= 2000 and min(whole["pnl"]) == 0.0 and max(whole["pnl"]) == 6.0
    assert codes == ["NOT_FOUND", "INVALID_ARGUMENT"]
