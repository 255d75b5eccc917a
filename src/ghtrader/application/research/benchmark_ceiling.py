"""A model against the ceiling: the Bayes oracle's true class probabilities on a sample of rows,
and the cost-aware expected-move policy for the model and for the oracle.

Frames loaded with an oracle carry, on a random sample of rows (NaN elsewhere), the
generator's true class probabilities ``bayes_p_down``, ``bayes_p_flat``, ``bayes_p_up`` and the
largest Monte Carlo standard error of the three, ``bayes_se``. Per fold:

- ``prior``: the class frequencies of the fold's training labels (add-one smoothed);
- the Bayes decision rule (class weights maximising macro-F1) is fitted on the fold's sampled
  TRAINING rows and applied to its sampled test rows;
- the cost-aware policy of the model: its move curve (expected move as a function of
  ``p_up - p_down``) and threshold fitted on the fold's VALIDATION rows, i.e. on the model's
  out-of-sample probabilities from the days just before the test days (the model was
  early-stopped on them, never fitted to them); the Bayes policy's on the sampled training rows.
  Both choose the threshold counting every fitting row as an independent one-lot trade.

Scores (:func:`score_ceiling`, per fold and on the pooled test rows): the policy's positions are
traded on ALL test rows like the argmax signal (non-overlapping trades held ``horizon`` ticks,
``policy_*``); on the sampled rows each policy's trades are counted as independent one-lot
trades (``policy_net_pnl_per_trade``, ``bayes_policy_*``), so the model and the oracle face the
same rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ghtrader.application.ports.models import FeatureFrame
from ghtrader.application.research.benchmark_metrics import FrameContext, trade_rows
from ghtrader.domain.evaluation import (
    CostModel,
    DecisionRule,
    EntryRule,
    ExpectedMovePolicy,
    class_frequencies,
    expected_calibration_error,
    fit_decision_rule,
    fit_expected_move_policy,
    independent_trade_net,
    information_captured,
    log_loss,
    macro_f1,
    macro_f1_of_classes,
    round_trip_cost,
)

__all__ = [
    "BAYES_PROB_COLUMNS",
    "BAYES_SE_COLUMN",
    "CeilingFit",
    "CeilingRows",
    "bayes_probs",
    "ceiling_rows",
    "fit_ceiling",
    "pool_ceiling_rows",
    "score_ceiling",
]

#: Frame extras holding the Bayes oracle's class probabilities (DOWN, FLAT, UP), float64.
BAYES_PROB_COLUMNS: tuple[str, str, str] = ("bayes_p_down", "bayes_p_flat", "bayes_p_up")
#: Frame extra holding the largest Monte Carlo standard error of the three probabilities.
BAYES_SE_COLUMN = "bayes_se"


def bayes_probs(frame: FeatureFrame) -> np.ndarray | None:
    """``(n, 3)`` true class probabilities (NaN on unsampled rows), or None without an oracle."""
    if not all(c in frame.extras for c in BAYES_PROB_COLUMNS):
        return None
    return np.column_stack([np.asarray(frame.extras[c], dtype=np.float64) for c in BAYES_PROB_COLUMNS])


def _sampled(bayes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.isfinite(bayes).all(axis=1) & np.isfinite(labels)


@dataclass(frozen=True)
class CeilingFit:
    """What one fold fitted before seeing its test rows."""

    prior: np.ndarray  # (3,) training class frequencies
    model_policy: ExpectedMovePolicy
    bayes_policy: ExpectedMovePolicy | None
    decision_rule: DecisionRule | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "prior": self.prior.tolist(),
            "model_policy": self.model_policy.to_dict(),
            "model_policy_fit_on": "validation rows (model probabilities before the test days)",
            "bayes_policy": self.bayes_policy.to_dict() if self.bayes_policy else None,
            "bayes_decision_rule": self.decision_rule.to_dict() if self.decision_rule else None,
        }


@dataclass(frozen=True)
class CeilingRows:
    """Per test row inputs of the ceiling scores; folds concatenate to the pooled rows."""

    rows: np.ndarray  # int64 frame positions
    probs: np.ndarray  # (n, 3) the model's (scored) probabilities
    prior: np.ndarray  # (n, 3) the fold's training class frequencies
    bayes: np.ndarray | None  # (n, 3) true probabilities, NaN where not sampled
    bayes_se: np.ndarray | None  # (n,)
    bayes_class: np.ndarray | None  # (n,) decision-rule class, NaN where not sampled
    model_positions: np.ndarray  # (n,) int8 cost-aware policy of the model
    bayes_positions: np.ndarray | None  # (n,) int8 cost-aware policy of the oracle
    uncalibrated: np.ndarray | None  # (n, 3) the model's probabilities before calibration


def _costs_per_row(ctx: FrameContext, rows: np.ndarray, costs: CostModel) -> np.ndarray:
    f = ctx.frame
    return round_trip_cost(costs, f.mid[rows], f.spread[rows], f.price_tick)


def fit_ceiling(
    ctx: FrameContext,
    train: np.ndarray,
    valid: np.ndarray,
    valid_probs: np.ndarray,
    *,
    horizon: int,
    costs: CostModel,
) -> CeilingFit:
    """Fit the fold's prior, policies and decision rule (see the module docstring)."""
    f = ctx.frame
    move = ctx.moves[horizon]
    model_policy = fit_expected_move_policy(valid_probs, move[valid], _costs_per_row(ctx, valid, costs), ctx.multiplier)
    bayes = bayes_probs(f)
    bayes_policy = rule = None
    if bayes is not None:
        sampled = train[_sampled(bayes[train], f.labels[train])]
        rule = fit_decision_rule(bayes[sampled], f.labels[sampled])
        bayes_policy = fit_expected_move_policy(
            bayes[sampled], move[sampled], _costs_per_row(ctx, sampled, costs), ctx.multiplier
        )
    return CeilingFit(class_frequencies(f.labels[train]), model_policy, bayes_policy, rule)


def ceiling_rows(
    fit: CeilingFit, frame: FeatureFrame, rows: np.ndarray, probs: np.ndarray, uncalibrated: np.ndarray | None
) -> CeilingRows:
    """The fold's per-row ceiling inputs on its test ``rows``."""
    bayes = bayes_probs(frame)
    b = bayes[rows] if bayes is not None else None
    se = frame.extras.get(BAYES_SE_COLUMN)
    return CeilingRows(
        rows=rows,
        probs=probs,
        prior=np.tile(fit.prior, (rows.shape[0], 1)),
        bayes=b,
        bayes_se=np.asarray(se, dtype=np.float64)[rows] if b is not None and se is not None else None,
        bayes_class=fit.decision_rule.apply(b) if b is not None and fit.decision_rule is not None else None,
        model_positions=fit.model_policy.positions(probs),
        bayes_positions=fit.bayes_policy.positions(b) if b is not None and fit.bayes_policy is not None else None,
        uncalibrated=uncalibrated,
    )


def _cat(parts: Sequence[np.ndarray | None]) -> np.ndarray | None:
    if not parts or any(p is None for p in parts):
        return None
    return np.concatenate([p for p in parts if p is not None])


def pool_ceiling_rows(parts: Sequence[CeilingRows]) -> CeilingRows:
    """Every fold's rows in one (an input missing in any fold is missing in the pool)."""
    return CeilingRows(
        rows=np.concatenate([p.rows for p in parts]),
        probs=np.concatenate([p.probs for p in parts]),
        prior=np.concatenate([p.prior for p in parts]),
        bayes=_cat([p.bayes for p in parts]),
        bayes_se=_cat([p.bayes_se for p in parts]),
        bayes_class=_cat([p.bayes_class for p in parts]),
        model_positions=np.concatenate([p.model_positions for p in parts]),
        bayes_positions=_cat([p.bayes_positions for p in parts]),
        uncalibrated=_cat([p.uncalibrated for p in parts]),
    )


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.shape[0] else math.nan


def score_ceiling(
    ctx: FrameContext,
    cr: CeilingRows,
    *,
    horizon: int,
    costs: CostModel,
    entry: EntryRule,
    n_bins: int,
) -> dict[str, float]:
    """Flat ceiling metrics of one set of test rows (keys in the module docstring and README)."""
    f = ctx.frame
    labels = f.labels[cr.rows]
    out: dict[str, float] = {}
    if cr.uncalibrated is not None:
        out["ece_uncalibrated"] = expected_calibration_error(labels, cr.uncalibrated, n_bins)
    policy = trade_rows(ctx, cr.rows, cr.model_positions, horizon, costs, entry)
    out["policy_net_pnl"] = policy.net.total
    out["policy_n_trades"] = float(policy.n_trades)
    out["policy_turnover"] = policy.n_trades / cr.rows.shape[0] if cr.rows.shape[0] else math.nan
    if cr.bayes is None:
        return out
    s = _sampled(cr.bayes, labels) & np.isfinite(cr.probs).all(axis=1)
    y = labels[s]
    ll_bayes = log_loss(y, cr.bayes[s])
    ll_model = log_loss(y, cr.probs[s])
    ll_prior = log_loss(y, cr.prior[s])
    out.update(
        {
            "bayes_rows": float(s.sum()),
            "bayes_log_loss": ll_bayes,
            "model_log_loss_bayes_rows": ll_model,
            "prior_log_loss": ll_prior,
            "info_captured": information_captured(ll_prior, ll_model, ll_bayes),
            "model_macro_f1_bayes_rows": macro_f1(y, cr.probs[s]),
        }
    )
    if cr.bayes_class is not None:
        out["bayes_macro_f1"] = macro_f1_of_classes(y, cr.bayes_class[s])
    if cr.bayes_se is not None:
        se = cr.bayes_se[s]
        se = se[np.isfinite(se)]
        out["bayes_se_max"] = float(se.max()) if se.shape[0] else math.nan
    move = ctx.moves[horizon][cr.rows][s]
    cost = _costs_per_row(ctx, cr.rows[s], costs)
    model_net = independent_trade_net(cr.model_positions[s], move, cost, ctx.multiplier)
    out["policy_n_trades_bayes_rows"] = float(model_net.shape[0])
    out["policy_net_pnl_per_trade"] = _mean(model_net)
    if cr.bayes_positions is not None:
        bayes_net = independent_trade_net(cr.bayes_positions[s], move, cost, ctx.multiplier)
        out["bayes_policy_n_trades"] = float(bayes_net.shape[0])
        out["bayes_policy_net_pnl"] = float(bayes_net.sum())
        out["bayes_policy_net_pnl_per_trade"] = _mean(bayes_net)
        out["policy_net_pnl_bayes_rows"] = float(model_net.sum())
    return out
