"""``DailyTrain``: the continual-training loop of one served model.

refresh data (the ``update`` use case on the configured provider, then the roll schedule and
main_l5 over the window) -> build features / labels -> train a candidate -> evaluate the
candidate and the production incumbent on the newest walk-forward split -> promotion gate ->
promote or keep -> record.

The split: of the window's trading days the last ``test_days`` are the test block; the day
before them is the backtest policy's fit day; the candidate trains on the days before that (so
neither the test days nor the fit day are in its training data). Both models are scored on the
same test rows: macro-F1, ECE and information captured (vs the generator's Bayes probabilities,
where the source has them; the prior is the fit day's class frequencies) from their stored
artifacts, p99 single-row inference latency, and the micro-sim backtest over the test days
(net Sharpe after fees, max drawdown). The incumbent's training window is not checked against
the test days: when it was trained by hand on them its scores are optimistic (the report says
which days each model trained on).

Every served model of the loop is one ``model_id`` (default ``daily-<symbol>-h<horizon>``);
candidates of any family are versions of it. The candidate is recorded ``development ->
staging`` with the evaluation, then the gate moves it to production (the incumbent is retired)
or retires it, with every check as the reason. The JSON report goes to ``runs/daily_train/``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ghtrader.application.contract_windows import last_completed_trading_day, shift_trading_days
from ghtrader.application.datasets.build import BuildDataset, BuildDatasetRequest
from ghtrader.application.datasets.main_l5 import BuildMainL5, BuildMainL5Request
from ghtrader.application.datasets.schedule import BuildMainSchedule, BuildMainScheduleRequest
from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ingest import UpdateContracts, UpdateContractsRequest
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.models import (
    ArtifactStore,
    FrameSource,
    InferenceRuntime,
    ModelFamilies,
    RegistryEntry,
    StatusChange,
    TrainConfig,
)
from ghtrader.application.ports.providers import CalendarSource
from ghtrader.application.ports.reports import ReportSink
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.application.research.artifacts import ONNX_INPUT_RAW, load_model
from ghtrader.application.research.backtest import RunBacktest
from ghtrader.application.research.backtest_report import BacktestRequest
from ghtrader.application.research.benchmark_ceiling import bayes_probs
from ghtrader.application.research.promotion import ModelPromotion, PromoteRequest
from ghtrader.application.research.serving import Predictor
from ghtrader.application.research.train import TrainModel, TrainRequest
from ghtrader.domain.evaluation import class_frequencies, classification_metrics, information_captured, log_loss
from ghtrader.domain.factors import CORE_L5_FACTORS
from ghtrader.domain.promotion import GateMetrics, GateThresholds

__all__ = ["DailyTrain", "DailyTrainRequest", "DailyTrainResult", "ModelEvaluation"]

ACTOR = "daily-train"
_LATENCY_CALLS = 200


@dataclass(frozen=True)
class DailyTrainRequest:
    symbol: str = "KQ.m@SHFE.cu"  # a main_l5 alias KQ.m@<EXCHANGE>.<var>
    start_day: date | None = None  # default: trading_days before end_day
    end_day: date | None = None  # default: the last completed trading day
    trading_days: int = 20  # window length when start_day is not given
    refresh: bool = True  # update the variety's contracts, then schedule and main_l5, first
    build: bool = True  # build features / labels over the window (incremental)
    family: str = "lightgbm"  # the candidate's family
    horizon: int = 10
    feature_names: tuple[str, ...] = tuple(CORE_L5_FACTORS)
    train: TrainConfig | None = None  # max_epochs, max_train_rows, params (None: defaults)
    test_days: int = 2  # newest split's test block (>= 2: the Sharpe needs two days)
    model_id: str | None = None  # default daily-<symbol>-h<horizon>
    thresholds: GateThresholds = field(default_factory=GateThresholds)
    recent_expiry_days: int = 10  # update: also contracts expired this many trading days ago


@dataclass
class ModelEvaluation:
    """One model's scores on the test days (``gate`` feeds the promotion gate)."""

    model_id: str
    version: str
    family: str
    role: str  # candidate | incumbent
    train_days: list[str]  # first, last trading day it trained on ([] when unknown)
    rows: int  # scored test rows
    gate: GateMetrics
    log_loss: float
    backtest: dict[str, Any]  # summary, report path (or the error)
    notes: list[str] = field(default_factory=list)


@dataclass
class DailyTrainResult:
    run_id: str
    model_id: str
    symbol: str
    window: tuple[date, date]
    train_days: tuple[date, date]
    fit_day: date
    test_days: tuple[date, date]
    stages: dict[str, Any]  # refresh / build summaries and durations
    candidate: ModelEvaluation
    incumbent: ModelEvaluation | None
    decision: dict[str, Any]  # the gate's decision (every check)
    promoted: bool
    production_version: str | None  # after the run
    changes: list[StatusChange]
    report_path: str = ""
    duration_s: float = 0.0

    def to_payload(self) -> dict[str, Any]:
        return to_jsonable({k: v for k, v in self.__dict__.items()})


class DailyTrain:
    """The continual-training loop (module docstring)."""

    def __init__(
        self,
        *,
        update: UpdateContracts | None,
        build_schedule: BuildMainSchedule | None,
        build_main_l5: BuildMainL5 | None,
        build_dataset: BuildDataset | None,
        train: TrainModel,
        backtest: RunBacktest,
        promotion: ModelPromotion,
        frames: FrameSource,
        artifacts: ArtifactStore,
        runtime: InferenceRuntime,
        families: ModelFamilies,
        calendar: CalendarSource,
        clock: Clock,
        reports: ReportSink | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._update = update
        self._build_schedule = build_schedule
        self._build_main_l5 = build_main_l5
        self._build_dataset = build_dataset
        self._train = train
        self._backtest = backtest
        self._promotion = promotion
        self._frames = frames
        self._artifacts = artifacts
        self._runtime = runtime
        self._families = families
        self._calendar = calendar
        self._clock = clock
        self._reports = reports
        self._timer = timer

    # --- the loop ------------------------------------------------------------------------------
    def __call__(self, request: DailyTrainRequest, progress: ProgressCallback = no_progress) -> DailyTrainResult:
        started = self._clock.monotonic_s()
        variety = _variety(request.symbol)
        if request.test_days < 2:
            raise InvalidArgument(f"test_days must be at least 2 (a Sharpe needs two days), got {request.test_days}")
        if request.horizon < 1:
            raise InvalidArgument(f"horizon must be >= 1, got {request.horizon}")
        start, end = self._window(request)
        model_id = request.model_id or f"daily-{request.symbol}-h{request.horizon}"
        total = 7_000  # progress in thousandths of the seven steps (training reports inside its step)
        stages: dict[str, Any] = {}

        if request.refresh:
            progress(0, total, f"refresh {variety}: update, schedule, main_l5")
            stages["refresh"] = self._refresh(request, variety, start, end)
        if request.build and self._build_dataset is not None:
            progress(1_000, total, f"build {request.symbol} {start}..{end}")
            stages["build"] = self._build(request.symbol, start, end)

        days = self._calendar.load().trading_days(start, end)
        need = request.test_days + 4  # >= 2 training days, the fit day, the test block
        if len(days) < need:
            raise InvalidArgument(
                f"{start}..{end} has {len(days)} trading days; daily-train needs at least {need} "
                f"(training, the policy-fit day, {request.test_days} test days): widen the window"
            )
        test = days[-request.test_days :]
        fit_day = days[-request.test_days - 1]
        train_end = days[-request.test_days - 2]

        progress(2_000, total, f"train {request.family} candidate on {start}..{train_end}")
        config = replace(request.train or TrainConfig(horizon=request.horizon), horizon=request.horizon)
        trained = self._train(
            TrainRequest(
                family=request.family, symbol=request.symbol, start_day=start, end_day=train_end,
                horizon=request.horizon, feature_names=request.feature_names, config=config, model_id=model_id,
            ),
            _sub(progress, 2, total, "train"),
        )  # fmt: skip
        cand_entry = trained.entry
        incumbent_entry = self._promotion.production(model_id)

        progress(3_000, total, f"evaluate v{cand_entry.version} on {test[0]}..{test[-1]}")
        candidate = self._evaluate(cand_entry, "candidate", request.symbol, fit_day, test[0], test[-1])
        incumbent = None
        if incumbent_entry is not None:
            progress(4_000, total, f"evaluate incumbent v{incumbent_entry.version}")
            incumbent = self._evaluate(incumbent_entry, "incumbent", request.symbol, fit_day, test[0], test[-1])

        evaluation = {
            "test_days": f"{test[0]}..{test[-1]}",
            "fit_day": fit_day.isoformat(),
            "models": {e.version: e.gate.to_dict() for e in (candidate, incumbent) if e is not None},
        }
        now = self._clock.now_ns()
        staged = StatusChange(
            model_id, cand_entry.version, cand_entry.status, "staging",
            f"evaluated on {test[0]}..{test[-1]} (macro_f1 {candidate.gate.macro_f1:.4g}, "
            f"info_captured {candidate.gate.info_captured:.4g}, net_sharpe {candidate.gate.net_sharpe:.4g})",
            ACTOR, now, {"evaluation": evaluation},
        )  # fmt: skip
        self._promotion.record([staged])

        progress(5_000, total, "promotion gate")
        outcome = self._promotion.promote(
            PromoteRequest(
                model_id=model_id,
                version=cand_entry.version,
                reason=f"daily-train {start}..{end}",
                actor=ACTOR,
                thresholds=request.thresholds,
                candidate_metrics=candidate.gate,
                incumbent_metrics=None if incumbent is None else incumbent.gate,
                evaluation=evaluation,
                reject_to="retired",
            )
        )
        live = self._promotion.production(model_id)
        result = DailyTrainResult(
            run_id=make_run_id(self._clock.now_ns(), f"daily_train_{model_id}"),
            model_id=model_id,
            symbol=request.symbol,
            window=(start, end),
            train_days=(start, train_end),
            fit_day=fit_day,
            test_days=(test[0], test[-1]),
            stages=stages,
            candidate=candidate,
            incumbent=incumbent,
            decision={**outcome.decision.to_dict(), "metrics_source": outcome.metrics_source},
            promoted=outcome.promoted,
            production_version=None if live is None else live.version,
            changes=[staged, *outcome.changes],
        )
        result.duration_s = self._clock.monotonic_s() - started
        if self._reports is not None:
            result.report_path = self._reports.write_json("daily_train", result.run_id, result.to_payload())
        progress(total, total, outcome.decision.summary())
        return result

    # --- stages -------------------------------------------------------------------------------
    def _window(self, request: DailyTrainRequest) -> tuple[date, date]:
        cal = self._calendar.load()
        last_done = last_completed_trading_day(cal, self._clock.now_ns())
        end = request.end_day or last_done
        if end > last_done:
            raise InvalidArgument(f"end_day {end} is in the future: the last completed trading day is {last_done}")
        if request.start_day is not None:
            start = request.start_day
        else:
            if request.trading_days < 1:
                raise InvalidArgument(f"trading_days must be >= 1, got {request.trading_days}")
            start = shift_trading_days(cal, end, request.trading_days - 1)
        if start > end:
            raise InvalidArgument(f"start_day {start} is after end_day {end}")
        return start, end

    def _refresh(self, request: DailyTrainRequest, variety: str, start: date, end: date) -> dict[str, Any]:
        if self._update is None or self._build_schedule is None or self._build_main_l5 is None:
            raise FailedPrecondition("this server has no update / schedule / main_l5 use cases wired for refresh")
        t0 = time.monotonic()
        upd = self._update(UpdateContractsRequest(variety_key=variety, recent_expiry_days=request.recent_expiry_days))
        sched = self._build_schedule(BuildMainScheduleRequest(variety=variety, start_day=start, end_day=end))
        ml5 = self._build_main_l5(BuildMainL5Request(variety=variety, start_day=start, end_day=end))
        return {
            "update": {"contracts": len(upd.contracts), "rows_written": upd.rows_written, "report": upd.report_path},
            "schedule_hash": sched.schedule_hash,
            "main_l5_rows": ml5.rows_written,
            "seconds": round(time.monotonic() - t0, 3),
        }

    def _build(self, symbol: str, start: date, end: date) -> dict[str, Any]:
        assert self._build_dataset is not None
        t0 = time.monotonic()
        req = BuildDatasetRequest(symbol=symbol, start_day=start, end_day=end)
        note = ""
        try:
            built = self._build_dataset(req)
        except FailedPrecondition as exc:  # definitions changed: derived data rebuilt from the ticks
            note = f"rebuilt from scratch ({exc})"
            built = self._build_dataset(replace(req, overwrite=True))
        kinds = {
            k: {"days_written": len(v.days_written), "days_up_to_date": v.days_up_to_date}
            for k, v in built.kinds.items()
        }
        return {"kinds": kinds, "note": note, "seconds": round(time.monotonic() - t0, 3)}

    # --- evaluation ---------------------------------------------------------------------------
    def _evaluate(
        self, entry: RegistryEntry, role: str, symbol: str, fit_day: date, test_start: date, test_end: date
    ) -> ModelEvaluation:
        directory = Path(entry.artifact_path)
        predictor = Predictor.open(self._artifacts, self._runtime, directory, prefer_gpu=False)
        meta = predictor.meta
        inputs = None
        if meta.onnx_input != ONNX_INPUT_RAW:
            inputs = load_model(self._artifacts, self._families, directory, meta.horizon)[0].inputs
        frame, _ = self._frames.load(symbol, "main_l5", fit_day, test_end, meta.horizon, meta.feature_names)
        probs = predictor.predict_frame(frame, inputs)
        is_test = frame.trading_day >= np.datetime64(test_start, "D")
        labels = frame.labels
        rows = np.flatnonzero(is_test & np.isfinite(labels) & np.isfinite(probs).all(axis=1))
        notes: list[str] = []
        macro_f1 = ece = ll = info = math.nan
        if rows.shape[0]:
            m = classification_metrics(labels[rows], probs[rows])
            macro_f1, ece, ll = m.macro_f1, m.ece, m.log_loss
            bayes = bayes_probs(frame)
            fit_labels = labels[~is_test]
            if bayes is None:
                notes.append("no Bayes probabilities for these days: information captured not measured")
            elif not np.isfinite(fit_labels).any():
                notes.append("no labelled rows on the fit day: no prior for information captured")
            else:
                s = rows[np.isfinite(bayes[rows]).all(axis=1)]
                if s.shape[0]:
                    y = labels[s]
                    prior = np.tile(class_frequencies(fit_labels), (s.shape[0], 1))
                    info = information_captured(log_loss(y, prior), log_loss(y, probs[s]), log_loss(y, bayes[s]))
        else:
            notes.append("no scored rows on the test days")
        try:
            bt = self._backtest(
                BacktestRequest(
                    model_id=entry.model_id, version=entry.version, symbol=symbol,
                    start_day=test_start, end_day=test_end, policy_fit_days=1,
                )
            )  # fmt: skip
            summary = bt.summary
            backtest = {
                "summary": summary,
                "policy_trades": bool(bt.policy.get("trades")),
                "report": str((bt.report_paths or {}).get("json_path", "")),
                "notes": bt.notes,
            }
            sharpe, drawdown = float(summary.get("sharpe", math.nan)), float(summary.get("max_drawdown", math.nan))
        except (FailedPrecondition, NotFound, InvalidArgument) as exc:
            backtest = {"error": str(exc)}
            sharpe = drawdown = math.nan
            notes.append(f"backtest failed: {exc}")
        gate = GateMetrics(
            net_sharpe=sharpe,
            max_drawdown=drawdown,
            macro_f1=macro_f1,
            info_captured=info,
            ece=ece,
            latency_us=self._latency_us(predictor, inputs, frame),
        )
        train_days = [str(meta.raw.get("start_day") or ""), str(meta.raw.get("end_day") or "")]
        return ModelEvaluation(
            model_id=entry.model_id,
            version=entry.version,
            family=entry.model_type,
            role=role,
            train_days=train_days if all(train_days) else [],
            rows=int(rows.shape[0]),
            gate=gate,
            log_loss=ll,
            backtest=backtest,
            notes=notes,
        )

    def _latency_us(self, predictor: Predictor, inputs: Any, frame: Any) -> float:
        """p99 of single-row ``predict`` calls in microseconds (NaN without inputs)."""
        x, _ = inputs(frame) if inputs is not None else (frame.features, None)
        x = np.asarray(x, dtype=np.float32)
        if x.shape[0] == 0:
            return math.nan
        names = predictor.feature_names
        picks = np.linspace(0, x.shape[0] - 1, min(_LATENCY_CALLS, x.shape[0])).astype(np.int64)
        predictor.predict(x[picks[0] : picks[0] + 1], names)  # warm up
        times = []
        for i in picks:
            t0 = self._timer()
            predictor.predict(x[i : i + 1], names)
            times.append(self._timer() - t0)
        return float(np.percentile(np.asarray(times), 99) * 1e6)


def _variety(symbol: str) -> str:
    """``SHFE.cu`` of ``KQ.m@SHFE.cu``; InvalidArgument for anything else."""
    prefix = "KQ.m@"
    if not symbol.startswith(prefix) or "." not in symbol[len(prefix) :]:
        raise InvalidArgument(f"daily-train runs on a main_l5 alias such as KQ.m@SHFE.cu (got {symbol!r})")
    return symbol[len(prefix) :]


def _sub(progress: ProgressCallback, step: int, total: int, label: str) -> ProgressCallback:
    def inner(done: int, n: int, message: str) -> None:
        progress(step * 1000 + (min(int(1000 * done / n), 999) if n else 0), total, f"{label}: {message}")

    return inner
