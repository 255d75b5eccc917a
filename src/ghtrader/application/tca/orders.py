"""Orders and fills of a trading run's journal (``events.jsonl``) or a backtest's replay, as
columns: what the TCA attributes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ExecutedOrders", "orders_from_events", "orders_from_sim_result"]


@dataclass(frozen=True)
class ExecutedOrders:
    """Orders (one parent each) and their fills, fills in time order."""

    order_id: list[str]
    symbol: list[str]
    side: np.ndarray  # int64, +1 / -1
    qty: np.ndarray  # float64 lots
    send_ns: np.ndarray  # int64: decision = arrival time
    end_ns: np.ndarray  # int64: done, else the last fill, else the run's last event
    fill_parent: np.ndarray  # int64 index into the orders
    fill_ns: np.ndarray
    fill_qty: np.ndarray
    fill_price: np.ndarray
    fill_fee: np.ndarray

    def __len__(self) -> int:
        return len(self.order_id)


def orders_from_events(events: Iterable[dict[str, Any]]) -> ExecutedOrders:
    """Parents from ``order_new`` events (or an order's first event, for orders a target
    executor sent itself), fills from ``trade_fill``, ends from ``order_done``; an order never
    done ends at the run's last event."""
    index: dict[str, int] = {}
    ids: list[str] = []
    symbols: list[str] = []
    side: list[int] = []
    qty: list[float] = []
    send: list[int] = []
    end: list[int] = []
    fills: list[tuple[int, int, float, float, float]] = []
    last_ns = 0
    for e in events:
        ns = int(e.get("time_ns") or 0)
        last_ns = max(last_ns, ns)
        kind = e.get("kind")
        order = e.get("order") or {}
        oid = str(order.get("order_id", ""))
        if (
            oid
            and oid not in index
            and kind in ("order_new", "order_update", "trade_fill", "order_done")
            and "side" in order
        ):
            # a target executor's own orders are first seen in their updates or fills: the
            # parent starts at that event (its send time is not journaled)
            index[oid] = len(ids)
            ids.append(oid)
            symbols.append(str(order["symbol"]))
            side.append(int(order["side"]))
            qty.append(float(order["qty"]))
            send.append(ns)
            end.append(-1)
        if kind == "trade_fill" and oid in index:
            k = index[oid]
            fills.append((k, ns, float(e["fill_qty"]), float(e["fill_price"]), float(e.get("fee") or 0.0)))
        elif kind == "order_done" and oid in index:
            end[index[oid]] = max(ns, send[index[oid]])
    f = np.array(fills, dtype=np.float64).reshape(-1, 5)
    order = np.argsort(f[:, 1], kind="stable")
    f = f[order]
    ends = np.array(end, dtype=np.int64)
    parent = f[:, 0].astype(np.int64)
    ends = np.where(ends >= 0, ends, last_ns)  # still working when the run ended
    return ExecutedOrders(
        order_id=ids, symbol=symbols, side=np.array(side, np.int64), qty=np.array(qty, np.float64),
        send_ns=np.array(send, np.int64), end_ns=ends, fill_parent=parent, fill_ns=f[:, 1].astype(np.int64),
        fill_qty=f[:, 2], fill_price=f[:, 3], fill_fee=f[:, 4],
    )  # fmt: skip


def orders_from_sim_result(orders: np.ndarray, fills: np.ndarray, symbol: str) -> ExecutedOrders:
    """The micro-simulator's ORDER_DTYPE / FILL_DTYPE records (a backtest's replay) of one
    series; an order still working at the end ends at its last fill or its send time."""
    oid = orders["order_id"].astype(np.int64)
    pos = {int(o): k for k, o in enumerate(oid)}
    parent = np.array([pos[int(o)] for o in fills["order_id"]], dtype=np.int64)
    done = orders["done_ns"].astype(np.int64)
    last_fill = np.full(oid.shape, -1, np.int64)
    np.maximum.at(last_fill, parent, fills["datetime_ns"].astype(np.int64))
    send = orders["send_ns"].astype(np.int64)
    end = np.where(done >= 0, done, np.maximum(last_fill, send))
    return ExecutedOrders(
        order_id=[str(int(o)) for o in oid], symbol=[symbol] * oid.shape[0], side=orders["side"].astype(np.int64),
        qty=orders["qty"].astype(np.float64), send_ns=send, end_ns=np.maximum(end, send), fill_parent=parent,
        fill_ns=fills["datetime_ns"].astype(np.int64), fill_qty=fills["qty"].astype(np.float64),
        fill_price=fills["price"].astype(np.float64), fill_fee=fills["fee"].astype(np.float64),
    )  # fmt: skip
