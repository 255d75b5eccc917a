"""Classification metrics of 3-class direction probabilities (0 = DOWN, 1 = FLAT, 2 = UP).

Rows whose label or any probability is NaN are dropped first; every result reports ``n`` (rows
used) and ``n_dropped``. Definitions:

- confusion matrix ``C[i, j]``: rows with true class ``i`` predicted ``j`` (prediction = argmax).
- precision_k = C[k, k] / sum_i C[i, k], recall_k = C[k, k] / sum_j C[k, j], F1 their harmonic
  mean; a zero denominator gives 0. Macro-F1 is the plain mean of the three F1 values: the class
  set {DOWN, FLAT, UP} is fixed, so a class absent from a fold's labels counts with F1 0 (0 if it
  was predicted: every such prediction is a false positive; 0 too if it was neither seen nor
  predicted). Why: every fold and every model is then averaged over the same three terms, and
  the score moves by O(1/n) when one prediction changes. Dropping absent classes instead would
  make one stray UP prediction in a fold without UP rows cost a third of the score (2 terms ->
  3), and score folds with different class sets on different scales. The price: a fold missing
  a class has a ceiling of 2/3, the same for every model on it (``classes_absent`` names them).
- log-loss: ``-mean(log(clip(p[y] / sum(p), eps, 1)))``: rows are renormalised to sum to 1, then
  the true-class probability is clipped so a confident miss costs ``-log(eps)``, not infinity.
- Brier (multiclass): ``mean(sum_k (p_k - [y == k])^2)``, in [0, 2].
- ECE / MCE on the top-class confidence ``max_k p_k`` over ``n_bins`` equal-width bins
  ``(i/B, (i+1)/B]`` (a confidence of exactly 0 falls in the first bin):
  ``ECE = sum_b (n_b / n) |acc_b - conf_b|``, ``MCE = max_b |acc_b - conf_b|`` over non-empty bins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ghtrader.domain.evaluation._checks import (
    EvaluationError,
    as_probs,
    as_vector,
    check_finite,
    check_positive_int,
)

__all__ = [
    "CLASS_LABELS",
    "N_CLASSES",
    "CalibrationBins",
    "ClassificationMetrics",
    "accuracy",
    "brier_score",
    "calibration_bins",
    "classification_metrics",
    "clean_rows",
    "confusion_matrix",
    "expected_calibration_error",
    "log_loss",
    "macro_f1",
    "macro_f1_of_classes",
    "maximum_calibration_error",
    "per_class_scores",
]

N_CLASSES = 3
CLASS_LABELS: tuple[str, str, str] = ("DOWN", "FLAT", "UP")
DEFAULT_N_BINS = 15
DEFAULT_EPS = 1e-15


def clean_rows(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """``(y, p, n_dropped)``: int64 labels and float64 ``(m, 3)`` probabilities of the rows where
    neither the label nor any probability is NaN. Labels must be 0, 1 or 2."""
    y = as_vector(labels, "labels")
    p = as_probs(probs, y.shape[0])
    keep = ~np.isnan(y) & ~np.isnan(p).any(axis=1)
    y_kept = y[keep]
    if not np.isin(y_kept, (0.0, 1.0, 2.0)).all():
        bad = y_kept[~np.isin(y_kept, (0.0, 1.0, 2.0))][0]
        raise EvaluationError(f"invalid label {bad!r}: expected 0 (DOWN), 1 (FLAT), 2 (UP) or NaN")
    if (p[keep] < 0).any():
        raise EvaluationError("invalid probs: negative probability")
    return y_kept.astype(np.int64), p[keep], int(y.shape[0] - int(keep.sum()))


def confusion_matrix(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """``(3, 3)`` int64 counts, rows = true class, columns = predicted (argmax) class."""
    y, p, _ = clean_rows(labels, probs)
    return _confusion(y, p.argmax(axis=1))


def _confusion(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    return np.bincount(y * N_CLASSES + pred, minlength=N_CLASSES * N_CLASSES).reshape(N_CLASSES, N_CLASSES)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _scores_from_confusion(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    actual = cm.sum(axis=1).astype(np.float64)
    precision = _safe_ratio(tp, predicted)
    recall = _safe_ratio(tp, actual)
    f1 = _safe_ratio(2.0 * precision * recall, precision + recall)
    macro = float(f1.mean()) if actual.sum() > 0 else math.nan
    return precision, recall, f1, macro


def per_class_scores(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(precision, recall, f1)``, each of shape (3,) in DOWN/FLAT/UP order."""
    precision, recall, f1, _ = _scores_from_confusion(confusion_matrix(labels, probs))
    return precision, recall, f1


def accuracy(labels: np.ndarray, probs: np.ndarray) -> float:
    """Share of rows whose argmax class is the label (NaN when no row is usable)."""
    y, p, _ = clean_rows(labels, probs)
    return float(np.mean(p.argmax(axis=1) == y)) if y.shape[0] else math.nan


def macro_f1(labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean F1 over the fixed classes DOWN, FLAT, UP; a class absent from the labels scores 0
    (see the module docstring for why). NaN when no row is usable."""
    return _scores_from_confusion(confusion_matrix(labels, probs))[3]


def macro_f1_of_classes(labels: np.ndarray, predicted: np.ndarray) -> float:
    """:func:`macro_f1` of predicted class codes (0/1/2) instead of probabilities, for hard
    classifiers such as a thresholded oracle; rows with a NaN label or prediction are dropped."""
    y = as_vector(labels, "labels")
    q = as_vector(predicted, "predicted", y.shape[0])
    keep = ~np.isnan(y) & ~np.isnan(q)
    y, q = y[keep], q[keep]
    for name, v in (("labels", y), ("predicted", q)):
        if not np.isin(v, (0.0, 1.0, 2.0)).all():
            raise EvaluationError(
                f"invalid {name} value {v[~np.isin(v, (0.0, 1.0, 2.0))][0]!r}: expected 0, 1, 2 or NaN"
            )
    return _scores_from_confusion(_confusion(y.astype(np.int64), q.astype(np.int64)))[3]


def _log_loss(y: np.ndarray, p: np.ndarray, eps: float) -> float:
    if y.shape[0] == 0:
        return math.nan
    total = p.sum(axis=1)
    p_true = np.divide(p[np.arange(y.shape[0]), y], total, out=np.zeros(y.shape[0]), where=total > 0)
    return float(-np.mean(np.log(np.clip(p_true, eps, 1.0))))


def log_loss(labels: np.ndarray, probs: np.ndarray, eps: float = DEFAULT_EPS) -> float:
    """Multiclass cross-entropy with rows renormalised and the true-class probability clipped."""
    eps = check_finite(eps, "eps", positive=True)
    if eps >= 1.0:
        raise EvaluationError(f"invalid eps={eps!r}: expected a number in (0, 1)")
    y, p, _ = clean_rows(labels, probs)
    return _log_loss(y, p, eps)


def _brier(y: np.ndarray, p: np.ndarray) -> float:
    if y.shape[0] == 0:
        return math.nan
    onehot = np.eye(N_CLASSES)[y]
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def brier_score(labels: np.ndarray, probs: np.ndarray) -> float:
    """Multiclass Brier score: mean squared distance to the one-hot label, summed over classes."""
    y, p, _ = clean_rows(labels, probs)
    return _brier(y, p)


@dataclass(frozen=True)
class CalibrationBins:
    """Reliability-diagram data of the top-class confidence.

    ``edges`` has ``n_bins + 1`` entries; per bin: ``count``, ``mean_confidence`` and
    ``accuracy`` (NaN for an empty bin).
    """

    edges: np.ndarray
    count: np.ndarray
    mean_confidence: np.ndarray
    accuracy: np.ndarray

    @property
    def n(self) -> int:
        return int(self.count.sum())

    @property
    def ece(self) -> float:
        """Expected calibration error (count-weighted mean gap)."""
        if self.n == 0:
            return math.nan
        gap = np.abs(self.accuracy - self.mean_confidence)
        used = self.count > 0
        return float(np.sum(self.count[used] * gap[used]) / self.n)

    @property
    def mce(self) -> float:
        """Maximum calibration error (largest gap over non-empty bins)."""
        used = self.count > 0
        if not used.any():
            return math.nan
        return float(np.max(np.abs(self.accuracy[used] - self.mean_confidence[used])))

    def to_dict(self) -> dict[str, list[float]]:
        return {
            "edges": self.edges.tolist(),
            "count": self.count.tolist(),
            "mean_confidence": self.mean_confidence.tolist(),
            "accuracy": self.accuracy.tolist(),
        }


def _bins(y: np.ndarray, p: np.ndarray, n_bins: int) -> CalibrationBins:
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    idx = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)
    hit_sum = np.bincount(idx, weights=correct, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(count > 0, conf_sum / count, np.nan)
        acc = np.where(count > 0, hit_sum / count, np.nan)
    return CalibrationBins(np.linspace(0.0, 1.0, n_bins + 1), count.astype(np.int64), mean_conf, acc)


def calibration_bins(labels: np.ndarray, probs: np.ndarray, n_bins: int = DEFAULT_N_BINS) -> CalibrationBins:
    """Equal-width bins of the top-class confidence (see the module docstring)."""
    n_bins = check_positive_int(n_bins, "n_bins")
    y, p, _ = clean_rows(labels, probs)
    return _bins(y, p, n_bins)


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, n_bins: int = DEFAULT_N_BINS) -> float:
    """ECE of the top-class confidence."""
    return calibration_bins(labels, probs, n_bins).ece


def maximum_calibration_error(labels: np.ndarray, probs: np.ndarray, n_bins: int = DEFAULT_N_BINS) -> float:
    """MCE of the top-class confidence."""
    return calibration_bins(labels, probs, n_bins).mce


@dataclass(frozen=True)
class ClassificationMetrics:
    """Every classification metric of one prediction set (arrays in DOWN/FLAT/UP order)."""

    n: int
    n_dropped: int
    accuracy: float
    macro_f1: float
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    confusion: np.ndarray
    log_loss: float
    brier: float
    ece: float
    mce: float
    calibration: CalibrationBins

    @property
    def classes_absent(self) -> tuple[str, ...]:
        """Classes with no labelled row: each scores F1 0, capping macro-F1 below 1."""
        return tuple(name for k, name in enumerate(CLASS_LABELS) if self.support[k] == 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (per-class values keyed by class name)."""
        per_class = {
            name: {
                "precision": float(self.precision[k]),
                "recall": float(self.recall[k]),
                "f1": float(self.f1[k]),
                "support": int(self.support[k]),
            }
            for k, name in enumerate(CLASS_LABELS)
        }
        return {
            "n": self.n,
            "n_dropped": self.n_dropped,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "log_loss": self.log_loss,
            "brier": self.brier,
            "ece": self.ece,
            "mce": self.mce,
            "classes_absent": list(self.classes_absent),
            "per_class": per_class,
            "confusion": self.confusion.tolist(),
            "calibration": self.calibration.to_dict(),
        }


def classification_metrics(
    labels: np.ndarray, probs: np.ndarray, *, n_bins: int = DEFAULT_N_BINS, eps: float = DEFAULT_EPS
) -> ClassificationMetrics:
    """All metrics at once (one NaN filter, one pass per metric)."""
    n_bins = check_positive_int(n_bins, "n_bins")
    eps = check_finite(eps, "eps", positive=True)
    if eps >= 1.0:
        raise EvaluationError(f"invalid eps={eps!r}: expected a number in (0, 1)")
    y, p, dropped = clean_rows(labels, probs)
    pred = p.argmax(axis=1) if y.shape[0] else np.zeros(0, dtype=np.int64)
    cm = _confusion(y, pred)
    precision, recall, f1, macro = _scores_from_confusion(cm)
    bins = _bins(y, p, n_bins)
    return ClassificationMetrics(
        n=int(y.shape[0]),
        n_dropped=dropped,
        accuracy=float(np.mean(pred == y)) if y.shape[0] else math.nan,
        macro_f1=macro,
        precision=precision,
        recall=recall,
        f1=f1,
        support=cm.sum(axis=1),
        confusion=cm,
        log_loss=_log_loss(y, p, eps),
        brier=_brier(y, p),
        ece=bins.ece,
        mce=bins.mce,
        calibration=bins,
    )
