"""``CalibratedFamily``: any ModelFamily whose models return calibrated probabilities.

The container wraps every family it registers, so train, benchmark, compare and serving get
calibrated probabilities without knowing it. ``fit(train, valid, config)``:

1. splits the training fold by time: the last ``calibration_fraction`` of its rows are the
   calibration tail, the ``config.horizon`` rows before the tail are dropped (purge gap: no
   label of the head looks into the tail), the rest is the head;
2. fits the base family on the head (``valid`` still drives its early stopping);
3. predicts the tail with the base model (deep models see the ``window - 1`` rows before the
   tail as context) and fits the calibrator on those rows: temperature scaling for deep
   families, multinomial logistic regression on the log-probabilities for tabular ones
   (see :mod:`ghtrader.domain.evaluation.probability_calibration`).

Both settings are ``config.params`` keys (removed before the base family sees them):
``calibration`` = ``"auto"`` (by family kind) | ``"temperature"`` | ``"logistic"`` | ``"none"``,
and ``calibration_fraction`` (default 0.2). A tail with fewer than ``min_rows`` labelled rows
or without all three classes leaves the model uncalibrated (the base is then fitted on the
whole fold) and the calibrator's ``note`` says so. The calibrator is saved as
``calibration.json`` beside the base weights and appended inside the exported ONNX graph.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.models import (
    CalibrationGraphWriter,
    FeatureFrame,
    ModelFamily,
    ModelKind,
    OnnxSignature,
    RowNormalizer,
    TrainConfig,
    TrainedModel,
)
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.domain.evaluation import EvaluationError
from ghtrader.domain.evaluation.probability_calibration import (
    EPS,
    CalibrationMethod,
    ProbabilityCalibrator,
    fit_calibrator,
    identity_calibrator,
)

__all__ = [
    "CALIBRATION_FILE",
    "CALIBRATION_PARAMS",
    "MIN_CALIBRATION_ROWS",
    "CalibratedFamily",
    "CalibratedModel",
    "calibration_split",
]

CALIBRATION_FILE = "calibration.json"
MIN_CALIBRATION_ROWS = 500
#: The ``config.params`` keys this wrapper owns, with their defaults.
CALIBRATION_PARAMS: dict[str, Any] = {"calibration": "auto", "calibration_fraction": 0.2}
_CHOICES = ("auto", "temperature", "logistic", "none")
_BY_KIND: dict[str, CalibrationMethod] = {"deep": "temperature", "tabular": "logistic"}


def calibration_split(n: int, fraction: float, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """``(head, tail)`` row positions of a fold of ``n`` time-ordered rows: the tail is the last
    ``round(n * fraction)`` rows, the head ends ``gap`` rows before the tail starts."""
    cut = n - int(round(n * fraction))
    return np.arange(max(cut - max(gap, 0), 0)), np.arange(cut, n)


class CalibratedModel:
    """A TrainedModel whose ``predict_proba`` is the base model's, calibrated."""

    def __init__(self, base: TrainedModel, calibrator: ProbabilityCalibrator, graph: CalibrationGraphWriter) -> None:
        self.base = base
        self.calibrator = calibrator
        self._graph = graph
        self.family = base.family
        self.kind: ModelKind = base.kind
        self.feature_names = tuple(base.feature_names)
        self.window = int(base.window)

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        """Calibrated (n, 3) probabilities (NaN rows stay NaN)."""
        return self.calibrator.apply(self.base.predict_proba(frame))

    def graph_probabilities(self, frame: FeatureFrame) -> np.ndarray:
        """What the exported graph's probability output holds: the calibrated base graph's output
        (the base's ``graph_probabilities`` where its graph differs from its predictions, as a
        regime ensemble's does; else :meth:`predict_proba`)."""
        reference = getattr(self.base, "graph_probabilities", None)
        return self.predict_proba(frame) if reference is None else self.calibrator.apply(reference(frame))

    def predict_proba_uncalibrated(self, frame: FeatureFrame) -> np.ndarray:
        """The base model's probabilities, before calibration."""
        return np.asarray(self.base.predict_proba(frame), dtype=np.float64)

    def inputs(self, frame: FeatureFrame) -> tuple[np.ndarray, np.ndarray]:
        return self.base.inputs(frame)

    def normalize_rows(self, features: np.ndarray) -> np.ndarray:
        """The base model's :meth:`~ghtrader.application.ports.models.RowNormalizer.normalize_rows`
        (FailedPrecondition when the base model has none: tabular models take raw rows)."""
        if not isinstance(self.base, RowNormalizer):
            raise FailedPrecondition(f"the {self.family} model does not normalise rows")
        return self.base.normalize_rows(features)

    def save(self, directory: Path) -> list[Path]:
        """The base model's files plus ``calibration.json``."""
        files = list(self.base.save(directory))
        if not files:  # a non-primary DDP rank writes nothing
            return files
        path = Path(directory) / CALIBRATION_FILE
        path.write_text(json.dumps(self.calibrator.to_dict(), indent=2, sort_keys=True), encoding="utf-8")
        return [*files, path]

    def export_onnx(self, path: Path) -> OnnxSignature:
        """The base graph with the calibrator appended to its probability output."""
        signature = self.base.export_onnx(path)
        if not self.calibrator.is_identity:
            self._graph.append(Path(path), self.calibrator.weights, self.calibrator.bias, EPS)
        return signature

    def describe(self) -> dict[str, Any]:
        return {**self.base.describe(), "calibration": self.calibrator.to_dict()}


class CalibratedFamily:
    """ModelFamily wrapping ``base`` (see the module docstring)."""

    def __init__(
        self, base: ModelFamily, graph: CalibrationGraphWriter, *, min_rows: int = MIN_CALIBRATION_ROWS
    ) -> None:
        self.base = base
        self.name = base.name
        self.kind: ModelKind = base.kind
        self._graph = graph
        self._min_rows = int(min_rows)

    def __repr__(self) -> str:
        return f"CalibratedFamily({self.base!r})"

    def default_params(self) -> dict[str, Any]:
        return {**self.base.default_params(), **CALIBRATION_PARAMS}

    def _settings(self, config: TrainConfig) -> tuple[CalibrationMethod, float, TrainConfig]:
        params = dict(config.params)
        choice = params.pop("calibration", CALIBRATION_PARAMS["calibration"])
        fraction = params.pop("calibration_fraction", CALIBRATION_PARAMS["calibration_fraction"])
        if choice not in _CHOICES:
            raise InvalidArgument(f"calibration must be one of {_CHOICES} (got {choice!r})")
        try:
            fraction = float(fraction)
        except (TypeError, ValueError):
            raise InvalidArgument(f"calibration_fraction must be a number (got {fraction!r})") from None
        if not (math.isfinite(fraction) and 0.0 < fraction < 1.0):
            raise InvalidArgument(f"calibration_fraction must be between 0 and 1 (got {fraction!r})")
        method: CalibrationMethod = (
            "identity" if choice == "none" else _BY_KIND[self.kind] if choice == "auto" else choice
        )
        return method, fraction, replace(config, params=params)

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback = no_progress
    ) -> CalibratedModel:
        method, fraction, base_config = self._settings(config)
        if method == "identity":
            model = self.base.fit(train, valid, base_config, progress)
            return CalibratedModel(model, identity_calibrator("calibration switched off"), self._graph)
        head, tail = calibration_split(len(train), fraction, config.horizon)
        tail_labels = np.asarray(train.labels, dtype=np.float64)[tail]
        labelled = tail_labels[np.isfinite(tail_labels)]
        classes = np.unique(labelled).shape[0]
        if labelled.shape[0] < max(self._min_rows, 1) or classes < 3 or head.shape[0] == 0:
            note = (
                f"calibration tail of {labelled.shape[0]} labelled rows ({classes} classes) is under "
                f"{self._min_rows} rows or lacks a class: fitted on the whole fold, left uncalibrated"
            )
            model = self.base.fit(train, valid, base_config, progress)
            return CalibratedModel(model, identity_calibrator(note), self._graph)
        model = self.base.fit(train.take(head), valid, base_config, progress)
        context = max(int(model.window) - 1, 0)
        start = max(int(tail[0]) - context, 0)
        probs = np.asarray(model.predict_proba(train.take(np.arange(start, len(train)))), dtype=np.float64)
        probs = probs[int(tail[0]) - start :]
        calibrator = fit_calibrator(method, tail_labels, probs, min_rows=self._min_rows)
        progress(
            1,
            1,
            f"{self.name}: {calibrator.method} calibration on {calibrator.rows} tail rows, "
            f"ECE {calibrator.ece_before:.4f} -> {calibrator.ece_after:.4f}",
        )
        return CalibratedModel(model, calibrator, self._graph)

    def load(self, directory: Path) -> CalibratedModel:
        """The base model and its ``calibration.json`` (identity, with a note, when absent)."""
        model = self.base.load(directory)
        path = Path(directory) / CALIBRATION_FILE
        if not path.is_file():
            return CalibratedModel(
                model, identity_calibrator(f"no {CALIBRATION_FILE}: saved uncalibrated"), self._graph
            )
        try:
            calibrator = ProbabilityCalibrator.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, EvaluationError) as exc:
            raise FailedPrecondition(f"{path} does not hold a calibrator: {exc}") from exc
        return CalibratedModel(model, calibrator, self._graph)
