"""RunBenchmark: walk-forward evaluation of one model family on one FeatureFrame.

Per fold (walk-forward by trading day, purge gap = the longest horizon in ticks, see
:mod:`ghtrader.domain.evaluation.walk_forward`) the family is fitted on the training days with
early stopping on the validation day(s), then scored on the test days:

- classification and calibration: accuracy, macro-F1, log-loss, Brier, ECE, MCE, calibration
  bins and the confusion matrix;
- by volatility regime (terciles fitted on the fold's training rows) and by session;
- cost-adjusted trading of the argmax signal held ``horizon`` ticks (cumulative PnL, Sharpe,
  max drawdown, win rate, profit factor, break-even accuracy, and the flag "profitable before
  costs but not after");
- alpha decay: IC of ``p_up - p_down`` with the realized move at each decay horizon, half-life;
- the ceiling, when the frame carries the Bayes oracle's true class probabilities on sampled
  rows: Bayes log-loss beside the model's, information captured, the Bayes decision rule's
  macro-F1; and the cost-aware expected-move policy of the model (threshold chosen on the
  fold's validation rows: the model's out-of-sample probabilities before the test days) and of
  the oracle (threshold chosen on sampled training rows), see
  :mod:`ghtrader.application.research.benchmark_ceiling`; ECE before calibration when the
  model offers ``predict_proba_uncalibrated``;
- the expected-move rule beside the model on the same test rows when the frame carries the
  generator's expected move (``oracle_dmid``: threshold fitted on the fold's training rows;
  else ``oracle_direction``): a reference a model can beat, not an upper bound;
- inference latency at batch 1 (p50 / p95 / p99) and throughput through the ONNX runtime.

Test rows of every fold are also scored pooled; folds give mean and standard deviation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.models import (
    FeatureFrame,
    FrameSource,
    InferenceRuntime,
    ModelFamilies,
    ModelFamily,
    TrainConfig,
    TrainedModel,
)
from ghtrader.application.ports.providers import CalendarSource
from ghtrader.application.ports.reports import BenchmarkReportWriter
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.regimes.grouping import HmmGrouping
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.application.research.benchmark_ceiling import (
    CeilingRows,
    bayes_probs,
    ceiling_rows,
    fit_ceiling,
    pool_ceiling_rows,
    score_ceiling,
)
from ghtrader.application.research.benchmark_latency import measure_latency
from ghtrader.application.research.benchmark_metrics import (
    FrameContext,
    RowsScore,
    _group_scores,  # the per-group table every grouping uses
    expected_move_rule_codes,
    realized_moves,
    score_rows,
)
from ghtrader.application.research.benchmark_report import (
    MIN_SPLITS,
    BenchmarkReport,
    BenchmarkRequest,
    FoldResult,
    MetricSummary,
    plan_fingerprint,
    summarize,
)
from ghtrader.application.research.tabular import select_features
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import DomainError
from ghtrader.domain.evaluation import (
    EvaluationError,
    WalkForwardConfig,
    WalkForwardPlan,
    fit_vol_regimes,
    rolling_realised_vol,
    session_codes,
    walk_forward_splits,
)
from ghtrader.domain.factors import CORE_L5_FACTORS
from ghtrader.domain.instruments import contract_spec

__all__ = [
    "MIN_SPLITS",
    "BenchmarkReport",
    "BenchmarkRequest",
    "FoldResult",
    "MetricSummary",
    "RunBenchmark",
    "plan_fingerprint",
    "summarize",
]

_SESSION_GRACE_NS = 1_000_000_000  # snapshot jitter puts a session's last tick just past its end


def _span(index: np.ndarray) -> tuple[int, int, int]:
    if index.shape[0] == 0:
        return (-1, -1, 0)
    return (int(index[0]), int(index[-1]), int(index.shape[0]))


class RunBenchmark:
    """Walk-forward benchmark of one model family (see the module docstring).

    Args:
        families: name -> family lookup (for ``request.family``).
        frames: where frames come from when none is passed.
        runtime: ONNX runtime for latency (None: latency is skipped, with a note).
        writer: rich report writer (None: no files).
        clock: "now" for the report id.
        calendar: trading sessions (None: a holiday-free calendar; sessions do not depend on
            holidays except for nights before one).
        timer: high-resolution monotonic seconds for latency and durations.
        regimes: when given, the pooled report also breaks metrics down by HMM regime
            (``by_hmm_regime``: fitted on each fold's training rows, decoded causally).
    """

    def __init__(
        self,
        *,
        families: ModelFamilies | None = None,
        frames: FrameSource | None = None,
        runtime: InferenceRuntime | None = None,
        writer: BenchmarkReportWriter | None = None,
        clock: Clock,
        calendar: CalendarSource | None = None,
        timer: Callable[[], float] = time.perf_counter,
        regimes: HmmGrouping | None = None,
    ) -> None:
        self._regimes = regimes
        self._families = families
        self._frames = frames
        self._runtime = runtime
        self._writer = writer
        self._clock = clock
        self._calendar = calendar
        self._timer = timer

    def now_ns(self) -> int:
        """The clock's current time (report ids)."""
        return self._clock.now_ns()

    # --- entry points --------------------------------------------------------------------------
    def __call__(
        self,
        request: BenchmarkRequest,
        progress: ProgressCallback = no_progress,
        *,
        frame: FeatureFrame | None = None,
        family: ModelFamily | None = None,
    ) -> BenchmarkReport:
        """Benchmark ``family`` (or ``request.family``) on ``frame`` (or the FrameSource's)."""
        started = self._timer()
        fam = self.resolve_family(request, family)
        frame, provenance = self.load_frame(request, frame)
        plan = self.plan(request, frame)
        report = self.run_on_plan(request, fam, frame, plan, progress, started=started)
        report.provenance = provenance
        if request.write_report and self._writer is not None:
            from ghtrader.application.research.benchmark_figures import (
                benchmark_figures,
                benchmark_tables,
            )

            written = self._writer.write(
                report.report_id,
                report.to_payload(),
                benchmark_figures([report]),
                benchmark_tables([report]),
                title=f"Benchmark {report.family} on {report.symbol} (h={report.horizon})",
            )
            report.report_paths = to_jsonable(written)
        return report

    def resolve_family(self, request: BenchmarkRequest, family: ModelFamily | None) -> ModelFamily:
        if family is not None:
            return family
        if not request.family:
            raise InvalidArgument("name a model family to benchmark (request.family)")
        if self._families is None:
            raise FailedPrecondition("no model families are configured")
        return self._families.get(request.family)

    def load_frame(
        self, request: BenchmarkRequest, frame: FeatureFrame | None
    ) -> tuple[FeatureFrame, dict[str, Any] | None]:
        """The frame to benchmark on (given, or read from the FrameSource) and its provenance."""
        _check_request(request)
        if frame is not None:
            if request.feature_names:
                frame = select_features(frame, request.feature_names)
            if frame.horizon and frame.horizon != request.horizon:
                raise InvalidArgument(
                    f"the frame's labels are of horizon {frame.horizon} but the request asks for {request.horizon}"
                )
            return frame, None
        if self._frames is None:
            raise FailedPrecondition("no frame given and no frame source configured")
        if not request.symbol or request.start_day is None or request.end_day is None:
            raise InvalidArgument("name symbol, start_day and end_day of the data to benchmark on")
        names = request.feature_names or CORE_L5_FACTORS
        loaded, prov = self._frames.load(
            request.symbol, request.ticks_lake, request.start_day, request.end_day, request.horizon, names
        )
        return loaded, to_jsonable(prov)

    def plan(self, request: BenchmarkRequest, frame: FeatureFrame) -> WalkForwardPlan:
        """The walk-forward folds of ``frame`` (share it to compare families on identical folds)."""
        _check_request(request)
        if len(frame) == 0:
            raise InvalidArgument("the frame has no rows")
        purge = (
            request.purge_ticks if request.purge_ticks is not None else max(request.horizon, *request.decay_horizons)
        )
        config = WalkForwardConfig(
            n_splits=request.n_splits,
            mode=request.window_mode,
            test_days=request.test_days,
            valid_days=request.valid_days,
            purge_ticks=int(purge),
        )
        try:
            return walk_forward_splits(frame.trading_day, max(request.horizon, *request.decay_horizons), config)
        except EvaluationError as exc:
            raise InvalidArgument(str(exc)) from exc

    def context(self, request: BenchmarkRequest, frame: FeatureFrame) -> FrameContext:
        """Per-frame inputs every fold shares (realized moves, volatility, sessions)."""
        horizons = sorted({request.horizon, *request.decay_horizons})
        try:
            spec = contract_spec(frame.symbol) if frame.symbol else None
        except DomainError:
            spec = None
        multiplier = request.multiplier if request.multiplier is not None else (spec.multiplier if spec else None)
        if multiplier is None:
            raise InvalidArgument(f"cannot tell the contract multiplier of {frame.symbol!r}: set request.multiplier")
        calendar = self._calendar.load() if self._calendar is not None else TradingCalendar(())
        sessions = (
            session_codes(frame.datetime_ns, calendar, spec, end_grace_ns=_SESSION_GRACE_NS)
            if spec is not None
            else np.zeros(len(frame), dtype=np.int8)
        )
        return FrameContext(
            frame=frame,
            moves=realized_moves(frame, horizons),
            vol=rolling_realised_vol(frame.mid, frame.segment_id, frame.trading_day),
            session=np.asarray(sessions, dtype=np.int8),
            multiplier=float(multiplier),
        )

    # --- the work --------------------------------------------------------------------------------
    def run_on_plan(
        self,
        request: BenchmarkRequest,
        family: ModelFamily,
        frame: FeatureFrame,
        plan: WalkForwardPlan,
        progress: ProgressCallback = no_progress,
        *,
        started: float | None = None,
        context: FrameContext | None = None,
    ) -> BenchmarkReport:
        """Fit and score ``family`` on every fold of ``plan`` (no files written)."""
        t_start = self._timer() if started is None else started
        ctx = context or self.context(request, frame)
        notes: list[str] = [plan.note] if plan.note else []
        has_rule = "oracle_dmid" in frame.extras or "oracle_direction" in frame.extras
        if bayes_probs(frame) is None:
            notes.append("no Bayes oracle in the frame: ceiling metrics (information captured, Bayes log-loss) skipped")
        if self._runtime is None:
            notes.append("no inference runtime configured: latency not measured")
        cfg = replace(request.train or TrainConfig(horizon=request.horizon), horizon=request.horizon, seed=request.seed)
        steps = 2 * len(plan.splits) + 1
        folds: list[FoldResult] = []
        pooled_rows: list[np.ndarray] = []
        pooled_probs: list[np.ndarray] = []
        pooled_regimes: list[np.ndarray] = []
        pooled_hmm: list[np.ndarray] = []
        hmm_obs = (
            self._regimes.observations(frame.mid, frame.spread, frame.segment_id, frame.trading_day)
            if self._regimes is not None
            else None
        )
        pooled_rule: list[np.ndarray] = []
        pooled_ceiling: list[CeilingRows] = []
        no_trade_folds: list[int] = []
        for i, split in enumerate(plan.splits):
            label = f"{family.name} fold {i + 1}/{len(plan.splits)}"
            progress(2 * i, steps, f"{label}: fitting on {split.train_days[0]}..{split.train_days[1]}")

            def fit_progress(done: int, total: int, message: str, _i: int = i, _label: str = label) -> None:
                progress(2 * _i, steps, f"{_label}: {message}")

            t0 = self._timer()
            model = family.fit(frame.take(split.train_index), frame.take(split.valid_index), cfg, fit_progress)
            fit_s = self._timer() - t0
            progress(2 * i + 1, steps, f"{label}: scoring {split.test_days[0]}..{split.test_days[1]}")

            test = split.test_index
            probs, probs_ctx, lo = _predict_with_context(model.predict_proba, model, frame, test)
            valid_probs = (
                _predict_with_context(model.predict_proba, model, frame, split.valid_index)[0]
                if split.valid_index.shape[0]
                else np.zeros((0, 3))
            )
            uncalibrated_fn = getattr(model, "predict_proba_uncalibrated", None)
            uncalibrated = (
                _predict_with_context(uncalibrated_fn, model, frame, test)[0] if callable(uncalibrated_fn) else None
            )
            regimes = fit_vol_regimes(
                frame.mid[split.train_index], frame.segment_id[split.train_index], frame.trading_day[split.train_index]
            )
            regime_codes = regimes.codes_of(ctx.vol[test])
            codes, rule_fit = expected_move_rule_codes(frame, split.train_index) if has_rule else (None, None)
            rule_test = codes[test] if codes is not None else None
            score = self._score(request, ctx, test, probs, regime_codes, rule_test)
            ceiling_fit = fit_ceiling(
                ctx, split.train_index, split.valid_index, valid_probs, horizon=request.horizon, costs=request.costs
            )
            if not ceiling_fit.model_policy.trades:
                no_trade_folds.append(split.fold + 1)
            fold_ceiling = ceiling_rows(ceiling_fit, frame, test, probs, uncalibrated)
            latency = self._latency(request, model, frame, test, lo, probs_ctx, notes)
            metrics = score.flat()
            metrics.update(self._score_ceiling(request, ctx, fold_ceiling))
            if latency is not None:
                metrics.update(
                    {
                        "latency_p50_ms": latency["p50_ms"],
                        "latency_p95_ms": latency["p95_ms"],
                        "latency_p99_ms": latency["p99_ms"],
                        "throughput_per_s": latency["throughput_per_s"],
                    }
                )
            metrics["fit_seconds"] = fit_s
            rule_block = score.expected_move_rule
            if rule_block is not None and rule_fit is not None:
                rule_block = {
                    **rule_block,
                    "source": rule_fit.source,
                    "threshold": rule_fit.threshold,
                    "train_macro_f1": rule_fit.train_macro_f1,
                }
            folds.append(
                FoldResult(
                    fold=split.fold,
                    train_days=split.train_days,
                    valid_days=split.valid_days,
                    test_days=split.test_days,
                    train_rows=_span(split.train_index),
                    valid_rows=_span(split.valid_index),
                    test_rows=_span(test),
                    metrics=metrics,
                    classification=score.classification.to_dict(),
                    trading=score.trading.to_dict(),
                    decay=score.decay.to_dict(),
                    by_regime=score.by_regime,
                    by_session=score.by_session,
                    expected_move_rule=rule_block,
                    latency=latency,
                    regime_edges={"low": regimes.low_edge, "high": regimes.high_edge},
                    model=_describe(model),
                    fit_seconds=fit_s,
                    ceiling=ceiling_fit.to_dict(),
                )
            )
            pooled_rows.append(test)
            pooled_probs.append(probs)
            pooled_regimes.append(regime_codes)
            if self._regimes is not None and hmm_obs is not None:
                hmm = self._regimes.codes(hmm_obs, split.train_index, test)
                pooled_hmm.append(hmm.codes if hmm is not None else np.full(test.shape[0], -1, dtype=np.int64))
            if rule_test is not None:
                pooled_rule.append(rule_test)
            pooled_ceiling.append(fold_ceiling)

        progress(steps - 1, steps, f"{family.name}: pooling {len(folds)} folds")
        rows = np.concatenate(pooled_rows)
        probs = np.concatenate(pooled_probs)
        pooled_score = self._score(
            request,
            ctx,
            rows,
            probs,
            np.concatenate(pooled_regimes),
            np.concatenate(pooled_rule) if len(pooled_rule) == len(folds) and pooled_rule else None,
        )
        pooled_rule_block = pooled_score.expected_move_rule
        if pooled_rule_block is not None:
            first = folds[0].expected_move_rule
            pooled_rule_block = {
                **pooled_rule_block,
                "source": first["source"] if first else None,
                "fold_thresholds": [
                    f.expected_move_rule.get("threshold") if f.expected_move_rule else None for f in folds
                ],
            }
        pooled_metrics = pooled_score.flat()
        pooled_metrics.update(self._score_ceiling(request, ctx, pool_ceiling_rows(pooled_ceiling)))
        if no_trade_folds:
            notes.append(
                "cost-aware policy: no threshold made money on the validation rows of fold(s) "
                f"{', '.join(map(str, no_trade_folds))}, so the model does not trade there"
            )
        if pooled_metrics.get("bayes_policy_n_trades", 1.0) == 0.0:
            notes.append("cost-aware policy: even the Bayes oracle finds no trade worth its cost")
        elif pooled_metrics.get("bayes_policy_net_pnl", 1.0) <= 0:
            notes.append("cost-aware policy: even the Bayes oracle loses after costs (sampled test rows)")
        pooled = {
            "metrics": pooled_metrics,
            "classification": pooled_score.classification.to_dict(),
            "trading": pooled_score.trading.to_dict(),
            "decay": pooled_score.decay.to_dict(),
            "by_regime": pooled_score.by_regime,
            "by_session": pooled_score.by_session,
            "expected_move_rule": pooled_rule_block,
        }
        if pooled_hmm and self._regimes is not None:
            pooled["by_hmm_regime"] = _group_scores(
                frame.labels[rows], probs, pooled_score.trading, np.concatenate(pooled_hmm),
                self._regimes.names, request.calibration_bins,
            )  # fmt: skip
        if pooled_score.trading.profitable_gross_not_net:
            notes.append("profitable before costs but not after costs (pooled test rows)")
        curves = _curves(pooled_score)
        now_ns = self._clock.now_ns()
        report_id = request.report_id or make_run_id(
            now_ns, f"benchmark_{family.name}_{frame.symbol}_h{request.horizon}"
        )
        report = BenchmarkReport(
            report_id=report_id,
            family=family.name,
            symbol=frame.symbol,
            horizon=request.horizon,
            decay_horizons=tuple(sorted(set(request.decay_horizons))),
            n_splits_requested=request.n_splits,
            n_splits=len(folds),
            purge=plan.purge,
            plan_fingerprint=plan_fingerprint(plan),
            rows=len(frame),
            days=plan.n_days,
            feature_names=tuple(frame.feature_names),
            folds=folds,
            summary=summarize([f.metrics for f in folds]),
            pooled=pooled,
            curves=curves,
            notes=notes,
            config={"request": to_jsonable(request), "train": to_jsonable(cfg)},
            duration_s=self._timer() - t_start,
        )
        progress(steps, steps, f"{family.name}: {len(folds)} folds done")
        return report

    def _score(
        self,
        request: BenchmarkRequest,
        ctx: FrameContext,
        rows: np.ndarray,
        probs: np.ndarray,
        regime_codes: np.ndarray,
        expected_move_rule: np.ndarray | None,
    ) -> RowsScore:
        try:
            return score_rows(
                ctx,
                rows,
                probs,
                horizon=request.horizon,
                decay_horizons=sorted(set(request.decay_horizons)),
                regime_codes=regime_codes,
                expected_move_rule=expected_move_rule,
                costs=request.costs,
                signal=request.signal,
                entry=request.entry,
                n_bins=request.calibration_bins,
            )
        except EvaluationError as exc:
            raise InvalidArgument(f"cannot score the predictions: {exc}") from exc

    def _score_ceiling(self, request: BenchmarkRequest, ctx: FrameContext, rows: CeilingRows) -> dict[str, float]:
        try:
            return score_ceiling(
                ctx,
                rows,
                horizon=request.horizon,
                costs=request.costs,
                entry=request.entry,
                n_bins=request.calibration_bins,
            )
        except EvaluationError as exc:
            raise InvalidArgument(f"cannot score against the ceiling: {exc}") from exc

    def _latency(
        self,
        request: BenchmarkRequest,
        model: TrainedModel,
        frame: FeatureFrame,
        test: np.ndarray,
        lo: int,
        probs_ctx: np.ndarray,
        notes: list[str],
    ) -> dict[str, Any] | None:
        if self._runtime is None:
            return None
        n_rows = 2 * max(request.latency_samples, request.throughput_batch)
        x, reference = _latency_inputs(model, frame, test, lo, probs_ctx, n_rows)
        if x.shape[0] == 0:
            notes.append("latency not measured: no model inputs in a test block")
            return None
        try:
            return measure_latency(
                model,
                x,
                reference,
                self._runtime,
                samples=request.latency_samples,
                batch_size=request.throughput_batch,
                batches=request.throughput_batches,
                prefer_gpu=request.prefer_gpu,
                timer=self._timer,
            )
        except NotImplementedError as exc:
            note = f"latency not measured: {model.family} cannot export ONNX ({exc})"
            if note not in notes:
                notes.append(note)
            return None


def _check_request(request: BenchmarkRequest) -> None:
    if not isinstance(request.horizon, int) or request.horizon < 1:
        raise InvalidArgument(f"invalid horizon {request.horizon!r}: expected an int >= 1 (ticks)")
    if not request.decay_horizons or any(not isinstance(h, int) or h < 1 for h in request.decay_horizons):
        raise InvalidArgument(f"invalid decay_horizons {request.decay_horizons!r}: expected ints >= 1")
    if request.n_splits < MIN_SPLITS:
        raise InvalidArgument(
            f"n_splits={request.n_splits}: a walk-forward benchmark needs at least {MIN_SPLITS} folds"
        )
    if request.purge_ticks is not None and request.purge_ticks < 0:
        raise InvalidArgument(f"invalid purge_ticks {request.purge_ticks!r}: expected >= 0")
    for name in ("latency_samples", "throughput_batch", "throughput_batches", "calibration_bins"):
        if getattr(request, name) < 1:
            raise InvalidArgument(f"invalid {name} {getattr(request, name)!r}: expected >= 1")


def _predict_with_context(
    predict: Callable[[FeatureFrame], np.ndarray], model: TrainedModel, frame: FeatureFrame, test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """``predict`` (the model's probabilities) of the (contiguous) test rows, predicted with
    ``window - 1`` rows of history before the block (features are causal, so earlier rows may
    feed a window).

    Returns ``(probs of the test rows, probs of the whole slice, slice start)``.
    """
    lo = max(0, int(test[0]) - max(int(model.window) - 1, 0))
    hi = int(test[-1]) + 1
    probs_ctx = np.asarray(predict(frame.take(np.arange(lo, hi))), dtype=np.float64)
    if probs_ctx.shape != (hi - lo, 3):
        raise FailedPrecondition(
            f"{model.family}.predict_proba returned shape {probs_ctx.shape} for {hi - lo} rows (expected (n, 3))"
        )
    return probs_ctx[test - lo], probs_ctx, lo


def _latency_inputs(
    model: TrainedModel, frame: FeatureFrame, test: np.ndarray, lo: int, probs_ctx: np.ndarray, n_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs of the first ``n_rows`` test rows (and their probabilities from
    ``probs_ctx``), for timing: a sub-slice keeps deep inputs (rows x window x features) small."""
    hi = min(int(test[-1]) + 1, int(test[0]) + n_rows)
    x, rows = model.inputs(frame.take(np.arange(lo, hi)))
    rows = np.asarray(rows, dtype=np.int64)
    keep = rows >= int(test[0]) - lo
    return np.asarray(x)[keep], probs_ctx[rows[keep]]


def _describe(model: TrainedModel) -> dict[str, Any]:
    return to_jsonable(model.describe())


def _curves(score: RowsScore) -> dict[str, Any]:
    t = score.trading
    cal = score.classification.calibration
    return {
        "equity": {
            "elapsed_days": score.entry_time_days.tolist(),
            "cum_net": t.cum_net.tolist(),
            "cum_gross": t.cum_gross.tolist(),
        },
        "reliability": {
            "mean_confidence": cal.mean_confidence.tolist(),
            "accuracy": cal.accuracy.tolist(),
            "count": cal.count.tolist(),
        },
        "decay": {
            "horizons": list(score.decay.horizons),
            "ic": list(score.decay.ic),
            "half_life": score.decay.half_life,
        },
        "confusion": score.classification.confusion.tolist(),
    }
