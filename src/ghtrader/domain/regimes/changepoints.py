"""Bayesian online changepoint detection (Adams and MacKay, 2007) on a scalar series.

Constant hazard ``1 / expected_run``; Gaussian observations with unknown mean and variance
under a Normal-Gamma prior, so the predictive is a Student-t. The run-length posterior is
truncated at ``max_run`` (longer runs are merged into the last bin), which bounds the cost
per row. Per row the detector reports the MAP run length and ``P(run length <= short_run)``;
a drop of the MAP run length marks a detected changepoint. :class:`Bocpd` (one value at a
time) and :func:`bocpd` (a batch) share one numba step and agree exactly. Non-finite values
are skipped (state unchanged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ghtrader.domain.regimes import _kernels as k
from ghtrader.domain.regimes.errors import RegimeError

__all__ = ["Bocpd", "BocpdConfig", "bocpd", "segments_from_run_length"]


@dataclass(frozen=True)
class BocpdConfig:
    """Hazard, prior and truncation of the detector (values in the series' own units)."""

    expected_run: float = 500.0
    mu0: float = 0.0
    kappa0: float = 1.0
    alpha0: float = 1.0
    beta0: float = 1.0
    max_run: int = 1000
    short_run: int = 10

    def __post_init__(self) -> None:
        if self.expected_run <= 1.0:
            raise RegimeError("expected_run must be > 1")
        if min(self.kappa0, self.alpha0, self.beta0) <= 0.0:
            raise RegimeError("kappa0, alpha0 and beta0 must be > 0")
        if self.max_run < 2 or self.short_run < 0:
            raise RegimeError("max_run must be >= 2 and short_run >= 0")

    def prior(self) -> np.ndarray:
        """``(mu0, kappa0, alpha0, beta0)`` as the kernel takes it."""
        return np.array([self.mu0, self.kappa0, self.alpha0, self.beta0], dtype=np.float64)

    def log_hazards(self) -> tuple[float, float]:
        """``(log h, log(1 - h))``."""
        h = 1.0 / self.expected_run
        return math.log(h), math.log1p(-h)

    def as_dict(self) -> dict[str, float]:
        """Plain dict for hashing and artifacts."""
        return {
            "expected_run": self.expected_run,
            "mu0": self.mu0,
            "kappa0": self.kappa0,
            "alpha0": self.alpha0,
            "beta0": self.beta0,
            "max_run": self.max_run,
            "short_run": self.short_run,
        }


def bocpd(x: np.ndarray, config: BocpdConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MAP run length (T,) int64 (``-1`` before the first finite value) and the probability
    of a short run (T,) for the series ``x``."""
    cfg = config or BocpdConfig()
    lh, l1h = cfg.log_hazards()
    return k.bocpd_batch(np.ascontiguousarray(x, dtype=np.float64), cfg.max_run, cfg.prior(), lh, l1h, cfg.short_run)


def segments_from_run_length(run_length: np.ndarray) -> np.ndarray:
    """Segment id per row: starts at 0 and increments where the MAP run length drops."""
    r = np.asarray(run_length, dtype=np.int64)
    seg = np.zeros(r.shape[0], dtype=np.int64)
    if r.shape[0] > 1:
        seg[1:] = np.cumsum((r[1:] < r[:-1]) & (r[:-1] >= 0))
    return seg


class Bocpd:
    """Online detector: :meth:`update` one value, get ``(MAP run length, P(short run))``."""

    def __init__(self, config: BocpdConfig | None = None) -> None:
        self.config = cfg = config or BocpdConfig()
        size = cfg.max_run + 1
        self._prior = cfg.prior()
        self._lh, self._l1h = cfg.log_hazards()
        self._log_r = np.full(size, -np.inf)
        self._mu = np.zeros(size)
        self._kappa = np.zeros(size)
        self._alpha = np.zeros(size)
        self._beta = np.zeros(size)
        self._tmp = np.empty(size)
        self._active = 0

    def update(self, value: float) -> tuple[int, float]:
        """Feed one value; returns the MAP run length and ``P(run <= short_run)``."""
        self._active = k.bocpd_step(
            float(value),
            self._active,
            self._log_r,
            self._mu,
            self._kappa,
            self._alpha,
            self._beta,
            self._prior,
            self._lh,
            self._l1h,
            self._tmp,
        )
        if self._active == 0:
            return -1, math.nan
        run, short = k.bocpd_summary(self._log_r, self._active, self.config.short_run)
        return int(run), float(short)

    def run_length_posterior(self) -> np.ndarray:
        """Current run-length posterior (length = active bins)."""
        return np.exp(self._log_r[: self._active])
