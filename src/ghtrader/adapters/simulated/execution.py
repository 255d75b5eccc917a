"""``SimulatedExecutionProvider``: the ExecutionProvider port on the micro-simulator's stepper.

One :class:`~ghtrader.domain.microsim.stepper.ReplayStepper` per contract replays the ticks the
runner hands to :meth:`on_tick` with the orders and cancels it was given, under the same kernel
and rules as the batch ``simulate`` of the backtest (queue model, latencies, aggressive walk,
FAK / FOK, day expiry, SHFE offsets, fees). Submitting each order at the time of the tick it was
decided on therefore fills exactly as the backtest does on the same ticks.

Accounting (CNY): ``balance = initial cash + realised + floating - fees``, the floating part
marked to the last mid; the sim has no daily settlement, so ``position_profit`` equals
``float_profit`` (both against the average open price of the net position). Margin is
``lots held x mid x multiplier x margin rate`` when a rate is given for the contract's variety;
the contract specs carry no margin rates, so without one it is 0 (and ``available`` is the
balance). Working orders freeze no margin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.instruments import contract_spec, parse_contract
from ghtrader.domain.microsim import COMMAND_DTYPE, FeeTable, Latency, SimConfig, codes, fee_table
from ghtrader.domain.microsim.stepper import ReplayStepper
from ghtrader.domain.trading.orders import AccountSnapshot, ExecutionEvent, OrderRequest, OrderState, Position

__all__ = ["SimulatedExecutionProvider"]


@dataclass
class _Book:
    """One contract's venue: its stepper, trading day and net-position cost basis."""

    stepper: ReplayStepper
    multiplier: float
    variety: str
    trading_day: date | None = None
    first_ns: int | None = None  # time of the first tick replayed
    net: float = 0.0
    avg_price: float = 0.0  # of the net position
    fills_seen: int = 0


@dataclass
class _Order:
    state: OrderState
    symbol: str
    index: int  # the stepper's dense index
    value: float = 0.0  # sum of fill price x qty


class SimulatedExecutionProvider:
    """A simulated account: orders fill under the micro-simulator's models as ticks arrive.

    Args:
        initial_cash: starting balance (CNY).
        queue_model, queue_power, consume_depth: as in :class:`SimConfig`.
        entry_latency, cancel_latency: order-entry and cancel latencies (the caller's own
            reaction time is its business: it submits at the time it decided).
        seed: latency draws are a pure function of (seed, command index per contract).
        fees: fee table per variety (``"cu"``...); default ``fee_table(variety)``, the
            backtest's.
        margin_rates: margin rate per variety; absent: margin 0.
        calendar: gives each tick's trading day when :meth:`on_tick` is not told it; default a
            weekday-only calendar.
    """

    def __init__(
        self,
        *,
        initial_cash: float = 1_000_000.0,
        queue_model: str = "prob_log",
        queue_power: float = 2.0,
        consume_depth: bool = True,
        entry_latency: Latency | None = None,
        cancel_latency: Latency | None = None,
        seed: int = 0,
        fees: Mapping[str, FeeTable] | None = None,
        margin_rates: Mapping[str, float] | None = None,
        calendar: TradingCalendar | None = None,
    ) -> None:
        self._cash = float(initial_cash)
        self._queue_model = queue_model
        self._queue_power = float(queue_power)
        self._consume = bool(consume_depth)
        self._entry = entry_latency or Latency()
        self._cancel = cancel_latency or Latency()
        self._seed = int(seed)
        self._fees = dict(fees or {})
        self._margin = dict(margin_rates or {})
        self._calendar = calendar or TradingCalendar(())
        self._books: dict[str, _Book] = {}
        self._orders: dict[str, _Order] = {}
        self._alive: dict[str, dict[str, _Order]] = {}  # per contract: orders pending or resting
        self._by_index: dict[tuple[str, int], str] = {}
        self._next_id = 0
        self._last_ns = 0

    # -- configuration ------------------------------------------------------------------------
    def config_for(self, symbol: str) -> SimConfig:
        """The micro-sim config of ``symbol``, built like the backtest's (spec tick and
        multiplier, the variety's fee table, this provider's queue model and latencies)."""
        spec = contract_spec(symbol)
        return SimConfig(
            tick=spec.price_tick, multiplier=spec.multiplier,
            fees=self._fees.get(spec.variety) or fee_table(spec.variety), queue_model=self._queue_model,
            queue_power=self._queue_power, consume_depth=self._consume, entry_latency=self._entry,
            cancel_latency=self._cancel, seed=self._seed,
        )  # fmt: skip

    def _book(self, symbol: str) -> _Book:
        book = self._books.get(symbol)
        if book is None:
            parse_contract(symbol)  # a dated contract, never a continuous alias
            spec = contract_spec(symbol)
            book = _Book(ReplayStepper(self.config_for(symbol), record=False), spec.multiplier, spec.variety)
            self._books[symbol] = book
        return book

    # -- orders -------------------------------------------------------------------------------
    def submit(self, order: OrderRequest, time_ns: int) -> OrderState:
        """Send ``order`` at ``time_ns`` (not before the last tick seen of its contract)."""
        book = self._book(order.symbol)
        oid = self._next_id
        self._next_id += 1
        row = np.array(
            [(int(time_ns), order.kind, order.side, order.price, order.qty, oid, order.offset)], dtype=COMMAND_DTYPE
        )
        k = book.stepper.submit(row[0])
        order_id = f"sim-{oid}"
        state = OrderState(order_id=order_id, request=order, status=codes.PENDING)
        self._orders[order_id] = self._alive.setdefault(order.symbol, {})[order_id] = _Order(state, order.symbol, k)
        self._by_index[(order.symbol, k)] = order_id
        self._last_ns = max(self._last_ns, int(time_ns))
        return state

    def cancel(self, order_id: str, time_ns: int) -> None:
        """Ask to cancel ``order_id``; it takes effect after the cancel latency, never before the
        order reached the exchange. A cancel of a finished order still goes to the venue (which
        refuses it, as the backtest's replay does), so both count the same commands; unknown ids
        are ignored."""
        o = self._orders.get(order_id)
        if o is None:
            return
        oid = int(order_id.removeprefix("sim-"))
        row = np.array([(int(time_ns), codes.CANCEL, 0, 0.0, 0, oid, 0)], dtype=COMMAND_DTYPE)
        self._books[o.symbol].stepper.submit(row[0])

    # -- the feed -----------------------------------------------------------------------------
    def on_tick(self, symbol: str, tick: np.void, trading_day: date | None = None) -> list[ExecutionEvent]:
        """Advance ``symbol``'s venue to ``tick`` (a TICK_DTYPE row) and return what happened, in
        time order: a ``trade_fill`` per fill, an ``order_update`` when an order's status differs
        from the last tick's (one per order and tick, the final status: a limit that arrived and
        filled within one tick reports FILLED, not LIVE then FILLED). A new
        trading day (``trading_day``, else the calendar's day of the tick) expires resting
        orders and turns today's position into yesterday's before the tick is replayed."""
        book = self._book(symbol)
        t = int(tick["datetime_ns"])
        day = trading_day or self._calendar.trading_day_of(t)
        new_day = book.trading_day is not None and day != book.trading_day
        book.trading_day = day
        if book.first_ns is None:
            book.first_ns = t
        stepper = book.stepper
        # orders that may change, with their status before this tick
        alive = self._alive.setdefault(symbol, {})
        watched = [(o, o.state.status) for o in alive.values()]
        stepper.step(tick if isinstance(tick, np.void) else np.asarray(tick).reshape(1), bool(new_day))
        self._last_ns = max(self._last_ns, t)
        events: list[tuple[int, int, int, ExecutionEvent]] = []
        for f in stepper.fills_since(book.fills_seen):
            o = self._orders[self._by_index[(symbol, f.index)]]
            qty = round(f.qty)
            o.value += f.price * f.qty
            filled = o.state.filled_qty + qty
            status = codes.FILLED if filled >= o.state.request.qty else codes.LIVE
            o.state = replace(o.state, status=status, filled_qty=filled, avg_price=o.value / filled)
            self._cost_basis(book, f.side * f.qty, f.price)
            ev = ExecutionEvent("trade_fill", f.time_ns, o.state, fill_qty=qty, fill_price=f.price, fee=f.fee)
            events.append((f.time_ns, 1, len(events), ev))
        book.fills_seen = stepper.n_fills
        for o, before in watched:
            status = stepper.status(o.index)
            if status == before:
                continue
            o.state = replace(o.state, status=status, reason=self._reason(o, book, status))
            when = stepper.done_ns(o.index) if status >= codes.FILLED else stepper.arrive_ns(o.index)
            rank = 0 if status == codes.LIVE else 2  # at one instant: arrival, fills, then the outcome
            events.append((when, rank, len(events), ExecutionEvent("order_update", when, o.state)))
            if not o.state.alive:
                del alive[o.state.order_id]
        events.sort(key=lambda e: e[:3])
        return [e[3] for e in events]

    def _cost_basis(self, book: _Book, signed_qty: float, price: float) -> None:
        net = book.net
        if net == 0.0 or (net > 0) == (signed_qty > 0):
            book.avg_price = (book.avg_price * abs(net) + price * abs(signed_qty)) / (abs(net) + abs(signed_qty))
        elif abs(signed_qty) > abs(net):
            book.avg_price = price  # flipped through flat: the rest opened at this price
        book.net = net + signed_qty
        if book.net == 0.0:
            book.avg_price = 0.0

    @staticmethod
    def _reason(o: _Order, book: _Book, status: int) -> str:
        stepper = book.stepper
        if status == codes.REJECTED:
            first = book.first_ns if book.first_ns is not None else 0
            return "no book yet" if stepper.done_ns(o.index) < first else "not enough position to close"
        if status != codes.CANCELLED:
            return ""
        if stepper.cancel_send_ns(o.index) >= 0:
            return "cancelled"
        if o.state.request.kind != codes.LIMIT:
            return f"{codes.KIND_NAMES[o.state.request.kind]} remainder cancelled"
        return "expired at the trading day's end"

    # -- reading the account -----------------------------------------------------------------
    def orders_alive(self) -> list[OrderState]:
        """Orders pending or resting, as of the last tick."""
        return [o.state for orders in self._alive.values() for o in orders.values()]

    def order(self, order_id: str) -> OrderState:
        """The last known state of ``order_id``."""
        return self._orders[order_id].state

    def positions(self) -> list[Position]:
        """Per contract traded, lots split today / yesterday as SHFE keeps them."""
        out = []
        for symbol, book in self._books.items():
            p = book.stepper.positions()
            out.append(
                Position(
                    symbol,
                    round(p["long_today"]),
                    round(p["long_yesterday"]),
                    round(p["short_today"]),
                    round(p["short_yesterday"]),
                )  # fmt: skip
            )
        return out

    def account(self, time_ns: int) -> AccountSnapshot:
        """Balance, margin and profit marked to each contract's last mid."""
        gross = fees = floating = margin = 0.0
        for book in self._books.values():
            cash, fee, mid = book.stepper.money()
            p = book.stepper.positions()
            net = p["long_today"] + p["long_yesterday"] - p["short_today"] - p["short_yesterday"]
            if math.isnan(mid):
                continue  # no tick yet: nothing filled
            gross += cash + net * mid * book.multiplier
            fees += fee
            if net != 0.0:
                floating += (mid - book.avg_price) * net * book.multiplier
            rate = self._margin.get(book.variety)
            if rate:
                lots = p["long_today"] + p["long_yesterday"] + p["short_today"] + p["short_yesterday"]
                margin += lots * mid * book.multiplier * rate
        balance = self._cash + gross - fees
        return AccountSnapshot(
            time_ns=int(time_ns), balance=balance, available=balance - margin, margin=margin,
            float_profit=floating, position_profit=floating,
            risk_ratio=margin / balance if balance > 0 else (math.inf if margin > 0 else 0.0),
            positions=tuple(self.positions()),
        )  # fmt: skip
