"""Contract catalog of a variety from TqSdk, its pre-2020 cache and the local store.

Sources, in order of precedence (a symbol takes its row from the first source that has it):

1. ``query_quotes`` — the live instrument service (active and expired contracts, with
   ``query_symbol_info`` for expiry, price tick and multiplier);
2. ``pre2020_cache`` — contracts delisted before 2020-09, from the tqsdk wheel;
3. ``store`` — symbols only present in the local tick store (static spec values).

First trading day: the Shinny instrument service publishes a listing date for securities
(``first_trading_datetime``) but none for futures. A record that carries one (``open_date``,
``first_trading_day`` or ``first_trading_datetime``) is used as is; otherwise the day comes from
the SHFE listing rule: a contract is listed on the trading day after its predecessor expires,
the predecessor being the same month one year earlier (cu and ag list every month twelve
months ahead; so do au's even months) or, for au's odd months, listed only as one of the three
nearest months, the contract three months earlier. The predecessor's expiry is taken from the
catalog when it is there, else from the 15th-of-the-month rule; the estimate skips weekends
but not holidays, which callers' trading calendars clip.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ghtrader.adapters.tqsdk.pre2020 import Pre2020Cache
from ghtrader.adapters.tqsdk.session import translate_tqsdk_error
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.providers import ContractInfo
from ghtrader.domain.errors import InvalidSymbolError
from ghtrader.domain.instruments import ContinuousSymbol, ContractSymbol, contract_spec, parse_contract, variety_key

if TYPE_CHECKING:
    from tqsdk import TqApi

__all__ = [
    "SOURCE_PRE2020",
    "SOURCE_QUERY",
    "SOURCE_STORE",
    "TqSdkCatalog",
    "expiry_day",
    "listed_symbols",
    "listing_day_estimate",
    "merge_catalog",
]

log = logging.getLogger(__name__)

SOURCE_QUERY = "query_quotes"
SOURCE_PRE2020 = "pre2020_cache"
SOURCE_STORE = "store"
_CST = timezone(timedelta(hours=8))


def expiry_day(expire_datetime_s: Any) -> date | None:
    """Beijing calendar date of a TqSdk ``expire_datetime`` (epoch seconds); None when unknown."""
    try:
        value = float(expire_datetime_s)
    except (TypeError, ValueError):
        return None
    if not value > 0:  # NaN, 0 or negative
        return None
    return datetime.fromtimestamp(value, tz=_CST).date()


def _open_day(rec: Mapping[str, Any]) -> date | None:
    """A listing date carried by the record: ``YYYY-MM-DD`` / ``YYYYMMDD`` text or number, or
    epoch seconds / nanoseconds; None when absent or unreadable."""
    for name in ("open_date", "first_trading_day", "first_trading_datetime"):
        value = rec.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, str):
            text = value.strip()
            try:
                return date.fromisoformat(text[:10]) if "-" in text else datetime.strptime(text, "%Y%m%d").date()
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if not number > 0:  # NaN, 0 or negative
            continue
        if 19_000_101 <= number <= 21_001_231:
            n = int(number)
            try:
                return date(n // 10_000, n // 100 % 100, n % 100)
            except ValueError:
                continue
        return expiry_day(number / 1e9 if number > 1e14 else number)
    return None


def _predecessor(c: ContractSymbol) -> str:
    """The contract whose expiry lists ``c`` (see the module doc)."""
    back = 3 if c.variety == "au" and c.month % 2 == 1 else 12
    idx = c.year * 12 + c.month - 1 - back
    return f"{c.exchange}.{c.variety}{idx // 12 % 100:02d}{idx % 12 + 1:02d}"


def listing_day_estimate(symbol: str, expiries: Mapping[str, date | None]) -> date:
    """First trading day of ``symbol`` by the SHFE listing rule: the weekday after its
    predecessor's expiry (``expiries[predecessor]``, else the 15th of the predecessor's month,
    moved past a weekend)."""
    c = parse_contract(symbol)
    pred = _predecessor(c)
    expiry = expiries.get(pred)
    if expiry is None:
        p = parse_contract(pred)
        expiry = date(p.year, p.month, 15)
        while expiry.weekday() >= 5:
            expiry += timedelta(days=1)
    day = expiry + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _split_key(key: str) -> tuple[str, str]:
    try:
        vk = variety_key(key)
    except InvalidSymbolError as exc:
        raise InvalidArgument(f"invalid variety {key!r}: {exc}") from None
    exchange, variety = vk.split(".", 1)
    return exchange, variety


def _info_from_record(
    symbol: str, rec: Mapping[str, Any], exchange: str, variety: str, source: str
) -> ContractInfo | None:
    try:
        parse_contract(symbol)
    except InvalidSymbolError:
        log.debug("catalog: skipping %r from %s (not a dated contract symbol)", symbol, source)
        return None
    return ContractInfo(
        symbol=symbol,
        exchange=exchange,
        variety=variety,
        expired=bool(rec.get("expired", False)),
        first_trading_day=_open_day(rec),  # None for futures today: merge_catalog estimates it
        last_trading_day=expiry_day(rec.get("expire_datetime")),
        price_tick=float(rec.get("price_tick", float("nan"))),
        multiplier=float(rec.get("volume_multiple", float("nan"))),
        source=source,
    )


def merge_catalog(
    key: str,
    queried: Mapping[str, Mapping[str, Any]],
    pre2020: Mapping[str, Mapping[str, Any]],
    store_symbols: Iterable[str],
    today: date,
) -> list[ContractInfo]:
    """Merge the three sources (see the module doc) into ContractInfo rows sorted by expiry month,
    each with a first trading day (the record's listing date, else the listing-rule estimate).

    ``queried`` and ``pre2020`` map symbols to TqSdk quote records (``expired``,
    ``expire_datetime`` in epoch seconds, ``price_tick``, ``volume_multiple``). Store symbols of
    other varieties are ignored; a store-only contract counts as expired once its delivery
    month is before ``today``'s month.
    """
    exchange, variety = _split_key(key)
    rows: dict[str, ContractInfo] = {}
    for source, records in ((SOURCE_QUERY, queried), (SOURCE_PRE2020, pre2020)):
        for sym, rec in records.items():
            if sym not in rows and (info := _info_from_record(sym, rec, exchange, variety, source)) is not None:
                rows[sym] = info
    spec = None
    month_now = today.year * 12 + today.month - 1
    for sym in store_symbols:
        if sym in rows:
            continue
        try:
            parsed = parse_contract(sym)
        except InvalidSymbolError:
            continue
        if parsed.exchange != exchange or parsed.variety != variety:
            continue
        if spec is None:
            spec = contract_spec(key)
        rows[sym] = ContractInfo(
            symbol=sym,
            exchange=exchange,
            variety=variety,
            expired=parsed.expiry_month_index < month_now,
            first_trading_day=None,
            last_trading_day=None,
            price_tick=spec.price_tick,
            multiplier=spec.multiplier,
            source=SOURCE_STORE,
        )
    expiries = {sym: info.last_trading_day for sym, info in rows.items()}
    for sym, info in rows.items():
        if info.first_trading_day is None:
            rows[sym] = dataclasses.replace(info, first_trading_day=listing_day_estimate(sym, expiries))
    return sorted(rows.values(), key=lambda r: (parse_contract(r.symbol).expiry_month_index, r.symbol))


def listed_symbols(api: TqApi, parsed: ContractSymbol | ContinuousSymbol) -> set[str]:
    """Symbols the live instrument service lists for the variety of ``parsed`` (FUTURE contracts
    for a dated contract, CONT aliases for ``KQ.m@``), expired ones included."""
    if isinstance(parsed, ContinuousSymbol):
        return set(api.query_quotes(ins_class="CONT", exchange_id=parsed.exchange, product_id=parsed.variety))
    return set(api.query_quotes(ins_class="FUTURE", exchange_id=parsed.exchange, product_id=parsed.variety))


class TqSdkCatalog:
    """Contracts of a variety from TqSdk (see :func:`merge_catalog` for the merge rules).

    Args:
        session_factory: opens a TqSdk session (``TqSdkSession(config)``); one is opened per call.
        pre2020: the wheel's pre-2020 cache reader.
        today: the current Beijing date (from the Clock port); used for store-only rows.
    """

    def __init__(
        self,
        session_factory: Callable[[], AbstractContextManager[TqApi]],
        *,
        pre2020: Pre2020Cache | None = None,
        today: Callable[[], date] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._pre2020 = pre2020 if pre2020 is not None else Pre2020Cache()
        self._today = today if today is not None else (lambda: datetime.now(_CST).date())

    @property
    def pre2020(self) -> Pre2020Cache:
        return self._pre2020

    def contracts(self, key: str, store_symbols: Sequence[str] = ()) -> list[ContractInfo]:
        """Every known contract of ``key`` (e.g. ``"SHFE.cu"``), each with its ``source``.

        Raises:
            InvalidArgument: ``key`` is not a supported variety.
            Unavailable / FailedPrecondition: TqSdk cannot be reached or refused the login.
        """
        exchange, variety = _split_key(key)
        with self._session_factory() as api:
            queried = self.query(api, exchange, variety)
        return merge_catalog(key, queried, self._pre2020.futures(exchange, variety), store_symbols, self._today())

    @staticmethod
    def query(api: TqApi, exchange: str, variety: str) -> dict[str, dict[str, Any]]:
        """``query_quotes`` (active and expired) + ``query_symbol_info`` as symbol -> record."""
        what = f"querying the TqSdk catalog of {exchange}.{variety}"
        try:
            active = set(api.query_quotes(ins_class="FUTURE", exchange_id=exchange, product_id=variety, expired=False))
            expired = set(api.query_quotes(ins_class="FUTURE", exchange_id=exchange, product_id=variety, expired=True))
            symbols = sorted(active | expired)
            if not symbols:
                return {}
            df = api.query_symbol_info(symbols)
        except Exception as exc:
            raise translate_tqsdk_error(exc, what) from None
        out: dict[str, dict[str, Any]] = {}
        for rec in df.to_dict("records"):
            sym = str(rec.get("instrument_id", ""))
            if sym:
                rec["expired"] = sym in expired and sym not in active
                out[sym] = rec
        return out
