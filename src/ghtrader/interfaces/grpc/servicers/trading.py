"""TradingService: trading runs over gRPC (translation only; TradingRuns does the work)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import grpc

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.trading.equity_curve import MAX_POINTS, GetEquityCurve
from ghtrader.application.trading.request import TradingRunRequest
from ghtrader.application.trading.service import TradingRuns
from ghtrader.domain.calendar import beijing_datetime_to_ns
from ghtrader.interfaces.grpc.jobs import call_source
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.v1 import trading_pb2, trading_pb2_grpc

__all__ = ["TradingServicer", "parse_beijing_time", "trading_service"]


def parse_beijing_time(text: str, field: str) -> int:
    """Epoch ns of a Beijing wall time ``YYYY-MM-DDTHH:MM[:SS]`` (0 for empty text)."""
    if not text:
        return 0
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidArgument(f"{field} must be a Beijing time YYYY-MM-DDTHH:MM[:SS], got {text!r}") from exc
    if dt.tzinfo is not None:
        raise InvalidArgument(f"{field} is a Beijing wall time: give it without a UTC offset, got {text!r}")
    return beijing_datetime_to_ns(dt)


def start_request(r: trading_pb2.StartRunRequest) -> TradingRunRequest:
    """The use case's request from the message (unset optional fields keep their defaults)."""
    kw: dict[str, Any] = {}
    for name in ("policy_fit_days", "hold_rows", "flat_s", "commission_bp", "snapshot_every_s", "speedup",
                 "max_lots", "target_vol", "risk_horizon_s", "canary_share", "canary_seed", "canary_fallback_blocks",
                 "canary_fallback_margin", "drift_fallback_after"):  # fmt: skip
        if r.HasField(name):
            kw[name] = getattr(r, name)
    if r.HasField("online_calibration"):
        kw["online_calibration"] = bool(r.online_calibration)
    if r.HasField("speedup") and not r.speedup > 0:
        raise InvalidArgument(f"speedup must be > 0, got {r.speedup}")
    if r.fallback_model:
        kw.update(fallback_model_id=r.fallback_model, fallback_version=r.fallback_version or None)
    if r.anomaly_config_json:
        try:
            kw["anomaly_config"] = json.loads(r.anomaly_config_json)
        except ValueError as exc:
            raise InvalidArgument(f"anomaly_config_json is not JSON: {exc}") from None
        if not isinstance(kw["anomaly_config"], dict):
            raise InvalidArgument("anomaly_config_json must be a JSON object")
    return TradingRunRequest(
        mode=r.mode, model_id=r.model_id, version=r.version or None, symbol=r.symbol,
        monitor_only=r.monitor_only, confirm_live=r.confirm_live, account=r.account, max_ticks=int(r.max_ticks),
        end_ns=parse_beijing_time(r.end_time, "end_time"), risk_limits=dict(r.risk_limits),
        replay_from_ns=parse_beijing_time(r.replay_from, "replay_from"),
        order_kind=r.order_kind or "fak", aggressive=not r.passive, executor=r.executor or "direct",
        venue=r.venue or "local", sizing=r.sizing or "fixed", shadow_model_id=r.shadow_model,
        shadow_version=r.shadow_version or None, canary_model_id=r.canary_model, canary_version=r.canary_version or None,
        regime_model=r.regime_model, regime_scales=dict(r.regime_scales), regime_max_lots=dict(r.regime_max_lots),
        regime_stress_scales=dict(r.regime_stress_scales),
        **kw,
    )  # fmt: skip


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class TradingServicer(trading_pb2_grpc.TradingServiceServicer):
    def __init__(self, runs: Callable[[], TradingRuns], equity: Callable[[], GetEquityCurve] | None = None) -> None:
        self._runs = runs
        self._equity = equity

    def GetRunEquity(
        self, request: trading_pb2.GetRunEquityRequest, context: grpc.ServicerContext
    ) -> trading_pb2.GetRunEquityResponse:
        if not request.run_id:
            raise InvalidArgument("run_id is required")
        if self._equity is None:
            raise InvalidArgument("this server has no equity-curve use case wired")
        max_points = request.max_points if request.HasField("max_points") else MAX_POINTS
        curve = self._equity()(request.run_id, max_points)
        return trading_pb2.GetRunEquityResponse(
            run_id=curve.run_id,
            time_ns=curve.time_ns.tolist(),
            equity=curve.equity.tolist(),
            pnl=curve.pnl.tolist(),
            balance=curve.balance.tolist(),
            snapshots=curve.snapshots,
            max_drawdown=curve.max_drawdown,
        )

    def StartRun(
        self, request: trading_pb2.StartRunRequest, context: grpc.ServicerContext
    ) -> trading_pb2.StartRunResponse:
        started = self._runs().start(start_request(request), source=call_source(context))
        return trading_pb2.StartRunResponse(run_id=started["run_id"], config_json=_dumps(started["config"]))

    def ListRuns(
        self, request: trading_pb2.ListRunsRequest, context: grpc.ServicerContext
    ) -> trading_pb2.ListRunsResponse:
        runs = [r for r in self._runs().list_runs() if not request.mode or r["mode"] == request.mode]
        return trading_pb2.ListRunsResponse(runs=[trading_pb2.RunSummary(**r) for r in runs])

    def GetRunStatus(
        self, request: trading_pb2.GetRunStatusRequest, context: grpc.ServicerContext
    ) -> trading_pb2.GetRunStatusResponse:
        if not request.run_id:
            raise InvalidArgument("run_id is required")
        s = self._runs().status(request.run_id)
        config = s.pop("config", {})
        return trading_pb2.GetRunStatusResponse(
            run_id=request.run_id, status=str(s.get("status") or ""), alive=bool(s.get("alive")),
            execution_symbol=str(s.get("execution_symbol") or ""), ticks=int(s.get("ticks") or 0),
            target=int(s.get("target") or 0), position=int(s.get("position") or 0), rolls=int(s.get("rolls") or 0),
            stop_reason=str(s.get("stop_reason") or ""), state_json=_dumps(s), config_json=_dumps(config),
        )  # fmt: skip

    def TailRunEvents(
        self, request: trading_pb2.TailRunEventsRequest, context: grpc.ServicerContext
    ) -> trading_pb2.TailRunEventsResponse:
        if not request.run_id:
            raise InvalidArgument("run_id is required")
        limit = request.limit if request.HasField("limit") else 50
        if limit < 1:
            raise InvalidArgument(f"limit must be >= 1, got {limit}")
        events = self._runs().tail(request.run_id, 0)
        if request.kind:
            events = [e for e in events if e.get("kind") == request.kind]
        return trading_pb2.TailRunEventsResponse(
            events=[
                trading_pb2.TradingEvent(
                    kind=str(e.get("kind", "")),
                    ts=str(e.get("ts", "")),
                    time_ns=int(e.get("time_ns") or 0),
                    payload_json=_dumps(e),
                )  # fmt: skip
                for e in events[-limit:]
            ]
        )

    def _command(self, name: str, request: trading_pb2.RunCommandRequest) -> trading_pb2.RunCommandResponse:
        if not request.run_id:
            raise InvalidArgument("run_id is required")
        runs = self._runs()
        runs.command(request.run_id, name, request.reason)
        return trading_pb2.RunCommandResponse(
            run_id=request.run_id, command=name, queued=True, running=runs.running(request.run_id)
        )

    def CancelAllOrders(self, request: trading_pb2.RunCommandRequest, context: grpc.ServicerContext) -> trading_pb2.RunCommandResponse:  # fmt: skip
        return self._command("cancel_all", request)

    def FlattenPositions(self, request: trading_pb2.RunCommandRequest, context: grpc.ServicerContext) -> trading_pb2.RunCommandResponse:  # fmt: skip
        return self._command("flatten", request)

    def HaltRun(self, request: trading_pb2.RunCommandRequest, context: grpc.ServicerContext) -> trading_pb2.RunCommandResponse:  # fmt: skip
        return self._command("halt", request)

    def ResumeRun(self, request: trading_pb2.RunCommandRequest, context: grpc.ServicerContext) -> trading_pb2.RunCommandResponse:  # fmt: skip
        return self._command("resume", request)

    def ResetKillSwitch(self, request: trading_pb2.RunCommandRequest, context: grpc.ServicerContext) -> trading_pb2.RunCommandResponse:  # fmt: skip
        return self._command("reset_kill", request)

    def StopRun(self, request: trading_pb2.RunCommandRequest, context: grpc.ServicerContext) -> trading_pb2.RunCommandResponse:  # fmt: skip
        return self._command("stop", request)

    def ResumeModel(self, request: trading_pb2.RunCommandRequest, context: grpc.ServicerContext) -> trading_pb2.RunCommandResponse:  # fmt: skip
        return self._command("resume_model", request)


def trading_service(
    runs: Callable[[], TradingRuns], equity: Callable[[], GetEquityCurve] | None = None
) -> ServiceRegistration:
    servicer = TradingServicer(runs, equity)
    return ServiceRegistration(
        service_name=trading_pb2.DESCRIPTOR.services_by_name["TradingService"].full_name,
        register=lambda server: trading_pb2_grpc.add_TradingServiceServicer_to_server(servicer, server),
    )
