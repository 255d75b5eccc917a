"""Promotion RPCs translated faithfully: gate thresholds (defaults, explicit values, disabled
checks), the decision with every check, history; over an in-process gRPC server with the real
use case on an in-memory registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ghtrader.adapters.memory import InMemoryModelRegistry
from ghtrader.application.ports.models import RegistryEntry
from ghtrader.application.research.promotion import ModelPromotion
from ghtrader.domain.promotion import GateThresholds
from ghtrader.interfaces.client import ApiError, GhTraderClient
from ghtrader.interfaces.grpc.server import GrpcServer, ServerOptions
from ghtrader.interfaces.grpc.servicers.research import ResearchUseCases, gate_thresholds, research_service
from ghtrader.v1 import research_pb2
from tests.fakes.system import FakeClock

MID = "m"


def _unused() -> object:
    raise AssertionError("not used")


@pytest.fixture
def client() -> Iterator[GhTraderClient]:
    registry = InMemoryModelRegistry()
    for v in ("1", "2"):
        registry.register(
            RegistryEntry(MID, v, "logistic", "development", f"a/{v}", "h", {"macro_f1": 0.4, "ece": 0.03})
        )
    clock = FakeClock()
    uc = ResearchUseCases(
        train=_unused, benchmark=_unused, compare=_unused,  # type: ignore[arg-type]
        registry=lambda: registry, clock=lambda: clock,
        promotion=lambda: ModelPromotion(registry=registry, clock=clock),
    )  # fmt: skip
    server = GrpcServer(ServerOptions(host="127.0.0.1", port=0), [research_service(uc)])
    port = server.start()
    try:
        with GhTraderClient(f"127.0.0.1:{port}") as c:
            yield c
    finally:
        server.stop()


def test_gate_thresholds_defaults_values_and_disabled() -> None:
    assert gate_thresholds(research_pb2.GateThresholds()) == GateThresholds()
    t = gate_thresholds(research_pb2.GateThresholds(max_ece=0.0, min_net_sharpe=0.5, disabled=["info_captured"]))
    assert t.max_ece == 0.0 and t.min_net_sharpe == 0.5 and t.min_info_captured_delta is None
    assert t.min_macro_f1_delta == 0.0
    from ghtrader.application.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="unknown gate check"):
        gate_thresholds(research_pb2.GateThresholds(disabled=["sortino"]))
    with pytest.raises(InvalidArgument, match="max_ece"):
        gate_thresholds(research_pb2.GateThresholds(max_ece=-1.0))


def test_promote_keep_then_promote_with_checks_off_and_history(client: GhTraderClient) -> None:
    kept = client.promote_model(MID, "1")
    assert kept["promoted"] is False and kept["decision"]["decision"] == "keep" and kept["changes"] == []
    checks = {c["name"]: c for c in kept["decision"]["checks"]}
    assert list(checks) == ["net_sharpe", "max_drawdown", "macro_f1", "info_captured", "ece", "latency_us"]
    assert checks["info_captured"]["passed"] is False and checks["info_captured"]["value"] is None
    assert checks["ece"]["value"] == pytest.approx(0.03) and checks["ece"]["threshold"] == pytest.approx(0.1)
    assert checks["net_sharpe"]["threshold"] is None and checks["net_sharpe"]["passed"] is True
    assert kept["metrics_source"].startswith("registry metrics")

    done = client.promote_model(MID, "1", disabled=["info_captured"], reason="first")
    assert done["promoted"] is True and done["entry"]["status"] == "production"
    assert (
        client.promote_model(MID, "2", force=True, reason="try v2", disabled=["info_captured"])["previous_production"]
        == "1"
    )
    client.rollback_model(MID, "1", reason="back")
    history = client.model_history(MID)
    assert [(h["version"], h["to_status"]) for h in history] == [
        ("1", "production"), ("1", "retired"), ("2", "production"), ("2", "retired"), ("1", "production"),
    ]  # fmt: skip
    assert history[0]["actor"] == "cli" and history[0]["decision"]["decision"] == "promote"
    assert history[-1]["decision"] == {"rollback": {"from": "2", "to": "1"}}


def test_errors_map_to_status_codes(client: GhTraderClient) -> None:
    with pytest.raises(ApiError) as e:
        client.promote_model(MID, "9")
    assert e.value.code == "NOT_FOUND"
    with pytest.raises(ApiError) as e:
        client.promote_model(MID, "1", force=True)
    assert e.value.code == "INVALID_ARGUMENT" and "reason" in e.value.message
    with pytest.raises(ApiError) as e:
        client.rollback_model(MID, "2")
    assert e.value.code == "FAILED_PRECONDITION" and "never served" in e.value.message
    with pytest.raises(ApiError) as e:
        client.set_model_status(MID, "1", "production")
    assert e.value.code == "FAILED_PRECONDITION" and "promote" in e.value.message
    assert client.set_model_status(MID, "1", "staging", reason="review")["status"] == "staging"
    assert client.model_history(MID)[-1]["reason"] == "review"
