"""The impact model: a per-lot cost ``eta * X ** beta`` (ticks) once ``X`` own lots have been
executed within one parent order; ``beta`` 0.5 (square root) or 1 (linear). ``eta`` is fitted by
least squares from realized fills (:func:`fit_impact`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ghtrader.domain.tca._kernels import IMPACT_QUANTUM

__all__ = ["IMPACT_KINDS", "ImpactModel", "fit_impact"]

IMPACT_KINDS: dict[str, float] = {"sqrt": 0.5, "linear": 1.0}


@dataclass(frozen=True)
class ImpactModel:
    """``eta`` ticks per lot at one lot executed; ``n_obs`` fills and ``r2`` of the fit (NaN when
    not fitted)."""

    kind: str = "sqrt"
    eta: float = 0.0
    n_obs: int = 0
    r2: float = math.nan

    def __post_init__(self) -> None:
        if self.kind not in IMPACT_KINDS:
            raise ValueError(f"impact kind must be one of {sorted(IMPACT_KINDS)}, got {self.kind!r}")
        if not (math.isfinite(self.eta) and self.eta >= 0.0):
            raise ValueError(f"impact eta must be finite and >= 0, got {self.eta!r}")

    @property
    def beta(self) -> float:
        return IMPACT_KINDS[self.kind]

    def per_lot(self, cum_qty: np.ndarray | float) -> np.ndarray:
        """Cost per lot (ticks, rounded as the attribution rounds it) after ``cum_qty`` lots."""
        x = np.asarray(cum_qty, dtype=np.float64)
        raw = self.eta * np.where(x > 0, np.abs(x) ** self.beta, 0.0)
        return np.rint(raw * IMPACT_QUANTUM) / IMPACT_QUANTUM

    def to_dict(self) -> dict[str, float | str | int]:
        return {"kind": self.kind, "eta": self.eta, "n_obs": self.n_obs, "r2": self.r2}


def _fit_one(y: np.ndarray, x: np.ndarray, w: np.ndarray, beta: float) -> tuple[float, float]:
    """Weighted least squares of ``y ~ eta * x**beta`` through the origin, ``eta`` clamped at 0:
    (eta, weighted residual sum of squares)."""
    b = x**beta
    den = float(np.sum(w * b * b))
    eta = max(float(np.sum(w * b * y)) / den, 0.0) if den > 0 else 0.0
    return eta, float(np.sum(w * (y - eta * b) ** 2))


def fit_impact(excess_ticks: np.ndarray, cum_qty: np.ndarray, weights: np.ndarray, kind: str = "auto") -> ImpactModel:
    """Fit the impact model to realized fills.

    Args:
        excess_ticks: per fill, the signed price paid beyond the arrival mid less the
            half-spread booked for it, ``side * (price - arrival_mid) -+ half_spread`` (ticks;
            positive = worse; see ``attribution.impact_observations``).
        cum_qty: per fill, own lots executed in its parent up to and including it.
        weights: per fill, its lots.
        kind: "sqrt", "linear" or "auto" (the one with the smaller weighted residual).

    A negative least-squares slope (fills better than the touch on average: noise, or a passive
    strategy) is clamped to 0: the model never predicts a gain from one's own trading.
    """
    y = np.asarray(excess_ticks, dtype=np.float64)
    x = np.asarray(cum_qty, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    ok = np.isfinite(y) & np.isfinite(x) & (x > 0) & np.isfinite(w) & (w > 0)
    y, x, w = y[ok], x[ok], w[ok]
    kinds = list(IMPACT_KINDS) if kind == "auto" else [kind]
    if kind != "auto" and kind not in IMPACT_KINDS:
        raise ValueError(f"impact kind must be auto or one of {sorted(IMPACT_KINDS)}, got {kind!r}")
    if y.size == 0:
        return ImpactModel(kinds[0], 0.0, 0, math.nan)
    fits = {k: _fit_one(y, x, w, IMPACT_KINDS[k]) for k in kinds}
    best = min(kinds, key=lambda k: fits[k][1])
    eta, sse = fits[best]
    mean = float(np.sum(w * y) / np.sum(w))
    sst = float(np.sum(w * (y - mean) ** 2))
    r2 = 1.0 - sse / sst if sst > 0 else math.nan
    return ImpactModel(best, eta, int(y.size), r2)
