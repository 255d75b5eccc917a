"""Run a simple strategy through TqSdk's own backtester (``TqBacktest`` + ``TqSim``).

A second opinion on the micro-simulator: the same decisions (the re-quoting strategy of
:class:`~ghtrader.domain.microsim.simulator.QuoteStrategy`, or a target-position series sent as
FAK orders) are played against TqSdk's tick replay and its simulated account, and the outcome is
collected in the micro-sim's record shapes (``ORDER_DTYPE``, ``FILL_DTYPE``, ``EQUITY_DTYPE``).

TqSim's matching differs from the micro-sim's: a resting limit order fills (at its limit price)
when the opposite best price reaches it, with no queue and no latency, so its passive fills are
all of kind ``FILL_CROSS``. Fills on the tick the order was sent are ``FILL_AGGRESSIVE``.

The driver loop runs one Python step per tick: this is a validation harness for small windows,
not a hot path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np

from ghtrader.adapters.tqsdk.loader import import_tqsdk
from ghtrader.adapters.tqsdk.session import TqSdkConfig, _reveal, translate_tqsdk_error
from ghtrader.domain.microsim import codes
from ghtrader.domain.microsim.results import (
    EQUITY_DTYPE,
    FILL_DTYPE,
    ORDER_DTYPE,
    round_trips,
    summarize,
)
from ghtrader.domain.microsim.simulator import QuoteStrategy

__all__ = [
    "Book",
    "QuoteDriver",
    "TargetDriver",
    "TqBacktestResult",
    "TradingApi",
    "collect",
    "quote_prices",
    "run_tq_backtest",
    "trading_day_starts",
]

_DAY_NS = 86_400_000_000_000
_NIGHT_SHIFT_NS = (8 + 6) * 3_600_000_000_000  # Beijing offset + 18:00 belongs to the next day


class TradingApi(Protocol):
    """The part of ``TqApi`` a driver uses (a fake implementing it can stand in for tests)."""

    def insert_order(
        self,
        symbol: str,
        direction: str,
        offset: str = ...,
        volume: int = ...,
        limit_price: float | None = ...,
        advanced: str | None = ...,
    ) -> Any: ...

    def cancel_order(self, order_or_order_id: Any) -> None: ...


@dataclass(frozen=True)
class Book:
    """What a driver sees on each tick: time, best prices and the position by bucket."""

    datetime_ns: int
    bid: float
    ask: float
    long_today: int
    long_his: int
    short_today: int
    short_his: int

    @property
    def position(self) -> int:
        """Net lots (long - short)."""
        return self.long_today + self.long_his - self.short_today - self.short_his


def quote_prices(bid: float, ask: float, position: int, strategy: QuoteStrategy) -> tuple[float, float]:
    """The re-quoting strategy's wanted (buy, sell) prices; NaN where no quote is wanted
    (no book on that side, or the position limit reached)."""
    buy = bid if math.isfinite(bid) and position < strategy.max_position else math.nan
    sell = ask if math.isfinite(ask) and position > -strategy.max_position else math.nan
    return buy, sell


def _offset(direction: str, book: Book) -> tuple[str, int]:
    """SHFE offset for an order of ``direction``: close today first, then yesterday, else open;
    with the lots that offset can take (0: unlimited)."""
    today, his = (book.short_today, book.short_his) if direction == "BUY" else (book.long_today, book.long_his)
    if today > 0:
        return "CLOSETODAY", today
    if his > 0:
        return "CLOSE", his
    return "OPEN", 0


def _alive(order: Any) -> bool:
    return order is not None and order.status == "ALIVE"


@dataclass
class QuoteDriver:
    """Play :class:`QuoteStrategy`: a limit order at the best bid and one at the best ask; when
    the best price moves (or the position limit is reached) cancel and, once the cancel is
    confirmed, send the new quote."""

    symbol: str
    strategy: QuoteStrategy = field(default_factory=QuoteStrategy)
    _working: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _cancel_sent: set[str] = field(default_factory=set, init=False, repr=False)

    def on_tick(self, api: TradingApi, book: Book) -> None:
        buy, sell = quote_prices(book.bid, book.ask, book.position, self.strategy)
        for direction, price in (("BUY", buy), ("SELL", sell)):
            order: Any = self._working.get(direction)
            if _alive(order):
                if math.isnan(price) or order.limit_price != price:
                    if order.order_id not in self._cancel_sent:
                        api.cancel_order(order)
                        self._cancel_sent.add(order.order_id)
                continue  # a new quote waits for the old one to finish
            self._working.pop(direction, None)
            if math.isnan(price):
                continue
            offset, cap = _offset(direction, book)
            qty = min(self.strategy.qty, cap) if cap else self.strategy.qty
            self._working[direction] = api.insert_order(
                self.symbol, direction=direction, offset=offset, volume=qty, limit_price=price
            )


@dataclass
class TargetDriver:
    """Follow a target position series: from ``times_ns[i]`` on the target is ``targets[i]``
    lots; a gap is closed by FAK limit orders at the opposite best price, one at a time."""

    symbol: str
    times_ns: Sequence[int]
    targets: Sequence[int]
    _order: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.times_ns) != len(self.targets):
            raise ValueError("times_ns and targets must have the same length")
        if np.any(np.diff(np.asarray(self.times_ns, dtype=np.int64)) < 0):
            raise ValueError("times_ns must be sorted")

    def target_at(self, datetime_ns: int) -> int:
        """The target in force at ``datetime_ns`` (0 before the first time)."""
        i = int(np.searchsorted(np.asarray(self.times_ns, dtype=np.int64), datetime_ns, side="right")) - 1
        return int(self.targets[i]) if i >= 0 else 0

    def on_tick(self, api: TradingApi, book: Book) -> None:
        if _alive(self._order):
            return
        gap = self.target_at(book.datetime_ns) - book.position
        if gap == 0:
            return
        direction = "BUY" if gap > 0 else "SELL"
        price = book.ask if gap > 0 else book.bid
        if not math.isfinite(price):
            return
        offset, cap = _offset(direction, book)
        qty = min(abs(gap), cap) if cap else abs(gap)
        self._order = api.insert_order(
            self.symbol, direction=direction, offset=offset, volume=qty, limit_price=price, advanced="FAK"
        )


class Driver(Protocol):
    def on_tick(self, api: TradingApi, book: Book) -> None: ...


@dataclass(frozen=True)
class TqBacktestResult:
    """One TqBacktest run in the micro-sim's record shapes, plus TqSim's own account figures."""

    orders: np.ndarray  # ORDER_DTYPE
    fills: np.ndarray  # FILL_DTYPE
    equity: np.ndarray  # EQUITY_DTYPE, one row per tick
    round_trips: np.ndarray  # ROUND_TRIP_DTYPE
    positions: dict[str, float]
    account: dict[str, float]  # TqSim's balance and static balance at the end (after settlement)
    summary: dict[str, float]


_OFFSETS = {"OPEN": codes.OPEN, "CLOSE": codes.CLOSE, "CLOSETODAY": codes.CLOSETODAY}


def _order_records(
    orders: Sequence[Any], trades_by_order: dict[str, list[Any]], cancel_ns: dict[str, int], done_ns: dict[str, int]
) -> np.ndarray:
    out = np.zeros(len(orders), dtype=ORDER_DTYPE)
    for i, o in enumerate(orders):
        filled = int(o.volume_orign - o.volume_left)
        trades = trades_by_order.get(o.order_id, [])
        if o.status == "ALIVE":
            status = codes.LIVE
        elif filled == o.volume_orign:
            status = codes.FILLED
        elif any(w in str(getattr(o, "last_msg", "")) for w in ("拒绝", "不足")):
            # TqSim refuses with a message ("...不足": not enough funds / position to close);
            # an order it cancelled (FAK remainder, cancel, end of backtest) has none of these.
            status = codes.REJECTED
        else:
            status = codes.CANCELLED
        done = -1
        if status == codes.FILLED and trades:
            done = max(int(t.trade_date_time) for t in trades)
        elif status != codes.LIVE:
            done = done_ns.get(o.order_id, -1)
        out[i] = (
            i,
            codes.BUY if o.direction == "BUY" else codes.SELL,
            codes.FAK if o.time_condition == "IOC" else codes.LIMIT,
            _OFFSETS.get(o.offset, codes.OPEN),
            status,
            float(o.limit_price),
            float(o.volume_orign),
            float(filled),
            int(o.insert_date_time),
            int(o.insert_date_time),
            cancel_ns.get(o.order_id, -1),
            done,
        )
    return out


def _fill_records(trades: Sequence[Any], index: dict[str, int], sent_ns: dict[str, int]) -> np.ndarray:
    out = np.zeros(len(trades), dtype=FILL_DTYPE)
    for i, t in enumerate(trades):
        passive = int(t.trade_date_time) > sent_ns[t.order_id]
        out[i] = (
            int(t.trade_date_time),
            index[t.order_id],
            codes.BUY if t.direction == "BUY" else codes.SELL,
            _OFFSETS.get(t.offset, codes.OPEN),
            passive,
            codes.FILL_CROSS if passive else codes.FILL_AGGRESSIVE,
            float(t.price),
            float(t.volume),
            float(getattr(t, "commission", 0.0)),
        )
    return out


def _equity(stamps: np.ndarray, mids: np.ndarray, fills: np.ndarray, multiplier: float) -> np.ndarray:
    """Mark to mid after each tick, from the fills up to and including that tick's time."""
    out = np.zeros(len(stamps), dtype=EQUITY_DTYPE)
    out["datetime_ns"], out["mid"] = stamps, mids
    signed = fills["side"].astype(np.float64) * fills["qty"]
    k = np.searchsorted(fills["datetime_ns"], stamps, side="right")
    pos = np.r_[0.0, np.cumsum(signed)][k]
    cash = np.r_[0.0, np.cumsum(-signed * fills["price"] * multiplier)][k]
    fees = np.r_[0.0, np.cumsum(fills["fee"])][k]
    out["position"], out["fees"] = pos, fees
    out["pnl_gross"] = cash + pos * mids * multiplier
    out["pnl_net"] = out["pnl_gross"] - fees
    return out


def trading_day_starts(stamps: np.ndarray) -> np.ndarray:
    """True where a tick opens a new trading day (TqSdk's rule: 18:00 Beijing or later is the
    next day, weekends roll to Monday; holidays are not consulted)."""
    if stamps.size == 0:
        return np.zeros(0, dtype=bool)
    day = (stamps.astype(np.int64) + _NIGHT_SHIFT_NS) // _DAY_NS
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday (3)
    day = day + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))
    return np.r_[True, day[1:] != day[:-1]]


def collect(
    orders: Sequence[Any],
    trades: Sequence[Any],
    stamps: np.ndarray,
    mids: np.ndarray,
    multiplier: float,
    positions: dict[str, float],
    account: dict[str, float],
    cancel_ns: dict[str, int] | None = None,
    done_ns: dict[str, int] | None = None,
) -> TqBacktestResult:
    """Build the result from TqSdk order / trade objects (insertion order) and the tick marks."""
    index = {o.order_id: i for i, o in enumerate(orders)}
    sent = {o.order_id: int(o.insert_date_time) for o in orders}
    trades = sorted(trades, key=lambda t: (int(t.trade_date_time), index[t.order_id]))
    by_order: dict[str, list[Any]] = {}
    for t in trades:
        by_order.setdefault(t.order_id, []).append(t)
    order_recs = _order_records(orders, by_order, cancel_ns or {}, done_ns or {})
    fills = _fill_records(trades, index, sent)
    equity = _equity(stamps, mids, fills, multiplier)
    trips = round_trips(fills, multiplier)
    summary = summarize(fills, equity, trips, multiplier, trading_day_starts(stamps))
    return TqBacktestResult(order_recs, fills, equity, trips, positions, account, summary)


def run_tq_backtest(
    config: TqSdkConfig,
    symbol: str,
    start: date | datetime,
    end: date | datetime,
    driver: Driver,
    *,
    init_balance: float = 1_000_000.0,
) -> TqBacktestResult:
    """Replay ``symbol``'s ticks from ``start`` to ``end`` (Beijing) through ``TqBacktest``, call
    ``driver.on_tick`` on every tick with a ``TqSim`` account, and collect the outcome.

    Raises:
        FailedPrecondition / InvalidArgument / Unavailable: as :class:`TqSdkSession` does.
        Whatever ``driver.on_tick`` raises, unchanged.
    """
    import_tqsdk()
    from tqsdk import BacktestFinished, TqApi, TqAuth, TqBacktest, TqSim

    what = f"TqBacktest of {symbol}"
    auth = TqAuth(config.user_name, _reveal(config.password))
    if config.auth_url:
        auth._auth_url = config.auth_url.rstrip("/")
    kwargs: dict[str, Any] = {}
    if config.md_url:
        kwargs["_md_url"] = config.md_url
    if config.ins_url:
        kwargs["_ins_url"] = config.ins_url
    try:
        api = TqApi(TqSim(init_balance), backtest=TqBacktest(start, end), auth=auth, disable_print=True, **kwargs)
    except Exception as exc:  # TqSdk raises bare Exception for most failures
        raise translate_tqsdk_error(exc, what, config) from None
    orders: list[Any] = []
    stamps: list[int] = []
    mids: list[float] = []
    tracked = _Tracking(api, orders)
    try:
        ticks = api.get_tick_serial(symbol, data_length=2)  # first: the quote then follows ticks
        quote = api.get_quote(symbol)
        position = api.get_position(symbol)
        multiplier = float(quote.volume_multiple)
        last_seen = math.nan
        try:
            while True:
                # The current tick first: get_quote may already have moved the replay to it.
                row: Any = ticks.iloc[-1] if len(ticks) else None
                tick_id = float(row["id"]) if row is not None else math.nan
                if not math.isfinite(tick_id) or tick_id == last_seen:
                    api.wait_update()
                    continue
                last_seen = tick_id
                now = _to_ms_ns(float(row["datetime"]))
                tracked.now_ns = now
                tracked.update()
                bid, ask = float(quote.bid_price1), float(quote.ask_price1)
                stamps.append(now)
                mids.append((bid + ask) / 2 if math.isfinite(bid) and math.isfinite(ask) else math.nan)
                book = Book(
                    now,
                    bid,
                    ask,
                    int(position.pos_long_today),
                    int(position.pos_long_his),
                    int(position.pos_short_today),
                    int(position.pos_short_his),
                )
                try:
                    driver.on_tick(tracked, book)
                except Exception as exc:
                    raise _DriverError(exc) from exc
                api.wait_update()
        except BacktestFinished:
            pass
        tracked.update()
        account = api.get_account()
        acct = {
            "balance": float(account.balance),
            "static_balance": float(account.static_balance),
        }
        pos = {
            "long_today": float(position.pos_long_today),
            "long_his": float(position.pos_long_his),
            "short_today": float(position.pos_short_today),
            "short_his": float(position.pos_short_his),
        }
        trades = list(api.get_trade().values())
        mid_arr = np.asarray(mids, dtype=np.float64)
        mid_arr = _fill_nan_forward(mid_arr)
        stamp_arr = np.asarray(stamps, dtype=np.int64)
        return collect(orders, trades, stamp_arr, mid_arr, multiplier, pos, acct, tracked.cancel_ns, tracked.done_ns)
    except _DriverError as exc:
        raise exc.original from None  # the strategy's own error, not TqSdk's
    except Exception as exc:
        raise translate_tqsdk_error(exc, what, config) from None
    finally:
        api.close()


class _DriverError(Exception):
    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


def _to_ms_ns(ns: float) -> int:
    # get_tick_serial hands datetime back as float64: round to the microsecond.
    return round(ns / 1000.0) * 1000


def _fill_nan_forward(x: np.ndarray) -> np.ndarray:
    idx = np.where(np.isnan(x), 0, np.arange(len(x)))
    np.maximum.accumulate(idx, out=idx)
    return x[idx]


class _Tracking:
    """A TradingApi over ``TqApi`` that remembers every order sent and when orders ended."""

    def __init__(self, api: Any, orders: list[Any]) -> None:
        self._api = api
        self._orders = orders
        self._open: list[Any] = []
        self.now_ns = -1
        self.cancel_ns: dict[str, int] = {}
        self.done_ns: dict[str, int] = {}

    def insert_order(
        self,
        symbol: str,
        direction: str,
        offset: str = "",
        volume: int = 1,
        limit_price: float | None = None,
        advanced: str | None = None,
    ) -> Any:
        order = self._api.insert_order(symbol, direction, offset, volume, limit_price=limit_price, advanced=advanced)
        self._orders.append(order)
        self._open.append(order)
        return order

    def cancel_order(self, order_or_order_id: Any) -> None:
        oid = getattr(order_or_order_id, "order_id", order_or_order_id)
        self.cancel_ns.setdefault(oid, self.now_ns)
        self._api.cancel_order(order_or_order_id)

    def update(self) -> None:
        """Stamp orders that finished since the last tick with the current time."""
        still = []
        for o in self._open:
            if o.status == "FINISHED":
                self.done_ns[o.order_id] = self.now_ns
            else:
                still.append(o)
        self._open = still
