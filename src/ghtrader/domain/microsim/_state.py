"""The replay state the kernel advances: every table and counter of a replay in plain arrays.

One :class:`ReplayState` belongs to one replay. The batch ``simulate`` fills it in one kernel
call; the stepper keeps it between calls and grows its tables when they could overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ghtrader.domain.microsim import _replay_kernel as rk
from ghtrader.domain.microsim import codes

#: Latency streams: each draw is a pure function of (seed, stream, counter).
STREAM_ENTRY = 0  # external orders, counter = command index
STREAM_CANCEL = 1  # external cancels, counter = command index
STREAM_QUOTE_ENTRY = 2  # the built-in strategy's orders, counter = its command sequence number
STREAM_QUOTE_CANCEL = 3
STREAM_FEED = 4  # counter = snapshot index


def key(seed: int, stream: int) -> int:
    """The latency stream key of ``seed`` (any int) and ``stream``."""
    return int(rk.stream_key(int(seed) % (2**63), stream))


@dataclass
class ReplayState:
    """Orders, fills, positions, live list, used depth, strategy commands in flight, counters."""

    o_i: np.ndarray
    o_f: np.ndarray
    f_i: np.ndarray
    f_f: np.ndarray
    pos: np.ndarray
    st: np.ndarray
    used: np.ndarray
    live: np.ndarray
    pend: np.ndarray

    @classmethod
    def new(
        cls, order_cap: int, fill_cap: int, long_yesterday: float = 0.0, short_yesterday: float = 0.0
    ) -> ReplayState:
        """An empty replay with room for ``order_cap`` orders and ``fill_cap`` fills."""
        pos = np.zeros(rk.P_N)
        pos[rk.P_LONG_YD] = long_yesterday
        pos[rk.P_SHORT_YD] = short_yesterday
        pos[rk.P_MID] = np.nan
        st = np.zeros(rk.S_N, dtype=np.int64)
        st[rk.S_WORK_BUY] = -1
        st[rk.S_WORK_SELL] = -1
        return cls(
            o_i=np.full((order_cap, rk.O_NI), -1, dtype=np.int64),
            o_f=np.zeros((order_cap, rk.O_NF)),
            f_i=np.zeros((fill_cap, rk.F_NI), dtype=np.int64),
            f_f=np.zeros((fill_cap, rk.F_NF)),
            pos=pos,
            st=st,
            used=np.zeros((2, 5)),
            live=np.empty(order_cap, dtype=np.int64),
            pend=np.empty((rk.PD_N, rk.PEND_CAP), dtype=np.int64),
        )

    @property
    def n_orders(self) -> int:
        return int(self.st[rk.S_ORDERS])

    @property
    def n_fills(self) -> int:
        return int(self.st[rk.S_NF])

    @property
    def overflowed(self) -> bool:
        """A table was too small during a kernel call (its results are incomplete)."""
        return bool(self.st[rk.S_OVERFLOW] > 0 or self.st[rk.S_NF] > self.f_i.shape[0])

    def ensure(self, orders: int, fills: int) -> None:
        """Grow the tables (doubling) to hold at least ``orders`` orders and ``fills`` fills."""
        cap = self.o_i.shape[0]
        if orders > cap:
            new = max(orders, 2 * cap)
            o_i = np.full((new, rk.O_NI), -1, dtype=np.int64)
            o_i[:cap] = self.o_i
            o_f = np.zeros((new, rk.O_NF))
            o_f[:cap] = self.o_f
            live = np.empty(new, dtype=np.int64)
            live[:cap] = self.live
            self.o_i, self.o_f, self.live = o_i, o_f, live
        cap = self.f_i.shape[0]
        if fills > cap:
            new = max(fills, 2 * cap)
            f_i = np.zeros((new, rk.F_NI), dtype=np.int64)
            f_i[:cap] = self.f_i
            f_f = np.zeros((new, rk.F_NF))
            f_f[:cap] = self.f_f
            self.f_i, self.f_f = f_i, f_f

    def register(
        self,
        k: np.ndarray,
        side: np.ndarray,
        kind: np.ndarray,
        offset: np.ndarray,
        send: np.ndarray,
        arrive: np.ndarray,
        price: np.ndarray,
        qty: np.ndarray,
    ) -> None:
        """Record new orders ``k`` (PENDING until they arrive); the order count follows."""
        self.ensure(int(k.max()) + 1 if k.size else 0, 0)
        o_i, o_f = self.o_i, self.o_f
        o_i[k, rk.O_SIDE] = side
        o_i[k, rk.O_KIND] = kind
        o_i[k, rk.O_OFFSET] = offset
        o_i[k, rk.O_STATUS] = codes.PENDING
        o_i[k, rk.O_SEND_NS] = send
        o_i[k, rk.O_ARRIVE_NS] = arrive
        o_f[k, rk.O_PRICE] = price
        o_f[k, rk.O_QTY] = qty
        o_f[k, rk.O_FILLED] = 0.0
        o_f[k, rk.O_AHEAD] = np.inf
        o_f[k, rk.O_LEVEL_PREV] = np.nan
        if k.size:
            self.st[rk.S_ORDERS] = max(int(self.st[rk.S_ORDERS]), int(k.max()) + 1)
