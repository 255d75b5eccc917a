"""``XGBoostFamily``: gradient-boosted trees, multiclass softprob over DOWN/FLAT/UP.

Early stopping on the validation split's (class-weighted) mlogloss, as the LightGBM family;
the ``hist`` tree method with a fixed seed is deterministic (the thread count is a parameter).
NaN features follow each split's learnt default direction, so no imputation and no scaling:
the model's inputs are the raw float32 features. Only the best rounds are kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from ghtrader.adapters.xgboost.onnx_export import booster_to_onnx
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

__all__ = ["XGBoostFamily", "XGBoostModel"]

_BOOSTER_FILE = "xgboost_booster.json"
_META_FILE = "xgboost_model.json"
_DEFAULTS: dict[str, Any] = {
    "num_boost_round": 500,
    "early_stopping_rounds": 30,
    "learning_rate": 0.05,
    "max_depth": 6,
    "min_child_weight": 5.0,
    "subsample": 0.8,
    "colsample_bytree": 0.9,
    "reg_lambda": 1.0,
    "max_bin": 256,
    "num_threads": 0,  # 0: XGBoost's default (all cores)
    "class_weight": "balanced",  # macro-F1 is the target: FLAT dominates the labels
}
# Family parameters that are not XGBoost booster params (or are renamed).
_OWN = ("num_boost_round", "early_stopping_rounds", "class_weight", "num_threads")


class XGBoostModel:
    """A trained booster holding only its best rounds (TrainedModel)."""

    family = "xgboost"
    kind: ModelKind = "tabular"
    window = 1

    def __init__(
        self,
        booster: xgb.Booster,
        feature_names: Sequence[str],
        *,
        params: dict[str, Any],
        history: list[dict[str, Any]],
        rounds_trained: int | None = None,
    ) -> None:
        self.booster = booster
        self.feature_names = tuple(feature_names)
        self.params = dict(params)
        self.history = list(history)
        self.best_iteration = int(booster.num_boosted_rounds())
        self.rounds_trained = int(rounds_trained) if rounds_trained is not None else self.best_iteration

    def _check(self, frame: FeatureFrame) -> None:
        check_model_features(self.feature_names, frame)

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        self._check(frame)
        if len(frame) == 0:
            return np.empty((0, len(CLASS_NAMES)))
        x = np.ascontiguousarray(frame.features, dtype=np.float32)
        return np.asarray(self.booster.predict(xgb.DMatrix(x, missing=np.nan)), dtype=np.float64)

    def inputs(self, frame: FeatureFrame) -> tuple[np.ndarray, np.ndarray]:
        """Raw float32 features of every row (NaN kept: the trees route it)."""
        self._check(frame)
        return np.ascontiguousarray(frame.features, dtype=np.float32), np.arange(len(frame), dtype=np.int64)

    def save(self, directory: Path) -> list[Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        booster_path, meta_path = directory / _BOOSTER_FILE, directory / _META_FILE
        self.booster.save_model(str(booster_path))
        meta = {
            "family": self.family,
            "feature_names": list(self.feature_names),
            "best_iteration": self.best_iteration,
            "rounds_trained": self.rounds_trained,
            "params": self.params,
            "history": self.history,
        }
        meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        return [booster_path, meta_path]

    def export_onnx(self, path: Path) -> OnnxSignature:
        return booster_to_onnx(self.booster, len(self.feature_names), Path(path))

    def describe(self) -> dict[str, Any]:
        return {
            "architecture": "gradient-boosted decision trees (XGBoost hist, multiclass softprob over DOWN/FLAT/UP)",
            "hyper_parameters": self.params,
            "parameter_count": int(self.best_iteration * len(CLASS_NAMES)),  # trees
            "best_iteration": self.best_iteration,
            "history": self.history,
            "normalization": {"kind": "none", "nan_fill": "native (XGBoost default directions)"},
        }


class _Progress(xgb.callback.TrainingCallback):
    """Forwards the train/valid mlogloss to a ProgressCallback every ``every`` rounds."""

    def __init__(self, progress: ProgressCallback, total: int, every: int) -> None:
        super().__init__()
        self.progress, self.total, self.every = progress, total, every

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        done = epoch + 1
        if done % self.every == 0:
            losses = {name: log["mlogloss"][-1] for name, log in evals_log.items()}
            text = ", ".join(f"{k} {float(v):.4f}" for k, v in losses.items())
            self.progress(done, self.total, f"xgboost round {done}: {text}")
        return False  # never stops training itself


class XGBoostFamily:
    """ModelFamily of :class:`XGBoostModel` (``params``: see ``default_params()``)."""

    name = "xgboost"
    kind: ModelKind = "tabular"

    def default_params(self) -> dict[str, Any]:
        return dict(_DEFAULTS)

    def _params(self, config: TrainConfig) -> dict[str, Any]:
        params = family_params("xgboost", self.default_params(), config.params)
        if int(params["num_boost_round"]) < 1 or int(params["early_stopping_rounds"]) < 1:
            raise InvalidArgument("num_boost_round and early_stopping_rounds must be >= 1")
        return params

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback = no_progress
    ) -> XGBoostModel:
        params = self._params(config)
        check_training_data(train, valid)
        x, y = tabular_xy(train, config.max_train_rows)
        xv, yv = tabular_xy(valid)
        booster_params = {k: v for k, v in params.items() if k not in _OWN}
        booster_params |= {
            "objective": "multi:softprob",
            "num_class": len(CLASS_NAMES),
            "eval_metric": "mlogloss",
            "tree_method": "hist",
            "device": "cpu",
            "seed": int(config.seed),
            "verbosity": 0,
        }
        if int(params["num_threads"]) > 0:
            booster_params["nthread"] = int(params["num_threads"])
        # Features stay unnamed (f0, f1, ...): the ONNX converter maps split names back to columns.
        dtrain = xgb.DMatrix(x, label=y, weight=class_weights(y, params["class_weight"]), missing=np.nan)
        dvalid = xgb.DMatrix(xv, label=yv, weight=class_weights(yv, params["class_weight"]), missing=np.nan)
        evals: dict[str, dict[str, list[float]]] = {}
        total = int(params["num_boost_round"])
        every = max(1, total // 50)
        booster = xgb.train(
            booster_params,
            dtrain,
            num_boost_round=total,
            evals=[(dtrain, "train"), (dvalid, "valid")],  # the last one drives early stopping
            early_stopping_rounds=int(params["early_stopping_rounds"]),
            evals_result=evals,
            verbose_eval=False,
            callbacks=[_Progress(progress, total, every)],
        )
        trained = booster.num_boosted_rounds()
        best = int(getattr(booster, "best_iteration", trained - 1)) + 1
        train_curve = evals.get("train", {}).get("mlogloss", [])
        valid_curve = evals.get("valid", {}).get("mlogloss", [])
        history = [
            {"round": i + 1, "train_loss": float(t), "valid_loss": float(v)}
            for i, (t, v) in enumerate(zip(train_curve, valid_curve, strict=False))
            if (i + 1) % every == 0 or i + 1 == best
        ]
        progress(total, total, f"xgboost: best round {best}, valid loss {valid_curve[best - 1]:.4f}")
        # Keep exactly the trees predict_proba, save and the ONNX graph use.
        return XGBoostModel(booster[:best], train.feature_names, params=params, history=history, rounds_trained=trained)

    def load(self, directory: Path) -> XGBoostModel:
        directory = Path(directory)
        booster_path, meta_path = directory / _BOOSTER_FILE, directory / _META_FILE
        if not booster_path.is_file() or not meta_path.is_file():
            raise FailedPrecondition(f"{directory} holds no XGBoost model ({_BOOSTER_FILE} and {_META_FILE} expected)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        try:
            booster = xgb.Booster(model_file=str(booster_path))
        except xgb.core.XGBoostError as exc:
            raise FailedPrecondition(f"cannot read the XGBoost booster {booster_path}: {exc}") from exc
        names = meta.get("feature_names", [])
        if booster.num_features() != len(names):
            raise FailedPrecondition(
                f"{booster_path} has {booster.num_features()} features but {meta_path} names {len(names)}"
            )
        return XGBoostModel(
            booster,
            names,
            params=meta["params"],
            history=meta.get("history", []),
            rounds_trained=meta.get("rounds_trained"),
        )
