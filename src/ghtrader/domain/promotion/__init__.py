"""Model promotion: the staged statuses a model version moves through and the gate that
decides whether a candidate replaces the production model (pure; no I/O, no clock)."""

from ghtrader.domain.promotion.gate import (
    GateCheck,
    GateDecision,
    GateMetrics,
    GateThresholds,
    PromotionGate,
)
from ghtrader.domain.promotion.stages import (
    MODEL_STATUSES,
    PRE_PRODUCTION,
    ModelStatus,
    PromotionError,
    allowed_transitions,
    check_transition,
    is_allowed,
)

__all__ = [
    "MODEL_STATUSES",
    "PRE_PRODUCTION",
    "GateCheck",
    "GateDecision",
    "GateMetrics",
    "GateThresholds",
    "ModelStatus",
    "PromotionError",
    "PromotionGate",
    "allowed_transitions",
    "check_transition",
    "is_allowed",
]
