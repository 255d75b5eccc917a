"""Data provider port: where ticks, contract catalogs and the trading calendar come from."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

import numpy as np

from ghtrader.domain.calendar import TradingCalendar


@dataclass(frozen=True)
class RowOrigins:
    """Where each row of a batch was read from: ``files[file_index[i]]`` line ``line[i]``."""

    files: tuple[str, ...]
    file_index: np.ndarray  # int32, aligned with the rows
    line: np.ndarray  # int64, 1-based line in that file

    def where(self, row: int) -> str:
        """``"<file>:<line>"`` of ``row``."""
        return f"{self.files[int(self.file_index[row])]}:{int(self.line[row])}"


@dataclass(frozen=True)
class DayTicks:
    """A provider's ticks for one symbol and one trading day (possibly zero rows)."""

    symbol: str
    trading_day: date
    ticks: np.ndarray  # TICK_DTYPE, sorted by datetime_ns; empty = the provider has no data
    origins: RowOrigins | None = None  # file and line of each row, for file-based providers


@dataclass(frozen=True)
class DataSource:
    """What a provider reads a symbol from, recorded with each no-data day so the day is
    checked again when the source changes. For a file: its path, size and modification time
    (several files: their paths joined by ``;``, total size, newest mtime); -1 = not a file."""

    provider: str
    path: str = ""
    size: int = -1
    mtime_ns: int = -1


@runtime_checkable
class DescribesSource(Protocol):
    """A provider that can say what it reads a symbol from (file-based providers)."""

    def source_of(self, symbol: str) -> DataSource:
        """The current source of ``symbol`` (raises like ``fetch_days`` for an unknown one)."""
        ...


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
