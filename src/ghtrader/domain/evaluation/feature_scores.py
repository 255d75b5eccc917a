"""Feature scores for selection: mutual information with the class label, and a greedy
correlation-redundancy filter.

Mutual information ``I(X; Y)`` (nats) of one feature with the labels 0/1/2: the feature is cut
into at most ``bins`` equal-count bins (quantile edges of its finite values; ties merge bins),
and ``I = sum p(b, y) ln(p(b, y) / (p(b) p(y)))`` over the rows where both are defined. The
plug-in estimate is biased upwards by about ``(B - 1)(C - 1) / (2 n)``; that Miller-Madow term
is subtracted, so an independent feature scores about 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ghtrader.domain.evaluation._checks import EvaluationError

__all__ = ["correlation_filter", "mutual_information"]


def mutual_information(x: np.ndarray, labels: np.ndarray, bins: int = 16) -> float:
    """Bias-corrected binned mutual information of ``x`` with ``labels`` (NaN rows skipped);
    0.0 when fewer than ``2 * bins`` rows are usable or ``x`` is constant."""
    if bins < 2:
        raise EvaluationError(f"bins must be >= 2 (got {bins})")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok].astype(np.int64)
    n = x.shape[0]
    if n < 2 * bins or x.min() == x.max():
        return 0.0
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    b = np.searchsorted(edges, x, side="right")
    n_b = int(edges.shape[0]) + 1
    if n_b < 2:
        return 0.0
    n_y = int(y.max()) + 1
    joint = np.bincount(b * n_y + y, minlength=n_b * n_y).reshape(n_b, n_y).astype(np.float64) / n
    pb = joint.sum(axis=1, keepdims=True)
    py = joint.sum(axis=0, keepdims=True)
    nz = joint > 0
    mi = float(np.sum(joint[nz] * np.log(joint[nz] / (pb @ py)[nz])))
    used_b, used_y = int((pb > 0).sum()), int((py > 0).sum())
    return max(0.0, mi - (used_b - 1) * (used_y - 1) / (2.0 * n))


def correlation_filter(x: np.ndarray, order: Sequence[int], max_abs_corr: float) -> tuple[list[int], dict[int, int]]:
    """Greedy redundancy filter: walk the columns of ``x`` (n, f) in ``order`` (best first) and keep
    one unless its |Pearson correlation| with a kept column exceeds ``max_abs_corr``.

    NaN values take their column's mean. Returns the kept columns (in ``order``) and, for each
    dropped column, the kept column it duplicated.
    """
    if not 0.0 < max_abs_corr <= 1.0:
        raise EvaluationError(f"max_abs_corr must be in (0, 1] (got {max_abs_corr})")
    a = np.array(x, dtype=np.float64)
    finite = np.isfinite(a)
    count = finite.sum(axis=0)
    means = np.divide(np.where(finite, a, 0.0).sum(axis=0), count, out=np.zeros(a.shape[1]), where=count > 0)
    a = np.where(finite, a, means)
    a -= a.mean(axis=0)
    norm = np.sqrt((a * a).sum(axis=0))
    kept: list[int] = []
    dropped: dict[int, int] = {}
    for j in order:
        if norm[j] == 0.0:
            continue  # constant: no information
        if kept:
            k = np.asarray(kept)
            corr = np.abs(a[:, k].T @ a[:, j]) / (norm[k] * norm[j])
            worst = int(np.argmax(corr))
            if corr[worst] > max_abs_corr:
                dropped[int(j)] = int(k[worst])
                continue
        kept.append(int(j))
    return kept, dropped
