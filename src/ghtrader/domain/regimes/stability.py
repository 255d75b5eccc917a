"""Agreement between two labelings: the adjusted Rand index (Hubert and Arabie)."""

from __future__ import annotations

import numpy as np

from ghtrader.domain.regimes.errors import RegimeError

__all__ = ["adjusted_rand_index"]


def _pairs(counts: np.ndarray) -> float:
    c = counts.astype(np.float64)
    return float((c * (c - 1.0) / 2.0).sum())


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """ARI of two labelings of the same rows: 1 for identical partitions (up to renaming),
    about 0 for independent ones; 1 when both put every row in one cluster."""
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape or x.ndim != 1:
        raise RegimeError("labelings must be 1-D and of the same length")
    n = x.shape[0]
    if n < 2:
        return 1.0
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    table = np.zeros((xi.max() + 1, yi.max() + 1), dtype=np.int64)
    np.add.at(table, (xi, yi), 1)
    index = _pairs(table.ravel())
    sa, sb = _pairs(table.sum(axis=1)), _pairs(table.sum(axis=0))
    expected = sa * sb / (n * (n - 1) / 2.0)
    top = 0.5 * (sa + sb)
    if top == expected:
        return 1.0
    return (index - expected) / (top - expected)
