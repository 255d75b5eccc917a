"""A virtual book per model: one lot in the model's direction, traded at mid, no fees.

Shadow and canary runs keep one for production and one for the candidate over the same ticks, so
the two models' PnL compare on equal terms (whatever the run's sizing or executor did).
"""

from __future__ import annotations

import math
from typing import Any

from ghtrader.application.trading.paper import PaperBook

__all__ = ["ArmBook"]


class ArmBook:
    """Follows a direction target (-1, 0, 1, or lots) at mid; ``pnl`` is realized plus floating (CNY)."""

    def __init__(self, multiplier: float) -> None:
        self._book = PaperBook(0.0, multiplier)
        self.trades = 0  # target changes the book followed

    @property
    def net(self) -> int:
        return self._book.net

    def follow(self, symbol: str, target: int, mid: float) -> None:
        """Mark at ``mid`` and move to ``target`` (a tick without a finite mid moves nothing)."""
        if not math.isfinite(mid):
            return
        self._book.mark(symbol, mid)
        if target != self._book.net:
            self._book.move_to(target, mid)
            self.trades += 1

    def flatten(self, mid: float) -> None:
        """Close at ``mid`` (a roll: the old contract's last mid)."""
        if self._book.net and math.isfinite(mid):
            self._book.move_to(0, mid)
            self.trades += 1

    @property
    def pnl(self) -> float:
        return float(self._book.account(0).equity)

    def state(self) -> dict[str, Any]:
        return {"pnl": round(self.pnl, 2), "net": self._book.net, "trades": self.trades}
