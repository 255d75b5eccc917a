"""Target-position executor over any order venue: TqSdk's ``TargetPosTask`` semantics for the
local simulated account (TqSdk's own task drives TqSim / TqKq / broker accounts).

``set_target(symbol, lots)`` hands the executor a net position; from then on, at each tick of
that symbol, it

* sends, when nothing of its own is working, the limit orders that take the position to the
  target (close today's lots, then yesterday's, then open: TqSdk's ``offset_priority`` "今昨,开"),
  priced at the opposite best (``ACTIVE``) or at the own best (``PASSIVE``), each of at most
  ``max_order`` lots (TqSdk's task splits the same way with ``max_volume``);
* cancels a working order whose price is no longer that price (the book moved), so that the
  next tick re-prices it, as the task does; a new target also cancels what is working.

Orders are its own business: ``submit`` and ``cancel`` are refused, as they are on TqSdk's task
(never direct orders and a target task on one account and symbol). Each order it sends is
reported as an ``order_update`` (PENDING) at the tick that sent it, then as the venue reports it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.execution import ExecutionProvider
from ghtrader.application.trading.executor import DirectExecutor, cap_orders
from ghtrader.domain.trading.orders import AccountSnapshot, ExecutionEvent, OrderRequest, OrderState, Position

__all__ = ["TargetPosExecutor"]


class TargetPosExecutor:
    """Pursues target positions through ``venue`` (see the module docstring)."""

    kind = "target"

    def __init__(self, venue: ExecutionProvider, *, price: str = "ACTIVE", max_order: int = 0) -> None:
        if price not in ("ACTIVE", "PASSIVE"):
            raise InvalidArgument(f"price must be ACTIVE or PASSIVE, got {price!r}")
        self._venue = venue
        self.price_mode = price
        self._pricer = DirectExecutor("limit", aggressive=price == "ACTIVE")
        self._max_order = int(max_order)  # lots per order (0: whole); the risk engine's max order size
        self._targets: dict[str, int] = {}
        self._own: set[str] = set()  # ids of the orders it sent
        self._cancelled: set[str] = set()  # cancels asked (not asked twice)
        self._sent = 0

    @property
    def venue(self) -> ExecutionProvider:
        return self._venue

    def targets(self) -> dict[str, int]:
        """The target of each symbol it drives."""
        return dict(self._targets)

    def set_target(self, symbol: str, lots: int) -> None:
        """Aim the net position in ``symbol`` at ``lots`` (acted on at the symbol's next tick)."""
        self._targets[symbol] = int(lots)

    def submit(self, order: OrderRequest, time_ns: int) -> OrderState:
        """Refused: this executor takes targets (``set_target``), not orders."""
        raise FailedPrecondition("the target-position executor takes targets (set_target), not orders")

    def cancel(self, order_id: str, time_ns: int) -> None:
        """Refused: the target executor manages its own orders."""
        raise FailedPrecondition("the target-position executor manages its own orders; set a new target instead")

    def on_tick(self, symbol: str, tick: np.void) -> Sequence[ExecutionEvent]:
        """Advance the venue, then re-price or send orders toward ``symbol``'s target."""
        events = list(self._venue.on_tick(symbol, tick))
        target = self._targets.get(symbol)
        if target is None:
            return events
        ns = int(tick["datetime_ns"])
        bid, ask = float(tick["bid_price1"]), float(tick["ask_price1"])
        mine = [o for o in self._venue.orders_alive() if o.request.symbol == symbol and o.order_id in self._own]
        if mine:
            if not (math.isfinite(bid) and math.isfinite(ask)):
                return events
            pos = self.position(symbol)
            for o in mine:
                stale = o.request.price != self._pricer.price(o.request.side, bid, ask)
                wrong_way = o.request.side * (target - pos.net) <= 0
                if (stale or wrong_way) and o.order_id not in self._cancelled:
                    self._venue.cancel(o.order_id, ns)
                    self._cancelled.add(o.order_id)
            return events
        pos = self.position(symbol)
        if pos.net == target or not (math.isfinite(bid) and math.isfinite(ask)):
            return events
        for order in cap_orders(self._pricer.orders(target, pos, bid, ask, "target"), self._max_order):
            state = self._venue.submit(order, ns)
            self._own.add(state.order_id)
            self._sent += 1
            events.append(ExecutionEvent("order_update", ns, state))
        return events

    def position(self, symbol: str) -> Position:
        for p in self._venue.positions():
            if p.symbol == symbol:
                return p
        return Position(symbol)

    def orders_alive(self) -> Sequence[OrderState]:
        return self._venue.orders_alive()

    def positions(self) -> Sequence[Position]:
        return self._venue.positions()

    def account(self, time_ns: int) -> AccountSnapshot:
        return self._venue.account(time_ns)

    def close(self) -> None:
        """Release the venue when it holds a connection."""
        close = getattr(self._venue, "close", None)
        if callable(close):
            close()
