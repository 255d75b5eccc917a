"""DataProvider over :class:`~ghtrader.domain.market_sim.SyntheticMarket` (the default source)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Protocol

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.providers import ContractInfo, DayTicks
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import DomainError, InvalidSymbolError
from ghtrader.domain.instruments import (
    ContinuousSymbol,
    contract_spec,
    parse_symbol,
    variety_key,
)
from ghtrader.domain.ticks import empty_ticks

__all__ = ["SyntheticDataProvider", "SyntheticMarketLike", "check_simulated_symbol"]

_DEFAULT_CATALOG_DAYS = 365
_MONTHS_LISTED_AHEAD = 13


class SyntheticMarketLike(Protocol):
    """What the provider uses of ``SyntheticMarket`` (a fake in tests implements the same)."""

    @property
    def variety_keys(self) -> tuple[str, ...]: ...

    def contract_life(self, symbol: str) -> tuple[date, date]: ...

    def ticks(self, symbol: str, trading_day: date) -> np.ndarray: ...

    def continuous_ticks(self, variety_key: str, trading_day: date) -> np.ndarray: ...

    def end_of_day_open_interest(self, variety_key: str, trading_day: date) -> dict[str, float]: ...


def check_simulated_symbol(market: SyntheticMarketLike, symbol: str) -> tuple[bool, str]:
    """``(is_continuous, variety_key)`` of a symbol the market simulates; InvalidArgument otherwise."""
    try:
        parsed = parse_symbol(symbol)
    except InvalidSymbolError as exc:
        raise InvalidArgument(str(exc)) from None
    if parsed.variety_key not in market.variety_keys:
        raise InvalidArgument(
            f"symbol {symbol!r}: variety {parsed.variety_key!r} is not simulated; "
            f"the synthetic market has {list(market.variety_keys)}"
        )
    return isinstance(parsed, ContinuousSymbol), parsed.variety_key


class SyntheticDataProvider:
    """Ticks generated on demand by the synthetic market, one trading day at a time.

    Args:
        market: the simulator (a pure function of its config and calendar).
        calendar: lists the trading days to yield; must hold the same holidays as the market's.
        history_start: the first day the market can generate (its ``config.anchor_date``; taken
            from the market when it has a config). Earlier days yield empty arrays.
        catalog_window: ``(first, last)`` days; ``catalog`` lists the contracts whose life
            overlaps it. Defaults to ``history_start .. today()`` or, without ``today``, to one
            year from ``history_start``.
        today: "today" (e.g. from the Clock port) for the window end and the ``expired`` flag;
            without it a contract counts as expired when it expires before the window end.
    """

    name = "synthetic"

    def __init__(
        self,
        market: SyntheticMarketLike,
        calendar: TradingCalendar,
        *,
        history_start: date | None = None,
        catalog_window: tuple[date, date] | None = None,
        today: Callable[[], date] | None = None,
    ) -> None:
        market_cal = getattr(market, "calendar", None)
        if isinstance(market_cal, TradingCalendar) and market_cal.holidays != calendar.holidays:
            raise ValueError(
                "SyntheticDataProvider: the market's calendar and the provider's calendar hold different "
                "holidays; build both from the same CalendarSource"
            )
        if history_start is None:
            config = getattr(market, "config", None)
            history_start = getattr(config, "anchor_date", None)
        if catalog_window is not None and catalog_window[0] > catalog_window[1]:
            raise ValueError(f"catalog_window {catalog_window} is empty: expected (first, last) with first <= last")
        self._market = market
        self._calendar = calendar
        self._history_start = history_start
        self._catalog_window = catalog_window
        self._today = today

    def __repr__(self) -> str:
        return f"SyntheticDataProvider({self._market!r})"

    def fetch_days(self, symbol: str, start_day: date, end_day: date) -> Iterator[DayTicks]:
        """One DayTicks per trading day in ``[start_day, end_day]``.

        ``KQ.m@`` symbols give the continuous main series (level 1 only). Days outside a
        contract's life, before ``history_start`` and the market's zero-tick days are empty.

        Raises:
            InvalidArgument: a malformed or non-simulated symbol, or ``start_day > end_day``.
        """
        if start_day > end_day:
            raise InvalidArgument(f"start_day {start_day} is after end_day {end_day}")
        continuous, key = check_simulated_symbol(self._market, symbol)
        life = None if continuous else self._market.contract_life(symbol)
        days = self._calendar.trading_days(start_day, end_day)
        return self._days(symbol, key, continuous, life, days)

    def _days(
        self, symbol: str, key: str, continuous: bool, life: tuple[date, date] | None, days: list[date]
    ) -> Iterator[DayTicks]:
        for day in days:
            if self._history_start is not None and day < self._history_start:
                ticks = empty_ticks(0)
            elif continuous:
                ticks = self._generate(self._market.continuous_ticks, key, day)
            elif life is not None and not life[0] <= day <= life[1]:
                ticks = empty_ticks(0)
            else:
                ticks = self._generate(self._market.ticks, symbol, day)
            yield DayTicks(symbol, day, ticks)

    @staticmethod
    def _generate(fn: Callable[[str, date], np.ndarray], arg: str, day: date) -> np.ndarray:
        try:
            return fn(arg, day)
        except DomainError as exc:
            raise InvalidArgument(f"synthetic market cannot generate {arg} on {day}: {exc}") from None

    def end_of_day_open_interest(
        self, variety_key_: str, start_day: date, end_day: date
    ) -> dict[date, dict[str, float]]:
        """The market's own end-of-day OI of every listed contract per trading day, zero-tick
        days included (the exchange still reports their OI). Days before the trading day that
        precedes ``history_start`` map to ``{}``: the market seeds its first main from that day.

        Raises:
            InvalidArgument: a variety that is not simulated, or ``start_day > end_day``.
        """
        if start_day > end_day:
            raise InvalidArgument(f"start_day {start_day} is after end_day {end_day}")
        key = self._variety_key(variety_key_)
        first = None if self._history_start is None else self._calendar.previous_trading_day(self._history_start)
        out: dict[date, dict[str, float]] = {}
        for day in self._calendar.trading_days(start_day, end_day):
            if first is not None and day < first:
                out[day] = {}
                continue
            try:
                out[day] = self._market.end_of_day_open_interest(key, day)
            except DomainError as exc:
                raise InvalidArgument(f"synthetic market has no open interest of {key} on {day}: {exc}") from None
        return out

    def _window(self) -> tuple[date, date, date]:
        """``(first, last, as_of)``: the catalog window and the day ``expired`` is judged on."""
        today = self._today() if self._today is not None else None
        if self._catalog_window is not None:
            first, last = self._catalog_window
        else:
            first = self._history_start or (today or date.today())
            last = today if today is not None else first + timedelta(days=_DEFAULT_CATALOG_DAYS)
            last = max(first, last)
        return first, last, today if today is not None else last

    def catalog(self, variety_key_: str) -> list[ContractInfo]:
        """Contracts of the variety whose life overlaps the catalog window (source ``"synthetic"``).

        ``first_trading_day`` is clipped to ``history_start``: the market has no earlier ticks.
        """
        key = self._variety_key(variety_key_)
        spec = contract_spec(key)
        first, last, as_of = self._window()
        start_month = first.year * 12 + first.month - 1
        stop_month = last.year * 12 + last.month - 1 + _MONTHS_LISTED_AHEAD
        out: list[ContractInfo] = []
        for index in range(start_month, stop_month + 1):
            year, month0 = divmod(index, 12)
            if month0 + 1 not in spec.listed_months:
                continue
            symbol = spec.contract(year, month0 + 1)
            life_first, life_last = self._market.contract_life(symbol)
            if life_first > last or life_last < first:
                continue
            if self._history_start is not None and life_first < self._history_start:
                life_first = max(life_first, self._first_trading_day_from(self._history_start))
            out.append(
                ContractInfo(
                    symbol=symbol,
                    exchange=spec.exchange,
                    variety=spec.variety,
                    expired=life_last < as_of,
                    first_trading_day=life_first,
                    last_trading_day=life_last,
                    price_tick=spec.price_tick,
                    multiplier=spec.multiplier,
                    source="synthetic",
                )
            )
        return out

    def _variety_key(self, text: str) -> str:
        try:
            key = variety_key(text)
        except InvalidSymbolError as exc:
            raise InvalidArgument(f"{exc}; expected a variety key like 'SHFE.cu'") from None
        if key not in self._market.variety_keys:
            raise InvalidArgument(
                f"variety {key!r} is not simulated; the synthetic market has {list(self._market.variety_keys)}"
            )
        return key

    def _first_trading_day_from(self, d: date) -> date:
        return d if self._calendar.is_trading_day(d) else self._calendar.next_trading_day(d)
