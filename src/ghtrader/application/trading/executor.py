"""Direct executor: the orders that move a position to a target, as limit orders at the best.

SHFE offsets: a reduction closes today's lots with CLOSETODAY and yesterday's with CLOSE (today's
first: they are the ones a day-trading target opened), and only what is left after closing the
opposite side opens a new position. The split and the price are
:mod:`ghtrader.domain.trading.changes`, the rule the backtest's command plan applies too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ghtrader.application.errors import InvalidArgument
from ghtrader.domain.microsim.codes import BUY, CLOSE, CLOSETODAY, FAK, FOK, LIMIT, OPEN
from ghtrader.domain.trading.changes import change_side, order_price, split_change
from ghtrader.domain.trading.orders import OrderRequest, Position

__all__ = ["ORDER_KINDS", "DirectExecutor", "cap_orders"]

ORDER_KINDS = {"limit": LIMIT, "fak": FAK, "fok": FOK}


@dataclass(frozen=True)
class DirectExecutor:
    """``kind``: limit / fak / fok. ``aggressive``: price at the opposite best (crosses the spread)
    rather than at the own best."""

    kind: str = "fak"
    aggressive: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ORDER_KINDS:
            raise InvalidArgument(f"order kind must be one of {', '.join(ORDER_KINDS)}, got {self.kind!r}")

    def price(self, side: int, bid: float, ask: float) -> float:
        """The limit price of a ``side`` order at this book."""
        return float(order_price(side, bid, ask, self.aggressive))

    def orders(self, target: int, position: Position, bid: float, ask: float, tag: str = "") -> list[OrderRequest]:
        """Orders taking ``position`` to ``target`` lots (empty when already there)."""
        delta = int(target) - position.net
        if delta == 0:
            return []
        side = int(change_side(delta))
        today, yd = (
            (position.short_today, position.short_yd) if side == BUY else (position.long_today, position.long_yd)
        )
        price = self.price(side, bid, ask)
        kind = ORDER_KINDS[self.kind]
        lots = split_change(delta, today, yd)
        return [
            OrderRequest(position.symbol, side, int(q), price, kind, offset, tag)
            for q, offset in zip(lots, (CLOSETODAY, CLOSE, OPEN), strict=True)
            if q > 0
        ]


def cap_orders(orders: list[OrderRequest], max_qty: int) -> list[OrderRequest]:
    """``orders`` cut into orders of at most ``max_qty`` lots each (the risk engine's max order
    size, for a sized target of several lots); ``max_qty`` <= 0 leaves them whole."""
    if max_qty <= 0 or all(o.qty <= max_qty for o in orders):
        return orders
    out = []
    for o in orders:
        left = o.qty
        while left > 0:
            out.append(replace(o, qty=min(max_qty, left)))
            left -= max_qty
    return out
