"""Ensembles of direction models: soft voting (equal / weighted), stacking on out-of-fold
predictions, blending on a holdout, causal dynamic weights from recent log-loss or Sharpe,
regime-conditional weights, diversity metrics and the members' disagreement as an uncertainty.

Pure NumPy (numba kernels for the dynamic weights). Member probabilities are ``(rows, members, 3)`` arrays.
"""

from ghtrader.domain.ensembles._checks import EnsembleError
from ghtrader.domain.ensembles.combine import disagreement, soft_vote
from ghtrader.domain.ensembles.diversity import disagreement_rate, prediction_correlation
from ghtrader.domain.ensembles.dynamic import dynamic_weights, sharpe_weights
from ghtrader.domain.ensembles.regime import fit_regime_weights, regime_row_weights, regime_vote
from ghtrader.domain.ensembles.stacking import (
    EPS,
    MetaLearner,
    fit_meta_learner,
    holdout_split,
    oof_splits,
    stack_features,
)

__all__ = [
    "EPS",
    "EnsembleError",
    "MetaLearner",
    "disagreement",
    "disagreement_rate",
    "dynamic_weights",
    "fit_meta_learner",
    "fit_regime_weights",
    "holdout_split",
    "oof_splits",
    "prediction_correlation",
    "regime_row_weights",
    "regime_vote",
    "sharpe_weights",
    "soft_vote",
    "stack_features",
]
