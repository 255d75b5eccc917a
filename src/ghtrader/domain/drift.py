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

__all__ = ["DriftError", "DriftStats", "drift_stats", "kolmogorov_sf", "ks_2samp", "psi"]

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
