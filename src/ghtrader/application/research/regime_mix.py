"""Serving a regime-conditional ensemble: the member outputs of its ONNX graph recombined with
the regime-mixed weights ``pi_t @ W``, then the ensemble's calibrator.

The graph is the usual ensemble graph (its ``probabilities`` output is the calibrated vote with
the regimes' mean weights, and its ``member_probabilities`` output every member's prediction).
The model meta's ``regime_ensemble`` block holds ``W`` (regimes x members) and the stored regime
model; the meta's ``calibration`` is the calibrator fitted on the regime-mixed vote.

Regime probabilities are the regime model's causal forward filter over the rows' L1 book rebuilt
from mid and spread (volumes unknown: such a model uses ``ret``, ``log_rvol`` and ``spread_bps``
only). In batch (:meth:`RegimeMix.batch_probabilities`) the filter starts at a frame's first row;
online (:class:`OnlineRegimeMix`) it starts at the first tick fed and is fed every tick, warm-up
included, so the same ticks give the same probabilities as the batch filter over them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.models import FeatureFrame
from ghtrader.application.regimes.data import run_codes, select_features
from ghtrader.application.regimes.models import RegimeModel
from ghtrader.domain.ensembles import regime_row_weights
from ghtrader.domain.evaluation.probability_calibration import ProbabilityCalibrator, identity_calibrator
from ghtrader.domain.regimes import OnlineRegime, build_observations, forward_filter
from ghtrader.domain.ticks import TICK_DTYPE

__all__ = [
    "FRAME_REGIME_FEATURES",
    "META_KEY",
    "OnlineRegimeMix",
    "RegimeMix",
    "regime_meta_block",
    "regime_probabilities",
]

#: regime observations a FeatureFrame's mid and spread give (no volumes / L1 sizes)
FRAME_REGIME_FEATURES = ("ret", "log_rvol", "spread_bps")
#: the model meta's block holding the regime weights and the regime model
META_KEY = "regime_ensemble"


def regime_probabilities(model: RegimeModel, frame: FeatureFrame) -> np.ndarray:
    """(n, R) causal regime probabilities of the frame's rows: the model's observations built from
    mid and spread (volumes unknown) and its HMM forward filter, started at the frame's first row."""
    n = len(frame)
    ticks = np.zeros(n, dtype=TICK_DTYPE)
    half = 0.5 * np.asarray(frame.spread, dtype=np.float64)
    mid = np.asarray(frame.mid, dtype=np.float64)
    ticks["bid_price1"], ticks["ask_price1"] = mid - half, mid + half
    for name in ("volume", "bid_volume1", "ask_volume1"):
        ticks[name] = np.nan
    obs = build_observations(ticks, run_codes(frame.trading_day, frame.segment_id), model.observation)
    probs, _ = forward_filter(model.params, np.ascontiguousarray(obs[:, select_features(model.features)]))
    return probs


def regime_meta_block(model: RegimeModel, weights: np.ndarray) -> dict[str, Any]:
    """The meta's ``regime_ensemble`` block that :meth:`RegimeMix.from_meta` reads."""
    return {"weights": np.asarray(weights, dtype=np.float64).tolist(), "regime_model": model.to_payload()}


class RegimeMix:
    """A served regime ensemble's combiner: ``W``, its regime model and its calibrator."""

    def __init__(self, model: RegimeModel, weights: np.ndarray, calibrator: ProbabilityCalibrator) -> None:
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 2 or w.shape[0] != model.params.n_states:
            raise FailedPrecondition(
                f"regime weights of shape {w.shape} do not fit regime model {model.model_id} "
                f"({model.params.n_states} states)"
            )
        extra = [f for f in model.features if f not in FRAME_REGIME_FEATURES]
        if extra:
            raise FailedPrecondition(
                f"regime model {model.model_id} uses {extra}: a served regime ensemble's filter sees mid and "
                f"spread only ({', '.join(FRAME_REGIME_FEATURES)})"
            )
        self.model = model
        self.weights = w
        self.calibrator = calibrator

    @classmethod
    def from_meta(cls, raw: Mapping[str, Any]) -> RegimeMix | None:
        """The combiner a model meta describes (None: not a regime ensemble)."""
        block = raw.get(META_KEY)
        if not block:
            return None
        try:
            model = RegimeModel.from_payload(block["regime_model"])
            weights = np.asarray(block["weights"], dtype=np.float64)
            cal = raw.get("calibration")
            calibrator = ProbabilityCalibrator.from_dict(cal) if cal else identity_calibrator("no calibration")
        except (KeyError, TypeError, ValueError) as exc:
            raise FailedPrecondition(f"the model meta's {META_KEY} block is malformed: {exc}") from exc
        return cls(model, weights, calibrator)

    def batch_probabilities(self, frame: FeatureFrame) -> np.ndarray:
        """(n, R) the causal regime probabilities of ``frame``'s rows (filter from its first row)."""
        return regime_probabilities(self.model, frame)

    def combine(self, member_probs: np.ndarray, regime_probs: np.ndarray) -> np.ndarray:
        """(n, 3) calibrated probabilities of the members (n, K, 3) voted with each row's
        ``pi @ W``; NaN where a member or the regime probabilities are."""
        members = np.asarray(member_probs, dtype=np.float64)
        if members.ndim != 3 or members.shape[1] != self.weights.shape[1]:
            raise FailedPrecondition(
                f"member probabilities of shape {members.shape} do not fit {self.weights.shape[1]} regime-weighted members"
            )
        rows = regime_row_weights(regime_probs, self.weights)
        vote = np.einsum("nkc,nk->nc", members, rows)
        return self.calibrator.apply(vote)

    def disagreement(self, member_probs: np.ndarray, regime_probs: np.ndarray) -> np.ndarray:
        """(n,) each row's weighted total-variation distance of the members to that row's vote."""
        members = np.asarray(member_probs, dtype=np.float64)
        rows = regime_row_weights(regime_probs, self.weights)
        vote = np.einsum("nkc,nk->nc", members, rows)
        return (0.5 * np.abs(members - vote[:, None, :]).sum(axis=2) * rows).sum(axis=1)

    def online(self) -> OnlineRegimeMix:
        """A fresh per-tick filter of this combiner's regime model."""
        return OnlineRegimeMix(self)


class OnlineRegimeMix:
    """The regime filter a decision pipeline feeds every tick (the batch filter's online twin)."""

    def __init__(self, mix: RegimeMix) -> None:
        self.mix = mix
        m = mix.model
        self._online = OnlineRegime(m.params, m.features, m.observation)

    @property
    def probabilities(self) -> np.ndarray:
        """``p(regime | ticks so far)`` (uniform before the first tick)."""
        return self._online.probabilities

    def update(self, bid1: float, ask1: float, run_code: object) -> None:
        """Feed one tick's L1 prices; the book is rebuilt from mid and spread exactly as the batch
        path rebuilds it from a frame (volumes unknown there, so unknown here)."""
        mid = (bid1 + ask1) / 2.0
        half = 0.5 * (ask1 - bid1)
        nan = float("nan")
        self._online.update(mid - half, mid + half, nan, nan, nan, run_code)

    def combine(self, member_probs: np.ndarray) -> tuple[np.ndarray, float]:
        """One tick's calibrated (3,) probabilities and disagreement from its members' (K, 3)."""
        members = np.asarray(member_probs, dtype=np.float64)[None]
        pi = self._online.probabilities[None]
        return self.mix.combine(members, pi)[0], float(self.mix.disagreement(members, pi)[0])
