"""Data provider port: where ticks, contract catalogs and the trading calendar come from."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np

from ghtrader.domain.calendar import TradingCalendar


@dataclass(frozen=True)
class DayTicks:
    """A provider's ticks for one symbol and one trading day (possibly zero rows)."""

    symbol: str
    trading_day: date
    ticks: np.ndarray  # TICK_DTYPE, sorted by datetime_ns; empty = the provider has no data


@dataclass(frozen=True)
class ContractInfo:
    """One instrument of the catalog."""

    symbol: str  # e.g. "SHFE.cu2602"
    exchange: str
    variety: str
    expired: bool
    first_trading_day: date | None
    last_trading_day: date | None
    price_tick: float
    multiplier: float
    source: str  # "query_quotes" | "pre2020_cache" | "store" | "synthetic" | "csv"


class DataProvider(Protocol):
    """A source of historical ticks for specific contracts and continuous aliases."""

    name: str

    def fetch_days(self, symbol: str, start_day: date, end_day: date) -> Iterator[DayTicks]:
        """Yield one DayTicks for EVERY trading day in [start_day, end_day] in order, with an
        empty array for days the source has no ticks for. Raise application errors
        (InvalidArgument for an unknown symbol, Unavailable for an unreachable source)."""
        ...

    def catalog(self, variety_key: str) -> list[ContractInfo]:
        """Contracts of a variety such as "SHFE.cu" (active and expired)."""
        ...


class CalendarSource(Protocol):
    def load(self) -> TradingCalendar:
        """The trading calendar (holiday list), cached; falls back loudly when unavailable."""
        ...


TickCallback = Callable[[str, np.ndarray], None]


class LiveFeed(Protocol):
    """Live tick subscription (recording)."""

    def run(self, symbols: Sequence[str], on_ticks: TickCallback, should_stop: Callable[[], bool]) -> None:
        """Deliver new ticks per symbol (TICK_DTYPE arrays, possibly overlapping earlier ones)
        until should_stop() returns True."""
        ...
