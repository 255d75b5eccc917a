"""Execution checks of a trading run: what each order cost and how long the venue took.

:class:`ExecutionWatch` sits beside the executor in the trading loop. When an order is sent it
remembers the arrival quote (mid and spread of the last tick) and the send time; the journal's
``order_new`` gets ``arrival_mid``. On the order's events it adds to the journal record:

- ``latency_ms``: market time from the send to the order's first event (the ack: its first
  ``order_update`` or a fill) and, on each ``trade_fill``, from the send to that fill;
- ``arrival_mid`` and ``slippage_ticks`` on each ``trade_fill``: ticks paid beyond the expected
  (``side * (fill - arrival mid) / tick - expected``, expected half the arrival spread for an
  order priced through the book, minus half of it for a passive one, as
  :func:`~ghtrader.domain.anomaly.execution.slippage_ticks`).

and feeds the anomaly monitor's execution checks with the step forms of
``domain/anomaly/execution.py``: ``slippage`` (rolling mean of the excess per fill),
``latency_spike`` (each latency over the rolling median), ``fill_rate`` (share of the last
finished orders that filled) and ``rejection_burst`` (venue rejections in the trailing window).
A CRITICAL halts the run as any other (``RuntimeAlerts.check``): the run takes the reason
(:meth:`ExecutionWatch.take_halt`) once the executor's events or the tick's orders are done.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ghtrader.application.trading.alerts import RuntimeAlerts
from ghtrader.domain.anomaly.execution import FillRateStep, LatencyStep, RejectionStep, SlippageStep, slippage_ticks
from ghtrader.domain.microsim import codes
from ghtrader.domain.trading.orders import ExecutionEvent, OrderState

__all__ = ["ExecutionWatch"]


class _Sent:
    __slots__ = ("acked", "expected", "mid", "ns")

    def __init__(self, ns: int, mid: float, expected: float) -> None:
        self.ns, self.mid, self.expected, self.acked = ns, mid, expected, False


class ExecutionWatch:
    """The execution checks of one run (module docstring)."""

    def __init__(self, alerts: RuntimeAlerts, price_tick: float) -> None:
        self._alerts = alerts
        self._tick = float(price_tick)
        cfg = alerts.config
        self._slip, self._fill, self._reject, self._latency = (
            SlippageStep(cfg), FillRateStep(cfg), RejectionStep(cfg), LatencyStep(cfg)
        )  # fmt: skip
        self._sent: dict[str, _Sent] = {}
        self._halt = ""  # a halt reason not yet taken by the run

    def sent(self, state: OrderState, ns: int, quote: np.void | None) -> dict[str, Any]:
        """An order left at ``ns`` with ``quote`` the last tick: the fields for ``order_new``."""
        bid = float(quote["bid_price1"]) if quote is not None else math.nan
        ask = float(quote["ask_price1"]) if quote is not None else math.nan
        ok = bid > 0 and ask > bid
        mid = (bid + ask) / 2 if ok else math.nan
        half = (ask - bid) / (2 * self._tick) if ok else 0.0
        r = state.request
        through = (r.side > 0 and r.price >= ask) or (r.side < 0 and r.price <= bid)
        self._sent[state.order_id] = _Sent(int(ns), mid, half if through else -half)
        return {"arrival_mid": mid} if ok else {}

    def on_event(self, ev: ExecutionEvent, ns: int | None = None) -> tuple[dict[str, Any], str]:
        """An executor event: the fields to add to its journal record, and a halt reason when a
        check went CRITICAL ("" otherwise). ``ns``: the time to stamp anomalies (the event's)."""
        at = int(ev.time_ns if ns is None else ns)
        sent = self._sent.get(ev.order.order_id)
        fields: dict[str, Any] = {}
        scores: dict[str, float] = {}
        if sent is not None and (ev.kind == "trade_fill" or not sent.acked):
            latency_ms = (int(ev.time_ns) - sent.ns) / 1e6
            sent.acked = True
            fields["latency_ms"] = latency_ms
            scores["latency_spike"] = self._latency.step(latency_ms)
        if ev.kind == "trade_fill" and sent is not None and math.isfinite(sent.mid):
            excess = float(slippage_ticks(np.array([ev.order.request.side]), np.array([ev.fill_price]),
                                          np.array([sent.mid]), self._tick, sent.expected)[0])  # fmt: skip
            fields.update(arrival_mid=sent.mid, slippage_ticks=excess)
            scores["slippage"] = self._slip.step(excess)
        if not ev.order.alive:
            scores.update(self.done(ev.order, at, check=False))
        why = self._alerts.check(scores, at) if scores else ""
        self._halt = self._halt or why
        return fields, why

    def done(self, order: OrderState, ns: int, *, check: bool = True) -> dict[str, float]:
        """A finished order (filled, cancelled or rejected): the fill-rate and rejection scores
        (checked at once unless ``check`` is False: the caller checks them)."""
        if self._sent.pop(order.order_id, None) is None:
            return {}
        scores = {"fill_rate": self._fill.step(1.0 if order.filled_qty > 0 else 0.0)}
        if order.status == codes.REJECTED:
            scores["rejection_burst"] = self._reject.step(ns)
        if check:
            self._halt = self._halt or self._alerts.check(scores, ns)
        return scores

    def take_halt(self) -> str:
        """The halt reason a check gave since the last call ("" : none); the run halts on it."""
        why, self._halt = self._halt, ""
        return why

    def state(self) -> dict[str, Any]:
        return {"working": len(self._sent)}
