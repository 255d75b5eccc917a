"""StartTradingRun / TradingRun: the paper, sim and live loop over a live feed.

``StartTradingRun(request)`` checks the request and the live gate, creates the run's records
(``run_config.json``), loads the model, fits the policy on the stored days before the start and
resolves the execution contract; a failure after the records exist is logged as
``preflight_failed``. ``TradingRun.run(should_stop)`` then drives the feed:

- ticks at or before the start warm the factor engine only;
- each later tick of the execution contract: the simulated venue advances (order-enabled modes),
  the decision pipeline gives a target, a changed target is logged (``target_change``) and, in
  sim / live, the direct executor sends the orders that reach it, each one checked by the risk
  engine first (with the pre-trade stress check when the run asks for it), or the target
  executor is handed the target once the orders reaching it pass (``executor_target``); the
  target is the direction times the sizer's lots (``sizing.py``), scaled and capped by the
  regime gate when the run has one (``regime_gate.py``: fed every tick, warm-up included); paper
  moves a virtual book instead and never holds an executor;
- at a trading-day change the symbol is resolved again; another contract is a roll: working
  orders are cancelled and the old contract is flattened first (order-enabled modes; a position
  still open after ``DRAIN_TICKS`` ticks is ``roll_flatten_failed`` and halts new orders), then
  ``roll``, the online state is reset and the feed re-subscribes to the new contract;
- account snapshots every ``snapshot_every_s`` market seconds; a kill from the risk engine:
  ``risk_kill``, cancel all, flatten, stop;
- operator commands from ``commands.jsonl`` (cancel_all, flatten, halt, resume, reset_kill, stop);
- a canary split (``canary.py``) may hand a decision block to a candidate (paper / sim); a shadow
  model (``shadow.py``) decides each tick once its orders are out, never executing;
- each decision tick is timed stage by stage (``latency.StageTimer``: feed, venue, risk, features,
  inference, calibrator, policy, executor, tick_to_decision, tick_to_orders): p50 / p99 / max in the status
  (``latency``) and a ``latency_summary`` event at the end;
- it stops after ``max_ticks`` decisions, at ``end_ns``, on ``should_stop()`` (``shutdown_signal``)
  or when the feed fails (``wait_update_failed``).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ghtrader.application.errors import ApplicationError, FailedPrecondition, InvalidArgument
from ghtrader.application.ports.alerts import AnomalyStore
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.datasets import DatasetStore, ScheduleStore
from ghtrader.application.ports.execution import ExecutionProvider, TargetExecution
from ghtrader.application.ports.models import (
    ArtifactStore,
    FrameSource,
    InferenceRuntime,
    ModelFamilies,
    ModelRegistry,
    RegistryEntry,
)
from ghtrader.application.ports.providers import CalendarSource, LiveFeed
from ghtrader.application.ports.regimes import RegimeModelStore
from ghtrader.application.ports.risk import HALTED, RiskDecision, RiskEngine, RiskQuote
from ghtrader.application.ports.stores import TickStore
from ghtrader.application.ports.trading import TradingRunStore
from ghtrader.application.reporting import make_run_id
from ghtrader.application.research.serving import Predictor, registry_entry
from ghtrader.application.trading.alerts import RuntimeAlerts, run_anomaly_config
from ghtrader.application.trading.canary import CanaryRouter
from ghtrader.application.trading.candidates import Candidates
from ghtrader.application.trading.claims import ExecutorClaims
from ghtrader.application.trading.decision import DecisionPipeline
from ghtrader.application.trading.drift_response import DriftResponse
from ghtrader.application.trading.execution_watch import ExecutionWatch
from ghtrader.application.trading.executor import DirectExecutor, cap_orders
from ghtrader.application.trading.journal import RunJournal, order_record, snapshot_record
from ghtrader.application.trading.latency import CANARY, CANARY_LEARN, EXECUTOR, FEED, LEARN, RISK, SHADOW, VENUE
from ghtrader.application.trading.online_calibration import CalibrationSetup, OnlineCalibration
from ghtrader.application.trading.online_drift import open_online_drift
from ghtrader.application.trading.paper import PaperBook
from ghtrader.application.trading.pipeline_setup import PipelineParts, build_pipeline
from ghtrader.application.trading.regime_gate import RegimeGate, open_regime_gate
from ghtrader.application.trading.request import TradingRunRequest, account_key, account_type, check_gate
from ghtrader.application.trading.risk_measures import EquityRisk
from ghtrader.application.trading.risk_setup import risk_limits, stress_config
from ghtrader.application.trading.shadow import ShadowRunner
from ghtrader.application.trading.sizing import PriceVolatility, TargetSizer
from ghtrader.application.trading.symbols import Binding, SymbolResolver
from ghtrader.domain.anomaly import AnomalyConfig
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import DomainError
from ghtrader.domain.instruments import ContractSpec, contract_spec
from ghtrader.domain.risk.engine import is_reducing, working_qty
from ghtrader.domain.risk.measures import StressPosition
from ghtrader.domain.trading.orders import AccountSnapshot, ExecutionEvent, OrderRequest, Position

__all__ = ["OPERATOR_COMMANDS", "StartTradingRun", "TradingRun"]

OPERATOR_COMMANDS = ("cancel_all", "flatten", "halt", "resume", "reset_kill", "stop", "resume_model")
DRAIN_TICKS = 20  # ticks a roll or a kill waits for the old position to close
COMMAND_POLL_TICKS = 200
_DIGITS = re.compile(r"[0-9.]+")

FeedFactory = Callable[[int, float], LiveFeed]  # (replay_from_ns, speedup) -> feed
ExecutionFactory = Callable[[TradingRunRequest, ContractSpec], Any]  # ExecutionProvider | TargetExecution
RiskFactory = Callable[[Mapping[str, float], ContractSpec], RiskEngine]
CalibrationFactory = Callable[[CalibrationSetup], OnlineCalibration]


def _close(execution: object) -> None:
    """Release an executor that holds a connection (a TqSdk account); others have no ``close``."""
    close = getattr(execution, "close", None)
    if callable(close):
        close()


def _executor_name(request: TradingRunRequest) -> str:
    """run_config's ``executor``: none (paper), direct/<order kind> or target/<ACTIVE|PASSIVE>."""
    if request.mode == "paper":
        return "none"
    if request.executor == "target":
        return f"target/{'ACTIVE' if request.aggressive else 'PASSIVE'}"
    return f"direct/{request.order_kind}"


class StartTradingRun:
    """Prepares a trading run (see the module docstring); ``TradingRun.run`` drives it."""

    def __init__(
        self,
        *,
        registry: ModelRegistry,
        artifacts: ArtifactStore,
        runtime: InferenceRuntime,
        ticks: TickStore,
        schedules: ScheduleStore | None,
        calendar: CalendarSource,
        store: TradingRunStore,
        clock: Clock,
        feed_factory: FeedFactory,
        execution_factory: ExecutionFactory | None = None,
        risk_factory: RiskFactory | None = None,
        live_enabled: bool = False,
        has_credentials: Callable[[str], bool] = lambda _profile: False,
        account_type: Callable[[TradingRunRequest], str] = account_type,
        account_key: Callable[[TradingRunRequest], str] = account_key,  # "" : an account of the run's own
        claims: ExecutorClaims | None = None,  # which executor kind drives each shared (account, symbol)
        datasets: DatasetStore | None = None,  # label builds: the model's label threshold k
        calibrator_config: Mapping[str, Any] | None = None,  # CalibratorConfig overrides
        calibration_factory: CalibrationFactory = OnlineCalibration,
        families: ModelFamilies | None = None,  # windowed models: their trained model (window, normaliser)
        alerts: AnomalyConfig | None = None,  # the anomaly monitor's thresholds (None: no monitor)
        alert_store: Callable[[], AnomalyStore] | None = None,  # where the monitor's events are also written
        regime_models: RegimeModelStore | None = None,  # the regime gate's models (regime_gate.py)
        frames: FrameSource | None = None,  # the model's stored training features: runtime drift (online_drift.py)
    ) -> None:
        self._regime_models = regime_models
        self._frames = frames
        self._registry = registry
        self._artifacts = artifacts
        self._runtime = runtime
        self._ticks = ticks
        self._schedules = schedules
        self._calendar = calendar
        self._store = store
        self._clock = clock
        self._feed_factory = feed_factory
        self._execution_factory = execution_factory
        self._risk_factory = risk_factory
        self._live_enabled = live_enabled
        self._has_credentials = has_credentials
        self._account_type = account_type
        self._account_key = account_key
        self._claims = claims if claims is not None else ExecutorClaims()
        self._datasets = datasets
        self._calibrator_config = dict(calibrator_config or {})
        self._calibration_factory = calibration_factory
        self._families = families
        self._alerts, self._alert_store = alerts, alert_store
        self._parts = PipelineParts(artifacts, ticks, families, datasets, self._calibrator_config, calibration_factory)
        self._candidates = Candidates(  # the shadow and canary models (candidates.py)
            registry=registry, artifacts=artifacts, runtime=runtime, ticks=ticks, families=families,
            datasets=datasets, calibrator_config=self._calibrator_config, calibration_factory=calibration_factory,
        )  # fmt: skip

    @property
    def store(self) -> TradingRunStore:
        return self._store

    def _entry(self, model_id: str, version: str | None) -> RegistryEntry:
        return registry_entry(self._registry, model_id, version)

    def shared_account(self, request: TradingRunRequest) -> str:
        """The account a request's orders reach that other runs could reach too ("" when the run
        has its own: paper, sim-local, TqSim)."""
        return self._account_key(request)

    def __call__(self, request: TradingRunRequest) -> TradingRun:
        request.validate()
        credentials = request.mode == "live" and self._has_credentials(request.account)
        check_gate(request, live_enabled=self._live_enabled, has_credentials=credentials)
        entry = self._entry(request.model_id, request.version)
        candidates = self._candidates.resolve(request)  # refused before the run has records
        anomaly = run_anomaly_config(self._alerts, request.anomaly_config)  # the server's, with the run's overrides
        predictor = Predictor.open(self._artifacts, self._runtime, Path(entry.artifact_path), prefer_gpu=False)
        meta = predictor.meta
        symbol = request.symbol or str(meta.raw.get("symbol") or "")
        if not symbol:
            raise InvalidArgument("symbol is required: the model's meta does not name one")
        try:
            spec = contract_spec(symbol)
        except DomainError as exc:
            raise InvalidArgument(str(exc)) from exc
        resolver = SymbolResolver.from_store(symbol, self._schedules, allow_alias=not request.order_enabled)
        execution = None
        if request.mode != "paper":
            if self._execution_factory is None:
                raise FailedPrecondition(f"{request.mode} executor not available on this server")
            if request.order_enabled and self._risk_factory is None:
                raise FailedPrecondition("risk engine not available on this server: order-enabled modes need one")
        cal = self._calendar.load()
        start_ns = request.replay_from_ns or self._clock.now_ns()
        start_day = cal.trading_day_of(start_ns)
        now = self._clock.now_ns()
        run_id = request.run_id or make_run_id(now, f"{request.mode}_{meta.model_id}")
        if not request.run_id:
            base, n = run_id, 1
            while self._store.exists(run_id):  # two runs started in the same microsecond
                n += 1
                run_id = f"{base}-{n}"
        stress = stress_config(request.risk_limits) if request.order_enabled else None
        regime = open_regime_gate(self._regime_models, request.regime_model, request.regime_scales,
                                  request.regime_max_lots, spec, request.regime_stress_scales,
                                  stress is not None)  # refused before the run has records  # fmt: skip
        config: dict[str, Any] = {
            "run_id": run_id, "mode": request.mode, "monitor_only": request.monitor_only,
            "account_type": self._account_type(request), "account_profile": request.account,
            "executor": _executor_name(request), "venue": request.venue if request.mode == "sim" else "",
            "sizing": {"sizing": request.sizing, "max_lots": request.max_lots, "target_vol": request.target_vol,
                       "risk_horizon_s": request.risk_horizon_s},
            "stress_check": {"on": False} if stress is None else {"on": True, "loss_limit": stress.loss_limit,
                             "n_sigma": stress.n_sigma, "freeze_ticks": stress.freeze_ticks,
                             "horizon_s": request.risk_horizon_s},
            "order_enabled": request.order_enabled,
            "model": {"model_id": meta.model_id, "version": meta.version, "family": meta.family,
                      "horizon": meta.horizon, "features": list(meta.feature_names)},
            "symbols": {"requested": symbol, "schedule_hash": resolver.schedule_hash},
            "risk_limits": dict(request.risk_limits),
            "max_ticks": request.max_ticks, "end_ns": request.end_ns, "start_ns": start_ns,
            "start_trading_day": start_day, "replay_from_ns": request.replay_from_ns, "speedup": request.speedup,
            "policy_fit_days": request.policy_fit_days, "hold_rows": request.hold_rows, "flat_s": request.flat_s,
            "created_ns": now, "regime": {"on": False} if regime is None else {"on": True, **regime.config()},
        }  # fmt: skip
        shared_account = self._account_key(request) if request.order_enabled else ""  # monitor-only drives nothing
        self._claims.claim(shared_account, symbol, request.executor, run_id)  # refused before any record
        try:
            self._store.create(run_id, config)
        except BaseException:
            self._claims.release(run_id)
            raise
        journal = RunJournal(self._store, run_id, self._clock.now_ns)
        journal.update(status="preflight", mode=request.mode, monitor_only=request.monitor_only, symbol=symbol)
        try:
            binding = resolver.resolve(start_day)
            built = build_pipeline(self._parts, predictor, entry.artifact_path, request, cal, symbol, spec, start_day)
            pipeline, fitted, calibration = built.pipeline, built.fitted, built.calibration
            sides = self._candidates.open(candidates, request, cal, symbol, spec, start_day)
            if request.mode != "paper":
                assert self._execution_factory is not None
                execution = self._execution_factory(request, spec)
            risk = (
                self._risk_factory(request.risk_limits, spec) if request.order_enabled and self._risk_factory else None
            )
            online, drift_reference = (
                (None, None)
                if anomaly is None
                else open_online_drift(self._frames, meta, anomaly, pipeline, calibration)
            )  # feature / concept / prior drift vs training
            # the feed last: a replay's market clock starts with it, so slow set-up above loses no ticks
            feed = self._feed_factory(request.replay_from_ns, request.speedup)
        except (ApplicationError, DomainError) as exc:
            _close(execution)
            self._claims.release(run_id)
            journal.event("preflight_failed", now, error=type(exc).__name__, message=str(exc))
            journal.update(status="failed", error=str(exc))
            journal.write_state()
            raise
        config["symbols"].update(resolved=binding.execution, binding=binding.binding, trading_day=binding.trading_day)
        config["policy"] = {**fitted.policy.to_dict(), "fit_days": fitted.fit_days, "fit_rows": fitted.fit_rows}
        config["online_calibration"] = calibration.setup.to_dict() if calibration is not None else {"on": False}
        config.update(sides.config)
        if drift_reference is not None:
            config["drift_reference"] = drift_reference
        self._store.update_config(run_id, config)
        sizer = TargetSizer(request.sizing, request.max_lots, spec.multiplier, fitted.policy,
                            hold_rows=pipeline.hold_rows, target_vol=request.target_vol,
                            horizon_s=request.risk_horizon_s)  # fmt: skip
        return TradingRun(
            request=request, symbol=symbol, spec=spec, calendar=cal, resolver=resolver, binding=binding,
            pipeline=pipeline, feed=feed, journal=journal, store=self._store, clock=self._clock,
            start_ns=start_ns, execution=execution, risk=risk, policy=config["policy"], sizer=sizer,
            stress=stress is not None, on_finish=lambda: self._claims.release(run_id), shadow=sides.shadow,
            canary=sides.canary, alerts=None if anomaly is None else RuntimeAlerts(
                anomaly, symbol, spec.price_tick, journal.event, self._alert_store, self._clock.now_ns,
                DriftResponse(journal.event, lambda: pipeline.calibration, sides.fallback,
                              request.drift_fallback_after), online),  # the drift rungs (drift_response.py)
            regime=regime,
        )  # fmt: skip


class TradingRun:
    """One prepared run; ``run`` drives it to the end (see the module docstring)."""

    def __init__(
        self,
        *,
        request: TradingRunRequest,
        symbol: str,
        spec: ContractSpec,
        calendar: TradingCalendar,
        resolver: SymbolResolver,
        binding: Binding,
        pipeline: DecisionPipeline,
        feed: LiveFeed,
        journal: RunJournal,
        store: TradingRunStore,
        clock: Clock,
        start_ns: int,
        execution: ExecutionProvider | None,
        risk: RiskEngine | None,
        policy: dict[str, Any],
        sizer: TargetSizer | None = None,  # lots per signal (None: one lot)
        stress: bool = False,  # the risk engine runs the pre-trade stress check (it needs a stress book)
        on_finish: Callable[[], None] = lambda: None,  # called once the run ended (releases its claims)
        shadow: ShadowRunner | None = None,  # a model decided beside production, never executed
        canary: CanaryRouter | None = None,  # paper / sim: a candidate taking a share of the decision blocks
        alerts: RuntimeAlerts | None = None,  # anomaly monitor: a CRITICAL halts the run (trading/alerts.py)
        regime: RegimeGate | None = None,  # the regime filter scaling the target (trading/regime_gate.py)
    ) -> None:
        self._regime = regime
        self.request = request
        self.run_id = journal.run_id
        self.symbol = symbol
        self._spec = spec
        self._cal = calendar
        self._resolver = resolver
        self._binding = binding
        self._exec = binding.execution
        self._pipeline = pipeline
        self._feed = feed
        self.journal = journal
        self._store = store
        self._clock = clock
        self._start_ns = int(start_ns)
        self._execution = execution if request.mode != "paper" else None
        self._risk = risk
        self._orders = request.order_enabled and execution is not None
        self._executor = DirectExecutor(request.order_kind, request.aggressive)
        self._flat_executor = DirectExecutor("fak", True)  # the forced flat, as the backtest's force_aggressive
        self._book = PaperBook(request.initial_balance, spec.multiplier)
        self.policy = policy
        self._last_ns = -1
        self._prev_ns = -1  # the tick before the last one
        self._day: date | None = None
        self._target = 0
        self._working_target: int | None = None
        self._signals = True
        self._decisions = 0
        self._snapshot_every_ns = int(request.snapshot_every_s * 1e9)
        self._last_snapshot_ns = -(2**62)
        self._last_quote: np.void | None = None
        self._cmd_offset = 0
        self._resubscribe = False
        self._done = ""  # why the run ends ("" : running)
        self._drain: tuple[str, Binding | None] | None = None  # (roll|kill, the roll's new binding)
        self._drain_ticks = 0
        self._last_refusal = ""
        self._rolls = 0
        self._external_stop: Callable[[], bool] = lambda: False
        self._timer = pipeline.timer  # per-stage latency of each decision tick
        self._equity_risk = EquityRisk()  # VaR / CVaR of the snapshots' equity
        self._timed_risk = self._orders and risk is not None
        self._target_exec: TargetExecution | None = (
            execution if self._orders and request.executor == "target" and isinstance(execution, TargetExecution)
            else None
        )  # fmt: skip
        if self._orders and request.executor == "target" and self._target_exec is None:
            raise FailedPrecondition("the target executor was asked for but the venue takes no targets")
        self._sizer = sizer if sizer is not None and not (sizer.sizing == "fixed" and sizer.max_lots == 1) else None
        self._stress = stress and self._orders and risk is not None
        self._vol = PriceVolatility()  # the mid's volatility: vol-target / half-kelly sizing, the stress check
        self._vol_on = self._sizer is not None or self._stress
        self._max_order = risk_limits(request.risk_limits).max_order_size if self._orders and risk else 0
        self._on_finish = on_finish
        if canary is not None and request.mode == "live":
            raise FailedPrecondition("a canary split runs in paper and sim only")
        self._shadow = shadow
        self._canary = canary
        self._sides: tuple[Any, ...] = tuple(x for x in (canary, shadow) if x is not None)
        self._alerts = alerts
        self._xwatch = ExecutionWatch(alerts, spec.price_tick) if alerts is not None and self._orders else None
        self._drift = alerts.drift if alerts is not None else None  # recalibrate / fallback (drift_response.py)
        if self._drift is not None and self._drift.fallback is not None:
            self._sides += (self._drift,)  # the fallback's factor engine warms up with the others
        if canary is not None:
            canary.equity = lambda ns: self._account(ns).equity

    # --- state --------------------------------------------------------------------------------------
    def _status(self) -> dict[str, Any]:
        calibration = self._pipeline.calibration
        extra = {} if calibration is None else {"online_calibration": calibration.state()}
        if self._shadow is not None:
            extra["shadow"] = self._shadow.state()
        if self._canary is not None:
            extra["canary"] = self._canary.state(self._last_ns)
        if self._alerts is not None:
            extra["alerts"] = self._alerts.state()  # anomaly counts, flagged types, the halt reason
        if self._drift is not None:
            extra["drift"] = self._drift.state()  # recalibrations, the fallback in force (drift_response.py)
        if self._regime is not None:
            extra["regime"] = self._regime.state()  # the current regime, its probabilities, scale and cap
        return extra | {
            "execution_symbol": self._exec, "binding": self._binding.binding,
            "trading_day": self._day, "ticks": self._decisions, "target": self._target,
            "position": self._position().net if self._orders or self._execution else self._book.net,
            "signals_enabled": self._signals, "rolls": self._rolls,
            "risk_state": None if self._risk is None else int(self._risk.state),
            "kill_latched": None if self._risk is None else bool(self._risk.kill_latched),
            "last_tick_ns": self._last_ns, "latency": self._timer.summary(),
            "risk_measures": self._equity_risk.summary(),
        }  # fmt: skip

    def _position(self) -> Position:
        if self._execution is None:
            return Position(self._exec)
        for p in self._execution.positions():
            if p.symbol == self._exec:
                return p
        return Position(self._exec)

    def _working(self) -> list:
        if self._execution is None:
            return []
        return [o for o in self._execution.orders_alive() if o.request.symbol == self._exec]

    def _account(self, ns: int) -> AccountSnapshot:
        return self._execution.account(ns) if self._execution is not None else self._book.account(ns)

    def _meta(self) -> dict[str, Any]:
        return {
            "mode": self.request.mode, "monitor_only": self.request.monitor_only, "requested": self.symbol,
            "execution_symbol": self._exec, "account_profile": self.request.account,
        }  # fmt: skip

    def _snapshot(self, ns: int) -> dict[str, Any]:
        snap = self._account(ns)
        self._equity_risk.add(self._cal.trading_day_of(ns), snap.equity)
        record = snapshot_record(snap, self._working() if self._execution else [], self._meta())
        self.journal.snapshot(record)
        self._last_snapshot_ns = ns
        self._risk_account(ns, snap)
        return record

    def _risk_account(self, ns: int, snap: AccountSnapshot | None = None) -> None:
        """Loss and drawdown limits on the account now (every tick in order-enabled modes, not only
        at the periodic snapshots, so a kill fires on the tick the limit is crossed)."""
        if self._risk is None or not self._orders:
            return
        reason = self._risk.on_account(snap if snap is not None else self._account(ns))
        if reason and self._drain is None and not self._done:
            if snap is None:
                self._snapshot(ns)  # the account the kill saw, in snapshots.jsonl
            self.journal.event("risk_kill", ns, reason=reason, position=self._position().net)
            self._start_drain("kill", None, ns)

    # --- orders ---------------------------------------------------------------------------------------
    def _quote(self, ns: int) -> RiskQuote:
        last = float(self._last_quote["last_price"]) if self._last_quote is not None else math.nan
        return RiskQuote(self._exec, ns, self._spec.price_tick, math.nan, math.nan, last)

    def _send(self, order: OrderRequest, ns: int, *, check: bool = True) -> bool:
        assert self._execution is not None
        if check and not self._allowed(order, ns):
            return False
        state = self._execution.submit(order, ns)
        arrival = self._xwatch.sent(state, ns, self._last_quote) if self._xwatch is not None else {}
        self.journal.event("order_new", ns, order=order_record(state), **arrival)
        if not state.alive:
            self.journal.event("order_done", ns, order=order_record(state))
            if self._xwatch is not None:
                self._xwatch.done(state, ns)  # fill rate, rejections (execution_watch.py)
        return True

    def _allowed(self, order: OrderRequest, ns: int) -> bool:
        """The risk engine's verdict on ``order`` (a refusal is logged once per reason and side)."""
        if self._risk is None:
            return True
        t0 = self._timer.now()
        pos, working = self._position(), self._working()
        if self._stress:
            decision = self._stress_checked(order, ns, pos, working)
        else:
            decision = self._risk.check(order, self._quote(ns), pos, working)
        self._timer.add(RISK, self._timer.now() - t0)
        if not decision.allowed:
            key = f"{_DIGITS.sub('#', decision.reason)}|{order.side}|{order.offset}"  # one per rule, not per figure
            if key != self._last_refusal:
                self.journal.event("risk_refused", ns, reason=decision.reason, order=order.__dict__)
                self._last_refusal = key
        return decision.allowed

    def _stress_checked(self, order: OrderRequest, ns: int, pos: Position, working: list) -> RiskDecision:
        """The risk check with the stress book: the execution contract's position and its price
        sigma over the run's risk horizon (an order that adds risk before the volatility is known
        is refused)."""
        assert self._risk is not None
        sigma = self._vol.sigma_seconds(self.request.risk_horizon_s)
        if self._regime is not None:
            sigma *= self._regime.stress_scale()  # a regime's stricter stress scenario (regime_stress_scales)
        if not math.isfinite(sigma):
            if not is_reducing(pos.net, order.side, order.qty, working_qty(working, order.symbol, order.side)):
                return RiskDecision(False, "stress: no volatility estimate yet for the stress check")
            return self._risk.check(order, self._quote(ns), pos, working)
        book = [StressPosition(order.symbol, pos.net, sigma, self._spec.multiplier, self._spec.price_tick)]
        return self._risk.check(order, self._quote(ns), pos, working, stress_book=book)

    def _sized(self, direction: int, probs: np.ndarray, tick: np.void, ns: int) -> int:
        """The lots of ``direction`` from the run's sizer (equity read only when half-Kelly needs it)."""
        assert self._sizer is not None
        mid = self._mid(tick)
        equity = self._account(ns).equity if direction and self._sizer.sizing == "half-kelly" else math.nan
        return self._sizer.lots(direction, probs, mid, equity, self._vol)

    def _set_target(self, target: int, ns: int) -> None:
        """Target executor: hand it ``target`` once the orders that would reach it from the
        position now pass the risk engine (the executor then sends and re-prices its own)."""
        assert self._target_exec is not None
        q = self._last_quote
        bid, ask = (float(q["bid_price1"]), float(q["ask_price1"])) if q is not None else (math.nan, math.nan)
        if not (math.isfinite(bid) and math.isfinite(ask)):
            return
        pos = self._position()
        orders = cap_orders(self._executor.orders(target, pos, bid, ask, f"t{self._decisions}"), self._max_order)
        if not all(self._allowed(o, ns) for o in orders):
            return
        self._target_exec.set_target(self._exec, target)
        self._working_target = target
        self.journal.event("executor_target", ns, symbol=self._exec, target=target, position=pos.net)

    def _cancel_all(self, ns: int) -> int:
        if self._target_exec is not None:  # its orders are its own: hold the position it has
            working = self._working()
            net = self._position().net
            if self._working_target is not None and self._working_target != net:
                self._target_exec.set_target(self._exec, net)
                self._working_target = net
                self.journal.event("executor_target", ns, symbol=self._exec, target=net, position=net)
            return len(working)
        working = self._working()
        assert self._execution is not None or not working
        for o in working:
            self._execution.cancel(o.order_id, ns)  # type: ignore[union-attr]
        return len(working)

    def _flatten(self, ns: int) -> None:
        """Cancel working orders and send the orders that close the execution contract's position."""
        if self._target_exec is not None:
            if (self._working_target or 0) != 0 or self._position().net != 0:
                self._target_exec.set_target(self._exec, 0)
                self._working_target = 0
                self.journal.event("executor_target", ns, symbol=self._exec, target=0, position=self._position().net)
            return
        self._cancel_all(ns)
        pos = self._position()
        if pos.net == 0 or self._execution is None:
            return
        if self._risk is not None:
            orders = self._risk.flatten_orders(pos, self._quote(ns))
        else:
            q = self._last_quote
            bid, ask = (float(q["bid_price1"]), float(q["ask_price1"])) if q is not None else (math.nan, math.nan)
            orders = self._flat_executor.orders(0, pos, bid, ask, "flatten")
        for o in orders:
            self._send(o, ns, check=False)  # closing orders: the kill / operator wants them out

    def _trade_to(self, target: int, tick: np.void, ns: int, forced: bool = False) -> None:
        """Orders toward ``target`` once no order is working; ``forced`` (the flat before the
        close): FAK at the opposite best whatever the run's order kind (the target executor prices
        its own)."""
        if self._target_exec is not None:
            if target != self._working_target and not (self._risk is not None and self._risk.state == HALTED):
                self._set_target(target, ns)
            return
        working = self._working()
        if working:
            if target != self._working_target:
                self._cancel_all(ns)
            return
        pos = self._position()
        if target == pos.net or (self._risk is not None and self._risk.state == HALTED):
            return
        bid, ask = float(tick["bid_price1"]), float(tick["ask_price1"])
        if not (math.isfinite(bid) and math.isfinite(ask)):
            return
        executor = self._flat_executor if forced else self._executor
        for o in cap_orders(executor.orders(target, pos, bid, ask, f"t{self._decisions}"), self._max_order):
            self._send(o, ns)
        self._working_target = target

    def _on_execution_events(self, events: list[ExecutionEvent] | tuple[ExecutionEvent, ...]) -> None:
        for ev in events:
            rec = order_record(ev.order)
            x = self._xwatch.on_event(ev)[0] if self._xwatch is not None else {}  # latency, slippage
            if ev.kind == "trade_fill":
                self.journal.event("trade_fill", ev.time_ns, order=rec, fill_qty=ev.fill_qty,
                                   fill_price=ev.fill_price, fee=ev.fee, **x)  # fmt: skip
                if self._risk is not None:
                    self._risk.on_fill(ev)
            else:
                self.journal.event("order_update", ev.time_ns, order=rec, **x)
                if not ev.order.alive:
                    self.journal.event("order_done", ev.time_ns, order=rec)
        self._execution_halt(events[-1].time_ns if events else self._last_ns)

    def _execution_halt(self, ns: int) -> None:
        """An execution check went CRITICAL: the operator halt path, as the tick checks."""
        if self._xwatch is not None and (why := self._xwatch.take_halt()):
            self._command({"command": "halt", "reason": why}, ns)

    # --- rolls, kills, commands ---------------------------------------------------------------------
    def _start_drain(self, why: str, to: Binding | None, ns: int) -> None:
        self._drain = (why, to)
        self._drain_ticks = 0
        self._flatten(ns)

    def _drained(self, ns: int) -> None:
        """One tick into a drain: finish it when flat and quiet, give up after DRAIN_TICKS."""
        assert self._drain is not None
        why, to = self._drain
        flat = self._position().net == 0 and not self._working()
        self._drain_ticks += 1
        if not flat and self._drain_ticks < DRAIN_TICKS:
            if not self._working():
                self._flatten(ns)
            return
        self._drain = None
        if why == "kill":
            self._stop("risk_kill", ns)
            return
        assert to is not None
        if not flat:
            self.journal.event("roll_flatten_failed", ns, symbol=self._exec, position=self._position().net,
                               working=len(self._working()))  # fmt: skip
            if self._risk is not None:
                self._risk.halt(f"roll: {self._exec} could not be flattened")
        self._complete_roll(to, ns)

    def _complete_roll(self, to: Binding, ns: int) -> None:
        self.journal.event("roll", ns, requested=self.symbol, from_symbol=self._exec, to_symbol=to.execution,
                           trading_day=to.trading_day, binding=to.binding)  # fmt: skip
        self._rolls += 1
        self._pipeline.reset()
        if self._drift is not None:
            self._drift.on_roll()
        if self._shadow is not None:
            self._shadow.on_roll(self._mid(self._last_quote))
        if self._canary is not None:
            for kind, fields in self._canary.on_roll(self._mid(self._last_quote), ns):
                self.journal.event(kind, ns, **fields)
        self._vol.reset()
        if self._sizer is not None:
            self._sizer.reset()
        self._exec = to.execution
        self._binding = to
        self._target = 0
        self._working_target = None
        self._last_quote = None
        self._resubscribe = True

    def _new_day(self, day: date, ns: int) -> None:
        first = self._day is None
        self._day = day
        if first:
            return
        if self._risk is not None:
            self._risk.new_trading_day(self._account(ns).equity)
        binding = self._resolver.resolve(day)
        if binding.execution == self._exec:
            self._binding = binding
            return
        if self._orders and (self._position().net != 0 or self._working()):
            self._start_drain("roll", binding, ns)
        else:
            if self._execution is None and self._book.net:
                self._book.move_to(0, self._mid(self._last_quote))
            self._complete_roll(binding, ns)
            # this tick (the old contract's first of the day) only told of the day change: the new
            # contract's ticks of the day from before it are decided on, as the backtest's main_l5 is
            self._last_ns = self._prev_ns

    def _command(self, cmd: dict[str, Any], ns: int) -> None:
        name = str(cmd.get("command", ""))
        self.journal.event("operator_command", ns, command=name, reason=str(cmd.get("reason", "")))
        if name == "stop":
            self._stop("operator_stop", ns)
        elif name == "cancel_all":
            self._cancel_all(ns)
        elif name in ("flatten", "halt"):
            if self._signals:
                self._signals = False
                self.journal.event("signals_disabled", ns, reason=f"operator {name}")
            if self._risk is not None:
                if name == "halt":
                    self._risk.halt(str(cmd.get("reason") or "operator halt"))
                else:
                    self._risk.reduce_only()
            if name == "flatten":
                if self._orders:
                    self._flatten(ns)
                elif self._execution is None and self._book.net and self._last_quote is not None:
                    self._book.move_to(0, self._mid(self._last_quote))
            else:
                self._cancel_all(ns)
        elif name == "resume":
            if self._risk is not None:
                self._risk.resume()
            if not self._signals:
                self._signals = True
                self.journal.event("signals_enabled", ns, reason="operator resume")
        elif name == "reset_kill":
            if self._risk is not None:
                self._risk.reset_kill()
        elif name == "resume_model" and self._drift is not None:
            self._drift.resume(ns, str(cmd.get("reason", "")))  # decisions back to production

    def _poll_commands(self) -> None:
        commands, self._cmd_offset = self._store.read_commands(self.run_id, self._cmd_offset)
        for cmd in commands:
            self._command(cmd, self._last_ns if self._last_ns > 0 else self._clock.now_ns())
        if commands:
            self._write_state()

    def _stop(self, reason: str, ns: int) -> None:
        if self._done:
            return
        self._done = reason
        if reason in ("shutdown", "operator_stop"):
            self.journal.event("shutdown_signal", ns, reason=reason)
        if self._orders:
            self._cancel_all(ns)

    # --- the loop ---------------------------------------------------------------------------------------
    @staticmethod
    def _mid(tick: np.void | None) -> float:
        if tick is None:
            return math.nan
        return (float(tick["bid_price1"]) + float(tick["ask_price1"])) / 2.0

    def _write_state(self) -> None:
        self.journal.update(**self._status())
        self.journal.write_state()

    def _on_tick(self, tick: np.void) -> None:
        timer = self._timer
        timer.begin()  # recorded at timer.end() below, on ticks that reach a decision
        self.journal.hold()  # the tick's events are written after its decision (released below)
        ns = int(tick["datetime_ns"])
        if ns <= self._last_ns:
            return  # a re-subscription's history replays ticks already seen
        day = self._cal.trading_day_of(ns)
        if self._day is not None and day < self._day:
            return  # the new contract's history from before the roll's trading day
        self._prev_ns, self._last_ns = self._last_ns, ns
        if self._vol_on:
            self._vol.update(ns, self._mid(tick))
        if self._regime is not None:  # every tick, warm-up included: the filter is warm at the start
            if change := self._regime.update(tick, day, self._exec, live=ns > self._start_ns):
                self.journal.event("regime_change", ns, symbol=self._exec, **change)
        if self._execution is not None:
            timer.lap(FEED)
            self._on_execution_events(list(self._execution.on_tick(self._exec, tick)))
            timer.lap(VENUE)
        if ns <= self._start_ns:
            self._pipeline.features(tick, day)
            for side in self._sides:
                side.warm(tick, day)
            self._day = day
            return
        self._last_quote = tick
        if self._timed_risk:
            timer.lap(FEED)
            self._risk_account(ns)
            timer.lap(RISK)
        if self._drain is not None:
            self._drained(ns)
            return
        if day != self._day:
            self._new_day(day, ns)
            if self._resubscribe or self._drain is not None:
                return
        timer.lap(FEED)
        decision = production = self._pipeline.on_tick(tick, day)
        if self._canary is not None:
            decision = self._canary.route(production, tick, day)
            timer.lap(CANARY)
        if self._alerts is not None and (why := self._alerts.observe(tick, decision.probs, ns, self._exec)):
            self._command({"command": "halt", "reason": why}, ns)  # the operator halt path: risk engine HALTED
        if self._drift is not None:
            decision = self._drift.route(decision, tick, day)  # the fallback model's once drift persisted
        timer.decided()
        self._decisions += 1
        target = decision.target if self._signals else 0
        if self._sizer is not None:
            target = self._sized(target, decision.probs, tick, ns)
        if self._regime is not None:
            target = self._regime.lots(target)  # the regime's size factor and cap, before the risk engine
        if target != self._target:
            self.journal.event("target_change", ns, symbol=self._exec, previous=self._target, target=target,
                               signal=decision.signal, flat=decision.flat,
                               probs=[float(p) for p in decision.probs],
                               **({} if decision.raw_probs is None else
                                  {"raw_probs": [float(p) for p in decision.raw_probs]}),
                               **decision.ensemble_fields())  # fmt: skip
            self._target = target
        if self._orders:
            self._trade_to(target, tick, ns, forced=decision.flat)
            self._execution_halt(ns)
        elif self._execution is None:
            mid = self._mid(tick)
            self._book.mark(self._exec, mid)
            if target != self._book.net and math.isfinite(mid):
                self._book.move_to(target, mid)
        timer.lap(EXECUTOR)
        timer.end()
        if self._pipeline.calibration is not None:  # off the decision path: the orders are out
            for kind, fields in self._pipeline.learn():  # the online calibrator's mode changes
                self.journal.event(kind, ns, **fields)
            timer.after(LEARN)
        if self._sides:
            self._after_sides(tick, day, ns, production)
        self.journal.release()
        if ns - self._last_snapshot_ns >= self._snapshot_every_ns:
            self._snapshot(ns)
            self._write_state()
        if self.request.max_ticks and self._decisions >= self.request.max_ticks:
            self._stop("max_ticks", ns)
        elif self.request.end_ns and ns >= self.request.end_ns:
            self._stop("end_time", ns)
        elif self._decisions % COMMAND_POLL_TICKS == 0:
            self._poll_commands()
            self._write_state()  # keep state.json's tick count and target fresh between snapshots

    def _after_sides(self, tick: np.void, day: date, ns: int, production: Any) -> None:
        """Off the decision path: the canary's books and fallback, the shadow's decision."""
        if self._canary is not None:
            for kind, fields in self._canary.after_orders(tick, self._exec, ns):
                self.journal.event(kind, ns, **fields)
            self._timer.after(CANARY_LEARN)
        if self._shadow is not None:
            direction = production.target if self._signals else 0
            for kind, fields in self._shadow.on_tick(tick, day, self._exec, direction, production):
                self.journal.event(kind, ns, **fields)
            self._timer.after(SHADOW)

    def _on_ticks(self, symbol: str, batch: np.ndarray) -> None:
        if symbol != self._exec:
            return
        for i in range(batch.shape[0]):
            if self._done or self._resubscribe:
                return
            try:
                self._on_tick(batch[i])
            finally:
                self.journal.release()

    def _should_stop(self) -> bool:
        if not self._done and self._external_stop():
            self._stop("shutdown", self._last_ns if self._last_ns > 0 else self._clock.now_ns())
        if not self._done:
            self._poll_commands()
        return bool(self._done) or self._resubscribe

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
        """Drive the run until it stops; returns the final status (also in ``state.json``)."""
        self._external_stop = should_stop
        started = time.monotonic()
        startup_ns = self._start_ns
        self.journal.update(status="running", started_ns=self._clock.now_ns())
        record = self._snapshot(startup_ns)
        self.journal.event("startup_snapshot", startup_ns, snapshot=record, symbol=self.symbol,
                           execution_symbol=self._exec, binding=self._binding.binding,
                           policy={k: self.policy.get(k) for k in ("threshold", "trades", "fit_days")})  # fmt: skip
        self._write_state()
        status = "finished"
        try:
            while True:
                self._resubscribe = False
                self._feed.run([self._exec], self._on_ticks, self._should_stop)
                if self._done or not self._resubscribe:
                    break
            if not self._done:
                self._done = "feed_ended"
        except Exception as exc:  # noqa: BLE001 - any feed failure ends the run, recorded
            status = "failed"
            self._done = self._done or "wait_update_failed"
            self.journal.event("wait_update_failed", self._last_ns if self._last_ns > 0 else self._clock.now_ns(),
                               error=type(exc).__name__, message=str(exc))  # fmt: skip
            self.journal.update(error=str(exc))
        end_ns = self._last_ns if self._last_ns > 0 else startup_ns
        self._snapshot(end_ns)
        self.journal.event("latency_summary", end_ns, **self._timer.summary())
        self.journal.event("run_finished", end_ns, reason=self._done, ticks=self._decisions,
                           elapsed_s=round(time.monotonic() - started, 3))  # fmt: skip
        self.journal.update(status=status, stop_reason=self._done, finished_ns=self._clock.now_ns())
        self._write_state()
        self.journal.update(risk_measures=self._equity_risk.summary(monte_carlo=True))
        self.journal.write_state()
        _close(self._execution)
        self._on_finish()
        return dict(self.journal.status)
