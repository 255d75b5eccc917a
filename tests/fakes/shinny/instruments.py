"""Builders of instrument records in the shape the Shinny instrument service returns.

A record is one element of ``result.multi_symbol_info`` of an ``ins_query`` answer (the GraphQL
"basic" + "tradeable" + "future" fragments TqSdk asks for). The fake answers every query with
whole records; TqSdk keeps the fields it knows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

_CST = timezone(timedelta(hours=8))

SHFE_DAY = [["09:00:00", "10:15:00"], ["10:30:00", "11:30:00"], ["13:30:00", "15:00:00"]]
NIGHT = {"cu": [["21:00:00", "25:00:00"]], "au": [["21:00:00", "26:30:00"]], "ag": [["21:00:00", "26:30:00"]]}
PRICE_TICK = {"cu": 10.0, "au": 0.02, "ag": 1.0}
PRICE_DECS = {"cu": 0, "au": 2, "ag": 0}
MULTIPLIER = {"cu": 5, "au": 1000, "ag": 15}


def expire_ns(day: date) -> int:
    """Epoch ns of 15:00 Beijing on ``day`` (how the service stamps a future's expiry)."""
    return int(datetime(day.year, day.month, day.day, 15, tzinfo=_CST).timestamp()) * 1_000_000_000


def future_instrument(
    symbol: str,
    *,
    expire_day: date,
    expired: bool,
    price_tick: float | None = None,
    volume_multiple: int | None = None,
) -> dict[str, Any]:
    """A FUTURE record such as ``future_instrument("SHFE.cu2402", expire_day=..., expired=False)``."""
    exchange, code = symbol.split(".", 1)
    variety = code.rstrip("0123456789")
    yymm = code[len(variety) :]
    tick = PRICE_TICK.get(variety, 1.0) if price_tick is None else price_tick
    return {
        "__typename": "Future",
        "class": "FUTURE",
        "instrument_id": symbol,
        "instrument_name": f"{variety}{yymm}",
        "exchange_id": exchange,
        "product_id": variety,
        "price_tick": tick,
        "price_decs": PRICE_DECS.get(variety, 2),
        "volume_multiple": MULTIPLIER.get(variety, 1) if volume_multiple is None else volume_multiple,
        "trading_time": {"day": SHFE_DAY, "night": NIGHT.get(variety, [])},
        "expired": expired,
        "expire_datetime": expire_ns(expire_day),
        "delivery_year": 2000 + int(yymm[:2]),
        "delivery_month": int(yymm[2:]),
        "max_limit_order_volume": 500,
        "max_market_order_volume": 0,
        "min_limit_order_volume": 1,
        "min_market_order_volume": 0,
        "margin": 30000.0,
        "commission": 10.0,
        "pre_open_interest": 1000,
    }


def continuous_instrument(symbol: str, underlying: dict[str, Any]) -> dict[str, Any]:
    """A CONT record (``KQ.m@SHFE.cu``) whose ``underlying`` edge is the given FUTURE record."""
    return {
        "__typename": "Continuous",
        "class": "CONT",
        "instrument_id": symbol,
        "instrument_name": symbol,
        "exchange_id": "KQ",
        "product_id": underlying["product_id"],
        "price_tick": underlying["price_tick"],
        "price_decs": underlying["price_decs"],
        "volume_multiple": underlying["volume_multiple"],
        "trading_time": underlying["trading_time"],
        "expired": False,
        "underlying": {"count": 1, "edges": [{"underlying_multiple": 1, "node": dict(underlying)}]},
    }
