"""ScanModelDrift: a registered model's drift over a day range against its own training data.

Reads the model's training window (``meta.data.start_day..end_day``) and the scanned days through
the FrameSource (the stored features and labels the trainer reads), then runs the domain's
drift and model detectors: ``feature_drift`` (PSI / KS / KL per window), ``prior_shift`` (label
shares); and, for a model that takes one row (window 1), its predictions on both:
``prediction_shift``, ``confidence_collapse``, ``rolling_accuracy`` and ``concept_drift``
(ADWIN / DDM / Page-Hinkley on the 0/1 errors). Events go to the AnomalyStore, symbol = the
model's symbol, ``details`` naming the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from ghtrader.application.alerts import Progress, ScanResult
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.alerts import AnomalyStore
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.models import ArtifactStore, FeatureFrame, FrameSource, InferenceRuntime, ModelRegistry
from ghtrader.application.research.artifacts import ModelMeta
from ghtrader.application.research.serving import Predictor, registry_entry
from ghtrader.domain.anomaly import AnomalyConfig, AnomalyEvent, Severity
from ghtrader.domain.anomaly.model import (
    concept_drift_events,
    confidence_collapse_events,
    feature_drift_events,
    prediction_shift_events,
    prior_shift_events,
    rolling_accuracy_events,
)

__all__ = [
    "MAX_REFERENCE_ROWS",
    "DriftScanRequest",
    "ScanModelDrift",
    "TrainingReference",
    "label_shares",
    "training_reference",
]

MAX_REFERENCE_ROWS = 200_000  # the training reference is thinned to this many rows (evenly)


@dataclass(frozen=True)
class DriftScanRequest:
    model_id: str
    start_day: date
    end_day: date
    version: str | None = None


def _codes(labels: np.ndarray) -> np.ndarray:
    lab = np.asarray(labels, dtype=np.float64)
    return np.where(np.isfinite(lab), lab, -1).astype(np.int64)


def _thin(frame_rows: int) -> np.ndarray:
    step = max(1, -(-frame_rows // MAX_REFERENCE_ROWS))
    return np.arange(0, frame_rows, step)


def label_shares(codes: np.ndarray, k: int = 3) -> np.ndarray:
    """Shares of the resolved label codes (``>= 0``) among ``0..k-1``."""
    c = np.asarray(codes, dtype=np.int64)
    c = c[(c >= 0) & (c < k)]
    return np.bincount(c, minlength=k) / max(int(c.shape[0]), 1)


@dataclass(frozen=True)
class TrainingReference:
    """A model's training window as stored (``frame``) and the thinned rows drift compares with
    (``keep``: at most :data:`MAX_REFERENCE_ROWS`, evenly spaced)."""

    frame: FeatureFrame
    keep: np.ndarray
    symbol: str
    days: tuple[date, date]

    @property
    def features(self) -> np.ndarray:
        return self.frame.features[self.keep]

    @property
    def label_codes(self) -> np.ndarray:
        return _codes(self.frame.labels[self.keep])


def training_reference(frames: FrameSource, meta: ModelMeta) -> TrainingReference:
    """The stored features and labels of ``meta``'s training window (``meta.data.start_day..
    end_day``), thinned; FailedPrecondition when the sidecar records no window or nothing is
    stored (the FrameSource's InvalidArgument / NotFound pass through)."""
    data = meta.raw.get("data") or {}
    if not data.get("start_day") or not data.get("end_day"):
        raise FailedPrecondition(f"model {meta.model_id} v{meta.version} records no training window")
    symbol = str(meta.raw.get("symbol") or "")
    lake = str(meta.raw.get("ticks_lake") or "main_l5")
    train = (date.fromisoformat(data["start_day"]), date.fromisoformat(data["end_day"]))
    ref, _ = frames.load(symbol, lake, train[0], train[1], meta.horizon, tuple(meta.feature_names))
    if len(ref) == 0:
        raise FailedPrecondition(f"no stored feature rows of {symbol} in the training window {train[0]}..{train[1]}")
    return TrainingReference(ref, _thin(len(ref)), symbol, train)


class ScanModelDrift:
    def __init__(
        self,
        *,
        registry: ModelRegistry,
        artifacts: ArtifactStore,
        runtime: InferenceRuntime,
        frames: FrameSource,
        store: Callable[[], AnomalyStore],
        clock: Clock,
        config: AnomalyConfig | None = None,
    ) -> None:
        self._registry, self._artifacts, self._runtime = registry, artifacts, runtime
        self._frames, self._store, self._clock = frames, store, clock
        self._config = config or AnomalyConfig()

    def __call__(self, request: DriftScanRequest, progress: Progress = lambda *_: None) -> ScanResult:
        if request.end_day < request.start_day:
            raise InvalidArgument(f"end_day {request.end_day} is before start_day {request.start_day}")
        entry = registry_entry(self._registry, request.model_id, request.version)
        predictor = Predictor.open(self._artifacts, self._runtime, Path(entry.artifact_path), prefer_gpu=False)
        meta = predictor.meta
        symbol = str(meta.raw.get("symbol") or "")
        lake = str(meta.raw.get("ticks_lake") or "main_l5")
        names = tuple(meta.feature_names)
        data = meta.raw.get("data") or {}
        progress(0, 4, f"reading the training reference {data.get('start_day')}..{data.get('end_day')} of {symbol}")
        reference = training_reference(self._frames, meta)
        ref, keep = reference.frame, reference.keep
        progress(1, 4, f"reading {request.start_day}..{request.end_day}")
        new, _ = self._frames.load(symbol, lake, request.start_day, request.end_day, meta.horizon, names)
        if len(new) == 0:
            raise FailedPrecondition(f"no stored feature rows of {symbol} for the scanned days")
        cfg, ts = self._config, new.datetime_ns
        progress(2, 4, "feature and label drift")
        events = feature_drift_events(ts, new.features, names, ref.features[keep], symbol, cfg)
        events += prior_shift_events(ts, _codes(new.labels), label_shares(reference.label_codes), symbol, cfg)
        if meta.window == 1:
            progress(3, 4, "predictions on the reference and the scanned days")
            events += self._model_events(predictor, ref, new, keep, symbol)
        tag = {"model_id": entry.model_id, "version": entry.version}
        events = [AnomalyEvent(e.datetime_ns, e.anomaly_type, e.severity, e.symbol, {**e.details, **tag},
                               e.drift_score, e.detection_method) for e in events]  # fmt: skip
        events.sort(key=lambda e: (e.datetime_ns, e.anomaly_type))
        result = ScanResult(symbol, f"model:{entry.model_id}@{entry.version}", request.start_day, request.end_day,
                            days=len(np.unique(new.trading_day)), ticks=len(new), events=len(events))  # fmt: skip
        result.new_events = self._store().write_events(events, self._clock.now_ns())
        result.by_severity = dict(Counter(e.severity.name for e in events))
        result.by_type = dict(Counter(e.anomaly_type for e in events))
        result.critical = [e.to_dict() for e in events if e.severity == Severity.CRITICAL][:10]
        progress(4, 4, result.summary())
        return result

    def _model_events(
        self, predictor: Predictor, ref: FeatureFrame, new: FeatureFrame, keep: np.ndarray, symbol: str
    ) -> list[AnomalyEvent]:
        cfg = self._config
        p_ref = predictor.predict_frame(ref)[keep]
        p_new = predictor.predict_frame(new)
        ok_ref = np.all(np.isfinite(p_ref), axis=1)
        k = p_ref.shape[1]
        ref_pred = np.argmax(np.nan_to_num(p_ref[ok_ref]), axis=1)
        ref_shares = np.bincount(ref_pred, minlength=k) / max(ref_pred.shape[0], 1)
        ref_margin = float(np.mean(np.max(p_ref[ok_ref], axis=1) - 1.0 / k)) if ok_ref.any() else 0.0
        ok = np.all(np.isfinite(p_new), axis=1)
        pred = np.where(ok, np.argmax(np.nan_to_num(p_new), axis=1), -1)
        labels = _codes(new.labels)
        ts = new.datetime_ns
        events = prediction_shift_events(ts[ok], pred[ok], ref_shares, symbol, cfg)
        events += confidence_collapse_events(ts, p_new, ref_margin, symbol, cfg)
        events += rolling_accuracy_events(ts, pred, np.where(ok, labels, -1), symbol, cfg)
        resolved = ok & (labels >= 0)
        errors = (pred[resolved] != labels[resolved]).astype(np.float64)
        events += concept_drift_events(ts[resolved], errors, symbol, cfg)
        return events
