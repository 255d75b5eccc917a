"""Distribution drift of a recent window against a training reference: PSI and two-sample KS.

Pure NumPy. Non-finite values (NaN, +-inf) are dropped from both samples before comparing;
an empty sample gives NaN statistics.

- PSI (population stability index) over ``bins`` quantile bins of the reference:
  ``sum((q - p) * ln(q / p))`` with ``p`` / ``q`` the reference / recent share of each bin,
  floored at ``eps`` so an empty bin stays finite. The outer bins are open-ended, so every
  recent value falls in a bin. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 shift.
- KS: ``D = max |F_ref(x) - F_recent(x)|`` over the empirical CDFs, with the asymptotic
  Kolmogorov p-value of ``(sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * D``, ``ne = n m / (n + m)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ghtrader.domain.errors import DomainError

__all__ = [
    "DriftError",
    "DriftStats",
    "drift_stats",
    "kolmogorov_sf",
    "ks_2samp",
    "psi",
    "psi_columns",
    "reference_bins",
]

DEFAULT_PSI_BINS = 10
DEFAULT_PSI_EPS = 1e-4


class DriftError(DomainError):
    """Drift parameters that cannot be used."""


def _finite(values: object) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    return arr[np.isfinite(arr)]


def psi(reference: np.ndarray, recent: np.ndarray, bins: int = DEFAULT_PSI_BINS, eps: float = DEFAULT_PSI_EPS) -> float:
    """Population stability index of ``recent`` against ``reference`` (module docstring)."""
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise DriftError(f"invalid bins={bins!r}: expected an int >= 2")
    if not (isinstance(eps, float) and 0 < eps < 1):
        raise DriftError(f"invalid eps={eps!r}: expected a float in (0, 1)")
    ref, new = _finite(reference), _finite(recent)
    if ref.shape[0] == 0 or new.shape[0] == 0:
        return math.nan
    # Inner edges at the reference quantiles; ties collapse (a constant feature has one bin).
    edges = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    p = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.shape[0] + 1) / ref.shape[0]
    q = np.bincount(np.searchsorted(edges, new, side="right"), minlength=edges.shape[0] + 1) / new.shape[0]
    p = np.maximum(p, eps)
    q = np.maximum(q, eps)
    return float(np.sum((q - p) * np.log(q / p)))


def kolmogorov_sf(x: float) -> float:
    """``P(K > x)`` of the Kolmogorov distribution: ``2 sum_k (-1)^(k-1) exp(-2 k^2 x^2)``."""
    if not math.isfinite(x):
        return math.nan
    if x <= 0.0:
        return 1.0
    if x < 0.2:  # the alternating series converges slowly here and the value is 1 to 1e-30
        return 1.0
    k = np.arange(1, 101, dtype=np.float64)
    terms = np.where(k % 2 == 1, 1.0, -1.0) * np.exp(-2.0 * k * k * x * x)
    return float(min(1.0, max(0.0, 2.0 * terms.sum())))


def ks_2samp(reference: np.ndarray, recent: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov ``(D, p_value)`` (asymptotic p-value)."""
    a, b = np.sort(_finite(reference)), np.sort(_finite(recent))
    n, m = a.shape[0], b.shape[0]
    if n == 0 or m == 0:
        return math.nan, math.nan
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / n
    cdf_b = np.searchsorted(b, grid, side="right") / m
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    en = math.sqrt(n * m / (n + m))
    return d, kolmogorov_sf((en + 0.12 + 0.11 / en) * d)


@dataclass(frozen=True, slots=True)
class DriftStats:
    """PSI and KS of one feature; ``n_*`` count the finite values compared."""

    psi: float
    ks_statistic: float
    ks_pvalue: float
    n_reference: int
    n_recent: int


def drift_stats(
    reference: np.ndarray, recent: np.ndarray, bins: int = DEFAULT_PSI_BINS, eps: float = DEFAULT_PSI_EPS
) -> DriftStats:
    """:func:`psi` and :func:`ks_2samp` of one feature in one call."""
    d, p = ks_2samp(reference, recent)
    return DriftStats(
        psi=psi(reference, recent, bins, eps),
        ks_statistic=d,
        ks_pvalue=p,
        n_reference=int(_finite(reference).shape[0]),
        n_recent=int(_finite(recent).shape[0]),
    )


def reference_bins(reference: np.ndarray, bins: int = DEFAULT_PSI_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Per-column PSI reference of a ``(rows, features)`` sample: ``(edges, shares)``.

    ``edges`` is ``(features, bins - 1)``: each column's inner edges as in :func:`psi` (its
    reference quantiles, ties collapsed), padded with ``+inf`` (an empty bin on both sides, so it
    adds nothing to the PSI); ``shares`` is ``(features, bins)``, the share of each bin (NaN for
    a column without a finite value). Computed once; :func:`psi_columns` then scores a window.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise DriftError(f"invalid bins={bins!r}: expected an int >= 2")
    ref = np.asarray(reference, dtype=np.float64)
    if ref.ndim != 2:
        raise DriftError(f"reference must be 2-D (rows, features), got shape {ref.shape}")
    n_feat = ref.shape[1]
    edges = np.full((n_feat, bins - 1), np.inf)
    shares = np.full((n_feat, bins), np.nan)
    qs = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    for j in range(n_feat):  # once per run, per feature: not a hot path
        col = _finite(ref[:, j])
        if col.shape[0] == 0:
            continue
        e = np.unique(np.quantile(col, qs))
        edges[j, : e.shape[0]] = e
        shares[j] = np.bincount(np.searchsorted(e, col, side="right"), minlength=bins) / col.shape[0]
    return edges, shares


def psi_columns(window: np.ndarray, edges: np.ndarray, shares: np.ndarray, eps: float = DEFAULT_PSI_EPS) -> np.ndarray:
    """PSI of every column of ``window`` ``(rows, features)`` against :func:`reference_bins`'s
    ``(edges, shares)``, vectorised over rows and features; equal to :func:`psi` column by
    column. A column with no finite value (in the window or the reference) gives NaN."""
    x = np.asarray(window, dtype=np.float64)
    n_feat, n_bins = shares.shape
    ok = np.isfinite(x)
    # the bin of each value: the number of inner edges <= it (searchsorted side="right")
    idx = (np.where(ok, x, -np.inf)[:, :, None] >= edges[None, :, :]).sum(axis=2)
    flat = (idx + np.arange(n_feat)[None, :] * n_bins)[ok]
    counts = np.bincount(flat, minlength=n_feat * n_bins).reshape(n_feat, n_bins).astype(np.float64)
    n = ok.sum(axis=0)
    q = np.maximum(counts / np.maximum(n, 1)[:, None], eps)
    p = np.maximum(shares, eps)
    out = np.sum((q - p) * np.log(q / p), axis=1)
    return np.where((n > 0) & np.isfinite(shares).all(axis=1), out, np.nan)
