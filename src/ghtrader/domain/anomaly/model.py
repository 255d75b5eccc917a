"""Model and drift detectors: on predictions, resolved labels, model errors and feature windows.

- ``prediction_shift``: PSI of the predicted-class shares of each window of ``drift_window``
  rows against the reference shares (KL in the details).
- ``confidence_collapse``: ``1 - m / m_ref`` with ``m`` the rolling mean over ``model_window``
  rows of the margin over chance ``max(p) - 1/K`` and ``m_ref`` the reference margin (a NaN
  probability row counts as no margin); 1 means the model has become a coin.
- ``rolling_accuracy``: hit rate over the last ``model_window`` resolved predictions (low is bad).
- ``feature_drift``: per window, PSI (:func:`ghtrader.domain.drift.psi`), KS and KL of every
  feature against the training reference; the score is the worst feature's PSI.
- ``concept_drift``: ADWIN, DDM and Page-Hinkley (``domain/online``) on the 0/1 error stream;
  these are the streaming detectors the runtime uses, stepped once per resolved prediction
  (a decision-rate stream, not the tick stream).
- ``prior_shift``: PSI of each window's label shares against the reference label shares.

Windows are consecutive, non-overlapping and causal: a window's event is stamped at its last row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ghtrader.domain.anomaly.config import AnomalyConfig
from ghtrader.domain.anomaly.events import AnomalyEvent, Severity, episodes
from ghtrader.domain.drift import ks_2samp, psi
from ghtrader.domain.online import Adwin, Ddm, PageHinkley

__all__ = [
    "class_psi",
    "concept_drift_events",
    "confidence_collapse_events",
    "confidence_scores",
    "feature_drift_events",
    "kl_divergence",
    "prediction_shift_events",
    "prior_shift_events",
    "rolling_accuracy_events",
    "windows",
]

_EPS = 1e-4


def windows(n: int, size: int) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` windows of ``size`` rows (a shorter series: one window when it
    has at least half a window)."""
    out = [(s, s + size) for s in range(0, n - size + 1, size)]
    if not out and n >= max(2, size // 2):
        out = [(0, n)]
    return out


def _shares(codes: np.ndarray, k: int) -> np.ndarray:
    c = np.asarray(codes, dtype=np.int64)
    c = c[(c >= 0) & (c < k)]
    return np.bincount(c, minlength=k) / max(c.shape[0], 1)


def class_psi(reference_shares: np.ndarray, shares: np.ndarray) -> tuple[float, float]:
    """``(PSI, KL(recent || reference))`` of two class-share vectors (floored at 1e-4)."""
    p = np.maximum(np.asarray(reference_shares, float), _EPS)
    q = np.maximum(np.asarray(shares, float), _EPS)
    return float(np.sum((q - p) * np.log(q / p))), float(np.sum(q * np.log(q / p)))


def kl_divergence(reference: np.ndarray, recent: np.ndarray, bins: int = 10) -> float:
    """``KL(recent || reference)`` over the reference's quantile bins (open outer bins)."""
    ref, new = np.asarray(reference, float), np.asarray(recent, float)
    ref, new = ref[np.isfinite(ref)], new[np.isfinite(new)]
    if ref.shape[0] == 0 or new.shape[0] == 0:
        return math.nan
    edges = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    p = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.shape[0] + 1) / ref.shape[0]
    q = np.bincount(np.searchsorted(edges, new, side="right"), minlength=edges.shape[0] + 1) / new.shape[0]
    p, q = np.maximum(p, _EPS), np.maximum(q, _EPS)
    return float(np.sum(q * np.log(q / p)))


def _window_events(
    ts: np.ndarray, spans: list[tuple[int, int]], scores: list[float], details: list[dict], kind: str,
    symbol: str, method: str, config: AnomalyConfig,
) -> list[AnomalyEvent]:  # fmt: skip
    t = config.threshold(kind)
    out = []
    for (s, e), score, det in zip(spans, scores, details, strict=True):
        sev = t.grade_one(score)
        if sev >= 0:
            out.append(AnomalyEvent(int(ts[e - 1]), kind, Severity(sev), symbol,
                                    {**det, "rows": e - s, "start_ns": int(ts[s])}, float(score), method))  # fmt: skip
    return out


def prediction_shift_events(
    ts: np.ndarray, predicted: np.ndarray, reference_shares: np.ndarray, symbol: str, config: AnomalyConfig
) -> list[AnomalyEvent]:
    """``prediction_shift`` per window of predicted class codes (0..K-1)."""
    k = len(reference_shares)
    spans = windows(len(predicted), config.drift_window)
    stats = [class_psi(reference_shares, _shares(predicted[s:e], k)) for s, e in spans]
    return _window_events(ts, spans, [p for p, _ in stats], [{"kl": kl} for _, kl in stats],
                          "prediction_shift", symbol, "psi", config)  # fmt: skip


def prior_shift_events(
    ts: np.ndarray, labels: np.ndarray, reference_shares: np.ndarray, symbol: str, config: AnomalyConfig
) -> list[AnomalyEvent]:
    """``prior_shift`` per window of resolved label codes (negative codes: unresolved, skipped)."""
    lab = np.asarray(labels, dtype=np.int64)
    keep = lab >= 0
    lab, t = lab[keep], np.asarray(ts)[keep]
    k = len(reference_shares)
    spans = windows(lab.shape[0], config.drift_window)
    stats = [class_psi(reference_shares, _shares(lab[s:e], k)) for s, e in spans]
    details = [
        {"kl": kl, "shares": _shares(lab[s:e], k).round(4).tolist()}
        for (s, e), (_, kl) in zip(spans, stats, strict=True)
    ]
    return _window_events(t, spans, [p for p, _ in stats], details, "prior_shift", symbol, "psi", config)


def _rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    c = np.concatenate(([0.0], np.cumsum(x)))
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] >= window:
        out[window - 1 :] = (c[window:] - c[:-window]) / window
    return out


def confidence_scores(probs: np.ndarray, reference_margin: float, window: int) -> np.ndarray:
    """Per-row ``1 - rolling mean margin / reference margin`` (module docstring)."""
    p = np.asarray(probs, dtype=np.float64)
    k = p.shape[1]
    margin = np.max(np.nan_to_num(p, nan=0.0, posinf=0.0, neginf=0.0), axis=1) - 1.0 / k
    bad = ~np.all(np.isfinite(p), axis=1)
    margin = np.where(bad, 0.0, np.clip(margin, 0.0, 1.0))
    return 1.0 - _rolling_mean(margin, window) / max(float(reference_margin), 1e-9)


def confidence_collapse_events(
    ts: np.ndarray, probs: np.ndarray, reference_margin: float, symbol: str, config: AnomalyConfig
) -> list[AnomalyEvent]:
    score = confidence_scores(probs, reference_margin, config.model_window)
    t = config.threshold("confidence_collapse")
    return episodes(ts, t.grade(score), score, anomaly_type="confidence_collapse", symbol=symbol,
                    method="rolling_margin", details={"reference_margin": reference_margin,
                                                      "window": config.model_window})  # fmt: skip


def rolling_accuracy_events(
    ts: np.ndarray, predicted: np.ndarray, labels: np.ndarray, symbol: str, config: AnomalyConfig
) -> list[AnomalyEvent]:
    """``rolling_accuracy`` over resolved rows (label >= 0) only."""
    lab = np.asarray(labels, dtype=np.int64)
    keep = lab >= 0
    hit = (np.asarray(predicted, dtype=np.int64)[keep] == lab[keep]).astype(np.float64)
    acc = _rolling_mean(hit, config.model_window)
    t = config.threshold("rolling_accuracy")
    return episodes(np.asarray(ts)[keep], t.grade(acc), acc, anomaly_type="rolling_accuracy", symbol=symbol,
                    method="rolling_hit_rate", details={"window": config.model_window}, worst="min")  # fmt: skip


def feature_drift_events(
    ts: np.ndarray,
    features: np.ndarray,
    names: Sequence[str],
    reference: np.ndarray,
    symbol: str,
    config: AnomalyConfig,
) -> list[AnomalyEvent]:
    """``feature_drift`` per window: the worst feature by PSI, with its KS and KL."""
    x, ref = np.asarray(features, float), np.asarray(reference, float)
    spans = windows(x.shape[0], config.drift_window)
    scores, details = [], []
    for s, e in spans:
        per = [psi(ref[:, j], x[s:e, j], config.drift_bins) for j in range(x.shape[1])]
        j = int(np.nanargmax(per)) if np.any(np.isfinite(per)) else 0
        d, pv = ks_2samp(ref[:, j], x[s:e, j])
        scores.append(per[j])
        details.append({"feature": names[j], "psi": per[j], "ks": d, "ks_pvalue": pv,
                        "kl": kl_divergence(ref[:, j], x[s:e, j], config.drift_bins),
                        "n_drifted": int(np.sum(np.asarray(per) >= config.threshold("feature_drift").warning))})  # fmt: skip
    return _window_events(ts, spans, scores, details, "feature_drift", symbol, "psi_ks_kl", config)


def concept_drift_events(
    ts: np.ndarray, errors: np.ndarray, symbol: str, config: AnomalyConfig,
    methods: Sequence[str] = ("adwin", "ddm", "page_hinkley"),
) -> list[AnomalyEvent]:  # fmt: skip
    """``concept_drift`` at each detection of each method on the 0/1 error stream (NaN skipped)."""
    makers = {
        "adwin": lambda: Adwin(),
        "ddm": lambda: Ddm(),
        "page_hinkley": lambda: PageHinkley(delta=0.01, threshold=50.0),
    }
    t = config.threshold("concept_drift")
    out = []
    err = np.asarray(errors, dtype=np.float64)
    for name in methods:
        det = makers[name]()
        hits = 0
        for i, e in enumerate(err.tolist()):
            if det.update(e):
                hits += 1
                sev = t.grade_one(1.0)
                if sev >= 0:
                    out.append(AnomalyEvent(int(ts[i]), "concept_drift", Severity(sev), symbol,
                                            {"detection": hits, "row": i}, 1.0, name))  # fmt: skip
    return sorted(out, key=lambda ev: ev.datetime_ns)
