"""``SelectFeatures``: choose a feature set for one symbol / horizon and store it under a name.

Steps (``SelectFeatures.__call__``):

1. candidates: the given factors (default: the core L5 set), plus, with ``generate``, the
   generated features over them (:func:`~ghtrader.domain.factors.generated.generate_specs`:
   lags, diffs, rolling mean / std, EWM and at most ``max_pairs`` pairwise products);
2. the frame of ``start_day..end_day`` with every candidate; columns NaN on every labelled row
   or constant are dropped;
3. mutual information of each candidate with the label (binned, bias-corrected) on at most
   ``max_rows`` labelled rows; candidates at or below ``min_mi`` go (the best
   ``min_features`` always stay);
4. correlation-redundancy filter in mutual-information order: a candidate whose |correlation|
   with an already kept one exceeds ``max_corr`` goes;
5. recursive feature elimination with walk-forward CV: each round fits ``family`` on every
   fold's training days (early stopping on its validation day), scores the test days' log-loss,
   and ranks features by importance on the test rows (mean |TreeSHAP| or |integrated
   gradient| when the family has an attributor, the permutation log-loss rise otherwise); the
   ``rfe_drop`` share of least important features goes, down to ``min_features``. The round
   with the lowest mean test log-loss wins (the smaller set on a tie within ``tie_tolerance``);
6. the winner is stored as a :class:`FeatureSet` named ``name`` with the whole record, and the
   generated features in it are written to the feature registry with their lineage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.datasets import DatasetStore
from ghtrader.application.ports.explain import Attributor
from ghtrader.application.ports.feature_sets import FEATURE_SET_NAME, FeatureSet, FeatureSetStore
from ghtrader.application.ports.models import FeatureFrame, FrameSource, ModelFamilies, TrainConfig, TrainedModel
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.reporting import to_jsonable
from ghtrader.application.research.calibration import CalibratedModel
from ghtrader.application.research.explain import permutation_importance
from ghtrader.application.research.generated_frames import generated_definitions
from ghtrader.application.research.tabular import even_subsample, labelled_rows, select_features
from ghtrader.domain.evaluation import EvaluationError, WalkForwardConfig, log_loss, walk_forward_splits
from ghtrader.domain.evaluation.feature_scores import correlation_filter, mutual_information
from ghtrader.domain.factors import CORE_L5_FACTORS
from ghtrader.domain.factors.generated import generate_specs, is_generated

__all__ = ["SelectFeatures", "SelectRequest", "SelectResult"]

_IMPORTANCE_ROWS = 1000


@dataclass(frozen=True)
class SelectRequest:
    """What to select over (see the module docstring for each step's setting)."""

    name: str
    symbol: str
    start_day: date
    end_day: date
    horizon: int = 10
    candidates: tuple[str, ...] = ()
    ticks_lake: str = "main_l5"
    generate: bool = False
    max_pairs: int = 20
    mi_bins: int = 16
    min_mi: float = 0.0
    max_corr: float = 0.95
    family: str = "lightgbm"
    n_splits: int = 3
    min_features: int = 5
    rfe_drop: float = 0.25
    max_rows: int = 50_000
    tie_tolerance: float = 1e-4
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0

    def checked(self) -> SelectRequest:
        if not FEATURE_SET_NAME.match(self.name):
            raise InvalidArgument(f"invalid feature set name {self.name!r}: letters, digits, '.', '_', '-' only")
        if self.start_day > self.end_day:
            raise InvalidArgument(f"start_day {self.start_day} is after end_day {self.end_day}")
        if not 0.0 < self.max_corr <= 1.0:
            raise InvalidArgument(f"max_corr must be in (0, 1], got {self.max_corr}")
        if not 0.0 < self.rfe_drop < 1.0:
            raise InvalidArgument(f"rfe_drop must be in (0, 1), got {self.rfe_drop}")
        for name in ("horizon", "n_splits", "min_features", "max_rows", "mi_bins"):
            if int(getattr(self, name)) < 1:
                raise InvalidArgument(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_pairs < 0:
            raise InvalidArgument(f"max_pairs must be >= 0, got {self.max_pairs}")
        candidates = tuple(dict.fromkeys(self.candidates or CORE_L5_FACTORS))
        if any(is_generated(c) for c in candidates):
            raise InvalidArgument("candidates are registered factors; generated ones come from --generate")
        return replace(self, candidates=candidates)


@dataclass
class SelectResult:
    """The chosen set and the record of how (``to_payload`` is the job's JSON result)."""

    name: str
    features: list[str]
    symbol: str
    horizon: int
    candidates: int
    mutual_information: dict[str, float]
    dropped_low_mi: list[str]
    dropped_correlated: dict[str, str]
    rounds: list[dict[str, Any]]
    best_round: int
    registered_generated: list[str]
    stored_at: str = ""
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def to_payload(self) -> dict[str, Any]:
        return {"kind": "feature_selection", **to_jsonable(self)}


def _base(model: TrainedModel) -> TrainedModel:
    return model.base if isinstance(model, CalibratedModel) else model


class SelectFeatures:
    """The selection use case (see the module docstring)."""

    def __init__(
        self,
        *,
        frames: FrameSource,
        families: ModelFamilies,
        attributors: Mapping[str, Attributor],
        store: FeatureSetStore,
        clock: Clock,
        datasets: DatasetStore | None = None,
    ) -> None:
        self._frames = frames
        self._families = families
        self._attributors = dict(attributors)
        self._store = store
        self._clock = clock
        self._datasets = datasets

    def __call__(self, request: SelectRequest, progress: ProgressCallback = no_progress) -> SelectResult:
        r = request.checked()
        started = time.perf_counter()
        self._families.get(r.family)  # an unknown family fails before reading data
        names = list(r.candidates)
        if r.generate:
            names += [s.name for s in generate_specs(r.candidates, max_pairs=r.max_pairs)]
        progress(0, 100, f"loading {len(names)} candidates of {r.symbol} {r.start_day}..{r.end_day}")
        frame, _ = self._frames.load(r.symbol, r.ticks_lake, r.start_day, r.end_day, r.horizon, tuple(names))
        rows = even_subsample(labelled_rows(frame), r.max_rows)
        if rows.shape[0] == 0:
            raise InvalidArgument(f"no labelled rows of {r.symbol} in {r.start_day}..{r.end_day}")
        x = np.asarray(frame.features[rows], dtype=np.float64)
        y = frame.labels[rows]

        progress(10, 100, "mutual information")
        mi = {n: mutual_information(x[:, j], y, r.mi_bins) for j, n in enumerate(frame.feature_names)}
        usable = [j for j, n in enumerate(frame.feature_names) if np.isfinite(x[:, j]).any()]
        order = sorted(usable, key=lambda j: -mi[frame.feature_names[j]])
        keep = [j for j in order if mi[frame.feature_names[j]] > r.min_mi]
        if len(keep) < r.min_features:
            keep = order[: r.min_features]
        low = [frame.feature_names[j] for j in order if j not in keep]

        progress(15, 100, "correlation-redundancy filter")
        kept, dropped = correlation_filter(x, keep, r.max_corr)
        survivors = [frame.feature_names[j] for j in kept]
        correlated = {frame.feature_names[j]: frame.feature_names[k] for j, k in dropped.items()}

        rounds = self._eliminate(r, frame, survivors, progress)
        best = _best_round(rounds, r.tie_tolerance)
        chosen = list(rounds[best]["features"])
        result = SelectResult(
            name=r.name,
            features=chosen,
            symbol=r.symbol,
            horizon=r.horizon,
            candidates=len(names),
            mutual_information=dict(sorted(mi.items(), key=lambda kv: -kv[1])),
            dropped_low_mi=low,
            dropped_correlated=correlated,
            rounds=rounds,
            best_round=best,
            registered_generated=[],
        )
        definitions = generated_definitions(chosen)
        if definitions and self._datasets is not None:
            self._datasets.upsert_features(definitions)
            result.registered_generated = [d.feature_name for d in definitions]
        result.elapsed_s = time.perf_counter() - started
        payload = result.to_payload()
        selection = {k: v for k, v in payload.items() if k not in ("name", "features", "symbol", "horizon")}
        selection["request"] = to_jsonable(r)
        result.stored_at = self._store.save(
            FeatureSet(
                name=r.name,
                features=tuple(chosen),
                created_at_ns=int(self._clock.now_ns()),
                symbol=r.symbol,
                horizon=r.horizon,
                selection=selection,
            )
        )
        progress(100, 100, f"feature set {r.name}: {len(chosen)} features")
        return result

    # --- recursive feature elimination ------------------------------------------------------------
    def _eliminate(
        self, r: SelectRequest, frame: FeatureFrame, features: list[str], progress: ProgressCallback
    ) -> list[dict[str, Any]]:
        try:
            plan = walk_forward_splits(frame.trading_day, r.horizon, WalkForwardConfig(n_splits=r.n_splits))
        except EvaluationError as exc:
            raise InvalidArgument(f"recursive elimination needs walk-forward folds: {exc}") from exc
        rounds: list[dict[str, Any]] = []
        current = list(features)
        while True:
            progress(20 + min(70, 7 * len(rounds)), 100, f"RFE round {len(rounds) + 1}: {len(current)} features")
            losses, importance = self._cv(r, frame, plan.splits, current)
            rounds.append(
                {
                    "features": list(current),
                    "cv_log_loss": float(np.mean(losses)),
                    "fold_log_loss": [float(v) for v in losses],
                    "importance": dict(sorted(importance.items(), key=lambda kv: -kv[1])),
                }
            )
            if len(current) <= r.min_features:
                return rounds
            n_drop = min(max(1, int(len(current) * r.rfe_drop)), len(current) - r.min_features)
            ranked = sorted(current, key=lambda n: importance[n])
            gone = set(ranked[:n_drop])
            current = [n for n in current if n not in gone]

    def _cv(
        self, r: SelectRequest, frame: FeatureFrame, splits: Sequence[Any], features: list[str]
    ) -> tuple[list[float], dict[str, float]]:
        family = self._families.get(r.family)
        attributor = self._attributors.get(r.family)
        config = TrainConfig(horizon=r.horizon, seed=r.seed, max_train_rows=r.max_rows, params=dict(r.params))
        sub = select_features(frame, features)
        losses: list[float] = []
        totals = np.zeros(len(features))
        for split in splits:
            train, valid, test = (sub.take(split.train_index), sub.take(split.valid_index), sub.take(split.test_index))
            model = family.fit(train, valid, config, no_progress)
            losses.append(float(log_loss(test.labels, model.predict_proba(test))))
            totals += self._importance(model, attributor, test, r.seed)
        return losses, {n: float(v / max(len(splits), 1)) for n, v in zip(features, totals, strict=True)}

    @staticmethod
    def _importance(model: TrainedModel, attributor: Attributor | None, test: FeatureFrame, seed: int) -> np.ndarray:
        base = _base(model)
        if attributor is not None:
            x, _ = base.inputs(test)
            pick = even_subsample(np.arange(x.shape[0]), _IMPORTANCE_ROWS)
            return np.abs(attributor.attribute(base, x[pick]).per_feature()).mean(axis=(0, 2))
        if model.window > 1:
            sample = test.take(np.arange(min(len(test), _IMPORTANCE_ROWS)))
        else:
            sample = test.take(even_subsample(labelled_rows(test), _IMPORTANCE_ROWS))
        _, scores = permutation_importance(model.predict_proba, sample, 1, seed)
        rise = {s["feature"]: s["delta_log_loss"] for s in scores}
        return np.array([max(float(rise[n]), 0.0) if np.isfinite(rise[n]) else 0.0 for n in test.feature_names])


def _best_round(rounds: Sequence[Mapping[str, Any]], tolerance: float) -> int:
    """The round with the lowest CV log-loss; a later (smaller) round within ``tolerance`` of it wins."""
    losses = np.array([float(x["cv_log_loss"]) for x in rounds])
    finite = np.where(np.isfinite(losses), losses, np.inf)
    best = float(finite.min())
    return int(max(i for i, v in enumerate(finite) if v <= best + tolerance))
