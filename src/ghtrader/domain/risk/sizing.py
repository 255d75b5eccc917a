"""Position sizing: half-Kelly with estimation uncertainty, volatility targeting, regime scaling.

Every sizer returns signed lots as an ``int``, truncated toward zero and clipped to
``[-max_net_position, max_net_position]``. Formulas: docs/risk.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = [
    "clip_lots",
    "combine_sizes",
    "half_kelly_binary_fraction",
    "half_kelly_fraction",
    "half_kelly_lots",
    "regime_scaled_lots",
    "vol_target_lots",
]


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def _positive(name: str, value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return float(value)


def clip_lots(lots: float, max_net_position: int) -> int:
    """Truncate toward zero and clip to ``[-max_net_position, max_net_position]``."""
    if max_net_position < 0:
        raise ValueError(f"max_net_position must be >= 0, got {max_net_position}")
    _finite("lots", lots)
    # A hair of tolerance so that 2.9999999999 (float noise of an exact 3) is 3 lots.
    whole = math.trunc(lots + math.copysign(1e-9, lots)) if lots else 0
    return int(max(-max_net_position, min(max_net_position, whole)))


def half_kelly_fraction(mean: float, std: float, n: int, *, z: float = 1.0, fraction: float = 0.5) -> float:
    """Kelly leverage ``fraction * mu_adj / sigma^2`` for returns with mean ``mean`` and std ``std`` over ``n`` samples.

    The mean is shrunk toward zero by ``z`` standard errors (``se = std / sqrt(n)``):
    ``mu_adj = sign(mean) * max(|mean| - z se, 0)``, so a mean within ``z`` standard errors of
    zero sizes to nothing. ``fraction = 0.5`` is half-Kelly.
    """
    mean = _finite("mean", mean)
    std = _positive("std", std)
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    if z < 0 or not 0 < fraction <= 1:
        raise ValueError(f"need z >= 0 and 0 < fraction <= 1, got z={z}, fraction={fraction}")
    se = std / math.sqrt(n)
    shrunk = max(abs(mean) - z * se, 0.0)
    return math.copysign(fraction * shrunk / (std * std), mean) if shrunk else 0.0


def half_kelly_binary_fraction(
    p_win: float, n: int, payoff_ratio: float, *, z: float = 1.0, fraction: float = 0.5
) -> float:
    """Kelly fraction ``p - (1 - p) / b`` of a bet won with probability ``p`` paying ``b`` per unit lost.

    ``p`` is lowered by ``z`` binomial standard errors ``sqrt(p (1 - p) / n)`` first; a negative
    edge sizes to zero (the caller takes the other side only on its own signal).
    """
    if not 0.0 <= p_win <= 1.0:
        raise ValueError(f"p_win must be in [0, 1], got {p_win}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    b = _positive("payoff_ratio", payoff_ratio)
    if z < 0 or not 0 < fraction <= 1:
        raise ValueError(f"need z >= 0 and 0 < fraction <= 1, got z={z}, fraction={fraction}")
    p = p_win - z * math.sqrt(p_win * (1.0 - p_win) / n)
    return max(fraction * (p - (1.0 - p) / b), 0.0)


def half_kelly_lots(
    mean_return: float,
    std_return: float,
    n: int,
    *,
    equity: float,
    price: float,
    multiplier: float,
    max_net_position: int,
    z: float = 1.0,
) -> int:
    """Half-Kelly notional ``f * equity`` in lots of ``price * multiplier`` (returns are fractions of price)."""
    f = half_kelly_fraction(mean_return, std_return, n, z=z)
    notional = _positive("price", price) * _positive("multiplier", multiplier)
    return clip_lots(f * _positive("equity", equity) / notional, max_net_position)


def vol_target_lots(
    target_vol: float, price_sigma: float, multiplier: float, max_net_position: int, *, direction: int = 1
) -> int:
    """Lots whose PnL standard deviation is ``target_vol`` CNY: ``target_vol / (price_sigma * multiplier)``.

    ``price_sigma`` is the price change's standard deviation over the same horizon as the target
    (e.g. daily); ``direction`` (+1 / -1) gives the sign.
    """
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    lots = _positive("target_vol", target_vol) / (
        _positive("price_sigma", price_sigma) * _positive("multiplier", multiplier)
    )
    return clip_lots(direction * lots, max_net_position)


def regime_scaled_lots(
    lots: float,
    regime: str,
    scales: Mapping[str, float],
    max_net_position: int,
    *,
    default: float | None = None,
) -> int:
    """``lots * scales[regime]``; an unknown regime uses ``default`` or raises ``ValueError``."""
    scale = scales.get(regime, default)
    if scale is None:
        raise ValueError(f"unknown regime {regime!r}: expected one of {sorted(scales)}")
    if not (math.isfinite(scale) and scale >= 0):
        raise ValueError(f"regime scale must be finite and >= 0, got {scale!r} for {regime!r}")
    return clip_lots(lots * scale, max_net_position)


def combine_sizes(*lots: int) -> int:
    """The most cautious of several sizes: the smallest magnitude when all agree in sign, else 0."""
    if not lots:
        raise ValueError("combine_sizes needs at least one size")
    if all(x > 0 for x in lots):
        return min(lots)
    if all(x < 0 for x in lots):
        return max(lots)
    return 0
