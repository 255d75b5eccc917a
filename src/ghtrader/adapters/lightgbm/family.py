"""``LightGBMFamily``: gradient-boosted trees, multiclass softmax over DOWN/FLAT/UP.

Early stopping on the validation split's multi_logloss; deterministic (``deterministic``,
``force_row_wise``, fixed seeds; the thread count is a parameter). NaN features are handled
natively by LightGBM's missing-value branches, so no imputation and no scaling: the model's
inputs are the raw features.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from ghtrader.adapters.lightgbm.onnx_export import booster_to_onnx
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

__all__ = ["LightGBMFamily", "LightGBMModel"]

_BOOSTER_FILE = "lightgbm_booster.txt"
_META_FILE = "lightgbm_model.json"
_DEFAULTS: dict[str, Any] = {
    "num_boost_round": 500,
    "early_stopping_rounds": 30,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "max_depth": -1,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 0,  # 0: OpenMP default
    "class_weight": "balanced",  # macro-F1 is the target: FLAT dominates the labels
}
# Booster-level parameters that are not LightGBM training params.
_OWN = ("num_boost_round", "early_stopping_rounds", "class_weight")


class LightGBMModel:
    """A trained booster (TrainedModel); ``best_iteration`` trees are used everywhere."""

    family = "lightgbm"
    kind: ModelKind = "tabular"
    window = 1

    def __init__(
        self,
        booster: lgb.Booster,
        feature_names: Sequence[str],
        *,
        params: dict[str, Any],
        best_iteration: int,
        history: list[dict[str, Any]],
    ) -> None:
        self.booster = booster
        self.feature_names = tuple(feature_names)
        self.params = dict(params)
        self.best_iteration = int(best_iteration)
        self.history = list(history)

    def _check(self, frame: FeatureFrame) -> None:
        check_model_features(self.feature_names, frame)

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        self._check(frame)
        if len(frame) == 0:
            return np.empty((0, len(CLASS_NAMES)))
        x = np.ascontiguousarray(frame.features, dtype=np.float32)
        return np.asarray(self.booster.predict(x, num_iteration=self.best_iteration), dtype=np.float64)

    def inputs(self, frame: FeatureFrame) -> tuple[np.ndarray, np.ndarray]:
        """Raw float32 features of every row (NaN kept: the trees route it)."""
        self._check(frame)
        return np.ascontiguousarray(frame.features, dtype=np.float32), np.arange(len(frame), dtype=np.int64)

    def save(self, directory: Path) -> list[Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        booster_path, meta_path = directory / _BOOSTER_FILE, directory / _META_FILE
        # Only the best trees are written, so a reloaded booster predicts with all it has.
        self.booster.save_model(str(booster_path), num_iteration=self.best_iteration)
        meta = {
            "family": self.family,
            "feature_names": list(self.feature_names),
            "best_iteration": self.best_iteration,
            "params": self.params,
            "history": self.history,
        }
        meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        return [booster_path, meta_path]

    def export_onnx(self, path: Path) -> OnnxSignature:
        booster = self.booster
        if booster.current_iteration() != self.best_iteration:
            # Convert exactly the trees predict_proba uses.
            booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=self.best_iteration))
        return booster_to_onnx(booster, len(self.feature_names), Path(path))

    def describe(self) -> dict[str, Any]:
        dump_trees = self.booster.num_trees()
        return {
            "architecture": "gradient-boosted decision trees (LightGBM, multiclass softmax over DOWN/FLAT/UP)",
            "hyper_parameters": self.params,
            "parameter_count": int(dump_trees),
            "best_iteration": self.best_iteration,
            "history": self.history,
            "normalization": {"kind": "none", "nan_fill": "native (LightGBM missing-value branches)"},
        }


class LightGBMFamily:
    """ModelFamily of :class:`LightGBMModel` (``params``: see ``default_params()``)."""

    name = "lightgbm"
    kind: ModelKind = "tabular"

    def default_params(self) -> dict[str, Any]:
        return dict(_DEFAULTS)

    def _params(self, config: TrainConfig) -> dict[str, Any]:
        params = family_params("lightgbm", self.default_params(), config.params)
        if int(params["num_boost_round"]) < 1 or int(params["early_stopping_rounds"]) < 1:
            raise InvalidArgument("num_boost_round and early_stopping_rounds must be >= 1")
        return params

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback = no_progress
    ) -> LightGBMModel:
        params = self._params(config)
        check_training_data(train, valid)
        x, y = tabular_xy(train, config.max_train_rows)
        xv, yv = tabular_xy(valid)
        booster_params = {k: v for k, v in params.items() if k not in _OWN}
        booster_params |= {
            "objective": "multiclass",
            "num_class": len(CLASS_NAMES),
            "metric": "multi_logloss",
            "seed": int(config.seed),
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        names = [f"f{i}" for i in range(x.shape[1])]  # LightGBM rejects some characters in names
        dtrain = lgb.Dataset(
            x, label=y, weight=class_weights(y, params["class_weight"]), feature_name=names, free_raw_data=True
        )
        dvalid = lgb.Dataset(xv, label=yv, weight=class_weights(yv, params["class_weight"]), reference=dtrain)
        evals: dict[str, dict[str, list[float]]] = {}
        total = int(params["num_boost_round"])
        every = max(1, total // 50)

        def report(env: lgb.callback.CallbackEnv) -> None:
            done = env.iteration + 1
            if done % every == 0:
                losses = {f"{d}": v for d, _, v, _ in env.evaluation_result_list}
                progress(done, total, f"lightgbm round {done}: " + ", ".join(f"{k} {v:.4f}" for k, v in losses.items()))

        booster = lgb.train(
            booster_params,
            dtrain,
            num_boost_round=total,
            valid_sets=[dtrain, dvalid],
            valid_names=["train", "valid"],
            callbacks=[
                lgb.early_stopping(int(params["early_stopping_rounds"]), verbose=False),
                lgb.record_evaluation(evals),
                report,
            ],
        )
        best = int(booster.best_iteration) or booster.current_iteration()
        train_curve = evals.get("train", {}).get("multi_logloss", [])
        valid_curve = evals.get("valid", {}).get("multi_logloss", [])
        history = [
            {"round": i + 1, "train_loss": float(t), "valid_loss": float(v)}
            for i, (t, v) in enumerate(zip(train_curve, valid_curve, strict=False))
            if (i + 1) % every == 0 or i + 1 == best
        ]
        progress(total, total, f"lightgbm: best round {best}, valid loss {valid_curve[best - 1]:.4f}")
        return LightGBMModel(booster, train.feature_names, params=params, best_iteration=best, history=history)

    def load(self, directory: Path) -> LightGBMModel:
        directory = Path(directory)
        booster_path, meta_path = directory / _BOOSTER_FILE, directory / _META_FILE
        if not booster_path.is_file() or not meta_path.is_file():
            raise FailedPrecondition(f"{directory} holds no LightGBM model ({_BOOSTER_FILE} and {_META_FILE} expected)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        try:
            booster = lgb.Booster(model_file=str(booster_path))
        except lgb.basic.LightGBMError as exc:
            raise FailedPrecondition(f"cannot read the LightGBM booster {booster_path}: {exc}") from exc
        names = meta.get("feature_names", [])
        if booster.num_feature() != len(names):
            raise FailedPrecondition(
                f"{booster_path} has {booster.num_feature()} features but {meta_path} names {len(names)}"
            )
        return LightGBMModel(
            booster,
            names,
            params=meta["params"],
            best_iteration=booster.current_iteration(),
            history=meta.get("history", []),
        )
