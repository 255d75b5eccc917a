"""Ticks and observations of one symbol over a day range, as the regime use cases need them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.stores import TickStore
from ghtrader.domain.regimes import OBSERVATION_NAMES, ObservationConfig, build_observations

__all__ = ["RegimeData", "lake_of", "load_regime_data", "run_codes", "select_features"]


def lake_of(symbol: str) -> str:
    """``main_l5`` for a continuous alias (``KQ.m@...``), else ``raw``."""
    return "main_l5" if symbol.startswith("KQ.m@") else "raw"


def run_codes(trading_day: np.ndarray, segment_id: np.ndarray | None) -> np.ndarray:
    """One code per row that changes with the trading day and, for main_l5, the roll segment."""
    day = np.asarray(trading_day, dtype="datetime64[D]").astype(np.int64)
    seg = np.zeros_like(day) if segment_id is None else np.asarray(segment_id, dtype=np.int64)
    return day * 1_000_003 + seg


def select_features(names: tuple[str, ...]) -> list[int]:
    """Column indices of ``names`` in :data:`OBSERVATION_NAMES` (all when empty)."""
    if not names:
        return list(range(len(OBSERVATION_NAMES)))
    unknown = [n for n in names if n not in OBSERVATION_NAMES]
    if unknown or len(set(names)) != len(names):
        raise InvalidArgument(f"features must be distinct names from {', '.join(OBSERVATION_NAMES)}; got {names}")
    return [OBSERVATION_NAMES.index(n) for n in names]


@dataclass(frozen=True)
class RegimeData:
    """Aligned rows: exchange times, trading days, run codes and the observation matrix."""

    datetime_ns: np.ndarray
    trading_day: np.ndarray
    run_code: np.ndarray
    observations: np.ndarray  # (T, len(OBSERVATION_NAMES))

    def __len__(self) -> int:
        return int(self.datetime_ns.shape[0])


def load_regime_data(
    ticks: TickStore, symbol: str, start_day: date, end_day: date, config: ObservationConfig
) -> RegimeData:
    """Read the symbol's ticks (main_l5 for an alias) and build its causal observations."""
    if end_day < start_day:
        raise InvalidArgument(f"end day {end_day} is before start day {start_day}")
    stored = ticks.read_ticks(symbol, lake_of(symbol), start_day, end_day)
    if len(stored) == 0:
        hint = " (run main-schedule and main-l5 first)" if lake_of(symbol) == "main_l5" else ""
        raise FailedPrecondition(f"no {lake_of(symbol)} ticks for {symbol} in {start_day}..{end_day}{hint}")
    code = run_codes(stored.trading_day, stored.segment_id)
    return RegimeData(
        datetime_ns=np.asarray(stored.ticks["datetime_ns"], dtype=np.int64),
        trading_day=np.asarray(stored.trading_day, dtype="datetime64[D]"),
        run_code=code,
        observations=build_observations(stored.ticks, code, config),
    )
