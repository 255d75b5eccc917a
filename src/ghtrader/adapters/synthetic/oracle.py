"""OracleSource over the synthetic market: the generator's expected mid move and Bayes class
probabilities per tick."""

from __future__ import annotations

from datetime import date

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.domain.errors import DomainError
from ghtrader.domain.market_sim import SyntheticMarket

__all__ = ["SyntheticOracleSource"]


class SyntheticOracleSource:
    """OracleSource backed by :class:`SyntheticMarket` (``oracle`` / ``oracle_direction`` /
    ``class_probabilities``).

    Aligned with ``market.ticks(symbol, day)`` - the ticks the synthetic provider serves, hence
    the raw rows stored for that contract-day and the main_l5 rows spliced from them.
    """

    def __init__(self, market: SyntheticMarket, *, seed: int = 0) -> None:
        self._market = market
        self._seed = int(seed)

    def expected_move(self, symbol: str, trading_day: date, horizon: int) -> np.ndarray | None:
        try:
            out = self._market.oracle(symbol, trading_day, int(horizon))
        except DomainError as exc:
            if trading_day < self._market.config.anchor_date:
                return None
            raise InvalidArgument(str(exc)) from exc
        return out if out.shape[0] else None

    def oracle_direction(self, symbol: str, trading_day: date, horizon: int, threshold: float) -> np.ndarray | None:
        if not (np.isfinite(threshold) and threshold >= 0):
            raise InvalidArgument(f"invalid oracle threshold {threshold!r}: expected a finite number >= 0")
        move = self.expected_move(symbol, trading_day, horizon)
        if move is None:
            return None
        codes = np.where(move > threshold, 2.0, np.where(move < -threshold, 0.0, 1.0))
        codes[np.isnan(move)] = np.nan
        return codes

    def class_probabilities(
        self, symbol: str, trading_day: date, horizon: int, k_ticks: float, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        at = np.asarray(rows, dtype=np.int64)
        try:
            probs, se = self._market.class_probabilities(
                symbol, trading_day, int(horizon), float(k_ticks), at, seed=self._seed
            )
        except DomainError as exc:
            if trading_day < self._market.config.anchor_date:
                return None
            raise InvalidArgument(str(exc)) from exc
        if probs.shape[0] != at.shape[0]:  # the contract-day has no ticks
            return None
        return probs, se
