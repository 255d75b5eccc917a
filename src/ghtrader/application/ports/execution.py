"""Execution port: where orders go (a simulated account, TqSim/TqKq, or a broker via TqSdk)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ghtrader.domain.trading.orders import AccountSnapshot, ExecutionEvent, OrderRequest, OrderState, Position


@runtime_checkable
class ExecutionProvider(Protocol):
    """An account that takes orders. Only order-enabled modes (sim, live) hold one.

    The runner drives it from the same loop as the feed: ``on_tick`` hands it each new L5 row
    (TICK_DTYPE) of a subscribed contract so a simulated venue can match against it (a broker
    adapter ignores the book and collects what its connection reported). Events come back in
    the order they happened.
    """

    def submit(self, order: OrderRequest, time_ns: int) -> OrderState:
        """Send ``order`` at ``time_ns``; returns its first state (PENDING, or REJECTED)."""
        ...

    def cancel(self, order_id: str, time_ns: int) -> None:
        """Ask to cancel a working order (takes effect after the venue's latency)."""
        ...

    def on_tick(self, symbol: str, tick: np.void) -> Sequence[ExecutionEvent]:
        """Advance the venue to ``tick`` and return the order updates and fills since the last call."""
        ...

    def orders_alive(self) -> Sequence[OrderState]:
        """Working orders (pending or resting)."""
        ...

    def positions(self) -> Sequence[Position]:
        """Positions per contract."""
        ...

    def account(self, time_ns: int) -> AccountSnapshot:
        """The account now, marked to the last tick seen."""
        ...


@runtime_checkable
class TargetExecution(Protocol):
    """An account driven by target positions (TqSdk's ``TargetPosTask`` semantics): the executor
    sends, re-prices and cancels its own orders until each symbol's net position is its target.
    Never shares an (account, symbol) with direct orders. Reads as :class:`ExecutionProvider`."""

    def set_target(self, symbol: str, lots: int) -> None:
        """Aim the net position in ``symbol`` at ``lots`` (long > 0, short < 0)."""
        ...

    def on_tick(self, symbol: str, tick: np.void) -> Sequence[ExecutionEvent]:
        """Advance to ``tick``, act toward the targets, and return what happened since the last call."""
        ...

    def orders_alive(self) -> Sequence[OrderState]:
        """Working orders (the executor's own)."""
        ...

    def positions(self) -> Sequence[Position]:
        """Positions per contract."""
        ...

    def account(self, time_ns: int) -> AccountSnapshot:
        """The account now."""
        ...
