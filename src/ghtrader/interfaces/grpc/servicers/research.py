"""ResearchService: train, benchmark, compare and the model registry over gRPC."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import grpc

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.feature_sets import FeatureSetStore
from ghtrader.application.ports.models import ModelRegistry, RegistryEntry, StatusChange, TrainConfig
from ghtrader.application.reporting import to_jsonable
from ghtrader.application.research.backtest import RunBacktest
from ghtrader.application.research.backtest_report import BacktestRequest
from ghtrader.application.research.benchmark import RunBenchmark
from ghtrader.application.research.benchmark_report import BenchmarkRequest
from ghtrader.application.research.compare import CompareModels, CompareRequest
from ghtrader.application.research.daily_train import DailyTrain, DailyTrainRequest
from ghtrader.application.research.model_cards import GetModelCard
from ghtrader.application.research.promotion import ModelPromotion, PromoteRequest, RollbackRequest
from ghtrader.application.research.sweep import RunSweep, SweepRequest
from ghtrader.application.research.train import TrainModel, TrainRequest
from ghtrader.domain.evaluation import CostModel
from ghtrader.domain.factors import CORE_L5_FACTORS, factor_names
from ghtrader.domain.promotion import MODEL_STATUSES, GateDecision, GateThresholds
from ghtrader.interfaces.grpc.jobs import InThreadLauncher, JobLauncher, JobSpec, Stop
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.interfaces.grpc.servicers.data import optional_field, parse_day
from ghtrader.interfaces.grpc.streaming import RunOutcome, Work
from ghtrader.v1 import research_pb2, research_pb2_grpc, runs_pb2

DEFAULT_SYMBOL = "KQ.m@SHFE.cu"
STATUSES = MODEL_STATUSES
GATE_CHECKS = ("net_sharpe", "max_drawdown", "macro_f1", "info_captured", "ece", "latency_us")
_THRESHOLD_OF = {
    "net_sharpe": "min_net_sharpe",
    "max_drawdown": "max_drawdown",
    "macro_f1": "min_macro_f1_delta",
    "info_captured": "min_info_captured_delta",
    "ece": "max_ece",
    "latency_us": "max_latency_us",
}


@dataclass(frozen=True)
class ResearchUseCases:
    train: Callable[[], TrainModel]
    benchmark: Callable[[], RunBenchmark]
    compare: Callable[[], CompareModels]
    registry: Callable[[], ModelRegistry]
    clock: Callable[[], Clock]
    backtest: Callable[[], RunBacktest] | None = None
    promotion: Callable[[], ModelPromotion] | None = None
    daily_train: Callable[[], DailyTrain] | None = None
    sweep: Callable[[], RunSweep] | None = None
    model_card: Callable[[], GetModelCard] | None = None
    feature_sets: Callable[[], FeatureSetStore] | None = None  # resolves `--features @name`


@dataclass(frozen=True)
class Scope:
    symbol: str
    start_day: date | None
    end_day: date | None
    horizon: int
    features: tuple[str, ...]
    train: TrainConfig


def _optional_count(message: Any, field: str) -> int | None:
    """An optional count: None when unset, else the value, which must be >= 1."""
    value = optional_field(message, field)
    if value is not None and value < 1:
        raise InvalidArgument(f"{field} must be >= 1, got {value}")
    return None if value is None else int(value)


def _count(message: Any, field: str, default: int) -> int:
    value = _optional_count(message, field)
    return default if value is None else value


def resolve_feature_sets(names: tuple[str, ...], sets: Callable[[], FeatureSetStore] | None) -> tuple[str, ...]:
    """``names`` with every ``@name`` replaced by that stored feature set's features (in order)."""
    out: list[str] = []
    for name in names:
        if not name.startswith("@"):
            out.append(name)
            continue
        found = sets().get(name[1:]) if sets is not None else None
        if found is None:
            raise NotFound(f"no feature set {name[1:]!r} (see `ghtrader features sets`)")
        out.extend(found.features)
    return tuple(dict.fromkeys(out))


def parse_scope(scope: research_pb2.ResearchScope, feature_sets: Callable[[], FeatureSetStore] | None = None) -> Scope:
    horizon = _count(scope, "horizon", 10)
    if list(scope.features) == ["all"]:
        features = tuple(factor_names())
    else:
        features = resolve_feature_sets(tuple(scope.features), feature_sets) or tuple(CORE_L5_FACTORS)
    config = TrainConfig(
        horizon=horizon,
        seed=int(scope.seed),
        max_epochs=_count(scope, "max_epochs", 20),
        window=_count(scope, "window", 50),
        max_train_rows=_optional_count(scope, "max_train_rows"),
    )
    return Scope(
        symbol=scope.symbol or DEFAULT_SYMBOL,
        start_day=parse_day(scope.start_day, "start_day", required=False),
        end_day=parse_day(scope.end_day, "end_day", required=False),
        horizon=horizon,
        features=features,
        train=config,
    )


def _benchmark_request(
    family: str, scope: Scope, request: research_pb2.BenchmarkRequest | research_pb2.CompareRequest
) -> BenchmarkRequest:
    default_costs = CostModel()  # the domain validates the values given (>= 0, finite)
    commission_bp = optional_field(request, "commission_bp")
    slippage_ticks = optional_field(request, "slippage_ticks")
    costs = CostModel(
        commission_bp=default_costs.commission_bp if commission_bp is None else commission_bp,
        slippage_ticks=default_costs.slippage_ticks if slippage_ticks is None else slippage_ticks,
    )
    n_splits = optional_field(request, "n_splits")
    return BenchmarkRequest(
        family=family,
        symbol=scope.symbol,
        start_day=scope.start_day,
        end_day=scope.end_day,
        feature_names=scope.features,
        horizon=scope.horizon,
        n_splits=5 if n_splits is None else n_splits,
        seed=scope.train.seed,
        train=scope.train,
        costs=costs,
    )


def backtest_request(request: research_pb2.BacktestRequest) -> BacktestRequest:
    """The use case's request from the gRPC one (defaults for unset optional fields)."""
    if not request.model_id:
        raise InvalidArgument("model_id is required (a registry id, see `ghtrader models`)")
    commission_bp = optional_field(request, "commission_bp")
    slippage_ticks = optional_field(request, "slippage_ticks")
    default_costs = CostModel()
    costs = CostModel(
        commission_bp=default_costs.commission_bp if commission_bp is None else commission_bp,
        slippage_ticks=default_costs.slippage_ticks if slippage_ticks is None else slippage_ticks,
    )
    fit_days = optional_field(request, "policy_fit_days")
    return BacktestRequest(
        model_id=request.model_id,
        version=request.version or None,
        symbol=request.symbol or None,
        start_day=parse_day(request.start_day, "start_day"),
        end_day=parse_day(request.end_day, "end_day"),
        costs=costs,
        commission_bp=commission_bp,
        queue_model=request.queue_model or "prob_log",
        execution=request.execution or "aggressive",
        entry_latency_ms=optional_field(request, "entry_latency_ms") or 0.0,
        cancel_latency_ms=optional_field(request, "cancel_latency_ms") or 0.0,
        feed_latency_ms=optional_field(request, "feed_latency_ms") or 0.0,
        policy_fit_days=1 if fit_days is None else int(fit_days),
        hold_rows=optional_field(request, "hold_rows"),
        flat_s=optional_field(request, "flat_s"),
        seed=int(request.seed),
        versus_execution=request.versus_execution or None,
        versus_queue_model=request.versus_queue_model or None,
    )


def _entry_message(e: RegistryEntry) -> research_pb2.ModelEntry:
    return research_pb2.ModelEntry(
        model_id=e.model_id,
        version=str(e.version),
        model_type=e.model_type,
        status=e.status,
        artifact_path=e.artifact_path,
        config_hash=e.config_hash,
        metrics_json=json.dumps(to_jsonable(dict(e.metrics)), sort_keys=True),
        created_at_ns=e.created_at_ns,
    )


def gate_thresholds(message: research_pb2.GateThresholds) -> GateThresholds:
    """The domain thresholds of a request: defaults for unset fields, None for disabled checks."""
    unknown = sorted(set(message.disabled) - set(GATE_CHECKS))
    if unknown:
        raise InvalidArgument(f"unknown gate check(s) {', '.join(unknown)}: expected {', '.join(GATE_CHECKS)}")
    values: dict[str, float | None] = {}
    defaults = GateThresholds()
    for check, name in _THRESHOLD_OF.items():
        given = optional_field(message, name)
        values[name] = None if check in message.disabled else (getattr(defaults, name) if given is None else given)
    try:
        return GateThresholds(**values)
    except ValueError as exc:  # DomainError
        raise InvalidArgument(str(exc)) from exc


def _opt(v: float | None) -> dict[str, float]:
    return {} if v is None else {"value": v}


def decision_message(d: GateDecision) -> research_pb2.GateDecision:
    return research_pb2.GateDecision(
        decision=d.decision,
        summary=d.summary(),
        checks=[
            research_pb2.GateCheck(
                name=c.name,
                kind=c.kind,
                passed=c.passed,
                reason=c.reason,
                **{k: v for k, v in (("value", c.value), ("incumbent", c.incumbent), ("threshold", c.threshold))
                   if v is not None},
            )
            for c in d.checks
        ],
    )  # fmt: skip


def change_message(c: StatusChange) -> research_pb2.StatusChangeEntry:
    return research_pb2.StatusChangeEntry(
        model_id=c.model_id,
        version=c.version,
        from_status=c.from_status,
        to_status=c.to_status,
        reason=c.reason,
        actor=c.actor,
        at_ns=c.at_ns,
        decision_json=json.dumps(to_jsonable(dict(c.decision)), sort_keys=True),
    )


def sweep_value(text: str) -> Any:
    """A swept value from its text: int, float, bool (true/false) or the string itself."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def _headline(summary: dict[str, Any], metric: str) -> str:
    m = summary.get(metric)
    if m is None:
        return "n/a"
    mean = m["mean"] if isinstance(m, dict) else getattr(m, "mean", float("nan"))
    std = m["std"] if isinstance(m, dict) else getattr(m, "std", float("nan"))
    return f"{mean:.3f}±{std:.3f}"


def _train_locks(request: research_pb2.TrainRequest) -> tuple[str, ...]:
    symbol = request.scope.symbol or DEFAULT_SYMBOL
    horizon = request.scope.horizon if request.scope.HasField("horizon") else 10
    model = request.model_id or request.family
    return (f"train:symbol={symbol},model={model},h={horizon}",)


def _daily_train_locks(request: research_pb2.DailyTrainRequest) -> tuple[str, ...]:
    """daily-train builds the symbol's main_l5 datasets and trains (the model id it promotes)."""
    symbol = request.scope.symbol or DEFAULT_SYMBOL
    horizon = request.scope.horizon if request.scope.HasField("horizon") else 10
    model = request.model_id or f"daily:{symbol}"
    lake = "main_l5" if symbol.startswith("KQ.m@") else "raw"
    return (f"build:symbol={symbol},ticks_lake={lake}", f"train:symbol={symbol},model={model},h={horizon}")


class ResearchServicer(research_pb2_grpc.ResearchServiceServicer):
    def __init__(self, use_cases: ResearchUseCases, launcher: JobLauncher | None = None) -> None:
        self._uc = use_cases
        self._launcher = launcher or InThreadLauncher()
        self._specs = {s.command: s for s in self.job_specs()}

    def job_specs(self) -> tuple[JobSpec, ...]:
        """The long-running methods, as jobs; train and daily-train write shared state (datasets, the registry)."""
        return (
            JobSpec("Train", research_pb2.TrainRequest, self._train_work, _train_locks),
            JobSpec("Benchmark", research_pb2.BenchmarkRequest, self._benchmark_work),
            JobSpec("Compare", research_pb2.CompareRequest, self._compare_work),
            JobSpec("Backtest", research_pb2.BacktestRequest, self._backtest_work),
            JobSpec("DailyTrain", research_pb2.DailyTrainRequest, self._daily_train_work, _daily_train_locks),
            JobSpec("Sweep", research_pb2.SweepRequest, self._sweep_work),
        )

    def Train(self, request: research_pb2.TrainRequest, context: grpc.ServicerContext) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["Train"], request, context)

    def _train_work(self, request: research_pb2.TrainRequest, stop: Stop) -> Work:
        if not request.family:
            raise InvalidArgument("family is required (e.g. lightgbm, logistic, deeplob)")
        scope = parse_scope(request.scope, self._uc.feature_sets)
        if scope.start_day is None or scope.end_day is None:
            raise InvalidArgument("train needs --start and --end (the trading days to train on)")
        req = TrainRequest(
            family=request.family,
            symbol=scope.symbol,
            start_day=scope.start_day,
            end_day=scope.end_day,
            horizon=scope.horizon,
            feature_names=scope.features,
            config=scope.train,
            model_id=request.model_id or None,
        )

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.train()(req, progress)
            e = r.entry
            metrics = {k: v for k, v in r.metrics.items() if isinstance(v, (int, float))}
            shown = ", ".join(f"{k} {v:.3f}" for k, v in list(metrics.items())[:4])
            summary = (
                f"trained {e.model_type} {e.model_id} v{e.version} ({e.status}): {shown}; artifacts {r.artifact_dir}"
            )
            return RunOutcome(True, summary, r, str(r.meta_path))

        return work

    def Benchmark(
        self, request: research_pb2.BenchmarkRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["Benchmark"], request, context)

    def _benchmark_work(self, request: research_pb2.BenchmarkRequest, stop: Stop) -> Work:
        if not request.family:
            raise InvalidArgument("family is required")
        scope = parse_scope(request.scope, self._uc.feature_sets)
        req = _benchmark_request(request.family, scope, request)

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.benchmark()(req, progress)
            payload = r.to_payload()
            summary = (
                f"benchmark {r.family} on {r.symbol} h{r.horizon}: {r.n_splits} splits, macro-F1 "
                f"{_headline(payload['summary'], 'macro_f1')}, accuracy {_headline(payload['summary'], 'accuracy')}"
                + (f" ({r.note})" if r.note else "")
            )
            html = (r.report_paths or {}).get("html_path", "")
            return RunOutcome(True, summary, payload, html)

        return work

    def Compare(
        self, request: research_pb2.CompareRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["Compare"], request, context)

    def _compare_work(self, request: research_pb2.CompareRequest, stop: Stop) -> Work:
        families = tuple(f for name in request.families for f in name.split(",") if f)
        if len(families) < 1:
            raise InvalidArgument("compare needs at least one family")
        scope = parse_scope(request.scope, self._uc.feature_sets)
        base = _benchmark_request("", scope, request)
        req = CompareRequest(families=families, base=base)

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.compare()(req, progress)
            payload = r.to_payload()
            f1 = r.table.get("macro_f1", {})
            best = max(f1, key=lambda f: f1[f]["mean"]) if f1 else ""
            summary = f"compare {', '.join(r.families)} on identical splits: best macro-F1 {best}"
            html = (r.report_paths or {}).get("html_path", "")
            return RunOutcome(True, summary, payload, html)

        return work

    def Backtest(
        self, request: research_pb2.BacktestRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["Backtest"], request, context)

    def _backtest_work(self, request: research_pb2.BacktestRequest, stop: Stop) -> Work:
        req = backtest_request(request)
        if self._uc.backtest is None:
            raise InvalidArgument("this server has no backtest use case wired")
        backtest = self._uc.backtest

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = backtest()(req, progress)
            s = r.summary
            summary = (
                f"backtest {r.model_id} v{r.version} on {r.symbol} {r.start_day}..{r.end_day} ({r.execution}, "
                f"{r.queue_model}): net PnL {s.get('pnl_net', 0.0):,.0f} (gross {s.get('pnl_gross', 0.0):,.0f}, "
                f"fees {s.get('fees', 0.0):,.0f}), {int(s.get('fills', 0))} fills, {int(s.get('round_trips', 0))} round trips"
                + (f" ({'; '.join(r.notes)})" if r.notes else "")
            )
            html = (r.report_paths or {}).get("html_path", "")
            return RunOutcome(True, summary, r.to_payload(), html)

        return work

    def ListModels(
        self, request: research_pb2.ListModelsRequest, context: grpc.ServicerContext
    ) -> research_pb2.ListModelsResponse:
        entries = self._uc.registry().list(model_type=request.model_type or None, status=request.status or None)
        return research_pb2.ListModelsResponse(models=[_entry_message(e) for e in entries])

    def _promotion(self) -> ModelPromotion:
        if self._uc.promotion is None:
            raise InvalidArgument("this server has no promotion use case wired")
        return self._uc.promotion()

    def SetModelStatus(
        self, request: research_pb2.SetModelStatusRequest, context: grpc.ServicerContext
    ) -> research_pb2.ModelEntry:
        if request.status not in STATUSES:
            raise InvalidArgument(f"status must be one of {', '.join(STATUSES)}, got {request.status!r}")
        entry = self._promotion().set_status(
            request.model_id, request.version, request.status, request.reason, request.actor or "api"
        )
        return _entry_message(entry)

    def PromoteModel(
        self, request: research_pb2.PromoteModelRequest, context: grpc.ServicerContext
    ) -> research_pb2.PromoteModelResponse:
        if not request.version:
            raise InvalidArgument("version is required (see `ghtrader models`)")
        r = self._promotion().promote(
            PromoteRequest(
                model_id=request.model_id,
                version=request.version,
                reason=request.reason,
                actor=request.actor or "api",
                force=request.force,
                thresholds=gate_thresholds(request.thresholds),
            )
        )
        return research_pb2.PromoteModelResponse(
            promoted=r.promoted,
            forced=r.forced,
            decision=decision_message(r.decision),
            previous_production=r.previous_production or "",
            metrics_source=r.metrics_source,
            entry=_entry_message(r.entry),
            changes=[change_message(c) for c in r.changes],
        )

    def RollbackModel(
        self, request: research_pb2.RollbackModelRequest, context: grpc.ServicerContext
    ) -> research_pb2.RollbackModelResponse:
        if not request.to_version:
            raise InvalidArgument("to_version is required: the version to serve again")
        uc = self._promotion()
        changes = uc.rollback(
            RollbackRequest(request.model_id, request.to_version, request.reason, request.actor or "api")
        )
        entry = self._uc.registry().get(request.model_id, request.to_version)
        if entry is None:  # pragma: no cover - rollback just changed it
            raise NotFound(f"no model {request.model_id} version {request.to_version}")
        return research_pb2.RollbackModelResponse(
            entry=_entry_message(entry), changes=[change_message(c) for c in changes]
        )

    def DailyTrain(
        self, request: research_pb2.DailyTrainRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["DailyTrain"], request, context)

    def _daily_train_work(self, request: research_pb2.DailyTrainRequest, stop: Stop) -> Work:
        if self._uc.daily_train is None:
            raise InvalidArgument("this server has no daily-train use case wired")
        scope = parse_scope(request.scope, self._uc.feature_sets)
        req = DailyTrainRequest(
            symbol=scope.symbol,
            start_day=scope.start_day,
            end_day=scope.end_day,
            trading_days=_count(request, "trading_days", 20),
            refresh=not request.no_refresh,
            build=not request.no_build,
            family=request.family or "lightgbm",
            horizon=scope.horizon,
            feature_names=scope.features,
            train=scope.train,
            test_days=_count(request, "test_days", 2),
            model_id=request.model_id or None,
            thresholds=gate_thresholds(request.thresholds),
        )
        daily_train = self._uc.daily_train

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = daily_train()(req, progress)
            c = r.candidate
            verdict = "promoted to production" if r.promoted else "kept out (incumbent stays)"
            summary = (
                f"daily-train {r.model_id}: candidate v{c.version} ({c.family}) {verdict}; "
                f"production v{r.production_version or '-'}; {r.decision['summary']}"
            )
            return RunOutcome(True, summary, r.to_payload(), r.report_path)

        return work

    def Sweep(self, request: research_pb2.SweepRequest, context: grpc.ServicerContext) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["Sweep"], request, context)

    def _sweep_work(self, request: research_pb2.SweepRequest, stop: Stop) -> Work:
        if self._uc.sweep is None:
            raise InvalidArgument("this server has no sweep use case wired")
        if not request.family:
            raise InvalidArgument("family is required")
        grid: dict[str, list[Any]] = {}
        for p in request.params:
            if not p.name or p.name in grid:
                raise InvalidArgument(f"sweep parameter names must be given once each (got {p.name!r})")
            grid[p.name] = [sweep_value(v) for v in p.values]
        scope = parse_scope(request.scope, self._uc.feature_sets)
        samples = _count(request, "samples", 8)
        req = SweepRequest(
            family=request.family,
            grid=grid,
            base=_benchmark_request(request.family, scope, request),
            mode=request.mode or "grid",
            samples=samples,
            seed=scope.train.seed,
        )
        sweep = self._uc.sweep

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = sweep()(req, progress)
            payload = r.to_payload()
            f1 = r.table.get("macro_f1", {})
            best = max(f1, key=lambda f: f1[f]["mean"]) if f1 else ""
            summary = f"sweep {request.family}: {len(r.families)} points on identical splits, best macro-F1 {best}"
            html = (r.report_paths or {}).get("html_path", "")
            return RunOutcome(True, summary, payload, html)

        return work

    def GetModelHistory(
        self, request: research_pb2.GetModelHistoryRequest, context: grpc.ServicerContext
    ) -> research_pb2.GetModelHistoryResponse:
        changes = self._promotion().history(request.model_id)
        return research_pb2.GetModelHistoryResponse(changes=[change_message(c) for c in changes])

    def GetModelCard(
        self, request: research_pb2.GetModelCardRequest, context: grpc.ServicerContext
    ) -> research_pb2.GetModelCardResponse:
        if self._uc.model_card is None:
            raise InvalidArgument("this server has no model-card use case wired")
        if not request.model_id:
            raise InvalidArgument("model_id is required")
        card = self._uc.model_card()(request.model_id, request.version)
        response = research_pb2.GetModelCardResponse(
            entry=_entry_message(card.entry),
            history=[change_message(c) for c in card.history],
            family=card.family,
            horizon=card.horizon,
            window=card.window,
            symbol=card.symbol,
            ticks_lake=card.ticks_lake,
            train_start_day=card.train_start_day,
            train_end_day=card.train_end_day,
            train_rows=card.train_rows,
            valid_rows=card.valid_rows,
            features=list(card.features),
            calibration_json=json.dumps(to_jsonable(dict(card.calibration)), sort_keys=True),
            onnx_path=card.onnx_path,
            card_markdown=card.card_markdown,
            meta_error=card.meta_error,
        )
        if card.onnx_bytes is not None:
            response.onnx_bytes = card.onnx_bytes
        return response


def research_service(use_cases: ResearchUseCases, launcher: JobLauncher | None = None) -> ServiceRegistration:
    servicer = ResearchServicer(use_cases, launcher)
    return ServiceRegistration(
        service_name=research_pb2.DESCRIPTOR.services_by_name["ResearchService"].full_name,
        register=lambda server: research_pb2_grpc.add_ResearchServiceServicer_to_server(servicer, server),
    )
