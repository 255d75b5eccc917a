"""Causal per-tick observations for regime models.

From one symbol's ticks (a :data:`ghtrader.domain.ticks.TICK_DTYPE` array) and a run code per
row (the trading day, or any id whose change starts a new run, e.g. a roll segment), build a
``(T, 5)`` float64 matrix whose columns are :data:`OBSERVATION_NAMES`:

- ``ret``: rolling mean of the per-tick log return of the L1 mid (the drift; a single tick's
  return is a few discrete price ticks, which a Gaussian state would fit degenerately);
- ``log_rvol``: log of the rolling realised volatility (RMS of ``ret`` over ``window`` ticks);
- ``volume``: rolling mean of ``log1p`` of the traded volume per tick;
- ``spread_bps``: rolling mean of the relative L1 spread in basis points;
- ``ofi``: rolling mean of the L1 order-flow imbalance normalised by the previous L1 depth.

Every value at row ``t`` uses rows ``<= t`` only. Rows without enough history hold NaN; the
regime filters treat such rows as carrying no information.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ghtrader.domain.regimes import _kernels as k
from ghtrader.domain.regimes.errors import RegimeError

__all__ = ["OBSERVATION_NAMES", "ObservationConfig", "build_observations", "run_starts"]

OBSERVATION_NAMES: tuple[str, ...] = ("ret", "log_rvol", "volume", "spread_bps", "ofi")


@dataclass(frozen=True)
class ObservationConfig:
    """Window lengths (in ticks) of the rolling observations."""

    window: int = 120
    min_periods: int = 20

    def __post_init__(self) -> None:
        if self.window < 1 or not 1 <= self.min_periods <= self.window:
            raise RegimeError(f"bad observation windows: {self}")

    def as_dict(self) -> dict[str, int]:
        """Plain dict for hashing and artifacts."""
        return {"window": self.window, "min_periods": self.min_periods}


def run_starts(run_code: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows where a new run starts (first row, or code changed)."""
    code = np.asarray(run_code)
    out = np.ones(code.shape[0], dtype=np.bool_)
    if code.shape[0] > 1:
        out[1:] = code[1:] != code[:-1]
    return out


def build_observations(ticks: np.ndarray, run_code: np.ndarray, config: ObservationConfig | None = None) -> np.ndarray:
    """Observation matrix ``(len(ticks), 5)`` (module docstring); ``ticks`` sorted by time."""
    cfg = config or ObservationConfig()
    n = ticks.shape[0]
    if np.asarray(run_code).shape[0] != n:
        raise RegimeError("run_code must have one value per tick")
    bid = np.ascontiguousarray(ticks["bid_price1"], dtype=np.float64)
    ask = np.ascontiguousarray(ticks["ask_price1"], dtype=np.float64)
    mid = 0.5 * (bid + ask)
    reset = run_starts(run_code)
    ret, vol, spread, ofi = k.tick_observations(
        mid,
        np.ascontiguousarray(ticks["volume"], dtype=np.float64),
        bid,
        ask,
        np.ascontiguousarray(ticks["bid_volume1"], dtype=np.float64),
        np.ascontiguousarray(ticks["ask_volume1"], dtype=np.float64),
        reset,
    )
    w, mp = cfg.window, cfg.min_periods
    rvol = k.rolling_rms(ret, reset, w, mp)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_rvol = np.where(rvol > 0, np.log(np.where(rvol > 0, rvol, 1.0)), np.nan)
    out = np.empty((n, len(OBSERVATION_NAMES)))
    out[:, 0] = k.rolling_mean(ret, reset, w, mp)
    out[:, 1] = log_rvol
    out[:, 2] = k.rolling_mean(vol, reset, w, mp)
    out[:, 3] = k.rolling_mean(spread, reset, w, mp)
    out[:, 4] = k.rolling_mean(ofi, reset, w, mp)
    return out
