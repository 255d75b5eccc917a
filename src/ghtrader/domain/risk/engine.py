"""The pre-trade risk engine: hard limits, trading states and the kill switch.

Every order an order-enabled runner wants to send goes through :meth:`RiskEngine.check` first;
fills and account snapshots flow back through :meth:`RiskEngine.on_fill` and
:meth:`RiskEngine.on_account`. The engine keeps no clock of its own: times come from the quote
(event time), so a replay and a live run take the same decisions. See docs/risk.md.

Position semantics are *net* lots per symbol (long minus short, today's plus yesterday's). The
worst case of the working orders is counted: a buy is judged as if every working buy of the same
symbol filled, a sell as if every working sell filled.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from enum import IntEnum
from typing import Any

import numpy as np

from ghtrader.domain.errors import DomainError
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.microsim import codes
from ghtrader.domain.risk.measures import StressPosition, pre_trade_stress
from ghtrader.domain.risk.sessions import SessionClock
from ghtrader.domain.trading.orders import AccountSnapshot, ExecutionEvent, OrderRequest, OrderState, Position

__all__ = [
    "RiskDecision",
    "RiskEngine",
    "RiskLimits",
    "RiskQuote",
    "RiskStateError",
    "StressConfig",
    "TradingState",
    "is_reducing",
    "working_qty",
]

NS_PER_SECOND = 1_000_000_000
_TICK_TOLERANCE = 1e-6  # fraction of a tick a price may sit off the grid (float noise)


class RiskStateError(DomainError):
    """An operator command that the engine's state refuses (e.g. resume while the kill switch is latched)."""


class TradingState(IntEnum):
    """What the engine lets through."""

    ACTIVE = 0  # every order within the limits
    REDUCING = 1  # only orders that reduce |net| without flipping it
    HALTED = 2  # only cancels (and the flattening closes of flatten_orders)


@dataclass(frozen=True)
class RiskLimits:
    """Hard limits. Lots are per symbol; money is CNY.

    ``max_daily_loss`` counts from the equity at :meth:`RiskEngine.new_trading_day` (or the first
    snapshot); ``max_drawdown`` from the highest equity seen. ``per_symbol_loss_limit`` is on the
    symbol's realized PnL of the trading day (fills, fees included). ``max_consecutive_losses``
    losing round trips in a row switch the engine to REDUCING.
    """

    max_net_position: int
    max_order_size: int
    max_orders_per_second: int
    max_daily_loss: float
    max_drawdown: float
    per_symbol_loss_limit: float
    max_consecutive_losses: int

    def __post_init__(self) -> None:
        for name in ("max_net_position", "max_order_size", "max_orders_per_second", "max_consecutive_losses"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"RiskLimits.{name} must be a positive integer, got {value!r}")
        for name in ("max_daily_loss", "max_drawdown", "per_symbol_loss_limit"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"RiskLimits.{name} must be a positive finite number, got {value!r}")
        if self.max_order_size > self.max_net_position:
            raise ValueError(
                f"RiskLimits.max_order_size {self.max_order_size} exceeds max_net_position {self.max_net_position}"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RiskLimits:
        """Build from a settings/JSON mapping; unknown or missing keys raise ``ValueError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown risk limit(s) {unknown}: expected {sorted(known)}")
        missing = sorted(known - set(values))
        if missing:
            raise ValueError(f"missing risk limit(s) {missing}")
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        """The limits as a JSON-ready dict (what run_config.json records)."""
        return asdict(self)


@dataclass(frozen=True)
class RiskQuote:
    """What the engine needs to know about the market of ``symbol`` at ``time_ns``."""

    symbol: str
    time_ns: int  # event time (epoch ns): drives the rate limit and the session guard
    price_tick: float
    lower_limit: float  # the exchange's daily price limits (跌停 / 涨停); NaN: unknown
    upper_limit: float
    last_price: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.price_tick) and self.price_tick > 0):
            raise ValueError(f"RiskQuote.price_tick must be positive, got {self.price_tick!r}")
        for name in ("lower_limit", "upper_limit", "last_price"):
            value = getattr(self, name)
            if math.isinf(value):
                raise ValueError(f"RiskQuote.{name} must be finite or NaN (unknown), got {value!r}")
        if self.lower_limit > self.upper_limit:
            raise ValueError(f"RiskQuote lower_limit {self.lower_limit} > upper_limit {self.upper_limit}")


@dataclass(frozen=True)
class RiskDecision:
    """The verdict on one order: ``reason`` is empty when allowed."""

    allowed: bool
    reason: str = ""


_ALLOW = RiskDecision(True, "")


@dataclass(frozen=True)
class StressConfig:
    """The optional pre-trade stress check: the worst scenario loss must stay within ``loss_limit`` CNY."""

    loss_limit: float
    n_sigma: float = 3.0
    freeze_ticks: float = 1.0
    correlation: tuple[tuple[float, ...], ...] | None = None  # symbol order of the stress book

    def __post_init__(self) -> None:
        if not (math.isfinite(self.loss_limit) and self.loss_limit > 0):
            raise ValueError(f"StressConfig.loss_limit must be positive, got {self.loss_limit!r}")
        if not (self.n_sigma >= 0 and self.freeze_ticks >= 0):
            raise ValueError(
                f"StressConfig n_sigma and freeze_ticks must be >= 0, got {self.n_sigma}, {self.freeze_ticks}"
            )


def _deny(reason: str) -> RiskDecision:
    return RiskDecision(False, reason)


def working_qty(working: Sequence[OrderState], symbol: str, side: int, offset: int | None = None) -> int:
    """Unfilled lots of the alive working orders of ``symbol`` on ``side`` (optionally one offset)."""
    total = 0
    for o in working:
        r = o.request
        if o.alive and r.symbol == symbol and r.side == side and (offset is None or r.offset == offset):
            total += max(r.qty - o.filled_qty, 0)
    return total


def is_reducing(net: int, side: int, qty: int, same_side_working: int) -> bool:
    """Whether an order moves |net| toward zero without crossing it, even if every same-side working order fills."""
    if net == 0 or side == (1 if net > 0 else -1):
        return False
    after = net + side * (same_side_working + qty)
    return after == 0 or (after > 0) == (net > 0)


class RiskEngine:
    """Checks orders against :class:`RiskLimits` and keeps the trading state.

    Args:
        limits: the hard limits.
        sessions: the session-time guard (e.g. :class:`~ghtrader.domain.risk.sessions.CalendarSessions`).
        multipliers: contract multiplier per symbol for PnL from fills; a symbol not in it uses
            its variety's :func:`~ghtrader.domain.instruments.contract_spec`.
        stress: the pre-trade stress check, run when :meth:`check` is given a ``stress_book``.
        unknown_limit_band: when a quote does not know a price limit (NaN), the engine uses
            ``last_price * (1 -+ band)`` snapped inward onto the tick grid instead (a fat-finger
            band inside SHFE's daily limits for cu / au / ag).
    """

    def __init__(
        self,
        limits: RiskLimits,
        sessions: SessionClock,
        *,
        multipliers: Mapping[str, float] | None = None,
        stress: StressConfig | None = None,
        unknown_limit_band: float = 0.02,
    ) -> None:
        if not (math.isfinite(unknown_limit_band) and 0 < unknown_limit_band < 1):
            raise ValueError(f"unknown_limit_band must be in (0, 1), got {unknown_limit_band!r}")
        self._limits = limits
        self._band = float(unknown_limit_band)
        self._stress = stress
        self._sessions = sessions
        self._multipliers: dict[str, float] = dict(multipliers or {})
        self._operator_state = TradingState.ACTIVE
        self._halt_reason = ""
        self._kill_latched = False
        self._kill_reason = ""
        self._streak_paused = False
        self._loss_streak = 0
        self._allowed_times: deque[int] = deque()
        self._day_start_equity: float | None = None
        self._peak_equity: float | None = None
        self._last_equity: float | None = None
        # Per symbol, from fills: net lots, average cost of the open lots, PnL of the current
        # round trip, realized PnL of the trading day and since start (CNY, fees deducted).
        self._pos: dict[str, int] = {}
        self._avg: dict[str, float] = {}
        self._trip_pnl: dict[str, float] = {}
        self._day_pnl: dict[str, float] = {}
        self._total_pnl: dict[str, float] = {}
        self._blocked: dict[str, str] = {}  # symbol -> why it is reduce-only

    # --- state ----------------------------------------------------------------------------
    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @property
    def state(self) -> TradingState:
        """HALTED when halted or the kill switch is latched; REDUCING by command or after a loss streak."""
        if self._kill_latched or self._operator_state == TradingState.HALTED:
            return TradingState.HALTED
        if self._operator_state == TradingState.REDUCING or self._streak_paused:
            return TradingState.REDUCING
        return TradingState.ACTIVE

    @property
    def kill_latched(self) -> bool:
        return self._kill_latched

    @property
    def kill_reason(self) -> str:
        """Why the kill switch fired ("" while not latched)."""
        return self._kill_reason

    @property
    def state_reason(self) -> str:
        """Why the engine is not ACTIVE ("" when it is)."""
        if self._kill_latched:
            return f"kill switch: {self._kill_reason}"
        if self._operator_state == TradingState.HALTED:
            return f"halted: {self._halt_reason}"
        if self._operator_state == TradingState.REDUCING:
            return "reduce_only: operator"
        if self._streak_paused:
            return f"max_consecutive_losses: {self._loss_streak} losing round trips"
        return ""

    @property
    def loss_streak(self) -> int:
        """Losing round trips in a row (all symbols)."""
        return self._loss_streak

    @property
    def blocked_symbols(self) -> Mapping[str, str]:
        """Symbols reduce-only after their per-symbol loss limit, with the reason."""
        return dict(self._blocked)

    def realized_pnl(self, symbol: str, *, today: bool = True) -> float:
        """Realized PnL of ``symbol`` from fills (fees deducted): this trading day or since start."""
        return (self._day_pnl if today else self._total_pnl).get(symbol, 0.0)

    def status(self) -> dict[str, Any]:
        """A JSON-ready summary of the engine for status calls and state files."""
        return {
            "state": self.state.name,
            "state_reason": self.state_reason,
            "kill_latched": self._kill_latched,
            "kill_reason": self._kill_reason,
            "loss_streak": self._loss_streak,
            "blocked_symbols": dict(self._blocked),
            "day_start_equity": self._day_start_equity,
            "peak_equity": self._peak_equity,
            "last_equity": self._last_equity,
            "realized_pnl_today": dict(self._day_pnl),
            "limits": self._limits.to_dict(),
        }

    # --- operator commands ----------------------------------------------------------------
    def halt(self, reason: str) -> None:
        """Stop new orders (cancels and flattening closes still pass)."""
        self._operator_state = TradingState.HALTED
        self._halt_reason = reason or "operator"

    def reduce_only(self) -> None:
        """Only orders that reduce a position from now on (a halt stays a halt)."""
        if self._operator_state != TradingState.HALTED:
            self._operator_state = TradingState.REDUCING

    def resume(self) -> None:
        """Back to ACTIVE (also ends a loss-streak pause; per-symbol blocks last the day). Refused while the kill switch is latched."""
        if self._kill_latched:
            raise RiskStateError(f"resume refused: kill switch latched ({self._kill_reason}); reset_kill first")
        self._operator_state = TradingState.ACTIVE
        self._halt_reason = ""
        self._streak_paused = False
        self._loss_streak = 0

    def reset_kill(self, *, rebase_equity: float | None = None) -> None:
        """A person's acknowledgement of the kill switch: unlatch it, leaving the engine HALTED until resume().

        ``rebase_equity`` restarts both the daily-loss base and the drawdown peak at that equity
        (otherwise the next snapshot fires the switch again while the loss still stands).
        """
        if self._kill_latched:
            self._operator_state = TradingState.HALTED
            self._halt_reason = f"after kill switch ({self._kill_reason})"
        self._kill_latched = False
        self._kill_reason = ""
        if rebase_equity is not None:
            self._day_start_equity = float(rebase_equity)
            self._peak_equity = float(rebase_equity)

    def new_trading_day(self, equity: float) -> None:
        """Start a trading day: daily-loss base = ``equity``; loss streak, its pause and per-symbol blocks reset.

        The kill latch and an operator halt / reduce-only stay as they are.
        """
        self._day_start_equity = float(equity)
        self._peak_equity = float(equity) if self._peak_equity is None else max(self._peak_equity, float(equity))
        self._loss_streak = 0
        self._streak_paused = False
        self._day_pnl.clear()
        self._blocked.clear()

    def seed_position(self, symbol: str, net: int, avg_price: float) -> None:
        """Tell the PnL tracker about a position held before the engine started (net lots at ``avg_price``)."""
        self._pos[symbol] = int(net)
        self._avg[symbol] = float(avg_price) if net else 0.0
        self._trip_pnl[symbol] = 0.0

    # --- pre-trade check ------------------------------------------------------------------
    def check(
        self,
        order: OrderRequest,
        quote: RiskQuote,
        position: Position,
        working: Sequence[OrderState],
        *,
        stress_book: Sequence[StressPosition] | None = None,
    ) -> RiskDecision:
        """Allow or refuse ``order`` given the market, the position and the working orders.

        Cancels never come here: they are always allowed and not rate-limited. An allowed order
        is recorded for the rate limit, so call this once per order actually sent.

        With a :class:`StressConfig` and a ``stress_book`` (every symbol's position, sigma and
        multiplier; the order's symbol must be in it, its net is taken from ``position``), an
        order that does not reduce must also pass the pre-trade stress check on the book after
        it and its same-side working orders fill.
        """
        decision = self._evaluate(order, quote, position, working, stress_book)
        if decision.allowed:
            self._allowed_times.append(int(quote.time_ns))
        return decision

    def _evaluate(
        self,
        order: OrderRequest,
        quote: RiskQuote,
        position: Position,
        working: Sequence[OrderState],
        stress_book: Sequence[StressPosition] | None,
    ) -> RiskDecision:
        lim = self._limits
        sym = order.symbol
        if quote.symbol != sym or position.symbol != sym:
            return _deny(f"symbol_mismatch: order {sym}, quote {quote.symbol}, position {position.symbol}")
        net = position.net
        same_side = working_qty(working, sym, order.side)
        reducing = is_reducing(net, order.side, order.qty, same_side)

        # State rules first: a halted engine answers the same whatever the market does.
        state = self.state
        if state == TradingState.HALTED:
            if not (reducing and order.offset != codes.OPEN and order.kind in (codes.FAK, codes.FOK)):
                return _deny(f"{self.state_reason}; only cancels and flattening FAK/FOK closes")
        elif not reducing:
            if state == TradingState.REDUCING:
                return _deny(f"{self.state_reason}; order does not reduce net {net}")
            if sym in self._blocked:
                return _deny(f"{self._blocked[sym]}; order does not reduce net {net}")

        if not self._sessions.is_open(sym, quote.time_ns):
            return _deny(f"session: {sym} is not trading at {quote.time_ns}")

        price = order.price
        lower, upper = self.effective_limits(quote)
        if math.isnan(lower) or math.isnan(upper):
            return _deny("price_limit: no price limits and no last price to derive them from")
        if not (math.isfinite(price) and lower <= price <= upper):
            return _deny(f"price_limit: {price} outside [{lower}, {upper}]")
        steps = price / quote.price_tick
        if abs(steps - round(steps)) > _TICK_TOLERANCE:
            return _deny(f"price_tick: {price} is not a multiple of {quote.price_tick}")

        if order.qty > lim.max_order_size:
            return _deny(f"max_order_size: {order.qty} > {lim.max_order_size}")

        after = net + order.side * (same_side + order.qty)
        if abs(after) > lim.max_net_position and not reducing:
            return _deny(
                f"max_net_position: net {net} + working {order.side * same_side} + order {order.side * order.qty}"
                f" = {after}, |{after}| > {lim.max_net_position}"
            )

        if order.offset != codes.OPEN:
            have = _closable(position, order.side, order.offset)
            pending = working_qty(working, sym, order.side, order.offset)
            if order.qty > have - pending:
                name = codes.OFFSET_NAMES[order.offset]
                return _deny(f"insufficient_position: {name} {order.qty} > {have} held - {pending} working")

        if self._stress is not None and stress_book is not None and not reducing:
            denied = _stress_check(self._stress, order, net, same_side, stress_book)
            if denied is not None:
                return denied

        now = int(quote.time_ns)
        times = self._allowed_times
        while times and now - times[0] >= NS_PER_SECOND:
            times.popleft()
        if len(times) >= lim.max_orders_per_second:
            return _deny(f"max_orders_per_second: {len(times)} in the last second >= {lim.max_orders_per_second}")
        return _ALLOW

    def effective_limits(self, quote: RiskQuote) -> tuple[float, float]:
        """``(lower, upper)`` the price check uses: the quote's limits, or the band around ``last_price`` for an unknown one.

        NaN when a limit is unknown and so is the last price.
        """
        lower, upper = quote.lower_limit, quote.upper_limit
        last, tick = quote.last_price, quote.price_tick
        if math.isnan(lower) and not math.isnan(last):
            lower = math.ceil(round(last * (1.0 - self._band) / tick, 9)) * tick
        if math.isnan(upper) and not math.isnan(last):
            upper = math.floor(round(last * (1.0 + self._band) / tick, 9)) * tick
        return lower, upper

    def orders_in_window(self, time_ns: int) -> int:
        """Allowed orders within the second before ``time_ns`` (what the rate limit counts)."""
        return sum(1 for t in self._allowed_times if 0 <= time_ns - t < NS_PER_SECOND)

    # --- fills and account ----------------------------------------------------------------
    def on_fill(self, event: ExecutionEvent) -> None:
        """Track realized PnL per symbol and round trips (flat -> position -> flat) from a ``trade_fill``."""
        if event.kind != "trade_fill" or event.fill_qty <= 0:
            return
        req = event.order.request
        sym = req.symbol
        mult = self._multiplier(sym)
        qty = int(event.fill_qty)
        price = float(event.fill_price)
        pos = self._pos.get(sym, 0)
        avg = self._avg.get(sym, 0.0)
        fee = float(event.fee)
        trip = self._trip_pnl.get(sym, 0.0) - fee
        realized = -fee
        if pos == 0 or (pos > 0) == (req.side > 0):
            avg = (avg * abs(pos) + price * qty) / (abs(pos) + qty)
            pos += req.side * qty
        else:
            closed = min(qty, abs(pos))
            gain = (price - avg) * closed * (1 if pos > 0 else -1) * mult
            trip += gain
            realized += gain
            pos += req.side * closed
            if pos == 0:
                self._end_round_trip(trip)
                trip = 0.0
                rest = qty - closed
                pos = req.side * rest
                avg = price if rest else 0.0
        self._pos[sym], self._avg[sym], self._trip_pnl[sym] = pos, avg, trip
        self._day_pnl[sym] = self._day_pnl.get(sym, 0.0) + realized
        self._total_pnl[sym] = self._total_pnl.get(sym, 0.0) + realized
        day = self._day_pnl[sym]
        if day <= -self._limits.per_symbol_loss_limit and sym not in self._blocked:
            self._blocked[sym] = (
                f"per_symbol_loss_limit: {sym} realized {day:.2f} <= -{self._limits.per_symbol_loss_limit:g}"
            )

    def _end_round_trip(self, pnl: float) -> None:
        if pnl < 0:
            self._loss_streak += 1
            if self._loss_streak >= self._limits.max_consecutive_losses:
                self._streak_paused = True
        else:
            self._loss_streak = 0

    def on_account(self, snap: AccountSnapshot) -> str | None:
        """Watch equity for the daily loss and drawdown limits.

        Returns the kill reason the first time the kill switch fires (the runner then cancels
        all, flattens and stops), ``None`` otherwise. The switch latches until :meth:`reset_kill`.
        """
        equity = float(snap.equity)
        if not math.isfinite(equity):
            return None
        self._last_equity = equity
        if self._day_start_equity is None:
            self._day_start_equity = equity
        self._peak_equity = equity if self._peak_equity is None else max(self._peak_equity, equity)
        if self._kill_latched:
            return None
        lim = self._limits
        loss = self._day_start_equity - equity
        drawdown = self._peak_equity - equity
        reason = ""
        if loss >= lim.max_daily_loss:
            reason = (
                f"max_daily_loss: equity {equity:.2f} is {loss:.2f} below the day's start >= {lim.max_daily_loss:g}"
            )
        elif drawdown >= lim.max_drawdown:
            reason = f"max_drawdown: equity {equity:.2f} is {drawdown:.2f} below the peak >= {lim.max_drawdown:g}"
        if not reason:
            return None
        self._kill_latched = True
        self._kill_reason = reason
        return reason

    def kill(self, reason: str) -> None:
        """Fire the kill switch by hand (latched like an automatic one)."""
        if not self._kill_latched:
            self._kill_latched = True
            self._kill_reason = reason or "manual"

    # --- flattening -----------------------------------------------------------------------
    def flatten_orders(
        self, position: Position, quote: RiskQuote, *, working: Sequence[OrderState] = ()
    ) -> list[OrderRequest]:
        """FAK closes that take the net position to zero, priced at the far price limit so they are marketable.

        The limit is :meth:`effective_limits`'s; with no limit and no last price there is nothing
        to price the orders at and the list is empty.

        Today's lots close with CLOSETODAY first, then yesterday's with CLOSE, in chunks of at most
        ``max_order_size``. Alive working orders on the closing side are taken as already under way
        (cancel them first for a clean flatten). Both legs of a lock (long and short held at once)
        are left: closing one of them alone would add exposure.
        """
        net = position.net
        if net == 0:
            return []
        side = codes.SELL if net > 0 else codes.BUY
        lower, upper = self.effective_limits(quote)
        price = lower if side == codes.SELL else upper
        if math.isnan(price):
            return []
        remaining = abs(net) - working_qty(working, position.symbol, side)
        out: list[OrderRequest] = []
        for offset in (codes.CLOSETODAY, codes.CLOSE):
            free = _closable(position, side, offset) - working_qty(working, position.symbol, side, offset)
            take = min(remaining, max(free, 0))
            remaining -= take
            while take > 0:
                qty = min(take, self._limits.max_order_size)
                out.append(
                    OrderRequest(
                        symbol=position.symbol,
                        side=side,
                        qty=qty,
                        price=price,
                        kind=codes.FAK,
                        offset=offset,
                        client_id="risk-flatten",
                    )
                )
                take -= qty
        return out

    def _multiplier(self, symbol: str) -> float:
        mult = self._multipliers.get(symbol)
        if mult is None:
            mult = contract_spec(symbol).multiplier
            self._multipliers[symbol] = mult
        return mult


def _closable(position: Position, side: int, offset: int) -> int:
    """Lots a close of ``side`` with ``offset`` can close: a sell closes longs, a buy closes shorts."""
    if side == codes.SELL:
        return position.long_today if offset == codes.CLOSETODAY else position.long_yd
    return position.short_today if offset == codes.CLOSETODAY else position.short_yd


def _stress_check(
    cfg: StressConfig, order: OrderRequest, net: int, same_side: int, book: Sequence[StressPosition]
) -> RiskDecision | None:
    """``None`` when the book after the order passes the stress scenarios, else the refusal."""
    book = [replace(p, net=net) if p.symbol == order.symbol else p for p in book]
    corr = None if cfg.correlation is None else np.asarray(cfg.correlation, dtype=np.float64)
    result = pre_trade_stress(
        order,
        book,
        loss_limit=cfg.loss_limit,
        working_same_side=same_side,
        n_sigma=cfg.n_sigma,
        freeze_ticks=cfg.freeze_ticks,
        correlation=corr,
    )
    if result.passed:
        return None
    return _deny(f"stress: {result.worst_scenario} loss {result.worst_loss:.2f} > {cfg.loss_limit:g}")
