"""Orders, fills, positions and account snapshots as every executor reports them.

The micro-simulator's integer codes (``domain/microsim/codes.py``) give the meaning of
``kind``, ``offset`` and ``status``, so a simulated and a broker-backed executor speak the same
values. Quantities are lots (int), prices are in the contract's price units, times are epoch ns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ghtrader.domain.microsim import codes

__all__ = ["AccountSnapshot", "ExecutionEvent", "OrderRequest", "OrderState", "Position"]


@dataclass(frozen=True)
class OrderRequest:
    """An order a strategy wants sent: always a limit price (SHFE has no market orders)."""

    symbol: str  # the execution contract, e.g. SHFE.cu2602 (never a continuous alias)
    side: int  # codes.BUY (+1) or codes.SELL (-1)
    qty: int  # lots, > 0
    price: float  # limit price, on the tick grid
    kind: int = codes.LIMIT  # codes.LIMIT / FAK / FOK
    offset: int = codes.OPEN  # codes.OPEN / CLOSE / CLOSETODAY
    client_id: str = ""  # the caller's own tag, echoed in events

    def __post_init__(self) -> None:
        if self.side not in (codes.BUY, codes.SELL):
            raise ValueError(f"side must be +1 or -1, got {self.side}")
        if self.qty <= 0:
            raise ValueError(f"qty must be positive, got {self.qty}")
        if self.kind not in (codes.LIMIT, codes.FAK, codes.FOK):
            raise ValueError(f"kind must be LIMIT, FAK or FOK, got {self.kind}")
        if self.offset not in (codes.OPEN, codes.CLOSE, codes.CLOSETODAY):
            raise ValueError(f"offset must be OPEN, CLOSE or CLOSETODAY, got {self.offset}")


@dataclass(frozen=True)
class OrderState:
    """An order as the executor last saw it."""

    order_id: str
    request: OrderRequest
    status: int  # codes.PENDING / LIVE / FILLED / CANCELLED / REJECTED
    filled_qty: int = 0
    avg_price: float = 0.0  # of the filled part; 0 while nothing filled
    reason: str = ""  # why it was rejected or cancelled, when known

    @property
    def alive(self) -> bool:
        """Still able to fill (pending or resting)."""
        return self.status in (codes.PENDING, codes.LIVE)


@dataclass(frozen=True)
class ExecutionEvent:
    """Something that happened to an order: ``kind`` is ``order_update`` or ``trade_fill``."""

    kind: str
    time_ns: int
    order: OrderState
    fill_qty: int = 0  # trade_fill: lots filled by this fill
    fill_price: float = 0.0  # trade_fill: its price
    fee: float = 0.0  # trade_fill: commission charged for it (CNY)


@dataclass(frozen=True)
class Position:
    """Lots held in one contract, split as SHFE does (today's vs yesterday's)."""

    symbol: str
    long_today: int = 0
    long_yd: int = 0
    short_today: int = 0
    short_yd: int = 0

    @property
    def net(self) -> int:
        """Long minus short lots."""
        return self.long_today + self.long_yd - self.short_today - self.short_yd


@dataclass(frozen=True)
class AccountSnapshot:
    """An account at one instant (CNY)."""

    time_ns: int
    balance: float
    available: float
    margin: float
    float_profit: float
    position_profit: float
    risk_ratio: float
    positions: tuple[Position, ...] = field(default_factory=tuple)

    @property
    def equity(self) -> float:
        """Balance including the open positions' floating profit."""
        return self.balance
