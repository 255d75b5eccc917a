"""Risk port: the pre-trade checks and kill switch every order-enabled trading mode goes through.

The engine itself lives in the domain (``domain/risk``); the runner only needs this shape, so it
is coded (and tested, with a small fake) against the Protocol below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ghtrader.domain.risk.engine import RiskDecision, RiskQuote
from ghtrader.domain.risk.measures import StressPosition
from ghtrader.domain.trading.orders import AccountSnapshot, ExecutionEvent, OrderRequest, OrderState, Position

__all__ = ["HALTED", "REDUCING", "ACTIVE", "RiskDecision", "RiskEngine", "RiskQuote", "StressPosition"]

ACTIVE, REDUCING, HALTED = 0, 1, 2  # trading states: all orders / only position-reducing / only cancels


@runtime_checkable
class RiskEngine(Protocol):
    """Pre-trade limits, trading states and a latched kill switch for one account."""

    @property
    def state(self) -> int:
        """ACTIVE, REDUCING or HALTED."""
        ...

    @property
    def kill_latched(self) -> bool:
        """True once the kill switch fired, until a person resets it."""
        ...

    def check(
        self,
        order: OrderRequest,
        quote: RiskQuote,
        position: Position,
        working: Sequence[OrderState],
        *,
        stress_book: Sequence[StressPosition] | None = None,
    ) -> RiskDecision:
        """Whether ``order`` may be sent now; with a ``stress_book`` (the run asked for the stress
        check) an order that does not reduce must also pass the pre-trade stress check on the
        position after it."""
        ...

    def on_fill(self, event: ExecutionEvent) -> None:
        """Account for a fill (loss streaks, per-symbol PnL)."""
        ...

    def on_account(self, snap: AccountSnapshot) -> str | None:
        """Update loss / drawdown measures; the kill reason when the kill switch fires now."""
        ...

    def new_trading_day(self, equity: float) -> None:
        """Start a trading day's loss accounting from ``equity``."""
        ...

    def halt(self, reason: str) -> None: ...

    def resume(self) -> None: ...

    def reduce_only(self) -> None: ...

    def reset_kill(self) -> None: ...

    def flatten_orders(self, position: Position, quote: RiskQuote) -> list[OrderRequest]:
        """Orders that close ``position`` (SHFE offsets), priced to fill now."""
        ...
