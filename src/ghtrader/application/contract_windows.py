"""Which trading days a contract should have data for: catalog life windows clipped to "today".

"Today" for historical data is the last *completed* trading day: a trading day counts as
complete once its day session has closed (15:00 Beijing) plus a settling margin, so a
download never indexes a half-finished day as present.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.providers import ContractInfo, DataProvider
from ghtrader.domain.calendar import TradingCalendar, ns_to_beijing_datetime
from ghtrader.domain.errors import InvalidSymbolError
from ghtrader.domain.instruments import ContractSymbol, parse_contract, parse_symbol, variety_key

#: Minutes after Beijing midnight from which the current trading day counts as complete.
DAY_COMPLETE_AFTER_MIN = 15 * 60 + 30


def last_completed_trading_day(calendar: TradingCalendar, now_ns: int) -> date:
    """The latest trading day whose sessions are all over at ``now_ns``."""
    now_bj = ns_to_beijing_datetime(now_ns)
    current = calendar.trading_day_of(now_ns)
    if now_bj.date() == current and now_bj.hour * 60 + now_bj.minute >= DAY_COMPLETE_AFTER_MIN:
        return current
    return calendar.previous_trading_day(current)


def shift_trading_days(calendar: TradingCalendar, day: date, n: int) -> date:
    """``day`` moved back by ``n`` trading days (``n >= 0``)."""
    for _ in range(n):
        day = calendar.previous_trading_day(day)
    return day


def check_symbol(symbol: str) -> str:
    """``symbol`` validated as a contract or continuous alias (InvalidArgument otherwise)."""
    try:
        parse_symbol(symbol)
    except InvalidSymbolError as exc:
        raise InvalidArgument(str(exc)) from None
    return symbol


def check_variety(key: str) -> str:
    """``"SHFE.cu"`` validated (also accepts a contract or alias and returns its variety)."""
    try:
        return variety_key(key)
    except InvalidSymbolError as exc:
        raise InvalidArgument(f"{exc}; expected a variety key like 'SHFE.cu'") from None


def is_dated_contract(symbol: str) -> bool:
    """True for ``SHFE.cu2602``-style symbols, False for aliases and unparsable text."""
    try:
        return isinstance(parse_symbol(symbol), ContractSymbol)
    except InvalidSymbolError:
        return False


def symbol_variety(symbol: str) -> str | None:
    """Variety key of a symbol, or None when it does not parse."""
    try:
        return parse_symbol(symbol).variety_key
    except InvalidSymbolError:
        return None


@dataclass(frozen=True)
class CatalogContract:
    """A catalog entry together with its parsed symbol."""

    info: ContractInfo
    contract: ContractSymbol

    @property
    def symbol(self) -> str:
        return self.info.symbol


def load_catalog(provider: DataProvider, key: str) -> list[CatalogContract]:
    """Dated futures contracts of variety ``key`` from the provider catalog, by expiry."""
    key = check_variety(key)
    out: list[CatalogContract] = []
    seen: set[str] = set()
    for info in provider.catalog(key):
        try:
            contract = parse_contract(info.symbol)
        except InvalidSymbolError:
            continue  # options, aliases or exotic entries are not downloaded by contract
        if contract.variety_key != key or info.symbol in seen:
            continue
        seen.add(info.symbol)
        out.append(CatalogContract(info, contract))
    out.sort(key=lambda c: c.contract.expiry_month_index)
    return out


def life_window(
    info: ContractInfo,
    calendar: TradingCalendar,
    today: date,
    start: date | None = None,
    end: date | None = None,
) -> tuple[date, date] | None:
    """Trading-day window ``[first, last]`` of a contract's life clipped to ``[start, end]`` and to
    ``today``; None when empty or when the catalog has no first trading day and no ``start``."""
    first = info.first_trading_day
    if start is not None:
        first = start if first is None else max(first, start)
    if first is None:
        return None
    last = today if info.last_trading_day is None else min(info.last_trading_day, today)
    if end is not None:
        last = min(last, end)
    days = calendar.trading_days(first, last)
    if not days:
        return None
    return days[0], days[-1]


def contracts_between(catalog: Iterable[CatalogContract], first: str, last: str) -> list[CatalogContract]:
    """Catalog contracts whose expiry lies between ``first`` and ``last`` (inclusive)."""
    lo = parse_contract(first).expiry_month_index
    hi = parse_contract(last).expiry_month_index
    return [c for c in catalog if lo <= c.contract.expiry_month_index <= hi]
