"""TcaService: post-trade attribution of a trading run and pre-trade estimates (unary: both read
a run's journal or a few days of ticks and answer in seconds)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import grpc

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.research.backtest_report import BacktestRequest
from ghtrader.application.tca import AnalyzeTca, PreTradeRequest, PreTradeTca
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.v1 import tca_pb2, tca_pb2_grpc

__all__ = ["TcaUseCases", "tca_service"]


@dataclass(frozen=True)
class TcaUseCases:
    """What the servicer calls."""

    analyze: AnalyzeTca
    pretrade: PreTradeTca


def _components(d: dict[str, float], suffix: str = "") -> tca_pb2.CostComponents:
    return tca_pb2.CostComponents(
        spread=d[f"spread{suffix}"], impact=d[f"impact{suffix}"], timing=d[f"timing{suffix}"],
        opportunity=d[f"opportunity{suffix}"], shortfall=d[f"shortfall{suffix}"],
    )  # fmt: skip


def _impact(d: dict[str, Any]) -> tca_pb2.ImpactModelInfo:
    return tca_pb2.ImpactModelInfo(kind=str(d["kind"]), eta=float(d["eta"]), n_obs=int(d["n_obs"]), r2=float(d["r2"]))


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidArgument(f"{name} must be YYYY-MM-DD, got {text!r}") from exc


def _backtest_request(b: tca_pb2.BacktestToAnalyze) -> BacktestRequest:
    return BacktestRequest(
        model_id=b.model_id, start_day=_day(b.start_day, "start_day"), end_day=_day(b.end_day, "end_day"),
        version=b.version or None, execution=b.execution or "aggressive",
        flat_s=b.flat_s if b.HasField("flat_s") else None,
    )  # fmt: skip


class TcaServicer(tca_pb2_grpc.TcaServiceServicer):
    def __init__(self, use_cases: Callable[[], TcaUseCases]) -> None:
        self._use_cases = use_cases

    def Analyze(self, request: tca_pb2.AnalyzeRequest, context: grpc.ServicerContext) -> tca_pb2.AnalyzeResponse:
        analyze = self._use_cases().analyze
        if request.HasField("backtest") and not request.run_id:
            report = analyze.backtest_model(_backtest_request(request.backtest), write_report=not request.no_report)
        else:
            report = analyze.run(request.run_id, write_report=not request.no_report)
        t = report.totals
        paths = report.report_paths or {}
        return tca_pb2.AnalyzeResponse(
            run_id=report.run_id, source=report.source, symbol=report.symbol, tick=report.tick,
            multiplier=report.multiplier, totals=_components(t), totals_ticks=_components(report.totals_ticks, "_ticks"),
            fees=t["fees"], total_cost=t["total_cost"], slippage_ticks_per_lot=t["slippage_ticks_per_lot"],
            filled_qty=t["filled"],
            orders=[
                tca_pb2.OrderCost(
                    order_id=x.order_id, symbol=x.symbol, datetime_ns=x.datetime_ns, side=x.side,
                    order_qty=x.order_qty, filled_qty=x.filled_qty, arrival_price=x.arrival_price,
                    execution_price=x.execution_price, slippage_ticks=x.slippage_ticks,
                    cost=tca_pb2.CostComponents(spread=x.spread_cost, impact=x.impact_cost, timing=x.timing_cost,
                                                opportunity=x.opportunity_cost, shortfall=x.shortfall),
                    fees=x.fees, duration_ns=x.duration_ns,
                )
                for x in report.labels
            ],
            impact=_impact(report.impact), impact_source=report.impact_source,
            impact_fitted=_impact(report.impact["fitted_on_this_run"]),
            report_json=str(paths.get("json_path", "")), report_html=str(paths.get("html_path", "")),
            figure_paths=[str(p) for p in (paths.get("figure_paths") or {}).values()], notes=report.notes,
        )  # fmt: skip

    def PreTrade(self, request: tca_pb2.PreTradeRequest, context: grpc.ServicerContext) -> tca_pb2.PreTradeResponse:
        try:
            end_day = date.fromisoformat(request.end_day) if request.end_day else None
        except ValueError as exc:
            raise InvalidArgument(f"end_day must be YYYY-MM-DD, got {request.end_day!r}") from exc
        r = self._use_cases().pretrade(
            PreTradeRequest(
                symbol=request.symbol,
                side=request.side,
                qty=request.qty,
                horizon_s=request.horizon_s if request.HasField("horizon_s") else 300.0,
                slices=request.slices if request.HasField("slices") else 10,
                schedule=request.schedule or "is",
                urgency=request.urgency if request.HasField("urgency") else 2.0,
                days=request.days if request.HasField("days") else 1,
                end_day=end_day,
            )  # fmt: skip
        )
        p = r.profile
        return tca_pb2.PreTradeResponse(
            symbol=r.symbol, half_spread_ticks=p["half_spread_ticks"], sigma_ticks_per_sqrt_s=p["sigma_ticks_per_sqrt_s"],
            lots_per_s=p["lots_per_s"], mid=p["mid"], days=[d.isoformat() for d in r.days], impact=_impact(r.impact),
            impact_source=r.impact_source,
            costs=[tca_pb2.ScheduleCost(schedule=n, **c) for n, c in r.costs.items()], schedule=r.schedule,
            slices=[tca_pb2.ScheduleSlice(t_s=s["t_s"], lots=int(s["lots"])) for s in r.slices],
            urgency_curve=[tca_pb2.UrgencyPoint(**u) for u in r.urgency_curve],
            liquidity=[tca_pb2.LiquidityLevel(**x) for x in r.liquidity], tick=r.tick, multiplier=r.multiplier,
        )  # fmt: skip


def tca_service(use_cases: Callable[[], TcaUseCases]) -> ServiceRegistration:
    """``use_cases`` returns the use cases (a provider: the stores open on the first call)."""
    servicer = TcaServicer(use_cases)
    return ServiceRegistration(
        service_name=tca_pb2.DESCRIPTOR.services_by_name["TcaService"].full_name,
        register=lambda server: tca_pb2_grpc.add_TcaServiceServicer_to_server(servicer, server),
    )
