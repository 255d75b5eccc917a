"""In-memory fakes of the provider ports: historical data, live feed, calendar source."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ghtrader.application.errors import InvalidArgument, Unavailable
from ghtrader.application.ports.providers import (
    ContractInfo,
    DayTicks,
    TickCallback,
    eod_open_interest_from_ticks,
)
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.instruments import variety_key
from ghtrader.domain.ticks import TICK_DTYPE, as_tick_array, sort_by_time


@dataclass
class FixedCalendarSource:
    """CalendarSource returning one calendar."""

    calendar: TradingCalendar

    def load(self) -> TradingCalendar:
        return self.calendar


class InMemoryDataProvider:
    """DataProvider over ticks held in memory.

    ``add_ticks`` files rows under the trading day the calendar gives them; ``set_day``
    overrides exactly what is yielded for one (symbol, day), even rows of another day, to model
    a misbehaving source. ``fail_after`` makes ``fetch_days`` raise Unavailable after that many
    days were yielded in total. Every call is logged in ``calls``.
    """

    name = "memory"

    def __init__(self, calendar: TradingCalendar, catalog: Sequence[ContractInfo] = ()) -> None:
        self._calendar = calendar
        self._ticks: dict[str, np.ndarray] = {}
        self._pending: dict[str, list[np.ndarray]] = {}
        self._overrides: dict[tuple[str, date], np.ndarray] = {}
        self._catalog: list[ContractInfo] = list(catalog)
        self.calls: list[tuple[str, date, date]] = []
        self.yielded_days: list[tuple[str, date]] = []
        self.fail_after: int | None = None
        self.known_symbols: set[str] | None = None  # None: every symbol exists
        self._open_interest: dict[date, dict[str, float]] = {}

    def add_ticks(self, symbol: str, ticks: np.ndarray) -> None:
        self._pending.setdefault(symbol, []).append(as_tick_array(ticks))

    def _series(self, symbol: str) -> np.ndarray:
        pending = self._pending.pop(symbol, [])
        if pending:
            old = self._ticks.get(symbol)
            self._ticks[symbol] = sort_by_time(np.concatenate(([old] if old is not None else []) + pending))
        return self._ticks.get(symbol, np.empty(0, dtype=TICK_DTYPE))

    def set_day(self, symbol: str, day: date, ticks: np.ndarray) -> None:
        self._overrides[(symbol, day)] = ticks

    def add_contract(self, info: ContractInfo) -> None:
        self._catalog.append(info)

    def fetch_days(self, symbol: str, start_day: date, end_day: date) -> Iterator[DayTicks]:
        if self.known_symbols is not None and symbol not in self.known_symbols:
            raise InvalidArgument(f"unknown symbol {symbol}")
        self.calls.append((symbol, start_day, end_day))
        arr = self._series(symbol)
        days = self._calendar.trading_days_of(arr["datetime_ns"]) if arr.shape[0] else np.empty(0, "datetime64[D]")
        for day in self._calendar.trading_days(start_day, end_day):
            if self.fail_after is not None and len(self.yielded_days) >= self.fail_after:
                raise Unavailable("memory provider: simulated outage")
            self.yielded_days.append((symbol, day))
            rows = self._overrides.get((symbol, day))
            if rows is None:
                rows = arr[days == np.datetime64(day, "D")]
            yield DayTicks(symbol, day, rows)

    def catalog(self, variety_key_: str) -> list[ContractInfo]:
        return [c for c in self._catalog if variety_key(c.symbol) == variety_key_]

    def set_open_interest(self, symbol: str, day: date, oi: float) -> None:
        """Declare a contract's end-of-day OI for a day, ticks or not (a feed gap keeps its OI)."""
        self._open_interest.setdefault(day, {})[symbol] = oi

    def end_of_day_open_interest(
        self, variety_key_: str, start_day: date, end_day: date
    ) -> dict[date, dict[str, float]]:
        """Declared OI (``set_open_interest``) where given, else the last tick's OI per contract-day."""
        out = eod_open_interest_from_ticks(self, variety_key_, start_day, end_day)
        for day, per in self._open_interest.items():
            if start_day <= day <= end_day:
                out.setdefault(day, {}).update({s: v for s, v in per.items() if variety_key(s) == variety_key_})
        return out


@dataclass
class LiveEvent:
    """One delivery of the fake feed; ``advance_s`` moves the clock forward first."""

    symbol: str
    ticks: np.ndarray
    advance_s: float = 0.0


@dataclass
class InMemoryLiveFeed:
    """LiveFeed replaying scripted events; checks ``should_stop`` before each and once at the
    end (``idle_polls`` more times, advancing the clock by ``idle_step_s`` each)."""

    events: list[LiveEvent]
    clock: object | None = None  # a tests.fakes.system.FakeClock to advance
    idle_polls: int = 0
    idle_step_s: float = 1.0
    delivered: int = 0
    symbols_seen: list[tuple[str, ...]] = field(default_factory=list)

    def _advance(self, seconds: float) -> None:
        if self.clock is not None and seconds:
            self.clock.mono += seconds  # type: ignore[attr-defined]
            self.clock.now += int(seconds * 1e9)  # type: ignore[attr-defined]

    def run(self, symbols: Sequence[str], on_ticks: TickCallback, should_stop: Callable[[], bool]) -> None:
        self.symbols_seen.append(tuple(symbols))
        for event in self.events:
            self._advance(event.advance_s)
            if should_stop():
                return
            on_ticks(event.symbol, event.ticks)
            self.delivered += 1
        for _ in range(self.idle_polls):
            self._advance(self.idle_step_s)
            if should_stop():
                return
