"""The paper book: a virtual position that follows the target at mid, marked to mid, no fees."""

from __future__ import annotations

from ghtrader.domain.trading.orders import AccountSnapshot, Position

__all__ = ["PaperBook"]


class PaperBook:
    """Net lots of one symbol at a time; ``balance`` collects the realized PnL (CNY)."""

    def __init__(self, initial_balance: float, multiplier: float) -> None:
        self.balance = float(initial_balance)
        self._mult = float(multiplier)
        self.symbol = ""
        self.net = 0
        self._avg = 0.0
        self._mark = float("nan")

    def mark(self, symbol: str, mid: float) -> None:
        if symbol != self.symbol:
            self.symbol = symbol
        self._mark = mid

    def move_to(self, target: int, mid: float) -> None:
        """Trade at ``mid`` from the current net position to ``target``."""
        delta = target - self.net
        if delta == 0:
            return
        if self.net != 0 and (target == 0 or (target > 0) != (self.net > 0) or abs(target) < abs(self.net)):
            closed = min(abs(delta), abs(self.net)) if (target > 0) == (self.net > 0) or target == 0 else abs(self.net)
            sign = 1 if self.net > 0 else -1
            self.balance += closed * sign * (mid - self._avg) * self._mult
        if target != 0 and (self.net == 0 or (target > 0) != (self.net > 0)):
            self._avg = mid
        elif abs(target) > abs(self.net):
            self._avg = (self._avg * abs(self.net) + mid * (abs(target) - abs(self.net))) / abs(target)
        self.net = target
        self._mark = mid

    def account(self, time_ns: int) -> AccountSnapshot:
        float_profit = self.net * (self._mark - self._avg) * self._mult if self.net else 0.0
        pos = (
            (Position(self.symbol, long_today=max(self.net, 0), short_today=max(-self.net, 0)),) if self.symbol else ()
        )
        return AccountSnapshot(
            time_ns=time_ns, balance=self.balance + float_profit, available=self.balance + float_profit,
            margin=0.0, float_profit=float_profit, position_profit=float_profit, risk_ratio=0.0, positions=pos,
        )  # fmt: skip
