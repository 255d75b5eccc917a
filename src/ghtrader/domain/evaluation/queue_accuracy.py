"""Score a queue model's fill predictions against the order-level book's true FIFO fills.

Inputs are per injected order: the true fill time (NaN = no fill within the horizon, as
:func:`ghtrader.domain.market_sim.l3_book.simulate_l3_day` reports it), the injection time, the
distance in ticks behind the own-side best at injection, and the model's predicted fill
probability within the same horizon and predicted fill time (NaN = the model predicts no fill).
Per distance bucket and overall: fill / no-fill AUC (Mann-Whitney, ties counted half), Brier
score, time-to-fill MAE over orders that both the truth and the model fill, and the fill-rate
bias (mean predicted probability minus the true fill rate).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ghtrader.domain.evaluation._checks import EvaluationError, as_vector

__all__ = ["QueueScore", "fill_auc", "score_queue_model"]


@dataclass(frozen=True)
class QueueScore:
    """Scores of one bucket of injected orders (``distance`` = its label, e.g. ``"0"``, ``"3+"``, ``"all"``)."""

    distance: str
    n: int
    true_fill_rate: float
    mean_predicted: float
    fill_rate_bias: float
    auc: float  # NaN when the bucket has only fills or only no-fills
    brier: float
    ttf_mae_s: float  # NaN when no order is filled by both
    n_ttf: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def fill_auc(filled: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of ``score`` separating filled (True) from unfilled orders; NaN if one class is empty."""
    y = np.asarray(filled, dtype=bool)
    s = np.asarray(score, dtype=np.float64)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(s.size)
    # average ranks (1-based) over runs of tied scores
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _score(
    label: str, true_t: np.ndarray, t0: np.ndarray, prob: np.ndarray, pred_t: np.ndarray, rank: np.ndarray
) -> QueueScore:
    filled = np.isfinite(true_t)
    n = int(true_t.size)
    if n == 0:
        return QueueScore(label, 0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, 0)
    both = filled & np.isfinite(pred_t)
    ttf = np.abs((pred_t[both] - t0[both]) - (true_t[both] - t0[both]))
    rate = float(filled.mean())
    mean_p = float(prob.mean())
    return QueueScore(
        distance=label,
        n=n,
        true_fill_rate=rate,
        mean_predicted=mean_p,
        fill_rate_bias=mean_p - rate,
        auc=fill_auc(filled, rank),
        brier=float(np.mean((prob - filled) ** 2)),
        ttf_mae_s=float(ttf.mean()) if ttf.size else math.nan,
        n_ttf=int(ttf.size),
    )


def score_queue_model(
    true_fill_t: np.ndarray,
    inject_t: np.ndarray,
    distance_ticks: np.ndarray,
    predicted_prob: np.ndarray,
    predicted_fill_t: np.ndarray,
    *,
    max_distance: int = 3,
    rank_score: np.ndarray | None = None,
) -> list[QueueScore]:
    """Scores per distance bucket ``0 .. max_distance - 1``, ``max_distance+`` (negative distances,
    inside the spread, join bucket 0), then ``all``.

    The AUC ranks orders by ``rank_score`` when given (e.g. a deterministic model's earliness of
    its predicted fill), else by ``predicted_prob``; the Brier score always uses ``predicted_prob``."""
    t_true = as_vector(true_fill_t, "true_fill_t")
    n = t_true.shape[0]
    t0 = as_vector(inject_t, "inject_t", n)
    dist = as_vector(distance_ticks, "distance_ticks", n, dtype=np.int64)
    prob = as_vector(predicted_prob, "predicted_prob", n)
    t_pred = as_vector(predicted_fill_t, "predicted_fill_t", n)
    rank = prob if rank_score is None else as_vector(rank_score, "rank_score", n)
    if not np.all(np.isfinite(t0)):
        raise EvaluationError("inject_t must be finite")
    if not np.all((prob >= 0.0) & (prob <= 1.0)):
        raise EvaluationError("predicted_prob must lie in [0, 1]")
    if isinstance(max_distance, bool) or not isinstance(max_distance, int) or max_distance < 1:
        raise EvaluationError(f"invalid max_distance={max_distance!r}: expected an int >= 1")
    bucket = np.clip(dist, 0, max_distance)
    out = []
    for b in range(max_distance + 1):
        m = bucket == b
        label = f"{b}+" if b == max_distance else str(b)
        out.append(_score(label, t_true[m], t0[m], prob[m], t_pred[m], rank[m]))
    out.append(_score("all", t_true, t0, prob, t_pred, rank))
    return out
