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

    def end_of_day_open_interest(self, variety_key: str, start_day: date, end_day: date) -> EodOpenInterest:
        """End-of-day open interest of the variety's contracts per trading day in
        [start_day, end_day]: ``{day: {symbol: oi}}``. A source that knows a contract's OI on a
        day it has no ticks for (a feed gap) includes it; a day the source knows nothing of
        maps to ``{}`` or is absent. :func:`eod_open_interest_from_ticks` is the fallback for a
        source that only has ticks."""
        ...


EodOpenInterest = dict[date, dict[str, float]]


def eod_open_interest_from_ticks(
    provider: DataProvider, variety_key: str, start_day: date, end_day: date
) -> EodOpenInterest:
    """``end_of_day_open_interest`` of a tick-only source: the ``open_interest`` of each catalog
    contract's last tick per day (a contract-day without ticks has no entry). It fetches every
    contract-day of the range, so keep the range short for a remote source."""
    out: EodOpenInterest = {}
    for c in provider.catalog(variety_key):
        lo = max(start_day, c.first_trading_day or start_day)
        hi = min(end_day, c.last_trading_day or end_day)
        if lo > hi:
            continue
        for day in provider.fetch_days(c.symbol, lo, hi):
            per_day = out.setdefault(day.trading_day, {})
            if day.ticks.shape[0]:
                per_day[c.symbol] = float(day.ticks["open_interest"][-1])
    return dict(sorted(out.items()))


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
