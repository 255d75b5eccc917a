"""Anomaly events: severities, the event record and the run-to-event compaction.

A detector scores every row (higher is worse, or lower for the ``below`` thresholds of
:mod:`ghtrader.domain.anomaly.config`) and maps scores to a per-row severity code
(``NONE`` = -1, ``INFO``, ``WARNING``, ``CRITICAL``). :func:`episodes` turns each maximal run
of consecutive flagged rows into ONE :class:`AnomalyEvent` stamped at the run's first row, with
the run's worst severity and score, so a spike is one event and a 10-minute crisis is one too.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

__all__ = [
    "ANOMALY_TYPES",
    "DRIFT_TYPES",
    "NONE",
    "AnomalyEvent",
    "Severity",
    "episodes",
    "severity_name",
]

NONE = -1  # per-row code of an unflagged row


class Severity(IntEnum):
    """How bad an anomaly is: INFO (note), WARNING (log and flag), CRITICAL (halt trading)."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2


def severity_name(code: int) -> str:
    """``"INFO"`` / ``"WARNING"`` / ``"CRITICAL"`` of a severity code."""
    return Severity(int(code)).name


#: Every anomaly type a detector emits, by family.
ANOMALY_TYPES: Mapping[str, tuple[str, ...]] = {
    "data_quality": (
        "price_spike", "volume_spike", "tick_gap", "stale_quote", "crossed_book", "bad_price", "missing_quote",
        "ingestion_lag",
    ),
    "market": ("spread_widening", "depth_depletion", "volume_profile", "correlation_break"),
    "model": ("prediction_shift", "confidence_collapse", "rolling_accuracy"),
    "execution": ("slippage", "fill_rate", "rejection_burst", "latency_spike"),
    "drift": ("feature_drift", "concept_drift", "prior_shift"),
}  # fmt: skip
#: Types whose response is "recalibrate / fall back" (below CRITICAL).
DRIFT_TYPES: frozenset[str] = frozenset(ANOMALY_TYPES["drift"] + ("prediction_shift",))


@dataclass(frozen=True, slots=True)
class AnomalyEvent:
    """One detection.

    Attributes:
        datetime_ns: epoch ns (UTC) of the first row of the anomaly.
        anomaly_type: one of :data:`ANOMALY_TYPES`.
        severity: INFO, WARNING or CRITICAL.
        symbol: the instrument (or ``"CU/AU/AG"`` style group for cross-asset checks).
        details: JSON-able facts (rows, end time, the baseline, thresholds crossed ...).
        drift_score: the detector's worst score over the anomaly (its units depend on the type).
        detection_method: how it was found (``"robust_z"``, ``"psi"``, ``"adwin"`` ...).
    """

    datetime_ns: int
    anomaly_type: str
    severity: Severity
    symbol: str
    details: Mapping[str, Any] = field(default_factory=dict)
    drift_score: float = math.nan
    detection_method: str = ""

    @property
    def event_id(self) -> str:
        """Deterministic identity: a rescan of the same data finds the same id (idempotent writes)."""
        key = f"{self.datetime_ns}|{self.anomaly_type}|{self.symbol}|{self.detection_method}"
        return hashlib.sha1(key.encode()).hexdigest()[:20]

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id, "datetime_ns": self.datetime_ns, "anomaly_type": self.anomaly_type,
            "severity": self.severity.name, "symbol": self.symbol, "details": dict(self.details),
            "drift_score": None if not math.isfinite(self.drift_score) else self.drift_score,
            "detection_method": self.detection_method,
        }  # fmt: skip

    def details_json(self) -> str:
        return json.dumps(dict(self.details), sort_keys=True, default=str)


def episodes(
    datetime_ns: np.ndarray,
    severity: np.ndarray,
    score: np.ndarray,
    *,
    anomaly_type: str,
    symbol: str,
    method: str,
    details: Mapping[str, Any] | None = None,
    worst: str = "max",
) -> list[AnomalyEvent]:
    """One event per maximal run of rows with ``severity >= INFO`` (vectorised; module docstring).

    ``worst`` says which end of the score is worse within a run: ``"max"`` or ``"min"``."""
    sev = np.asarray(severity, dtype=np.int64)
    flagged = sev >= 0
    if not flagged.any():
        return []
    edges = np.diff(np.concatenate(([0], flagged.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # [start, end)
    run_sev = np.maximum.reduceat(sev, starts)
    sc = np.asarray(score, dtype=np.float64)
    filled = np.where(np.isfinite(sc), sc, -np.inf if worst == "max" else np.inf)
    run_score = (np.maximum if worst == "max" else np.minimum).reduceat(filled, starts)
    ts = np.asarray(datetime_ns, dtype=np.int64)
    base = dict(details or {})
    out = []
    for s, e, v, sc_ in zip(starts.tolist(), ends.tolist(), run_sev.tolist(), run_score.tolist(), strict=True):
        out.append(
            AnomalyEvent(
                datetime_ns=int(ts[s]), anomaly_type=anomaly_type, severity=Severity(v), symbol=symbol,
                details={**base, "rows": e - s, "end_ns": int(ts[e - 1])},
                drift_score=float(sc_) if math.isfinite(sc_) else math.nan, detection_method=method,
            )
        )  # fmt: skip
    return out
