"""Lots for a signal: the runner's sizer over the domain's sizing rules, and the price volatility
both the sizer and the pre-trade stress check read.

The decision pipeline says which way (a held target of -1 / 0 / +1); the sizer says how many lots:

* ``fixed``: ``max_lots`` in the signal's direction;
* ``vol-target``: lots whose PnL standard deviation over ``horizon_s`` is ``target_vol`` CNY
  (:func:`~ghtrader.domain.risk.sizing.vol_target_lots`);
* ``half-kelly``: half-Kelly on the policy's expected move net of its mean cost, with the price
  sigma over the holding period as the risk and the policy's fitting rows as the sample size (the
  mean is shrunk by one standard error: :func:`~ghtrader.domain.risk.sizing.half_kelly_lots`).

A size is fixed when the direction changes and kept while it holds (re-sizing every tick as the
volatility moves would churn orders). Every size is clipped to ``max_lots``; the risk engine's
limits (max net position, max order size) still bind every order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ghtrader.domain.evaluation.ceiling import ExpectedMovePolicy
from ghtrader.domain.risk.sizing import half_kelly_lots, vol_target_lots

__all__ = ["PriceVolatility", "TargetSizer"]

NS = 1_000_000_000


class PriceVolatility:
    """Exponentially weighted variance of the mid's tick-to-tick change, per tick and per second.

    Changes across a gap longer than ``max_gap_s`` (a session break, the night) are left out; the
    estimate is NaN until ``min_changes`` changes were seen. O(1) per tick.
    """

    def __init__(self, span: int = 500, min_changes: int = 30, max_gap_s: float = 60.0) -> None:
        self._alpha = 2.0 / (span + 1.0)
        self._min = int(min_changes)
        self._max_gap_ns = int(max_gap_s * NS)
        self.reset()

    def reset(self) -> None:
        """Forget everything (a roll: another contract's prices)."""
        self._prev_ns = -1
        self._prev_mid = math.nan
        self._var = 0.0  # E[dmid^2] per tick
        self._dt = 0.0  # E[dt] seconds per tick
        self.n = 0

    def update(self, time_ns: int, mid: float) -> None:
        """Take one tick's mid (NaN mids are skipped)."""
        if not math.isfinite(mid):
            return
        dt = time_ns - self._prev_ns
        if self._prev_ns >= 0 and 0 < dt <= self._max_gap_ns:
            d2 = (mid - self._prev_mid) ** 2
            dts = dt / NS
            if self.n == 0:
                self._var, self._dt = d2, dts
            else:
                a = self._alpha
                self._var += a * (d2 - self._var)
                self._dt += a * (dts - self._dt)
            self.n += 1
        self._prev_ns, self._prev_mid = int(time_ns), float(mid)

    @property
    def ready(self) -> bool:
        return self.n >= self._min and self._dt > 0

    def sigma_ticks(self, ticks: float) -> float:
        """Std of the mid's change over ``ticks`` ticks (price units; NaN until ready)."""
        return math.sqrt(self._var * ticks) if self.ready else math.nan

    def sigma_seconds(self, seconds: float) -> float:
        """Std of the mid's change over ``seconds`` of market time (price units; NaN until ready)."""
        return math.sqrt(self._var / self._dt * seconds) if self.ready else math.nan


@dataclass
class TargetSizer:
    """Signed lots for a direction (see the module docstring)."""

    sizing: str
    max_lots: int
    multiplier: float
    policy: ExpectedMovePolicy | None = None  # half-kelly: the expected move and its cost
    hold_rows: int = 1  # half-kelly: ticks a position is held (the risk's horizon)
    target_vol: float = 0.0  # vol-target: CNY of PnL std over horizon_s
    horizon_s: float = 3600.0  # vol-target: the horizon of target_vol

    def __post_init__(self) -> None:
        self._direction = 0
        self._lots = 0

    def reset(self) -> None:
        """Size the next direction afresh (a roll)."""
        self._direction, self._lots = 0, 0

    def lots(self, direction: int, probs: np.ndarray, mid: float, equity: float, vol: PriceVolatility) -> int:
        """Signed lots for ``direction`` (-1 / 0 / +1): sized when it changes, kept while it holds."""
        if direction == 0:
            self._direction, self._lots = 0, 0
            return 0
        if direction != self._direction:
            self._direction = direction
            self._lots = direction * self._size(probs, mid, equity, vol)
        return self._lots

    def _size(self, probs: np.ndarray, mid: float, equity: float, vol: PriceVolatility) -> int:
        if self.sizing == "fixed":
            return self.max_lots
        if self.sizing == "vol-target":
            sigma = vol.sigma_seconds(self.horizon_s)
            if not (math.isfinite(sigma) and sigma > 0):
                return 0  # no volatility estimate yet: no position
            return vol_target_lots(self.target_vol, sigma, self.multiplier, self.max_lots)
        # half-kelly
        sigma = vol.sigma_ticks(max(1, self.hold_rows))
        if self.policy is None or not (math.isfinite(sigma) and sigma > 0 and math.isfinite(mid) and mid > 0):
            return 0
        if not (math.isfinite(equity) and equity > 0) or self.policy.n_fit < 2:
            return 0
        move = float(np.abs(self.policy.expected_move(np.asarray(probs, dtype=np.float64)[None, :]))[0])
        if not math.isfinite(move):
            return 0
        edge = move - self.policy.mean_cost
        lots = half_kelly_lots(edge / mid, sigma / mid, self.policy.n_fit, equity=equity, price=mid,
                               multiplier=self.multiplier, max_net_position=self.max_lots)  # fmt: skip
        return max(lots, 0)
