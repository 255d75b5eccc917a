"""``ExplainModel``: why a registered model predicts what it predicts, over a day range.

Steps (``ExplainModel.__call__``):

1. the registry entry (newest version unless one is named), its weights (``load_model``) and
   its ONNX Predictor; the rows of ``day..end_day`` with the model's features and labels;
2. attributions of the base model's raw output (before the calibrator) through the family's
   :class:`~ghtrader.application.ports.explain.Attributor`: TreeSHAP for tree families
   (exact: contributions + expected value == raw margin), integrated gradients for deep ones
   (completeness error reported), exact linear attributions for logistic models; on at most ``max_rows`` rows evenly spread over the range,
   plus the chosen tick. Global importance = mean |attribution| per feature (per class and
   averaged over classes); a windowed model's attributions also give a profile over its lags;
3. permutation importance on the ONNX graph (what serving runs, calibrated): the rise of the
   log-loss when one feature's column is shuffled, averaged over ``permutation_repeats``;
4. the chosen tick's attribution (``tick_ts_ns``: the last row at or before it; default: the
   most confident non-FLAT prediction) as a waterfall of the predicted class;
   transformer-family models add their attention maps (head-averaged, per layer: the tick's
   window and the mean over the attributed windows; temporal, and feature-wise for TLOB)
   through the :class:`~ghtrader.application.ports.explain.AttentionProbe`;
5. error analysis of the calibrated predictions by volatility tercile (edges fitted on the
   explained rows), by session, by contract segment and by symbol;
6. a JSON + PNG + HTML report through the BenchmarkReportWriter port (``runs/explain/``).

``method``: ``auto`` = the family's attributor (when it has one) plus permutation importance;
``treeshap`` / ``ig`` / ``linear`` = that attributor only; ``permutation`` = permutation importance only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.explain import AttentionProbe, Attribution, Attributor
from ghtrader.application.ports.models import (
    CLASS_NAMES,
    ArtifactStore,
    FeatureFrame,
    FrameSource,
    InferenceRuntime,
    ModelFamilies,
    ModelRegistry,
    TrainedModel,
)
from ghtrader.application.ports.providers import CalendarSource
from ghtrader.application.ports.reports import BenchmarkReportWriter
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.application.research.artifacts import ONNX_INPUT_RAW, load_model
from ghtrader.application.research.calibration import CalibratedModel
from ghtrader.application.research.explain_attention import attention_entry
from ghtrader.application.research.explain_figures import explain_figures, explain_tables
from ghtrader.application.research.explain_report import METHODS, ExplainReport, ExplainRequest
from ghtrader.application.research.serving import Predictor, registry_entry
from ghtrader.application.research.tabular import even_subsample
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import DomainError
from ghtrader.domain.evaluation import (
    SESSION_NAMES,
    VOL_REGIME_NAMES,
    EvaluationError,
    accuracy,
    fit_vol_regimes,
    log_loss,
    macro_f1,
    session_codes,
)
from ghtrader.domain.instruments import contract_spec

__all__ = [
    "METHODS",
    "ExplainModel",
    "ExplainReport",
    "ExplainRequest",
    "error_by_group",
    "global_importance",
    "permutation_importance",
]

_SESSION_GRACE_NS = 1_000_000_000

PredictFn = Callable[[FeatureFrame], np.ndarray]


# --- pure helpers --------------------------------------------------------------------------------
def global_importance(attribution: Attribution, feature_names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per feature: mean |attribution| averaged over classes and per class, most important first."""
    per = np.abs(attribution.per_feature())  # (m, f, 3)
    if per.shape[0] == 0:
        return []
    by_class = per.mean(axis=0)  # (f, 3)
    overall = by_class.mean(axis=1)
    order = np.argsort(-overall, kind="stable")
    return [
        {
            "feature": feature_names[j],
            "mean_abs": float(overall[j]),
            "mean_abs_by_class": {name: float(by_class[j, c]) for c, name in enumerate(CLASS_NAMES)},
        }
        for j in order
    ]


def permutation_importance(
    predict: PredictFn, frame: FeatureFrame, repeats: int, seed: int
) -> tuple[float, list[dict[str, Any]]]:
    """``(base log-loss, [{feature, delta_log_loss, std}])``, largest rise first: each feature's
    column is shuffled across the frame's rows ``repeats`` times (seeded)."""
    base = _log_loss(frame.labels, predict(frame))
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    for j, name in enumerate(frame.feature_names):
        rises: list[float] = []
        for _ in range(repeats):
            features = np.array(frame.features, copy=True)
            features[:, j] = features[rng.permutation(features.shape[0]), j]
            shuffled = replace(frame, features=features)
            rises.append(_log_loss(frame.labels, predict(shuffled)) - base)
        out.append({"feature": name, "delta_log_loss": float(np.mean(rises)), "std": float(np.std(rises))})
    out.sort(key=lambda r: -float(r["delta_log_loss"]) if np.isfinite(r["delta_log_loss"]) else np.inf)
    return base, out


def _log_loss(labels: np.ndarray, probs: np.ndarray) -> float:
    try:
        return float(log_loss(labels, probs))
    except EvaluationError:
        return float("nan")


def error_by_group(
    labels: np.ndarray, probs: np.ndarray, groups: Mapping[str, np.ndarray]
) -> dict[str, dict[str, float]]:
    """Per group mask: labelled rows with a prediction, accuracy, macro-F1 and log-loss."""
    out: dict[str, dict[str, float]] = {}
    ok = np.isfinite(labels) & np.isfinite(probs).all(axis=1)
    for name, mask in groups.items():
        m = mask & ok
        n = int(m.sum())
        if n == 0:
            out[name] = {"n": 0.0}
            continue
        y, p = labels[m], probs[m]
        out[name] = {
            "n": float(n),
            "accuracy": float(accuracy(y, p)),
            "macro_f1": float(macro_f1(y, p)),
            "log_loss": _log_loss(y, p),
            "error_rate": float(1.0 - accuracy(y, p)),
        }
    return out


def _base_model(model: TrainedModel) -> TrainedModel:
    return model.base if isinstance(model, CalibratedModel) else model


# --- the use case --------------------------------------------------------------------------------
class ExplainModel:
    """The explain use case (see the module docstring).

    Args:
        attributors: family name -> Attributor (families without one get permutation importance only).
        attention: reads the attention maps of windowed models (None: no maps).
    """

    def __init__(
        self,
        *,
        registry: ModelRegistry,
        artifacts: ArtifactStore,
        families: ModelFamilies,
        runtime: InferenceRuntime,
        frames: FrameSource,
        attributors: Mapping[str, Attributor],
        clock: Clock,
        calendar: CalendarSource | None = None,
        writer: BenchmarkReportWriter | None = None,
        attention: AttentionProbe | None = None,
    ) -> None:
        self._registry = registry
        self._attention = attention
        self._artifacts = artifacts
        self._families = families
        self._runtime = runtime
        self._frames = frames
        self._attributors = dict(attributors)
        self._clock = clock
        self._calendar = calendar
        self._writer = writer

    def __call__(self, request: ExplainRequest, progress: ProgressCallback = no_progress) -> ExplainReport:
        r = request.checked()
        assert r.end_day is not None
        started = time.perf_counter()
        entry = registry_entry(self._registry, r.model_id, r.version)
        directory = Path(entry.artifact_path)
        progress(0, 100, f"loading {entry.model_id} v{entry.version}")
        model, meta = load_model(self._artifacts, self._families, directory)
        base = _base_model(model)
        attributor = self._attributors.get(meta.family)
        attribute = r.method != "permutation" and attributor is not None
        if r.method not in ("auto", "permutation") and (attributor is None or attributor.method != r.method):
            have = attributor.method if attributor is not None else "none (use permutation)"
            raise InvalidArgument(f"the {meta.family} family has no {r.method} attributions; it has: {have}")
        symbol = str(meta.raw.get("symbol", ""))
        lake = str(meta.raw.get("ticks_lake", "main_l5"))
        frame, _ = self._frames.load(symbol, lake, r.day, r.end_day, meta.horizon, meta.feature_names)
        if len(frame) == 0:
            raise FailedPrecondition(f"no rows of {symbol} in {r.day}..{r.end_day}")
        predictor = Predictor.open(self._artifacts, self._runtime, directory, horizon=meta.horizon, prefer_gpu=False)
        inputs = None if meta.onnx_input == ONNX_INPUT_RAW else model.inputs

        def predict(fr: FeatureFrame) -> np.ndarray:
            return predictor.predict_frame(fr, inputs)

        progress(10, 100, f"predicting {len(frame)} rows")
        probs = predict(frame)
        report = ExplainReport(
            model_id=entry.model_id,
            version=str(entry.version),
            family=meta.family,
            symbol=symbol,
            horizon=meta.horizon,
            start_day=r.day,
            end_day=r.end_day,
            methods=[],
            rows=len(frame),
        )
        tick_row = self._tick_row(r, frame, probs)
        if attribute:
            assert attributor is not None
            progress(20, 100, f"{attributor.method} attributions")
            self._attributions(report, r, base, attributor, frame, probs, tick_row)
        elif attributor is None and r.method == "auto":
            report.notes.append(f"the {meta.family} family has no attributor: permutation importance only")
        if r.method in ("auto", "permutation"):
            progress(60, 100, f"permutation importance of {len(meta.feature_names)} features")
            sample = self._permutation_frame(frame, meta.window, r.permutation_rows)
            report.permutation_base_log_loss, report.permutation = permutation_importance(
                predict, sample, r.permutation_repeats, r.seed
            )
            report.methods.append("permutation")
        if not report.tick:
            report.tick = self._tick_summary(frame, probs, tick_row)
        progress(85, 100, "error analysis")
        report.error_analysis = self._error_analysis(frame, probs, symbol)
        report.elapsed_s = time.perf_counter() - started
        if self._writer is not None:
            written = self._writer.write(
                report_id=make_run_id(int(self._clock.now_ns()), f"explain_{entry.model_id}_v{entry.version}"),
                payload=report.to_payload(),
                figures=explain_figures(report, r.top_k),
                tables=explain_tables(report, r.top_k),
                title=f"explain {entry.model_id} v{entry.version} ({meta.family}) {r.day}..{r.end_day}",
            )
            report.report_paths = to_jsonable(written)
        progress(100, 100, "done")
        return report

    # --- steps -------------------------------------------------------------------------------------
    @staticmethod
    def _tick_row(r: ExplainRequest, frame: FeatureFrame, probs: np.ndarray) -> int:
        """The explained tick's row: the last at or before ``tick_ts_ns``, else the most
        confident non-FLAT prediction (the first row with a prediction when there is none)."""
        if r.tick_ts_ns is not None:
            row = int(np.searchsorted(frame.datetime_ns, int(r.tick_ts_ns), side="right")) - 1
            if row < 0:
                raise InvalidArgument(
                    f"tick_ts_ns {r.tick_ts_ns} is before the first row ({int(frame.datetime_ns[0])}) of {r.day}"
                )
            return row
        ok = np.isfinite(probs).all(axis=1)
        if not ok.any():
            raise FailedPrecondition("the model predicts no row of the range (windows longer than the data?)")
        confidence = np.where(ok, np.maximum(probs[:, 0], probs[:, 2]), -np.inf)
        return int(np.argmax(confidence))

    def _attributions(
        self,
        report: ExplainReport,
        r: ExplainRequest,
        model: TrainedModel,
        attributor: Attributor,
        frame: FeatureFrame,
        probs: np.ndarray,
        tick_row: int,
    ) -> None:
        x, rows = model.inputs(frame)
        windowed = x.ndim == 3
        limit = r.max_rows if r.max_rows is not None else (256 if windowed else 5000)
        picked = even_subsample(np.arange(rows.shape[0]), limit)
        at = np.flatnonzero(rows == tick_row)
        if at.shape[0] == 0:
            raise FailedPrecondition(
                f"the explained tick (row {tick_row}) has no model input: a windowed model needs "
                f"{model.window} rows of the same segment before it"
            )
        picked = np.union1d(picked, at)
        attribution = attributor.attribute(model, x[picked], steps=r.steps)
        report.methods.append(attribution.method)
        report.attributed_rows = int(picked.shape[0])
        report.output_space = attribution.output_space
        report.completeness_max_abs_error = attribution.completeness_error()
        names = tuple(model.feature_names)
        report.global_importance = global_importance(attribution, names)
        if windowed:  # mean |attribution| per lag (0 = the newest tick), summed over features and classes
            lag = np.abs(np.asarray(attribution.values)).sum(axis=(2, 3)).mean(axis=0)
            report.lag_profile = [float(v) for v in lag[::-1]]
        i = int(np.flatnonzero(picked == at[0])[0])
        per = attribution.per_feature()[i]  # (f, 3)
        summary = self._tick_summary(frame, probs, tick_row)
        c = int(summary["predicted_class"])
        summary.update(
            explained_class=CLASS_NAMES[c],
            base=float(attribution.base[i, c]),
            output=float(attribution.output[i, c]),
            output_space=attribution.output_space,
            contributions={names[j]: float(per[j, c]) for j in np.argsort(-np.abs(per[:, c]), kind="stable")},
            contributions_by_class={
                name: {names[j]: float(per[j, k]) for j in range(len(names))} for k, name in enumerate(CLASS_NAMES)
            },
        )
        report.tick = summary
        if windowed and self._attention is not None:
            maps = self._attention.attention(model, x[picked])
            if maps is None:
                report.notes.append(f"the {model.family} family has no attention layers: no attention maps")
            else:
                report.attention = [attention_entry(am, i) for am in maps]

    @staticmethod
    def _tick_summary(frame: FeatureFrame, probs: np.ndarray, row: int) -> dict[str, Any]:
        p = probs[row]
        label = frame.labels[row]
        predicted = int(np.argmax(p)) if np.isfinite(p).all() else 1
        return {
            "row": int(row),
            "datetime_ns": int(frame.datetime_ns[row]),
            "trading_day": str(frame.trading_day[row]),
            "probabilities": {name: float(p[k]) for k, name in enumerate(CLASS_NAMES)},
            "predicted_class": predicted,
            "label": CLASS_NAMES[int(label)] if np.isfinite(label) else None,
            "features": {n: float(frame.features[row, j]) for j, n in enumerate(frame.feature_names)},
        }

    @staticmethod
    def _permutation_frame(frame: FeatureFrame, window: int, max_rows: int) -> FeatureFrame:
        if window > 1:
            return frame.take(np.arange(min(len(frame), max_rows)))
        labelled = np.flatnonzero(np.isfinite(frame.labels))
        return frame.take(even_subsample(labelled, max_rows))

    def _error_analysis(
        self, frame: FeatureFrame, probs: np.ndarray, symbol: str
    ) -> dict[str, dict[str, dict[str, float]]]:
        labels = np.asarray(frame.labels, dtype=np.float64)
        out: dict[str, dict[str, dict[str, float]]] = {}
        try:
            regimes = fit_vol_regimes(frame.mid, frame.segment_id, frame.trading_day)
            codes = regimes.assign(frame.mid, frame.segment_id, frame.trading_day)
            out["vol_regime"] = error_by_group(labels, probs, {n: codes == k for k, n in VOL_REGIME_NAMES.items()})
        except EvaluationError:
            out["vol_regime"] = {}
        try:
            calendar = self._calendar.load() if self._calendar is not None else TradingCalendar(())
            sessions = session_codes(frame.datetime_ns, calendar, contract_spec(symbol), _SESSION_GRACE_NS)
            out["session"] = error_by_group(labels, probs, {n: sessions == k for k, n in SESSION_NAMES.items()})
        except DomainError:
            out["session"] = {}
        segments = np.unique(frame.segment_id)
        out["segment"] = error_by_group(labels, probs, {f"segment {int(s)}": frame.segment_id == s for s in segments})
        out["symbol"] = error_by_group(labels, probs, {symbol: np.ones(len(frame), dtype=bool)})
        return out
