"""Dynamic member weights from recent rolling performance (causal): log-loss or Sharpe.

Each member's weight at row t is proportional to ``exp(-eta * L_k(t))`` where ``L_k(t)`` is the
exponentially weighted mean log-loss of member k (half-life ``half_life`` labelled rows) over
the rows whose label is already realised at t: rows ``s <= t - horizon``. Nothing at or after
``t - horizon + 1`` moves the weight of row t.
"""

from __future__ import annotations

import numpy as np

from ghtrader.domain.ensembles._checks import EnsembleError, member_array
from ghtrader.domain.ensembles._kernels import dynamic_weights_kernel, sharpe_weights_kernel

__all__ = ["dynamic_weights", "sharpe_weights"]


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


def sharpe_weights(
    member_probs: np.ndarray,
    mid: np.ndarray,
    segment_id: np.ndarray,
    horizon: int,
    *,
    half_life: float = 1000.0,
    eta: float = 1.0,
    cost: float = 0.0,
) -> np.ndarray:
    """(n, K) causal weights (rows sum to 1) from each member's recent rolling Sharpe.

    A member's signal is ``p_up - p_down`` (a position in [-1, 1]); its return on row s is the
    signal times the mid move over ``horizon`` rows, less ``cost`` (price units) per unit of
    position change. The weight at row t is ``exp(eta * sqrt(half_life) * S_k(t))``
    normalised, where ``S_k(t)`` is the exponentially weighted (half-life ``half_life`` rows)
    mean / std of the returns realised by t: rows ``s <= t - horizon`` whose horizon stays in
    one segment. ``sqrt(half_life)`` turns the per-row Sharpe into one over a half-life, so
    ``eta`` reads the same whatever the window.
    """
    p = member_array(member_probs)
    m = np.asarray(mid, dtype=np.float64)
    seg = np.asarray(segment_id, dtype=np.int64)
    if m.shape != (p.shape[0],) or seg.shape != (p.shape[0],):
        raise EnsembleError(f"mid {m.shape} / segment_id {seg.shape} do not match {p.shape[0]} rows")
    if horizon < 1 or not half_life > 0 or not eta >= 0 or not cost >= 0:
        raise EnsembleError(
            f"need horizon >= 1, half_life > 0, eta >= 0, cost >= 0 (got {horizon}, {half_life}, {eta}, {cost})"
        )
    signal = np.ascontiguousarray(p[:, :, 2] - p[:, :, 0])
    alpha = 1.0 - 0.5 ** (1.0 / float(half_life))
    return sharpe_weights_kernel(
        signal, m, seg, int(horizon), alpha, float(eta), float(cost), float(np.sqrt(half_life))
    )
