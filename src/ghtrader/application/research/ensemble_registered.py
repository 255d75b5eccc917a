"""Ensembles over REGISTERED model versions: members are loaded from the model registry (their
calibrated ONNX graphs, feature lists and horizon), never retrained.

``RegisteredMembers`` resolves ``model_id[@version]`` specs (no version: the newest, pinned at
creation) and checks the members can be combined: one symbol, one horizon, one label build
configuration, one feature list, tabular graphs on raw features.

``RegisteredEnsembleFamily`` is the family a stored config with ``registered: true`` trains
(``ensemble-<id>``). Its ``fit(train, valid)`` fits only the combiner, on the rows it is given:

- ``equal`` / ``weighted``: nothing to fit (weights given);
- ``blending`` / ``stacking``: the multinomial meta-learner on the members' predictions of the
  window (out of sample for every member: no out-of-fold refits are needed, so stacking and
  blending are the same fit here);
- ``dynamic``: causal exponential weights from each member's recent log-loss (or Sharpe, with
  ``dynamic_metric: sharpe``) as they stand at the end of the window;
- ``regime``: one weight vector per state of a stored RegimeModel (``regime_model``), fitted on
  the window's rows weighted by their forward-filtered regime probabilities, served as the
  weights mixed by each row's regime probabilities (:mod:`ghtrader.domain.ensembles.regime`).
  The regime model may use only observations a frame's mid and spread give (``ret``,
  ``log_rvol``, ``spread_bps``). Its ONNX graph is the usual ensemble graph (``probabilities``:
  the vote with the regimes' mean weights); the regime weights and model go into the model meta
  and serving recombines the graph's member outputs (:mod:`ghtrader.application.research.regime_mix`).

Leakage guard: the window's first trading day must come AFTER every member's last training day
(its meta's ``data.end_day``, validation included); an overlapping window is refused. The
fitted model is an :class:`EnsembleModel`: one ONNX graph with ``probabilities``,
``disagreement`` and ``member_probabilities``, registered like any model.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.ensembles import EnsembleGraphWriter
from ghtrader.application.ports.models import (
    ArtifactStore,
    FeatureFrame,
    InferenceRuntime,
    InferenceSession,
    ModelKind,
    ModelRegistry,
    OnnxSignature,
    TrainConfig,
)
from ghtrader.application.ports.regimes import RegimeModelStore
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.regimes.models import RegimeModel
from ghtrader.application.research.artifacts import ONNX_FILE, ONNX_INPUT_RAW, ModelMeta, read_meta, verify_files
from ghtrader.application.research.ensemble import (
    ENSEMBLE_DEFAULTS,
    STRATEGIES,
    EnsembleModel,
    check_strategy_params,
    diversity_report,
    recent_weights,
)
from ghtrader.application.research.regime_mix import (
    FRAME_REGIME_FEATURES,
    META_KEY,
    regime_meta_block,
    regime_probabilities,
)
from ghtrader.application.research.serving import registry_entry
from ghtrader.application.research.tabular import check_training_data, family_params
from ghtrader.domain.ensembles import (
    EnsembleError,
    MetaLearner,
    fit_meta_learner,
    fit_regime_weights,
    regime_row_weights,
)

__all__ = [
    "REGISTERED_STRATEGIES",
    "RegimeEnsembleModel",
    "REGISTERED_DEFAULTS",
    "RegisteredEnsembleFamily",
    "RegisteredMember",
    "RegisteredMembers",
    "parse_member_spec",
]

REGISTERED_STRATEGIES = (*STRATEGIES, "regime")
REGISTERED_DEFAULTS: dict[str, Any] = {
    **{k: v for k, v in ENSEMBLE_DEFAULTS.items() if k not in ("oof_folds", "holdout_fraction", "member_params")},
    "members": [],
    "registered": True,
    "regime_model": "",  # regime: the stored RegimeModel id
    "regime_prior_rows": 200.0,  # regime: pseudo-rows shrinking each regime's losses to the overall ones
}
_META_FILE = "ensemble.json"
_MEMBER_FILE = "member.json"


def parse_member_spec(spec: str) -> tuple[str, str | None]:
    """``model_id@version`` -> (model_id, version); ``model_id`` alone -> (model_id, None).

    Model ids may hold ``@`` (``lightgbm-KQ.m@SHFE.cu-h10``): only a whole-number tail after the
    last ``@`` is a version."""
    spec = (spec or "").strip()
    head, sep, tail = spec.rpartition("@")
    if sep and tail.isdigit() and head:
        return head, tail
    if not spec:
        raise InvalidArgument("an empty registered member: give model_id or model_id@version")
    return spec, None


def _label_config(meta: ModelMeta) -> str:
    """The label part of a model's dataset config hash (``features:...;labels:...``)."""
    text = str(meta.raw.get("dataset_config_hash") or "")
    return next((p for p in text.split(";") if p.startswith("labels:")), text)


def _train_end(meta: ModelMeta) -> str:
    """The last trading day a member saw (training and validation), ISO ``YYYY-MM-DD``."""
    data = meta.raw.get("data") or {}
    end = data.get("end_day") or (data.get("valid") or {}).get("last_trading_day")
    if not end:
        raise FailedPrecondition(f"{meta.model_id} v{meta.version}: its meta records no training window (data.end_day)")
    return str(end)[:10]


class RegisteredMember:
    """A registered model's calibrated ONNX graph as an ensemble member (TrainedModel)."""

    kind: ModelKind = "tabular"
    window = 1

    def __init__(self, spec: str, meta: Mapping[str, Any], onnx_path: Path, session: InferenceSession) -> None:
        self.spec = spec
        self.info = dict(meta)
        self.family = str(meta.get("family", "registered"))
        self.feature_names = tuple(meta["feature_names"])
        self._onnx = Path(onnx_path)
        self._session = session

    def inputs(self, frame: FeatureFrame) -> tuple[np.ndarray, np.ndarray]:
        missing = [n for n in self.feature_names if n not in frame.feature_names]
        if missing:
            raise FailedPrecondition(f"registered member {self.spec} needs features the frame lacks: {missing}")
        if tuple(frame.feature_names) == self.feature_names:
            x = frame.features
        else:
            x = frame.features[:, [frame.feature_names.index(n) for n in self.feature_names]]
        return np.ascontiguousarray(x, dtype=np.float32), np.arange(len(frame), dtype=np.int64)

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        x, _ = self.inputs(frame)
        if x.shape[0] == 0:
            return np.zeros((0, 3))
        return np.asarray(self._session.run(x), dtype=np.float64)

    def save(self, directory: Path) -> list[Path]:
        """A copy of the member's graph and what it is (the ensemble outlives the member's files)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        graph = directory / ONNX_FILE
        if self._onnx.resolve() != graph.resolve():
            shutil.copyfile(self._onnx, graph)
        info = directory / _MEMBER_FILE
        info.write_text(json.dumps(self.info, indent=2, sort_keys=True), encoding="utf-8")
        return [graph, info]

    def export_onnx(self, path: Path) -> OnnxSignature:
        shutil.copyfile(self._onnx, path)
        return OnnxSignature(
            input_name="features", input_shape=("batch", len(self.feature_names)), output_name="probabilities", opset=0
        )

    def describe(self) -> dict[str, Any]:
        return {"architecture": f"registered {self.spec} ({self.family})", "registered": self.info}


@dataclass(frozen=True)
class _Resolved:
    spec: str  # model_id@version
    meta: ModelMeta
    directory: Path


class RegisteredMembers:
    """Resolves and opens registered members (registry, artifacts and runtime read when used)."""

    def __init__(
        self,
        registry: Callable[[], ModelRegistry],
        artifacts: Callable[[], ArtifactStore],
        runtime: Callable[[], InferenceRuntime],
        regimes: Callable[[], RegimeModelStore] | None = None,
    ) -> None:
        self._registry = registry
        self._artifacts = artifacts
        self._runtime = runtime
        self._regimes = regimes

    def regime_model(self, model_id: str) -> RegimeModel:
        """A stored regime model that a frame's mid and spread can drive (InvalidArgument otherwise)."""
        if self._regimes is None:
            raise FailedPrecondition("no regime model store is configured")
        try:
            model = RegimeModel.from_payload(self._regimes().load_model(model_id))
        except KeyError:
            raise NotFound(f"no regime model {model_id!r} (ghtrader regimes fit ...)") from None
        extra = [f for f in model.features if f not in FRAME_REGIME_FEATURES]
        if extra:
            raise InvalidArgument(
                f"regime model {model_id!r} uses {extra}: a benchmark frame has mid and spread only, so the "
                f"regime ensemble takes models fitted on {list(FRAME_REGIME_FEATURES)} (fit one with --features)"
            )
        return model

    def _resolve(self, spec: str) -> _Resolved:
        model_id, version = parse_member_spec(spec)
        try:
            entry = registry_entry(self._registry(), model_id, version)
        except NotFound as exc:
            raise NotFound(f"registered ensemble member {spec!r}: {exc}") from exc
        directory = Path(entry.artifact_path)
        meta = read_meta(self._artifacts(), directory)
        if meta.kind != "tabular" or meta.window != 1 or meta.onnx_input != ONNX_INPUT_RAW:
            raise InvalidArgument(
                f"registered member {entry.model_id}@{entry.version} ({meta.family}) is not a tabular model on raw "
                "features: ensemble members' graphs must share the raw-feature input"
            )
        if meta.family.startswith("ensemble"):
            raise InvalidArgument(f"registered member {entry.model_id}@{entry.version} is itself an ensemble")
        return _Resolved(f"{entry.model_id}@{entry.version}", meta, directory)

    def pin(self, specs: Sequence[str]) -> list[str]:
        """``specs`` with every version fixed (newest where none is given), checked to be one
        symbol, horizon, label configuration and feature list; InvalidArgument naming what differs."""
        if not specs:
            raise InvalidArgument("a registered ensemble needs at least one member model_id[@version]")
        resolved = [self._resolve(s) for s in specs]
        pinned = [r.spec for r in resolved]
        if len(set(pinned)) != len(pinned):
            raise InvalidArgument(f"registered members repeat a model version: {pinned}")
        first = resolved[0]
        for r in resolved[1:]:
            for what, a, b in (
                ("symbol", first.meta.raw.get("symbol"), r.meta.raw.get("symbol")),
                ("horizon", first.meta.horizon, r.meta.horizon),
                ("ticks lake", first.meta.raw.get("ticks_lake"), r.meta.raw.get("ticks_lake")),
                ("label config", _label_config(first.meta), _label_config(r.meta)),
            ):
                if a != b:
                    raise InvalidArgument(
                        f"registered members differ in {what}: {first.spec} has {a!r}, {r.spec} has {b!r}"
                    )
            if r.meta.feature_names != first.meta.feature_names:
                only_a = sorted(set(first.meta.feature_names) - set(r.meta.feature_names))
                only_b = sorted(set(r.meta.feature_names) - set(first.meta.feature_names))
                raise InvalidArgument(
                    f"registered members take different feature lists: only {first.spec}: {only_a}, "
                    f"only {r.spec}: {only_b}, order differs: {not only_a and not only_b} "
                    "(members must share one feature list, in one order)"
                )
        return pinned

    def open(self, spec: str) -> RegisteredMember:
        """The member ``spec`` (``model_id@version``): its graph checked against its digest and loaded."""
        r = self._resolve(spec)
        if r.spec != spec:
            raise FailedPrecondition(f"registered member {spec!r} resolved to {r.spec}: pin the version")
        verify_files(self._artifacts(), r.directory, r.meta, onnx=True, weights=False)
        info = {
            "spec": r.spec,
            "model_id": r.meta.model_id,
            "version": r.meta.version,
            "family": r.meta.family,
            "symbol": r.meta.raw.get("symbol"),
            "horizon": r.meta.horizon,
            "feature_names": list(r.meta.feature_names),
            "train_end_day": _train_end(r.meta),
            "label_config": _label_config(r.meta),
            "onnx_sha256": r.meta.onnx_sha256,
            "config_hash": r.meta.config_hash,
        }
        graph = r.directory / ONNX_FILE
        return RegisteredMember(r.spec, info, graph, self._runtime().load(graph, prefer_gpu=False))

    def load(self, directory: Path) -> RegisteredMember:
        """A member as an ensemble saved it (its own graph copy)."""
        directory = Path(directory)
        info = json.loads((directory / _MEMBER_FILE).read_text(encoding="utf-8"))
        graph = directory / ONNX_FILE
        return RegisteredMember(str(info["spec"]), info, graph, self._runtime().load(graph, prefer_gpu=False))


class RegisteredEnsembleFamily:
    """ModelFamily fitting only the combiner of registered members (see the module docstring)."""

    kind: ModelKind = "tabular"

    def __init__(
        self,
        members: RegisteredMembers,
        graph: EnsembleGraphWriter,
        defaults: Mapping[str, Any] | None = None,
        *,
        name: str = "ensemble",
    ) -> None:
        self.name = name
        self._members = members
        self._graph = graph
        self._defaults = {**REGISTERED_DEFAULTS, **dict(defaults or {})}

    def default_params(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._defaults))

    def check_params(self, config: TrainConfig) -> dict[str, Any]:
        """``config.params`` over the defaults, checked (InvalidArgument naming what is wrong)."""
        p = family_params("ensemble", self.default_params(), config.params)
        members = p["members"]
        if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
            raise InvalidArgument(f"registered ensemble members must be model_id@version strings (got {members!r})")
        check_strategy_params(p, len(members), REGISTERED_STRATEGIES, "registered ")
        if (p["strategy"] == "regime") != bool(p["regime_model"]):
            raise InvalidArgument("strategy 'regime' needs regime_model (a stored regime model id), and only it")
        if p["strategy"] == "weighted":
            wa = np.asarray(p["weights"], dtype=np.float64)
            if not np.isfinite(wa).all() or (wa < 0).any() or wa.sum() <= 0:
                raise InvalidArgument(f"ensemble weights must be >= 0 and not all 0 (got {p['weights']})")
        if p["dynamic_metric"] != "log_loss" and p["strategy"] != "dynamic":
            raise InvalidArgument("dynamic_metric applies to strategy 'dynamic' only")
        return p

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback = no_progress
    ) -> EnsembleModel:
        params = self.check_params(config)
        check_training_data(train, valid)
        names, strategy = list(params["members"]), params["strategy"]
        members = []
        for i, spec in enumerate(names):
            progress(i, len(names), f"registered ensemble: loading {spec}")
            members.append(self._members.open(spec))
        self._check_window(members, train, config)
        k = len(members)
        weights = np.full(k, 1.0 / k)
        meta: MetaLearner | None = None
        probs = np.stack([m.predict_proba(train) for m in members], axis=1)
        first_day = str(np.datetime_as_string(train.trading_day[0], unit="D"))
        report: dict[str, Any] = {
            "strategy": strategy,
            "registered": True,
            "holdout_rows": len(train),
            "holdout_first_day": first_day,
            "holdout_last_day": str(np.datetime_as_string(train.trading_day[-1], unit="D")),
            "members_train_end": {m.spec: m.info["train_end_day"] for m in members},
        }
        try:
            if strategy == "weighted":
                w = np.asarray(params["weights"], dtype=np.float64)
                weights = w / w.sum()
            elif strategy in ("blending", "stacking"):
                meta = fit_meta_learner(probs, train.labels, l2=float(params["meta_l2"]))
            elif strategy == "regime":
                regime = self._members.regime_model(str(params["regime_model"]))
                pi = regime_probabilities(regime, train)
                table = fit_regime_weights(
                    probs, train.labels, pi, eta=float(params["eta"]), prior_rows=float(params["regime_prior_rows"])
                )
                report["regime_model"] = regime.model_id
                report["regime_weights"] = table.tolist()
                report["regime_share"] = np.nanmean(pi, axis=0).tolist()
                model = RegimeEnsembleModel(
                    names, members, table, regime, self._graph, params=params, feature_names=train.feature_names
                )
                report.update(diversity_report(names, probs, train.labels))
                report["weights"] = table.mean(axis=0).tolist()
                model.fit_report = report
                return model
            elif strategy == "dynamic":
                half_life = float(params["half_life_rows"])
                if int(params["performance_window_days"]) > 0:
                    days = max(np.unique(train.trading_day).shape[0], 1)
                    half_life = max(1.0, int(params["performance_window_days"]) * len(train) / days)
                weights = recent_weights(probs, train, config.horizon, half_life, params)[-1]
                report["half_life_rows"] = half_life
                report["dynamic_metric"] = params["dynamic_metric"]
        except EnsembleError as exc:
            raise InvalidArgument(f"registered ensemble ({strategy}): {exc}") from exc
        report.update(diversity_report(names, probs, train.labels))
        report["weights"] = weights.tolist()
        progress(1, 1, f"registered ensemble {strategy} of {', '.join(names)}: {report.get('member_log_loss')}")
        return EnsembleModel(
            names,
            members,
            strategy,
            weights,
            self._graph,
            meta=meta,
            params=params,
            fit_report=report,
            feature_names=train.feature_names,
        )

    @staticmethod
    def _check_window(members: Sequence[RegisteredMember], train: FeatureFrame, config: TrainConfig) -> None:
        """Refuse members of another horizon / symbol, missing features, and a window that
        overlaps any member's training data (its combiner would be fitted on in-sample rows)."""
        for m in members:
            if int(m.info["horizon"]) != int(config.horizon):
                raise InvalidArgument(
                    f"registered member {m.spec} predicts horizon {m.info['horizon']}, the ensemble trains {config.horizon}"
                )
            if train.symbol and m.info.get("symbol") and m.info["symbol"] != train.symbol:
                raise InvalidArgument(
                    f"registered member {m.spec} is a model of {m.info['symbol']}, not {train.symbol}"
                )
            missing = [n for n in m.feature_names if n not in train.feature_names]
            if missing:
                raise InvalidArgument(f"registered member {m.spec} needs features the data lacks: {missing}")
        if tuple(train.feature_names) != members[0].feature_names:
            raise InvalidArgument(
                f"train the registered ensemble on its members' features, in their order: {list(members[0].feature_names)}"
            )
        if len(train) == 0:
            return
        first = np.datetime64(str(train.trading_day[0])[:10], "D")
        for m in members:
            end = np.datetime64(m.info["train_end_day"], "D")
            if first <= end:
                raise InvalidArgument(
                    f"leakage: the combiner's window starts {first}, on or before the last training day {end} of "
                    f"registered member {m.spec}; fit it on days after every member's training end"
                )

    def load(self, directory: Path) -> EnsembleModel:
        directory = Path(directory)
        meta_path = directory / _META_FILE
        if not meta_path.is_file():
            raise FailedPrecondition(f"{directory} holds no ensemble model ({_META_FILE} expected)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        names = list(meta["members"])
        members = [self._members.load(directory / "members" / f"{i}_{n}") for i, n in enumerate(names)]
        if meta.get("regime_model"):
            model = RegimeEnsembleModel(
                names,
                members,
                np.asarray(meta["regime_weights"], dtype=np.float64),
                RegimeModel.from_payload(meta["regime_model"]),
                self._graph,
                params=meta.get("params"),
                feature_names=tuple(meta["feature_names"]),
            )
            model.fit_report = dict(meta.get("fit") or {})
            return model
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
            feature_names=tuple(meta["feature_names"]),
        )


class RegimeEnsembleModel(EnsembleModel):
    """Registered members voted with regime-conditional weights (``weights_by_regime`` (R, K))
    mixed by the frame's causal regime probabilities. Its ONNX graph votes with the regimes' mean
    weights (:meth:`graph_probabilities`); serving recombines its member outputs with the regime
    weights the meta carries (``describe()["regime_ensemble"]``)."""

    def __init__(
        self,
        member_names: Sequence[str],
        members: Sequence[RegisteredMember],
        weights_by_regime: np.ndarray,
        regime: RegimeModel,
        graph: EnsembleGraphWriter,
        *,
        params: Mapping[str, Any] | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        table = np.asarray(weights_by_regime, dtype=np.float64)
        super().__init__(
            member_names, members, "regime", table.mean(axis=0), graph, params=params, feature_names=feature_names
        )
        self.weights_by_regime = table
        self.regime = regime

    def predict_detail(self, frame: FeatureFrame) -> dict[str, np.ndarray]:
        members = self.member_probabilities(frame)
        rows = regime_row_weights(regime_probabilities(self.regime, frame), self.weights_by_regime)
        probs = np.einsum("nkc,nk->nc", members, rows)
        spread = _row_disagreement(members, rows)
        return {"probabilities": probs, "disagreement": spread, "member_probabilities": members}

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        return self.predict_detail(frame)["probabilities"]

    def _meta(self) -> dict[str, Any]:
        return {
            **super()._meta(),
            "regime_weights": self.weights_by_regime.tolist(),
            "regime_model": self.regime.to_payload(),
        }

    def graph_probabilities(self, frame: FeatureFrame) -> np.ndarray:
        """(n, 3) what the exported graph's ``probabilities`` output holds: the mean-weight vote."""
        return super().predict_proba(frame)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), META_KEY: regime_meta_block(self.regime, self.weights_by_regime)}


def _row_disagreement(members: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(n,) each row's weighted total-variation distance of the members to that row's vote."""
    vote = np.einsum("nkc,nk->nc", members, rows)
    tv = 0.5 * np.abs(members - vote[:, None, :]).sum(axis=2)
    return (tv * rows).sum(axis=1)
