"""The micro-simulator's result: record arrays of orders, fills, equity and round trips plus a
summary of PnL before and after costs, turnover, Sharpe and drawdown."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ghtrader.domain.microsim._records_kernels import max_drawdown_kernel, round_trips_kernel
from ghtrader.domain.microsim.codes import FILL_AGGRESSIVE, FILL_CROSS, FILL_QUEUE

__all__ = ["EQUITY_DTYPE", "FILL_DTYPE", "ORDER_DTYPE", "ROUND_TRIP_DTYPE", "SimResult", "summarize"]

#: One order's final state. Times are int64 epoch ns; -1 where the event did not happen.
ORDER_DTYPE = np.dtype(
    [
        ("order_id", "i8"),  # the command's order id (strategy orders: their index)
        ("side", "i1"),  # +1 buy, -1 sell
        ("kind", "i1"),  # codes.LIMIT / FAK / FOK
        ("offset", "i1"),  # codes.OPEN / CLOSE / CLOSETODAY (AUTO resolved at arrival)
        ("status", "i1"),  # codes.PENDING / LIVE / FILLED / CANCELLED / REJECTED
        ("price", "f8"),  # limit price
        ("qty", "f8"),  # lots ordered
        ("filled", "f8"),  # lots filled
        ("send_ns", "i8"),  # when the strategy sent it
        ("arrive_ns", "i8"),  # when it reached the exchange (scheduled, while PENDING)
        ("cancel_send_ns", "i8"),  # when a cancel for it was sent
        ("done_ns", "i8"),  # when it became FILLED / CANCELLED / REJECTED
    ]
)
#: One fill.
FILL_DTYPE = np.dtype(
    [
        ("datetime_ns", "i8"),  # exchange time of the fill
        ("order_id", "i8"),
        ("side", "i1"),
        ("offset", "i1"),
        ("passive", "?"),  # True for a resting order's fill
        ("fill_kind", "i1"),  # codes.FILL_AGGRESSIVE / FILL_QUEUE / FILL_CROSS
        ("price", "f8"),
        ("qty", "f8"),
        ("fee", "f8"),  # commission in currency
    ]
)
#: Account state after each snapshot, marked to the mid price.
EQUITY_DTYPE = np.dtype(
    [
        ("datetime_ns", "i8"),
        ("mid", "f8"),
        ("position", "f8"),  # net lots (long - short)
        ("pnl_gross", "f8"),  # cash flow + position at mid, before fees
        ("fees", "f8"),  # cumulative
        ("pnl_net", "f8"),  # pnl_gross - fees
    ]
)
#: One round trip (first-in first-out on the net position).
ROUND_TRIP_DTYPE = np.dtype(
    [
        ("entry_ns", "i8"),
        ("exit_ns", "i8"),
        ("side", "i1"),  # +1 long, -1 short
        ("qty", "f8"),
        ("entry_price", "f8"),
        ("exit_price", "f8"),
        ("pnl_gross", "f8"),
        ("fees", "f8"),
        ("pnl_net", "f8"),
    ]
)

_TRADING_DAYS_PER_YEAR = 245.0


@dataclass(frozen=True)
class SimResult:
    """Everything one replay produced. ``positions`` holds the final today / yesterday lots."""

    orders: np.ndarray
    fills: np.ndarray
    equity: np.ndarray
    round_trips: np.ndarray
    positions: dict[str, float]
    summary: dict[str, float] = field(default_factory=dict)


def round_trips(fills: np.ndarray, multiplier: float) -> np.ndarray:
    """FIFO round trips of ``fills`` (a :data:`FILL_DTYPE` array in time order)."""
    ints, floats = round_trips_kernel(
        np.ascontiguousarray(fills["datetime_ns"]),
        fills["side"].astype(np.int64),
        np.ascontiguousarray(fills["price"]),
        np.ascontiguousarray(fills["qty"]),
        np.ascontiguousarray(fills["fee"]),
        float(multiplier),
    )
    out = np.zeros(ints.shape[0], dtype=ROUND_TRIP_DTYPE)
    out["entry_ns"], out["exit_ns"], out["side"] = ints[:, 0], ints[:, 1], ints[:, 2]
    for c, name in enumerate(("qty", "entry_price", "exit_price", "pnl_gross", "fees")):
        out[name] = floats[:, c]
    out["pnl_net"] = out["pnl_gross"] - out["fees"]
    return out


def summarize(
    fills: np.ndarray, equity: np.ndarray, trips: np.ndarray, multiplier: float, day_start: np.ndarray
) -> dict[str, float]:
    """PnL before / after costs, turnover, fill counts by kind, Sharpe of daily net PnL
    (annualised with 245 days; NaN with fewer than two days) and max drawdown of net PnL."""
    last = equity[-1] if equity.size else None
    pnl_net = equity["pnl_net"]
    day_end = np.flatnonzero(np.r_[day_start[1:], True]) if equity.size else np.zeros(0, dtype=np.int64)
    daily = np.diff(np.r_[0.0, pnl_net[day_end]]) if equity.size else np.zeros(0)
    sd = float(daily.std(ddof=1)) if daily.size >= 2 else math.nan
    sharpe = float(daily.mean() / sd * math.sqrt(_TRADING_DAYS_PER_YEAR)) if sd and sd > 0 else math.nan
    kind = fills["fill_kind"]
    return {
        "pnl_gross": float(last["pnl_gross"]) if last is not None else 0.0,
        "fees": float(last["fees"]) if last is not None else 0.0,
        "pnl_net": float(last["pnl_net"]) if last is not None else 0.0,
        "turnover_lots": float(fills["qty"].sum()),
        "turnover_value": float((fills["price"] * fills["qty"]).sum() * multiplier),
        "fills": float(fills.size),
        "fills_aggressive": float((kind == FILL_AGGRESSIVE).sum()),
        "fills_passive_queue": float((kind == FILL_QUEUE).sum()),
        "fills_passive_cross": float((kind == FILL_CROSS).sum()),
        "round_trips": float(trips.size),
        "win_rate": float((trips["pnl_net"] > 0).mean()) if trips.size else math.nan,
        "days": float(daily.size),
        "sharpe": sharpe,
        "max_drawdown": float(max_drawdown_kernel(np.r_[0.0, pnl_net])),
        "final_position": float(last["position"]) if last is not None else 0.0,
    }
