"""Anomaly and drift detection: data quality, market, model, execution and drift detectors that
turn tick batches, predictions and journals into :class:`AnomalyEvent` records with a severity.

Pure domain code (NumPy + numba, causal). See docs/alerts.md.
"""

from ghtrader.domain.anomaly.config import DEFAULT_THRESHOLDS, AnomalyConfig, AnomalyConfigError, Threshold
from ghtrader.domain.anomaly.events import (
    ANOMALY_TYPES,
    DRIFT_TYPES,
    NONE,
    AnomalyEvent,
    Severity,
    episodes,
    severity_name,
)
from ghtrader.domain.anomaly.scan import scan_day

__all__ = [
    "ANOMALY_TYPES",
    "DEFAULT_THRESHOLDS",
    "DRIFT_TYPES",
    "NONE",
    "AnomalyConfig",
    "AnomalyConfigError",
    "AnomalyEvent",
    "Severity",
    "Threshold",
    "episodes",
    "scan_day",
    "severity_name",
]
