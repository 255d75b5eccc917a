"""The TqBacktest harness's drivers and records against a small stand-in for TqApi's order API
(no tqsdk needed): the decisions, offsets and the cancel-then-resend rule."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pytest

from ghtrader.adapters.tqsdk.backtest import Book, QuoteDriver, TargetDriver, quote_prices, trading_day_starts
from ghtrader.domain.calendar import beijing_datetime_to_ns
from ghtrader.domain.microsim.simulator import QuoteStrategy

SYM = "SHFE.cu2402"


@dataclass
class FakeOrder:
    order_id: str
    direction: str
    offset: str
    volume_orign: int
    limit_price: float
    advanced: str | None
    status: str = "ALIVE"


@dataclass
class FakeApi:
    """Records what a driver sends; orders stay ALIVE until the test finishes them."""

    orders: list[FakeOrder] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)

    def insert_order(self, symbol, direction, offset="", volume=1, limit_price=None, advanced=None):  # noqa: ANN001, ANN201
        assert symbol == SYM
        order = FakeOrder(f"o{len(self.orders)}", direction, offset, volume, limit_price, advanced)
        self.orders.append(order)
        return order

    def cancel_order(self, order_or_order_id) -> None:  # noqa: ANN001
        self.cancels.append(order_or_order_id.order_id)


def book(bid: float, ask: float, lt: int = 0, lh: int = 0, st: int = 0, sh: int = 0, t: int = 0) -> Book:
    return Book(t, bid, ask, lt, lh, st, sh)


def test_quote_prices_follow_the_position_limit_and_missing_sides() -> None:
    s = QuoteStrategy(qty=1, max_position=2)
    assert quote_prices(100.0, 110.0, 0, s) == (100.0, 110.0)
    buy, sell = quote_prices(100.0, 110.0, 2, s)
    assert math.isnan(buy) and sell == 110.0
    buy, sell = quote_prices(100.0, 110.0, -2, s)
    assert buy == 100.0 and math.isnan(sell)
    buy, sell = quote_prices(math.nan, 110.0, 0, s)
    assert math.isnan(buy) and sell == 110.0


def test_quote_driver_cancels_once_and_resends_after_the_cancel_is_done() -> None:
    api, d = FakeApi(), QuoteDriver(SYM, QuoteStrategy(qty=2, max_position=5))
    d.on_tick(api, book(100.0, 110.0))
    assert [(o.direction, o.offset, o.volume_orign, o.limit_price, o.advanced) for o in api.orders] == [
        ("BUY", "OPEN", 2, 100.0, None),
        ("SELL", "OPEN", 2, 110.0, None),
    ]
    d.on_tick(api, book(90.0, 110.0))  # bid moved: cancel the buy, keep the sell
    d.on_tick(api, book(90.0, 110.0))  # cancel still in flight: nothing new, no second cancel
    assert api.cancels == ["o0"] and len(api.orders) == 2
    api.orders[0].status = "FINISHED"
    d.on_tick(api, book(90.0, 110.0))
    assert len(api.orders) == 3 and api.orders[2].limit_price == 90.0 and api.cancels == ["o0"]


def test_quote_driver_closes_today_then_yesterday_and_caps_the_close() -> None:
    api, d = FakeApi(), QuoteDriver(SYM, QuoteStrategy(qty=3, max_position=9))
    d.on_tick(api, book(100.0, 110.0, lt=1, lh=4))
    buy, sell = api.orders
    assert (buy.offset, buy.volume_orign) == ("OPEN", 3)
    assert (sell.offset, sell.volume_orign) == ("CLOSETODAY", 1)  # only 1 lot of today's position
    sell.status = "FINISHED"
    d.on_tick(api, book(100.0, 110.0, lh=4))
    assert (api.orders[-1].offset, api.orders[-1].volume_orign) == ("CLOSE", 3)


def test_target_driver_sends_fak_at_the_opposite_best_one_order_at_a_time() -> None:
    d = TargetDriver(SYM, [10, 20], [2, -1])
    assert [d.target_at(t) for t in (0, 9, 10, 19, 20, 99)] == [0, 0, 2, 2, -1, -1]
    api = FakeApi()
    d.on_tick(api, book(100.0, 110.0, t=5))
    assert api.orders == []
    d.on_tick(api, book(100.0, 110.0, t=10))
    d.on_tick(api, book(100.0, 110.0, t=11))  # the FAK is still alive: wait
    assert [(o.direction, o.offset, o.volume_orign, o.limit_price, o.advanced) for o in api.orders] == [
        ("BUY", "OPEN", 2, 110.0, "FAK")
    ]
    api.orders[0].status = "FINISHED"
    d.on_tick(api, book(100.0, 110.0, lt=2, t=20))
    assert (api.orders[-1].direction, api.orders[-1].offset, api.orders[-1].volume_orign) == ("SELL", "CLOSETODAY", 2)
    assert api.orders[-1].limit_price == 100.0
    with pytest.raises(ValueError, match="sorted"):
        TargetDriver(SYM, [20, 10], [1, 0])


def test_trading_days_follow_tqsdks_night_and_weekend_rule() -> None:
    ns = beijing_datetime_to_ns
    stamps = np.array(
        [
            ns(datetime(2024, 1, 4, 14, 59)),  # Thursday day session
            ns(datetime(2024, 1, 4, 21, 0)),  # Thursday night -> Friday
            ns(datetime(2024, 1, 5, 9, 0)),  # Friday
            ns(datetime(2024, 1, 5, 21, 0)),  # Friday night -> Monday
            ns(datetime(2024, 1, 6, 0, 30)),  # Saturday after midnight -> Monday
            ns(datetime(2024, 1, 8, 9, 0)),  # Monday
        ],
        dtype=np.int64,
    )
    assert trading_day_starts(stamps).tolist() == [True, True, False, True, False, False]
