"""The change rule: split and price."""

from __future__ import annotations

import numpy as np

from ghtrader.domain.microsim.codes import BUY, SELL
from ghtrader.domain.trading.changes import change_side, order_price, split_change


def test_split_closes_today_then_yesterday_then_opens() -> None:
    assert [int(x) for x in split_change(-3, 1, 1)] == [1, 1, 1]
    assert [int(x) for x in split_change(2, 0, 5)] == [0, 2, 0]
    assert [int(x) for x in split_change(1, -4, 0)] == [0, 0, 1]  # nothing held on the other side
    assert int(change_side(2)) == BUY and int(change_side(-1)) == SELL


def test_price_crosses_when_aggressive() -> None:
    assert float(order_price(BUY, 100.0, 110.0, True)) == 110.0
    assert float(order_price(SELL, 100.0, 110.0, False)) == 110.0
    np.testing.assert_array_equal(order_price(np.array([BUY, SELL]), 1.0, 2.0, np.array([False, True])), [1.0, 1.0])
