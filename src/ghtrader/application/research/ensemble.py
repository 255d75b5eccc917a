"""``EnsembleFamily``: a ModelFamily whose model combines other (tabular) families' models.

The members are family names from the same registry, fitted INSIDE each fold the caller gives
(``fit(train, valid)``: a benchmark's walk-forward fold, train's split), so the ensemble
benchmarks, backtests and registers like any family. ``params``:

- ``members``: family names (tabular: every member graph takes the raw features);
- ``strategy``: ``equal`` | ``weighted`` (``weights``, one per member) soft voting, members fitted
  on the whole fold; ``stacking``: a multinomial logistic meta-learner fitted on out-of-fold
  member predictions from ``oof_folds`` purged expanding splits of the fold, then the members
  are refitted on the whole fold; ``blending``: members fitted on the head of the fold, the
  meta-learner on the purged holdout tail (``holdout_fraction``); ``dynamic``: members fitted
  on the head, weights from their exponentially weighted recent log-loss on the tail
  (``half_life_rows``, ``eta``) as they stand at the end of the fold (the graph is static);
- ``member_params``: ``{family: {param: value}}`` passed to that member.

The model's probability vector is the vote or the stack; its uncertainty is the members'
disagreement (:func:`ghtrader.domain.ensembles.disagreement`). The exported ONNX graph runs
every member graph on the shared input and outputs ``probabilities``, ``disagreement`` and
``member_probabilities`` (per-member predictions for serving logs).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.ensembles import EnsembleGraphWriter
from ghtrader.application.ports.models import (
    FeatureFrame,
    ModelFamilies,
    ModelKind,
    OnnxSignature,
    TrainConfig,
    TrainedModel,
)
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.research.tabular import check_model_features, check_training_data, family_params
from ghtrader.domain.ensembles import (
    EnsembleError,
    MetaLearner,
    disagreement,
    disagreement_rate,
    dynamic_weights,
    fit_meta_learner,
    holdout_split,
    oof_splits,
    prediction_correlation,
    sharpe_weights,
    soft_vote,
)

__all__ = [
    "DYNAMIC_METRICS",
    "ENSEMBLE_DEFAULTS",
    "STRATEGIES",
    "EnsembleFamily",
    "EnsembleModel",
    "check_strategy_params",
    "diversity_report",
    "recent_weights",
]

STRATEGIES = ("equal", "weighted", "stacking", "blending", "dynamic")
DYNAMIC_METRICS = ("log_loss", "sharpe")
ENSEMBLE_DEFAULTS: dict[str, Any] = {
    "members": ["logistic", "lightgbm"],
    "strategy": "stacking",
    "weights": None,
    "oof_folds": 3,
    "holdout_fraction": 0.25,
    "half_life_rows": 2000.0,
    "eta": 1.0,
    "meta_l2": 0.01,
    "member_params": {},
    "performance_window_days": 0,  # > 0: dynamic weights' half-life in trading days of the holdout
    "ensemble_config": None,  # the stored config this family stands for (recorded, not used)
    "dynamic_metric": "log_loss",  # dynamic: weights from recent "log_loss" or cost-aware "sharpe"
    "cost_ticks": 1.0,  # dynamic sharpe: cost of a unit position change, in price ticks
}
_META_FILE = "ensemble.json"
_MEMBERS_DIR = "members"


def _member_dir(i: int, name: str) -> str:
    return f"{i}_{name}"


class EnsembleModel:
    """A fitted ensemble (TrainedModel): members plus vote weights or a meta-learner."""

    family = "ensemble"
    kind: ModelKind = "tabular"
    window = 1

    def __init__(
        self,
        member_names: Sequence[str],
        members: Sequence[TrainedModel],
        strategy: str,
        weights: np.ndarray,
        graph: EnsembleGraphWriter,
        *,
        meta: MetaLearner | None = None,
        params: Mapping[str, Any] | None = None,
        fit_report: Mapping[str, Any] | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        if not members or len(members) != len(member_names):
            raise InvalidArgument("an ensemble needs one name per member and at least one member")
        self.member_names = tuple(member_names)
        self.members = list(members)
        # the shared graph input; members take exactly these (registered members are checked)
        self.feature_names = tuple(feature_names if feature_names is not None else members[0].feature_names)
        self.strategy = strategy
        self.weights = np.asarray(weights, dtype=np.float64)
        self.meta = meta
        self.params = dict(params or {})
        self.fit_report = dict(fit_report or {})
        self._graph = graph

    def member_probabilities(self, frame: FeatureFrame) -> np.ndarray:
        """(n, K, 3) every member's probabilities."""
        check_model_features(self.feature_names, frame)
        return np.stack([np.asarray(m.predict_proba(frame), dtype=np.float64) for m in self.members], axis=1)

    def combine(self, member_probs: np.ndarray) -> np.ndarray:
        """(n, 3) the ensemble's probabilities from member probabilities."""
        if self.meta is not None:
            return self.meta.apply(member_probs)
        return soft_vote(member_probs, self.weights)

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        return self.combine(self.member_probabilities(frame))

    def predict_detail(self, frame: FeatureFrame) -> dict[str, np.ndarray]:
        """``probabilities`` (n, 3), ``disagreement`` (n,) and ``member_probabilities`` (n, K, 3)."""
        members = self.member_probabilities(frame)
        return {
            "probabilities": self.combine(members),
            "disagreement": disagreement(members, self.weights),
            "member_probabilities": members,
        }

    def inputs(self, frame: FeatureFrame) -> tuple[np.ndarray, np.ndarray]:
        """The graph takes the raw float32 features of every row (each member's graph normalises)."""
        check_model_features(self.feature_names, frame)
        return np.ascontiguousarray(frame.features, dtype=np.float32), np.arange(len(frame), dtype=np.int64)

    def save(self, directory: Path) -> list[Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files: list[Path] = []
        for i, (name, member) in enumerate(zip(self.member_names, self.members, strict=True)):
            files += member.save(directory / _MEMBERS_DIR / _member_dir(i, name))
        meta_path = directory / _META_FILE
        meta_path.write_text(json.dumps(self._meta(), indent=2, sort_keys=True), encoding="utf-8")
        return [*files, meta_path]

    def _meta(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "members": list(self.member_names),
            "feature_names": list(self.feature_names),
            "strategy": self.strategy,
            "weights": self.weights.tolist(),
            "meta_learner": self.meta.to_dict() if self.meta is not None else None,
            "params": self.params,
            "fit": self.fit_report,
        }

    def export_onnx(self, path: Path) -> OnnxSignature:
        path = Path(path)
        scratch = path.parent / f".{path.stem}_members"
        scratch.mkdir(parents=True, exist_ok=True)
        try:
            graphs = []
            for i, (name, member) in enumerate(zip(self.member_names, self.members, strict=True)):
                graphs.append(scratch / f"{_member_dir(i, name)}.onnx")
                member.export_onnx(graphs[-1])
            return self._graph.combine(
                graphs,
                path,
                combination="stack" if self.meta is not None else "vote",
                weights=self.weights,
                meta_weights=None if self.meta is None else self.meta.weights,
                meta_bias=None if self.meta is None else self.meta.bias,
                eps=self.meta.eps if self.meta is not None else 1e-6,
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def describe(self) -> dict[str, Any]:
        described = [m.describe() for m in self.members]
        return {
            "architecture": f"ensemble ({self.strategy}) of {', '.join(self.member_names)}",
            "hyper_parameters": self.params,
            "parameter_count": int(sum(int(d.get("parameter_count", 0) or 0) for d in described)),
            "history": [self.fit_report],
            "normalization": {"kind": "per member", "inside_onnx": True},
            "members": dict(zip([_member_dir(i, n) for i, n in enumerate(self.member_names)], described, strict=True)),
            "ensemble": self._meta(),
        }


def check_strategy_params(p: Mapping[str, Any], n_members: int, strategies: Sequence[str], what: str = "") -> None:
    """The strategy, the weighted strategy's weights and the dynamic metric of ensemble params
    (InvalidArgument naming what is wrong); ``what`` prefixes the strategy message."""
    if p["strategy"] not in strategies:
        raise InvalidArgument(f"{what}ensemble strategy must be one of {tuple(strategies)} (got {p['strategy']!r})")
    if p["strategy"] == "weighted":
        w = p["weights"]
        if not isinstance(w, list) or len(w) != n_members:
            raise InvalidArgument(f"strategy 'weighted' needs one weight per member (got {w!r})")
    if p["dynamic_metric"] not in DYNAMIC_METRICS:
        raise InvalidArgument(f"dynamic_metric must be one of {DYNAMIC_METRICS} (got {p['dynamic_metric']!r})")


class EnsembleFamily:
    """ModelFamily of :class:`EnsembleModel` over member families from ``families``."""

    kind: ModelKind = "tabular"

    def __init__(
        self,
        families: ModelFamilies,
        graph: EnsembleGraphWriter,
        defaults: Mapping[str, Any] | None = None,
        *,
        name: str = "ensemble",
    ) -> None:
        self.name = name
        self._families = families
        self._graph = graph
        self._defaults = {**ENSEMBLE_DEFAULTS, **dict(defaults or {})}

    def default_params(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._defaults))

    def check_params(self, config: TrainConfig) -> dict[str, Any]:
        """``config.params`` over the defaults, checked (InvalidArgument naming what is wrong)."""
        return self._params(config)

    def _params(self, config: TrainConfig) -> dict[str, Any]:
        p = family_params("ensemble", self.default_params(), config.params)
        members = p["members"]
        if isinstance(members, str):
            members = [m for m in members.split(",") if m]
        if not isinstance(members, list) or not members:
            raise InvalidArgument(f"ensemble members must be a non-empty list of family names (got {members!r})")
        for name in members:
            if name.startswith("ensemble") or name not in self._families.names():
                raise InvalidArgument(f"unknown ensemble member family {name!r}; known: {list(self._families.names())}")
            if self._families.get(name).kind != "tabular":
                raise InvalidArgument(
                    f"ensemble member {name!r} is a deep family: members must take the raw features (tabular)"
                )
        p["members"] = list(members)
        check_strategy_params(p, len(members), STRATEGIES)
        if not isinstance(p["member_params"], Mapping) or set(p["member_params"]) - set(members):
            raise InvalidArgument("member_params must map member family names to their params")
        return p

    def _member_config(self, config: TrainConfig, params: Mapping[str, Any], name: str) -> TrainConfig:
        return replace(config, params=dict(params["member_params"].get(name, {})))

    def _fit_members(
        self,
        names: Sequence[str],
        train: FeatureFrame,
        valid: FeatureFrame,
        config: TrainConfig,
        params: Mapping[str, Any],
        progress: ProgressCallback,
        what: str,
    ) -> list[TrainedModel]:
        models = []
        for i, name in enumerate(names):
            progress(i, len(names), f"ensemble {what}: fitting {name} on {len(train)} rows")
            models.append(
                self._families.get(name).fit(train, valid, self._member_config(config, params, name), no_progress)
            )
        return models

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback = no_progress
    ) -> EnsembleModel:
        params = self._params(config)
        check_training_data(train, valid)
        names, strategy = params["members"], params["strategy"]
        k = len(names)
        meta: MetaLearner | None = None
        weights = np.full(k, 1.0 / k)
        report: dict[str, Any] = {"strategy": strategy}
        try:
            if strategy in ("equal", "weighted"):
                members = self._fit_members(names, train, valid, config, params, progress, "members")
                if strategy == "weighted":
                    w = np.asarray(params["weights"], dtype=np.float64)
                    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
                        raise InvalidArgument(f"ensemble weights must be >= 0 and not all 0 (got {w.tolist()})")
                    weights = w / w.sum()
                held = valid
                held_probs = np.stack([m.predict_proba(valid) for m in members], axis=1)
            elif strategy == "stacking":
                splits = oof_splits(len(train), int(params["oof_folds"]), config.horizon)
                oof = np.full((len(train), k, 3), np.nan)
                skipped: list[str] = []
                for j, (tr, te) in enumerate(splits):
                    try:
                        fold_members = self._fit_members(
                            names, train.take(tr), valid, config, params, progress, f"out-of-fold {j + 1}/{len(splits)}"
                        )
                    except InvalidArgument as exc:  # e.g. an early split where a slow feature is still NaN
                        skipped.append(f"split {j + 1}: {exc}")
                        continue
                    part = train.take(te)
                    oof[te] = np.stack([m.predict_proba(part) for m in fold_members], axis=1)
                if len(skipped) == len(splits):
                    raise InvalidArgument(f"ensemble (stacking): no out-of-fold split could be fitted: {skipped}")
                meta = fit_meta_learner(oof, train.labels, l2=float(params["meta_l2"]))
                report["oof_rows"] = meta.rows
                report["oof_splits_skipped"] = skipped
                members = self._fit_members(names, train, valid, config, params, progress, "refit")
                held = valid
                held_probs = np.stack([m.predict_proba(valid) for m in members], axis=1)
            else:  # blending / dynamic: members on the head, the combiner on the holdout tail
                head, tail = holdout_split(len(train), float(params["holdout_fraction"]), config.horizon)
                members = self._fit_members(names, train.take(head), valid, config, params, progress, "head")
                held = train.take(tail)
                held_probs = np.stack([m.predict_proba(held) for m in members], axis=1)
                if strategy == "blending":
                    meta = fit_meta_learner(held_probs, held.labels, l2=float(params["meta_l2"]))
                else:
                    half_life = float(params["half_life_rows"])
                    if int(params["performance_window_days"]) > 0:
                        days = max(np.unique(held.trading_day).shape[0], 1)
                        half_life = max(1.0, int(params["performance_window_days"]) * len(held) / days)
                    w_path = recent_weights(held_probs, held, config.horizon, half_life, params)
                    weights = w_path[-1]
                    report["half_life_rows"] = half_life
                report["holdout_rows"] = len(held)
        except EnsembleError as exc:
            raise InvalidArgument(f"ensemble ({strategy}): {exc}") from exc
        report.update(diversity_report(names, held_probs, held.labels))
        report["weights"] = weights.tolist()
        progress(1, 1, f"ensemble {strategy} of {', '.join(names)}: {report.get('member_log_loss')}")
        return EnsembleModel(
            names, members, strategy, weights, self._graph, meta=meta, params=params, fit_report=report
        )

    def load(self, directory: Path) -> EnsembleModel:
        directory = Path(directory)
        meta_path = directory / _META_FILE
        if not meta_path.is_file():
            raise FailedPrecondition(f"{directory} holds no ensemble model ({_META_FILE} expected)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        names = list(meta["members"])
        members = [
            self._families.get(n).load(directory / _MEMBERS_DIR / _member_dir(i, n)) for i, n in enumerate(names)
        ]
        learner = MetaLearner.from_dict(meta["meta_learner"]) if meta.get("meta_learner") else None
        return EnsembleModel(
            names,
            members,
            meta["strategy"],
            np.asarray(meta["weights"], dtype=np.float64),
            self._graph,
            meta=learner,
            params=meta.get("params"),
            fit_report=meta.get("fit"),
        )


def recent_weights(
    probs: np.ndarray, held: FeatureFrame, horizon: int, half_life: float, params: Mapping[str, Any]
) -> np.ndarray:
    """(n, K) causal dynamic weights over ``held``: from recent log-loss, or with
    ``dynamic_metric: sharpe`` from each member's recent cost-aware Sharpe."""
    if params.get("dynamic_metric", "log_loss") == "sharpe":
        return sharpe_weights(
            probs,
            np.asarray(held.mid, dtype=np.float64),
            held.segment_id,
            horizon,
            half_life=half_life,
            eta=float(params["eta"]),
            cost=float(params.get("cost_ticks", 1.0)) * float(held.price_tick),
        )
    return dynamic_weights(probs, held.labels, horizon, half_life=half_life, eta=float(params["eta"]))


def diversity_report(names: Sequence[str], probs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Per-member log-loss and the diversity of the members on held-out rows."""
    y = np.asarray(labels, dtype=np.float64)
    ok = np.isfinite(y) & np.isfinite(probs).all(axis=(1, 2))
    losses = {}
    if ok.any():
        idx = y[ok].astype(np.int64)
        rows = np.arange(idx.shape[0])
        for i, name in enumerate(names):
            losses[name] = float(-np.log(np.maximum(probs[ok][rows, i, idx], 1e-15)).mean())
    corr = prediction_correlation(probs)
    rate = disagreement_rate(probs)
    return {
        "diversity_rows": int(ok.sum()),
        "member_log_loss": losses,
        "prediction_correlation": _nullable(corr),
        "disagreement_rate": _nullable(rate),
        "mean_disagreement": float(np.nanmean(disagreement(probs))) if probs.shape[0] else None,
    }


def _nullable(matrix: np.ndarray) -> list[list[float | None]]:
    """A float matrix as nested lists with None where it is NaN (JSON has no NaN)."""
    return [[float(v) if np.isfinite(v) else None for v in row] for row in matrix]
