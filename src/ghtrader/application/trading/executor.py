"""Direct executor: the orders that move a position to a target, as limit orders at the best.

SHFE offsets: a reduction closes today's lots with CLOSETODAY and yesterday's with CLOSE (today's
first: they are the ones a day-trading target opened), and only what is left after closing the
opposite side opens a new position.
"""

from __future__ import annotations

from dataclasses import dataclass

from ghtrader.application.errors import InvalidArgument
from ghtrader.domain.microsim.codes import BUY, CLOSE, CLOSETODAY, FAK, FOK, LIMIT, OPEN, SELL
from ghtrader.domain.trading.orders import OrderRequest, Position

__all__ = ["ORDER_KINDS", "DirectExecutor"]

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
        if side == BUY:
            return ask if self.aggressive else bid
        return bid if self.aggressive else ask

    def orders(self, target: int, position: Position, bid: float, ask: float, tag: str = "") -> list[OrderRequest]:
        """Orders taking ``position`` to ``target`` lots (empty when already there)."""
        delta = int(target) - position.net
        if delta == 0:
            return []
        side = BUY if delta > 0 else SELL
        need = abs(delta)
        price = self.price(side, bid, ask)
        kind = ORDER_KINDS[self.kind]
        today, yd = (
            (position.short_today, position.short_yd) if side == BUY else (position.long_today, position.long_yd)
        )
        out: list[OrderRequest] = []
        for held, offset in ((today, CLOSETODAY), (yd, CLOSE)):
            q = min(held, need)
            if q > 0:
                out.append(OrderRequest(position.symbol, side, q, price, kind, offset, tag))
                need -= q
        if need > 0:
            out.append(OrderRequest(position.symbol, side, need, price, kind, OPEN, tag))
        return out
