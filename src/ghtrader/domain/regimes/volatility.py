"""Realised-volatility buckets and the volatility term-structure ratio (causal)."""

from __future__ import annotations

import numpy as np

from ghtrader.domain.regimes import _kernels as k
from ghtrader.domain.regimes.errors import RegimeError
from ghtrader.domain.regimes.observations import run_starts

__all__ = ["assign_vol_buckets", "fit_vol_buckets", "realised_vol", "vol_term_ratio"]


def realised_vol(ret: np.ndarray, run_code: np.ndarray, window: int, min_periods: int | None = None) -> np.ndarray:
    """Causal rolling RMS of the returns ``ret`` over ``window`` rows, restarting per run."""
    if window < 1:
        raise RegimeError("window must be >= 1")
    mp = max(1, window // 2) if min_periods is None else min_periods
    r = np.ascontiguousarray(ret, dtype=np.float64)
    return k.rolling_rms(r, run_starts(run_code), window, mp)


def vol_term_ratio(ret: np.ndarray, run_code: np.ndarray, short: int, long: int) -> np.ndarray:
    """``realised_vol(short) / realised_vol(long)``: above 1 when volatility is rising."""
    if not 1 <= short < long:
        raise RegimeError("need 1 <= short < long")
    s = realised_vol(ret, run_code, short)
    lo = realised_vol(ret, run_code, long)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(lo > 0, s / np.where(lo > 0, lo, 1.0), np.nan)


def fit_vol_buckets(vol: np.ndarray, n_buckets: int = 3) -> np.ndarray:
    """Bucket edges (``n_buckets - 1`` quantiles) learnt from the finite values of ``vol``
    (pass training rows only)."""
    if n_buckets < 2:
        raise RegimeError("n_buckets must be >= 2")
    v = np.asarray(vol, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise RegimeError("no finite volatility to fit buckets on")
    return np.quantile(v, np.arange(1, n_buckets) / n_buckets)


def assign_vol_buckets(vol: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bucket id per row: 0 (lowest) .. ``len(edges)``; ``-1`` for NaN. A value equal to an
    edge falls in the lower bucket."""
    v = np.asarray(vol, dtype=np.float64)
    out = np.searchsorted(np.asarray(edges, dtype=np.float64), v, side="left").astype(np.int64)
    out[~np.isfinite(v)] = -1
    return out
