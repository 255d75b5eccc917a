"""How a held position moves to a target: the one rule the backtest's command plan
(``positions_to_commands``) and the runner's executor (``DirectExecutor``) both apply.

A change of ``delta = target - held`` lots is one order side (BUY when ``delta > 0``). It first
closes the lots held on the other side, today's before yesterday's (SHFE CLOSETODAY, then
CLOSE), and opens only what is left. An aggressive order is priced at the opposite best (it
crosses the spread), a passive one at its own best. NumPy-vectorised: arrays or scalars.
"""

from __future__ import annotations

import numpy as np

from ghtrader.domain.microsim.codes import BUY, SELL

__all__ = ["change_side", "order_price", "split_change"]


def change_side(delta: np.ndarray | int) -> np.ndarray:
    """BUY where ``delta > 0``, else SELL (a zero delta sends nothing)."""
    return np.where(np.asarray(delta) > 0, BUY, SELL)


def split_change(
    delta: np.ndarray | int, held_today: np.ndarray | int, held_yesterday: np.ndarray | int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(closetoday, close, open)`` lots of a change of ``delta``, given the lots held today and
    yesterday on the side the change's orders close (shorts for a buy, longs for a sell)."""
    need = np.abs(np.asarray(delta))
    today = np.minimum(np.maximum(held_today, 0), need)
    yesterday = np.minimum(np.maximum(held_yesterday, 0), need - today)
    return today, yesterday, need - today - yesterday


def order_price(
    side: np.ndarray | int, bid: np.ndarray | float, ask: np.ndarray | float, aggressive: np.ndarray | bool
) -> np.ndarray:
    """The limit price of a ``side`` order: the opposite best when ``aggressive``, else the own best."""
    buy = np.asarray(side) == BUY
    return np.where(aggressive, np.where(buy, ask, bid), np.where(buy, bid, ask))
