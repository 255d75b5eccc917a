"""Evaluation of direction models: classification and calibration metrics, cost-adjusted
trading PnL, alpha decay across horizons, walk-forward splits, latency summaries and regimes.

Pure NumPy (one numba kernel); arrays in, frozen result objects with ``to_dict`` out.
"""

from ghtrader.domain.evaluation._checks import EvaluationError
from ghtrader.domain.evaluation.classification import (
    CLASS_LABELS,
    CalibrationBins,
    ClassificationMetrics,
    accuracy,
    brier_score,
    calibration_bins,
    classification_metrics,
    confusion_matrix,
    expected_calibration_error,
    log_loss,
    macro_f1,
    macro_f1_of_classes,
    maximum_calibration_error,
    per_class_scores,
)
from ghtrader.domain.evaluation.decay import (
    DEFAULT_DECAY_HORIZONS,
    DecayReport,
    alpha_decay,
    directional_accuracy,
    half_life_horizon,
    information_coefficient,
)
from ghtrader.domain.evaluation.latency import LatencyStats, latency_stats
from ghtrader.domain.evaluation.regimes import (
    SESSION_NAMES,
    VOL_REGIME_NAMES,
    VolRegimes,
    fit_vol_regimes,
    group_masks,
    rolling_realised_vol,
    session_codes,
)
from ghtrader.domain.evaluation.signals import (
    SignalRule,
    edge_score,
    positions_from_probs,
)
from ghtrader.domain.evaluation.trading import (
    CostModel,
    EntryRule,
    PnlStats,
    TradeLog,
    TradingReport,
    evaluate_positions,
    evaluate_signal,
    max_drawdown,
    pnl_stats,
    profit_factor,
)
from ghtrader.domain.evaluation.walk_forward import (
    Split,
    WalkForwardConfig,
    WalkForwardPlan,
    walk_forward_splits,
)

__all__ = [
    "CLASS_LABELS",
    "DEFAULT_DECAY_HORIZONS",
    "SESSION_NAMES",
    "VOL_REGIME_NAMES",
    "CalibrationBins",
    "ClassificationMetrics",
    "CostModel",
    "DecayReport",
    "EntryRule",
    "EvaluationError",
    "LatencyStats",
    "PnlStats",
    "SignalRule",
    "Split",
    "TradeLog",
    "TradingReport",
    "VolRegimes",
    "WalkForwardConfig",
    "WalkForwardPlan",
    "accuracy",
    "alpha_decay",
    "brier_score",
    "calibration_bins",
    "classification_metrics",
    "confusion_matrix",
    "directional_accuracy",
    "edge_score",
    "evaluate_positions",
    "evaluate_signal",
    "expected_calibration_error",
    "fit_vol_regimes",
    "group_masks",
    "half_life_horizon",
    "information_coefficient",
    "latency_stats",
    "log_loss",
    "macro_f1",
    "macro_f1_of_classes",
    "max_drawdown",
    "maximum_calibration_error",
    "per_class_scores",
    "pnl_stats",
    "positions_from_probs",
    "profit_factor",
    "rolling_realised_vol",
    "session_codes",
    "walk_forward_splits",
]
