"""RunBacktest: a registered model's calibrated probabilities traded through the micro-simulator.

Steps (``RunBacktest.__call__``):

1. the registry entry (newest version unless one is named) and its Predictor over ``model.onnx``
   (the calibrator is inside the graph); a graph taking normalised windows (deep models) also
   needs the family's saved model for its ``inputs``;
2. the main_l5 ticks of ``policy_fit_days`` trading days before ``start`` and of
   ``start..end`` from the tick store;
3. the model's features from one :class:`~ghtrader.domain.factors.OnlineFactorEngine` fed the
   ticks in order (``update_many`` per trading day: the same kernels and state as a live engine
   fed tick by tick, so the values are the ones serving computes); cross-variety extras are not
   read, so models using them get NaN there (refused: FailedPrecondition);
4. probabilities; the cost-aware expected-move policy (move curve + threshold) fitted on the
   policy-fit days only (realized moves at the model's horizon, round-trip cost of the request's
   costs); target positions on the backtest days: each signal held ``hold_rows`` snapshots (the
   model's horizon by default, as the policy's trades were scored), forced flat in the last ``flat_rows``
   snapshots of each trading day and before each segment change (roll);
5. positions -> commands (:mod:`~ghtrader.application.research.backtest_plan`) -> ``simulate``;
6. cost-adjusted results overall, by session and by volatility regime (terciles fitted on the
   policy-fit days), and a JSON + PNG + HTML report through the BenchmarkReportWriter port.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.models import (
    ArtifactStore,
    InferenceRuntime,
    ModelFamilies,
    ModelRegistry,
    RegistryEntry,
)
from ghtrader.application.ports.providers import CalendarSource
from ghtrader.application.ports.reports import BenchmarkReportWriter
from ghtrader.application.ports.stores import TickStore
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.regimes.grouping import HmmGrouping
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.application.research.artifacts import ONNX_INPUT_RAW, load_model
from ghtrader.application.research.backtest_plan import (
    EXECUTIONS,
    block_ends,
    flat_before_close,
    flat_mask,
    hold_signals,
    positions_to_commands,
)
from ghtrader.application.research.backtest_report import BacktestReport, BacktestRequest
from ghtrader.application.research.policy_fit import (
    day_close_ns,
    fit_policy,
    online_features,
    policy_fit_days,
    stored_probabilities,
)
from ghtrader.application.research.serving import Predictor, registry_entry
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import DomainError
from ghtrader.domain.evaluation import (
    SESSION_NAMES,
    VOL_REGIME_NAMES,
    CostModel,
    fit_vol_regimes,
    rolling_realised_vol,
    session_codes,
)
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.microsim import QUEUE_MODELS, FeeRate, FeeTable, Latency, SimConfig, SimResult, fee_table, simulate
from ghtrader.domain.microsim.codes import FILL_AGGRESSIVE, FILL_CROSS, FILL_QUEUE
from ghtrader.domain.microsim.counterfactual import compare_policies

__all__ = ["BacktestReport", "BacktestRequest", "RunBacktest"]

MAIN_L5 = "main_l5"
_SESSION_GRACE_NS = 1_000_000_000


def _group_stats(result: SimResult, codes: np.ndarray, names: dict[int, str]) -> dict[str, dict[str, float]]:
    """PnL increments, fees and fills attributed to the group of the snapshot they happen at."""
    eq = result.equity
    d_gross = np.diff(np.r_[0.0, eq["pnl_gross"]])
    d_fees = np.diff(np.r_[0.0, eq["fees"]])
    fills = result.fills
    at = np.clip(np.searchsorted(eq["datetime_ns"], fills["datetime_ns"], side="right") - 1, 0, None)
    fill_codes = codes[at] if eq.size else np.zeros(0, dtype=codes.dtype)
    out: dict[str, dict[str, float]] = {}
    for code, name in names.items():
        m = codes == code
        f = fill_codes == code
        out[name] = {
            "snapshots": float(m.sum()),
            "pnl_gross": float(d_gross[m].sum()),
            "fees": float(d_fees[m].sum()),
            "pnl_net": float(d_gross[m].sum() - d_fees[m].sum()),
            "fills": float(f.sum()),
            "fills_aggressive": float((f & (fills["fill_kind"] == FILL_AGGRESSIVE)).sum()),
            "fills_passive_queue": float((f & (fills["fill_kind"] == FILL_QUEUE)).sum()),
            "fills_passive_cross": float((f & (fills["fill_kind"] == FILL_CROSS)).sum()),
        }
    return out


class RunBacktest:
    """Model-driven backtest through the micro-simulator (see the module docstring)."""

    def __init__(
        self,
        *,
        registry: ModelRegistry,
        artifacts: ArtifactStore,
        runtime: InferenceRuntime,
        ticks: TickStore,
        families: ModelFamilies | None = None,
        calendar: CalendarSource | None = None,
        writer: BenchmarkReportWriter | None = None,
        clock: Clock | None = None,
        regimes: HmmGrouping | None = None,
    ) -> None:
        self._regimes = regimes  # adds by_hmm_regime: an HMM fitted on the policy-fit days, decoded causally
        self._registry = registry
        self._artifacts = artifacts
        self._runtime = runtime
        self._ticks = ticks
        self._families = families
        self._calendar = calendar
        self._writer = writer
        self._clock = clock

    # --- steps -------------------------------------------------------------------------------------
    def entry(self, model_id: str, version: str | None) -> RegistryEntry:
        """The registry entry (newest version when ``version`` is None)."""
        return registry_entry(self._registry, model_id, version)

    def _check(self, r: BacktestRequest) -> None:
        if not r.model_id:
            raise InvalidArgument("model_id is required")
        if r.end_day < r.start_day:
            raise InvalidArgument(f"end_day {r.end_day} is before start_day {r.start_day}")
        if r.execution not in EXECUTIONS:
            raise InvalidArgument(f"execution must be one of {', '.join(EXECUTIONS)}, got {r.execution!r}")
        if r.queue_model not in QUEUE_MODELS:
            raise InvalidArgument(f"queue_model must be one of {', '.join(QUEUE_MODELS)}, got {r.queue_model!r}")
        if r.versus_execution is not None and r.versus_execution not in EXECUTIONS:
            raise InvalidArgument(
                f"versus_execution must be one of {', '.join(EXECUTIONS)}, got {r.versus_execution!r}"
            )
        if r.versus_queue_model is not None and r.versus_queue_model not in QUEUE_MODELS:
            raise InvalidArgument(
                f"versus_queue_model must be one of {', '.join(QUEUE_MODELS)}, got {r.versus_queue_model!r}"
            )
        for name in ("entry_latency_ms", "cancel_latency_ms", "feed_latency_ms"):
            v = getattr(r, name)
            if not (math.isfinite(v) and v >= 0):
                raise InvalidArgument(f"{name} must be a finite number >= 0, got {v!r}")
        if r.commission_bp is not None and not (math.isfinite(r.commission_bp) and r.commission_bp >= 0):
            raise InvalidArgument(f"commission_bp must be a finite number >= 0, got {r.commission_bp!r}")
        if r.policy_fit_days < 1:
            raise InvalidArgument(f"policy_fit_days must be >= 1, got {r.policy_fit_days}")
        if r.hold_rows is not None and r.hold_rows < 1:
            raise InvalidArgument(f"hold_rows must be >= 1, got {r.hold_rows}")
        if r.flat_rows < 1:
            raise InvalidArgument(f"flat_rows must be >= 1, got {r.flat_rows}")
        if r.flat_s is not None and not (math.isfinite(r.flat_s) and r.flat_s >= 0):
            raise InvalidArgument(f"flat_s must be a finite number >= 0, got {r.flat_s!r}")

    def _calendar_obj(self) -> TradingCalendar:
        return self._calendar.load() if self._calendar is not None else TradingCalendar(())

    def __call__(self, request: BacktestRequest, progress: ProgressCallback = no_progress) -> BacktestReport:
        started = time.monotonic()
        self._check(request)
        total = 6
        progress(0, total, f"loading {request.model_id}")
        entry = self.entry(request.model_id, request.version)
        directory = Path(entry.artifact_path)
        predictor = Predictor.open(self._artifacts, self._runtime, directory, prefer_gpu=False)
        meta = predictor.meta
        symbol = request.symbol or str(meta.raw.get("symbol") or "")
        if not symbol:
            raise InvalidArgument("symbol is required: the model's meta does not name one")
        try:
            spec = contract_spec(symbol)
        except DomainError as exc:
            raise InvalidArgument(str(exc)) from exc
        inputs = None
        if meta.onnx_input != ONNX_INPUT_RAW:
            if self._families is None:
                raise FailedPrecondition(f"{meta.model_id} takes normalised windows and no model families are set")
            inputs = load_model(self._artifacts, self._families, directory, meta.horizon)[0].inputs

        cal = self._calendar_obj()
        fit_days = policy_fit_days(cal, request.start_day, request.policy_fit_days)
        progress(1, total, f"reading main_l5 ticks of {symbol} {fit_days[0]}..{request.end_day}")
        stored = self._ticks.read_ticks(symbol, MAIN_L5, fit_days[0], request.end_day)
        ticks = stored.ticks
        n = ticks.shape[0]
        tday = np.asarray(stored.trading_day, dtype="datetime64[D]")
        seg = np.asarray(stored.segment_id, dtype=np.int64) if stored.segment_id is not None else np.zeros(n, np.int64)
        is_fit = tday < np.datetime64(request.start_day, "D")
        if not is_fit.any():
            raise FailedPrecondition(f"no main_l5 ticks of {symbol} on the policy-fit days {fit_days}")
        if is_fit.all():
            raise FailedPrecondition(f"no main_l5 ticks of {symbol} in {request.start_day}..{request.end_day}")

        progress(2, total, f"computing {len(meta.feature_names)} features online over {n:,} ticks")
        feats = online_features(ticks, tday, seg, meta.feature_names, spec.price_tick, spec.multiplier)
        bid, ask = ticks["bid_price1"].astype(np.float64), ticks["ask_price1"].astype(np.float64)
        mid = (bid + ask) / 2.0
        progress(3, total, "predicting")
        probs = stored_probabilities(predictor, inputs, feats, ticks, tday, seg, symbol, spec.price_tick)

        # policy on the fit days only
        costs = request.costs
        if costs.cross_spread != (request.execution == "aggressive"):
            costs = CostModel(costs.commission_bp, costs.slippage_ticks, request.execution == "aggressive")
        policy = fit_policy(
            probs[is_fit], mid[is_fit], (ask - bid)[is_fit], tday[is_fit], seg[is_fit], meta.horizon, costs,
            spec.price_tick, spec.multiplier, fit_days,
        )  # fmt: skip
        notes: list[str] = []
        if not policy.trades:
            notes.append("the policy does not trade: no threshold made money on the policy-fit days")

        # the backtest days
        bt = ~is_fit
        t_ticks, t_day, t_seg = ticks[bt], tday[bt], seg[bt]
        hold = meta.horizon if request.hold_rows is None else request.hold_rows
        target = hold_signals(policy.positions(probs[bt]), t_day, t_seg, hold)
        flat = flat_mask(t_day, t_seg, request.flat_rows)
        if request.flat_s is not None:
            flat |= flat_before_close(t_ticks["datetime_ns"], day_close_ns(cal, spec, t_day), request.flat_s)
        target[flat] = 0
        send = t_ticks["datetime_ns"].astype(np.int64) + int(request.feed_latency_ms * 1e6)
        commands = positions_to_commands(target, send, bid[bt], ask[bt], request.execution, force_aggressive=flat)
        if request.has_counterfactual:
            total += 1
        progress(4, total, f"simulating {commands.shape[0]:,} commands over {t_ticks.shape[0]:,} snapshots")
        fees = fee_table(spec.variety)
        if request.commission_bp is not None:
            rate = FeeRate(per_value=request.commission_bp * 1e-4)
            fees = FeeTable(spec.variety, rate, rate, rate)
        config = SimConfig(
            tick=spec.price_tick, multiplier=spec.multiplier, fees=fees, queue_model=request.queue_model,
            entry_latency=Latency(int(request.entry_latency_ms * 1e6)),
            cancel_latency=Latency(int(request.cancel_latency_ms * 1e6)), seed=request.seed,
        )  # fmt: skip
        day_start = np.r_[True, t_day[1:] != t_day[:-1]] if t_day.size else np.zeros(0, np.bool_)
        result = simulate(t_ticks, config, commands, day_start=day_start)
        counterfactual = None
        if request.has_counterfactual:
            exec_b = request.versus_execution or request.execution
            queue_b = request.versus_queue_model or request.queue_model
            progress(total - 2, total, f"counterfactual replay: {exec_b} execution, {queue_b} queue model")
            commands_b = positions_to_commands(target, send, bid[bt], ask[bt], exec_b, force_aggressive=flat)
            result_b = simulate(t_ticks, replace(config, queue_model=queue_b), commands_b, day_start=day_start)
            counterfactual = {
                "A": f"{request.execution}/{request.queue_model}",
                "B": f"{exec_b}/{queue_b}",
                "horizon_snapshots": meta.horizon,
                "table": compare_policies(
                    result, result_b, tick=spec.price_tick, multiplier=spec.multiplier,
                    horizon_snapshots=meta.horizon,
                ),
            }  # fmt: skip

        progress(total - 1, total, "scoring by session and volatility regime")
        sessions = session_codes(t_ticks["datetime_ns"], cal, spec, end_grace_ns=_SESSION_GRACE_NS)
        regimes = fit_vol_regimes(mid[is_fit], seg[is_fit], tday[is_fit])
        vol = rolling_realised_vol(mid, seg, tday, regimes.window, regimes.min_periods)[bt]
        by_hmm = None
        if self._regimes is not None:
            obs = self._regimes.observations(mid, ask - bid, seg, tday)
            hmm = self._regimes.codes(obs, np.flatnonzero(is_fit), np.flatnonzero(bt))
            if hmm is None:
                notes.append("HMM regimes skipped: too few policy-fit rows to fit them")
            else:
                by_hmm = _group_stats(result, hmm.codes, dict(hmm.names))
        now_ns = self._clock.now_ns() if self._clock is not None else time.time_ns()
        report = BacktestReport(
            report_id=make_run_id(now_ns, f"backtest_{meta.model_id}_v{meta.version}"),
            model_id=meta.model_id, version=meta.version, family=meta.family, symbol=symbol,
            horizon=meta.horizon, start_day=request.start_day, end_day=request.end_day, fit_days=fit_days,
            execution=request.execution, queue_model=request.queue_model,
            policy={**policy.to_dict(), "costs": to_jsonable(costs), "fit_rows": int(is_fit.sum())},
            summary=dict(result.summary),
            by_session=_group_stats(result, sessions, dict(SESSION_NAMES)),
            by_regime=_group_stats(result, regimes.codes_of(vol), dict(VOL_REGIME_NAMES)), by_hmm_regime=by_hmm,
            rows=int(bt.sum()), target_changes=int((np.diff(np.r_[0, target]) != 0).sum()),
            orders=int(result.orders.shape[0]), elapsed_s=0.0, notes=notes, counterfactual=counterfactual,
            result=result, ticks_mid=mid[bt], ticks_ns=t_ticks["datetime_ns"].astype(np.int64), targets=target,
        )  # fmt: skip
        report.summary["blocks"] = float(block_ends(t_day, t_seg).sum())
        report.elapsed_s = time.monotonic() - started
        if request.write_report and self._writer is not None:
            from ghtrader.application.research.backtest_figures import backtest_figures, backtest_tables

            written = self._writer.write(
                report.report_id,
                report.to_payload(),
                backtest_figures(report),
                backtest_tables(report),
                title=f"Backtest {meta.model_id} v{meta.version} on {symbol} {request.start_day}..{request.end_day}",
            )
            report.report_paths = to_jsonable(written)
        progress(total, total, f"net PnL {report.summary.get('pnl_net', 0.0):,.0f} over {report.rows:,} snapshots")
        return report
