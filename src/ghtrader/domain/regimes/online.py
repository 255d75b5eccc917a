"""Per-tick regime state for a live runner: observations, the HMM filter and regime sizing.

:class:`OnlineObservations` keeps the rolling sums of :func:`build_observations` and updates
them one tick at a time with the same operations in the same order, so a tick's row equals the
batch row for the same ticks (parity test). :class:`OnlineRegime` feeds those rows to
:class:`HmmFilter` and scales a position size by the current regime through
:func:`ghtrader.domain.risk.sizing.regime_scaled_lots` (regime names ``hmm_0`` .. ``hmm_{K-1}``,
0 the calmest).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ghtrader.domain.regimes.errors import RegimeError
from ghtrader.domain.regimes.hmm import GaussianHmmParams, HmmFilter
from ghtrader.domain.regimes.observations import OBSERVATION_NAMES, ObservationConfig
from ghtrader.domain.risk.sizing import regime_scaled_lots

__all__ = ["OnlineObservations", "OnlineRegime", "regime_name"]


def regime_name(regime_id: int) -> str:
    """``hmm_<id>``: the name regime scales are keyed by."""
    return f"hmm_{regime_id}"


class _Rolling:
    """Rolling sum over the last ``window`` rows of a run (mirror of the batch kernels)."""

    def __init__(self, window: int, min_periods: int, squared: bool) -> None:
        self.window, self.min_periods, self.squared = window, min_periods, squared
        self.buf = np.full(window, np.nan)
        self.s = 0.0
        self.c = 0
        self.t = 0  # rows seen in this run

    def update(self, v: float, reset: bool) -> float:
        if reset:
            self.s, self.c, self.t = 0.0, 0, 0
            self.buf[:] = np.nan
        slot = self.t % self.window
        if math.isfinite(v):
            self.s += v * v if self.squared else v
            self.c += 1
        if self.t >= self.window:  # the value leaving the window sits in this slot
            w = self.buf[slot]
            if math.isfinite(w):
                self.s -= w * w if self.squared else w
                self.c -= 1
        self.buf[slot] = v
        self.t += 1
        if self.c >= self.min_periods and self.c > 0:
            mean = (max(self.s, 0.0) if self.squared else self.s) / self.c
            return math.sqrt(mean) if self.squared else mean
        return math.nan


class OnlineObservations:
    """One observation row per tick (the columns of :data:`OBSERVATION_NAMES`)."""

    def __init__(self, config: ObservationConfig | None = None) -> None:
        cfg = config or ObservationConfig()
        w, mp = cfg.window, cfg.min_periods
        self._ret = _Rolling(w, mp, False)
        self._rvol = _Rolling(w, mp, True)
        self._vol = _Rolling(w, mp, False)
        self._spread = _Rolling(w, mp, False)
        self._ofi = _Rolling(w, mp, False)
        self._prev: tuple[float, float, float, float, float, float] | None = None
        self._code: object = None

    def update(
        self, bid1: float, ask1: float, bid_vol1: float, ask_vol1: float, volume: float, run_code: object
    ) -> np.ndarray:
        """Feed one tick's L1 book, cumulative day volume and run code (trading day / segment)."""
        reset = self._prev is None or run_code != self._code
        self._code = run_code
        mid = 0.5 * (bid1 + ask1)
        spread = (ask1 - bid1) / mid * 1e4 if (mid > 0.0 and math.isfinite(mid) and ask1 >= bid1) else math.nan
        ret = vol = ofi = math.nan
        if not reset and self._prev is not None:
            pmid, pvolume, b0, a0, qb0, qa0 = self._prev
            if mid > 0.0 and pmid > 0.0:
                ret = math.log(mid / pmid)
            dv = volume - pvolume
            if math.isfinite(dv):
                vol = math.log1p(max(dv, 0.0))
            e = 0.0
            if bid1 >= b0:
                e += bid_vol1
            if bid1 <= b0:
                e -= qb0
            if ask1 <= a0:
                e -= ask_vol1
            if ask1 >= a0:
                e += qa0
            depth = qb0 + qa0
            if math.isfinite(e) and depth > 0.0:
                ofi = e / depth
        self._prev = (mid, volume, bid1, ask1, bid_vol1, ask_vol1)
        rvol = self._rvol.update(ret, reset)
        return np.array(
            [
                self._ret.update(ret, reset),
                math.log(rvol) if rvol > 0 else math.nan,
                self._vol.update(vol, reset),
                self._spread.update(spread, reset),
                self._ofi.update(ofi, reset),
            ]
        )


class OnlineRegime:
    """Observations -> HMM filter per tick; the current regime scales position sizes."""

    def __init__(
        self, params: GaussianHmmParams, features: Sequence[str], config: ObservationConfig | None = None
    ) -> None:
        unknown = [f for f in features if f not in OBSERVATION_NAMES]
        if unknown or len(features) != params.n_features:
            raise RegimeError(f"features must name the model's {params.n_features} observations, got {features}")
        self._cols = [OBSERVATION_NAMES.index(f) for f in features]
        self._obs = OnlineObservations(config)
        self._filter = HmmFilter(params)
        self.probabilities = np.full(params.n_states, 1.0 / params.n_states)

    def update(
        self, bid1: float, ask1: float, bid_vol1: float, ask_vol1: float, volume: float, run_code: object
    ) -> np.ndarray:
        """Feed one tick; returns ``p(regime | ticks so far)``."""
        row = self._obs.update(bid1, ask1, bid_vol1, ask_vol1, volume, run_code)
        self.probabilities = self._filter.update(row[self._cols])
        return self.probabilities

    @property
    def regime(self) -> int:
        """The most probable regime now (``-1`` before the first tick)."""
        return self._filter.state()

    def scaled_lots(
        self, lots: float, scales: Mapping[str, float], max_net_position: int, *, default: float | None = None
    ) -> int:
        """``lots`` scaled by the current regime's factor (``scales`` keyed ``hmm_<id>``);
        before the first tick the ``default`` applies (0 when not given: no size without a regime)."""
        if self.regime < 0:
            return regime_scaled_lots(
                lots, "unknown", {}, max_net_position, default=0.0 if default is None else default
            )
        return regime_scaled_lots(lots, regime_name(self.regime), scales, max_net_position, default=default)
