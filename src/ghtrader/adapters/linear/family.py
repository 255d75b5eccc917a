"""``LogisticFamily``: multinomial logistic regression with L2 on standardised features.

Standardisation (mean / std) is fitted on the labelled training rows only; NaN features take
the training mean (0 after standardising). The L2 strength is chosen on the validation split:
fits run along a path of decreasing ``l2`` (each warm-started from the last) and the one with
the lowest validation log-loss wins; the path stops early after ``patience`` fits without
improvement. Deterministic (L-BFGS from a fixed start).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ghtrader.adapters.linear.onnx_graph import logistic_graph
from ghtrader.adapters.linear.softmax_regression import fit_softmax, log_loss, softmax
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.models import (
    CLASS_NAMES,
    FeatureFrame,
    ModelKind,
    OnnxSignature,
    TrainConfig,
)
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.research.tabular import (
    check_model_features,
    check_training_data,
    class_weights,
    family_params,
    tabular_xy,
)
from ghtrader.domain.evaluation import accuracy as classification_accuracy

__all__ = ["LogisticFamily", "LogisticModel"]

_WEIGHTS_FILE = "logistic_weights.npz"
_META_FILE = "logistic_model.json"
_DEFAULTS: dict[str, Any] = {
    "l2_path": [1.0, 0.1, 0.01, 0.001, 0.0001],
    "max_iter": 300,
    "class_weight": "balanced",  # macro-F1 is the target: FLAT dominates the labels
}


class LogisticModel:
    """A fitted logistic model (TrainedModel)."""

    family = "logistic"
    kind: ModelKind = "tabular"
    window = 1

    def __init__(
        self,
        feature_names: Sequence[str],
        mean: np.ndarray,
        std: np.ndarray,
        weights: np.ndarray,
        bias: np.ndarray,
        *,
        l2: float,
        params: dict[str, Any],
        history: list[dict[str, Any]],
    ) -> None:
        self.feature_names = tuple(feature_names)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = np.asarray(bias, dtype=np.float64)
        self.l2 = float(l2)
        self.params = dict(params)
        self.history = list(history)

    def _check(self, frame: FeatureFrame) -> None:
        check_model_features(self.feature_names, frame)

    def standardise(self, x: np.ndarray) -> np.ndarray:
        """float64 standardised inputs with NaN set to the training mean (0)."""
        x = np.asarray(x, dtype=np.float64)
        z = (x - self.mean) / self.std
        z[np.isnan(z)] = 0.0
        return z

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        self._check(frame)
        return softmax(self.standardise(frame.features) @ self.weights + self.bias)

    def inputs(self, frame: FeatureFrame) -> tuple[np.ndarray, np.ndarray]:
        """The graph standardises itself: its input is the raw float32 features of every row."""
        self._check(frame)
        return np.ascontiguousarray(frame.features, dtype=np.float32), np.arange(len(frame), dtype=np.int64)

    def save(self, directory: Path) -> list[Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        weights_path, meta_path = directory / _WEIGHTS_FILE, directory / _META_FILE
        with weights_path.open("wb") as fh:
            np.savez(fh, mean=self.mean, std=self.std, weights=self.weights, bias=self.bias)
        meta = {
            "family": self.family,
            "feature_names": list(self.feature_names),
            "l2": self.l2,
            "params": self.params,
            "history": self.history,
        }
        meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        return [weights_path, meta_path]

    def export_onnx(self, path: Path) -> OnnxSignature:
        return logistic_graph(self.mean, self.std, self.weights, self.bias, Path(path))

    def describe(self) -> dict[str, Any]:
        f, k = self.weights.shape
        return {
            "architecture": "multinomial logistic regression (softmax over DOWN/FLAT/UP), L2 penalty, L-BFGS",
            "hyper_parameters": {**self.params, "l2": self.l2},
            "parameter_count": int(f * k + k),
            "history": self.history,
            "normalization": {
                "kind": "standardize",
                "fitted_on": "labelled training rows",
                "nan_fill": "training mean",
                "inside_onnx": True,
                "mean": self.mean.tolist(),
                "std": self.std.tolist(),
            },
        }


class LogisticFamily:
    """ModelFamily of :class:`LogisticModel` (``params``: ``l2_path``, ``max_iter``, ``class_weight``)."""

    name = "logistic"
    kind: ModelKind = "tabular"

    def default_params(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in _DEFAULTS.items()}

    def _params(self, config: TrainConfig) -> dict[str, Any]:
        params = family_params("logistic", self.default_params(), config.params)
        path = params["l2_path"]
        if isinstance(path, (int, float)):
            path = [path]
        path = [float(v) for v in path]
        if not path or any(not np.isfinite(v) or v < 0 for v in path):
            raise InvalidArgument(f"l2_path must hold finite values >= 0 (got {params['l2_path']!r})")
        params["l2_path"] = sorted(path, reverse=True)
        params["max_iter"] = int(params["max_iter"])
        return params

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback = no_progress
    ) -> LogisticModel:
        params = self._params(config)
        check_training_data(train, valid)
        x, y = tabular_xy(train, config.max_train_rows)
        xv, yv = tabular_xy(valid)
        mean = np.nanmean(x.astype(np.float64), axis=0)
        std = np.nanstd(x.astype(np.float64), axis=0)
        std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
        model = LogisticModel(
            train.feature_names, mean, std, np.zeros((x.shape[1], 3)), np.zeros(3), l2=0.0, params=params, history=[]
        )
        z, zv = model.standardise(x), model.standardise(xv)
        w = class_weights(y, params["class_weight"])
        wv = class_weights(yv, params["class_weight"])
        best: tuple[float, np.ndarray, np.ndarray, float] | None = None
        history: list[dict[str, Any]] = []
        init: tuple[np.ndarray, np.ndarray] | None = None
        stale = 0
        total = len(params["l2_path"])
        for step, l2 in enumerate(params["l2_path"], start=1):
            weights, bias, iterations = fit_softmax(
                z, y, len(CLASS_NAMES), l2, weights=w, init=init, max_iter=params["max_iter"]
            )
            init = (weights, bias)
            train_loss = log_loss(softmax(z @ weights + bias), y, w)
            pv = softmax(zv @ weights + bias)
            valid_loss = log_loss(pv, yv, wv)
            accuracy = classification_accuracy(yv, pv)
            history.append(
                {
                    "l2": l2,
                    "iterations": iterations,
                    "train_loss": train_loss,
                    "valid_loss": valid_loss,
                    "valid_accuracy": accuracy,
                }
            )
            progress(step, total, f"logistic l2={l2:g}: train loss {train_loss:.4f}, valid loss {valid_loss:.4f}")
            if best is None or valid_loss < best[0] - 1e-9:
                best, stale = (valid_loss, weights, bias, l2), 0
            else:
                stale += 1
                if stale >= max(1, config.patience):
                    break
        assert best is not None
        progress(total, total, f"logistic: best l2={best[3]:g}, valid loss {best[0]:.4f}")
        return LogisticModel(
            train.feature_names, mean, std, best[1], best[2], l2=best[3], params=params, history=history
        )

    def load(self, directory: Path) -> LogisticModel:
        directory = Path(directory)
        weights_path, meta_path = directory / _WEIGHTS_FILE, directory / _META_FILE
        if not weights_path.is_file() or not meta_path.is_file():
            raise FailedPrecondition(f"{directory} holds no logistic model ({_WEIGHTS_FILE} and {_META_FILE} expected)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(weights_path) as arrays:
            mean, std, weights, bias = (arrays[k] for k in ("mean", "std", "weights", "bias"))
        names = meta.get("feature_names", [])
        if weights.shape != (len(names), len(CLASS_NAMES)) or mean.shape != (len(names),):
            raise FailedPrecondition(
                f"{weights_path} does not match {meta_path}: weights {weights.shape} for {len(names)} features"
            )
        return LogisticModel(
            names, mean, std, weights, bias, l2=meta["l2"], params=meta["params"], history=meta["history"]
        )
