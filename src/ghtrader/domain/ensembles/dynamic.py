"""Dynamic member weights from recent rolling performance (causal).

Each member's weight at row t is proportional to ``exp(-eta * L_k(t))`` where ``L_k(t)`` is the
exponentially weighted mean log-loss of member k (half-life ``half_life`` labelled rows) over
the rows whose label is already realised at t: rows ``s <= t - horizon``. Nothing at or after
``t - horizon + 1`` moves the weight of row t.
"""

from __future__ import annotations

import numpy as np

from ghtrader.domain.ensembles._checks import EnsembleError, member_array
from ghtrader.domain.ensembles._kernels import dynamic_weights_kernel

__all__ = ["dynamic_weights"]


def dynamic_weights(
    member_probs: np.ndarray,
    labels: np.ndarray,
    horizon: int,
    *,
    half_life: float = 1000.0,
    eta: float = 1.0,
    eps: float = 1e-6,
    prior: np.ndarray | None = None,
) -> np.ndarray:
    """(n, K) weights (rows sum to 1) for the members at every row; ``prior`` (K,) is the loss
    level before any label is realised (equal weights when None)."""
    p = member_array(member_probs)
    y = np.asarray(labels, dtype=np.float64)
    if y.shape != (p.shape[0],):
        raise EnsembleError(f"{y.shape[0]} labels for {p.shape[0]} rows")
    if horizon < 1 or not half_life > 0 or not eta >= 0:
        raise EnsembleError(f"need horizon >= 1, half_life > 0, eta >= 0 (got {horizon}, {half_life}, {eta})")
    finite = y[np.isfinite(y)]
    if not np.isin(finite, (0.0, 1.0, 2.0)).all():
        raise EnsembleError("labels must be 0, 1, 2 or NaN")
    k = p.shape[1]
    start = np.zeros(k) if prior is None else np.asarray(prior, dtype=np.float64).reshape(-1)
    if start.shape != (k,) or not np.isfinite(start).all():
        raise EnsembleError(f"prior must hold {k} finite losses")
    alpha = 1.0 - 0.5 ** (1.0 / float(half_life))
    return dynamic_weights_kernel(np.ascontiguousarray(p), y, int(horizon), alpha, float(eta), float(eps), start)
