"""Executors over one TqApi account (TqSim, TqKq or a broker's TqAccount).

:class:`SharedTqApi` holds the one ``TqApi`` that serves both the live feed (its
``attach()`` is the feed's session factory) and the orders; the feed's loop calls
``wait_update``, so an executor never blocks: ``submit`` queues an order that leaves on the
feed's next update and ``on_tick`` collects what the connection reported since the last call.
Outside a feed (tests, one-off scripts) ``poll(timeout_s)`` waits for an update itself.

Two executors, never both on the same (account, symbol) (TqSdk's rule; the shared session
refuses the second kind with ``FailedPrecondition``):

* :class:`TqSdkDirectExecution` (the ExecutionProvider port): limit orders, FAK / FOK through
  ``advanced=``, offsets OPEN / CLOSE / CLOSETODAY, cancel;
* :class:`TqSdkTargetPosExecution`: ``set_target(symbol, lots)`` over a ``TargetPosTask``,
  which sends and re-prices its own orders until the position is reached.

Both translate TqSdk's order and trade objects into OrderState / ExecutionEvent, its
positions into Position (today's vs yesterday's lots) and ``get_account()`` into
AccountSnapshot.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from ghtrader.adapters.tqsdk.account import TqAccountSpec
from ghtrader.adapters.tqsdk.session import TqSdkConfig, TqSdkSession, translate_tqsdk_error
from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.domain.microsim import codes
from ghtrader.domain.trading.orders import AccountSnapshot, ExecutionEvent, OrderRequest, OrderState, Position

if TYPE_CHECKING:
    from tqsdk import TqApi

__all__ = [
    "SharedTqApi",
    "TqSdkDirectExecution",
    "TqSdkTargetPosExecution",
    "account_snapshot",
    "order_state",
    "position_of",
]

log = logging.getLogger(__name__)

DIRECT = "direct"
TARGET = "target"
_SIDES = {codes.BUY: "BUY", codes.SELL: "SELL"}
_OFFSETS = {codes.OPEN: "OPEN", codes.CLOSE: "CLOSE", codes.CLOSETODAY: "CLOSETODAY"}
_ADVANCED = {codes.LIMIT: None, codes.FAK: "FAK", codes.FOK: "FOK"}
_OFFSET_CODES = {v: k for k, v in _OFFSETS.items()}
# TqSim gives every order an exchange id, so its refusals (too few lots to close, too little
# money, outside the sessions, unsupported instrument) only show in the message.
_SIM_REFUSALS = ("手数不足", "资金不足", "不在可交易时间段", "不支持的合约类型")


class SharedTqApi:
    """One ``TqApi`` on one account, shared by a live feed and an executor (reference-counted:
    it closes when the last holder releases it) and the record of which executor kind drives
    each symbol of the account."""

    def __init__(self, config: TqSdkConfig, account: TqAccountSpec | None = None) -> None:
        self.config = config
        self.account = account or TqAccountSpec()
        self._session = TqSdkSession(config, self.account)
        self._refs = 0
        self._owners: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"SharedTqApi({self.account.describe()}, refs={self._refs})"

    @property
    def held(self) -> bool:
        """Whether anyone holds the ``TqApi`` now (an executor or a feed)."""
        return self._refs > 0

    def acquire(self) -> TqApi:
        """Open (first holder) or share the ``TqApi``."""
        api = self._session.open()
        self._refs += 1
        return api

    def release(self) -> None:
        """Give a reference back; the last one closes the ``TqApi``."""
        self._refs = max(0, self._refs - 1)
        if self._refs == 0:
            self._session.close()

    @contextmanager
    def attach(self) -> Iterator[TqApi]:
        """``with shared.attach() as api``: a live feed's session factory (holds a reference)."""
        api = self.acquire()
        try:
            yield api
        finally:
            self.release()

    def claim(self, symbol: str, kind: str) -> None:
        """Record that ``kind`` (direct / target) drives ``symbol``; the other kind is refused."""
        owner = self._owners.setdefault(symbol, kind)
        if owner != kind:
            raise FailedPrecondition(
                f"{symbol} on {self.account.describe()} is driven by the {owner} executor: TqSdk forbids mixing "
                f"a target-position task with direct orders on the same account and symbol"
            )

    def owner(self, symbol: str) -> str | None:
        """The executor kind driving ``symbol``, if any."""
        return self._owners.get(symbol)


def _num(value: Any, default: float = math.nan) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out


def _symbol(obj: Any) -> str:
    return f"{obj.exchange_id}.{obj.instrument_id}"


def _request_of(order: Any, client_id: str = "") -> OrderRequest:
    side = codes.BUY if order.direction == "BUY" else codes.SELL
    if order.time_condition == "IOC":
        kind = codes.FOK if order.volume_condition == "ALL" else codes.FAK
    else:
        kind = codes.LIMIT
    return OrderRequest(
        _symbol(order),
        side,
        max(1, int(order.volume_orign)),
        _num(order.limit_price),
        kind,
        _OFFSET_CODES.get(order.offset, codes.OPEN),
        client_id,
    )


def order_state(order: Any, request: OrderRequest | None = None) -> OrderState:
    """A TqSdk ``Order`` as an OrderState. ALIVE is LIVE once the exchange acknowledged it
    (``is_online``), PENDING before; FINISHED is REJECTED for an error order, FILLED with nothing
    left, CANCELLED otherwise (partly filled ones included). TqSim's refusals carry an exchange id
    and are recognised by their message."""
    req = request if request is not None else _request_of(order)
    filled = int(order.volume_orign) - int(order.volume_left)
    if order.status == "ALIVE":
        status = codes.LIVE if order.is_online else codes.PENDING
    elif order.is_error or (filled == 0 and any(m in str(order.last_msg or "") for m in _SIM_REFUSALS)):
        status = codes.REJECTED
    elif int(order.volume_left) == 0:
        status = codes.FILLED
    else:
        status = codes.CANCELLED
    avg = _num(order.trade_price, 0.0) if filled > 0 else 0.0
    reason = str(order.last_msg or "") if status in (codes.REJECTED, codes.CANCELLED) else ""
    return OrderState(str(order.order_id), req, status, filled, avg if math.isfinite(avg) else 0.0, reason)


def position_of(symbol: str, pos: Any) -> Position:
    """A TqSdk ``Position`` as today's / yesterday's lots (``pos_*_his`` is yesterday's)."""
    return Position(
        symbol,
        long_today=int(pos.pos_long_today or 0),
        long_yd=int(pos.pos_long_his or 0),
        short_today=int(pos.pos_short_today or 0),
        short_yd=int(pos.pos_short_his or 0),
    )


def account_snapshot(account: Any, positions: Sequence[Position], time_ns: int) -> AccountSnapshot:
    """``api.get_account()`` as an AccountSnapshot (NaN where TqSdk has not reported a value)."""
    return AccountSnapshot(
        time_ns=int(time_ns),
        balance=_num(account.balance),
        available=_num(account.available),
        margin=_num(account.margin),
        float_profit=_num(account.float_profit),
        position_profit=_num(account.position_profit),
        risk_ratio=_num(account.risk_ratio),
        positions=tuple(positions),
    )


class _TqSdkAccountView:
    """What both executors share: the api reference, positions, the account, and turning the
    connection's order and trade updates into events."""

    kind = ""

    def __init__(self, shared: SharedTqApi) -> None:
        self._shared = shared
        self._api: TqApi | None = shared.acquire()
        self._requests: dict[str, OrderRequest] = {}  # our orders: id -> what was asked
        self._last: dict[str, OrderState] = {}
        self._seen_trades: set[str] = set()
        self._finished: set[str] = set()  # reported as finished: no longer polled each tick
        self._last_ns = 0

    @property
    def api(self) -> TqApi:
        if self._api is None:
            raise FailedPrecondition(f"the {self.kind} executor is closed")
        return self._api

    @property
    def shared(self) -> SharedTqApi:
        return self._shared

    def close(self) -> None:
        """Release the shared ``TqApi`` (closed with its last holder); idempotent."""
        if self._api is not None:
            self._api = None
            self._shared.release()

    # --- reads --------------------------------------------------------------------------------
    def positions(self) -> Sequence[Position]:
        """Positions per contract with lots held (today's vs yesterday's)."""
        out = []
        for symbol, pos in self.api.get_position().items():
            if symbol.startswith("_"):
                continue
            p = position_of(symbol, pos)
            if p.long_today or p.long_yd or p.short_today or p.short_yd:
                out.append(p)
        return out

    def position(self, symbol: str) -> Position:
        """The position in one contract (zeros when none)."""
        return position_of(symbol, self.api.get_position(symbol))

    def account(self, time_ns: int) -> AccountSnapshot:
        """``get_account()`` now, with the positions."""
        return account_snapshot(self.api.get_account(), self.positions(), time_ns)

    def orders_alive(self) -> Sequence[OrderState]:
        """Working orders this executor tracks."""
        active = (oid for oid in self._tracked() if oid not in self._finished)
        return [s for s in (self._state(oid) for oid in active) if s is not None and s.alive]

    # --- events -------------------------------------------------------------------------------
    def _tracked(self) -> list[str]:
        return list(self._requests)

    def _state(self, order_id: str) -> OrderState | None:
        order = self.api.get_order(order_id)
        if not getattr(order, "order_id", ""):
            return None
        return order_state(order, self._requests.get(order_id))

    def _collect(self) -> list[ExecutionEvent]:
        """Fills and order changes since the last call: per order, its new fills (oldest first,
        each stamped with its trade time) and then its new state (stamped with the latest time
        seen: a tick's, a submit's or a fill's)."""
        events: list[ExecutionEvent] = []
        trades_by_order: dict[str, list[Any]] = {}
        for trade_id, trade in self.api.get_trade().items():
            if trade_id.startswith("_") or trade_id in self._seen_trades:
                continue
            trades_by_order.setdefault(str(trade.order_id), []).append(trade)
        known = self._tracked()
        late = set(trades_by_order) & self._finished  # a fill reported after its order finished
        for oid in [o for o in known if o not in self._finished or o in late]:
            state = self._state(oid)
            if state is None:
                continue
            for trade in sorted(trades_by_order.get(oid, []), key=lambda t: int(t.trade_date_time)):
                self._seen_trades.add(str(trade.trade_id))
                ns = int(trade.trade_date_time) or self._last_ns
                self._last_ns = max(self._last_ns, ns)
                fee = _num(getattr(trade, "commission", 0.0), 0.0)
                events.append(ExecutionEvent("trade_fill", ns, state, int(trade.volume), _num(trade.price), fee))
            before = self._last.get(oid)
            if before is None or (before.status, before.filled_qty) != (state.status, state.filled_qty):
                self._last[oid] = state
                events.append(ExecutionEvent("order_update", self._last_ns, state))
            if not state.alive:
                self._finished.add(oid)
        return events

    def on_tick(self, symbol: str, tick: np.void | None) -> Sequence[ExecutionEvent]:
        """Collect what the connection reported (the feed's loop already ran ``wait_update``)."""
        if tick is not None:
            self._last_ns = max(self._last_ns, int(tick["datetime_ns"]))
        return self._collect()

    def poll(self, timeout_s: float = 0.5) -> list[ExecutionEvent]:
        """Outside a feed: wait up to ``timeout_s`` for an update, then collect events."""
        try:
            self.api.wait_update(deadline=time.time() + timeout_s)
        except Exception as exc:
            secrets = self._shared.account.secrets
            raise translate_tqsdk_error(exc, "waiting for TqSdk updates", self._shared.config, secrets) from None
        return self._collect()


class TqSdkDirectExecution(_TqSdkAccountView):
    """The ExecutionProvider over a TqSdk account: one TqSdk order per OrderRequest.

    ``read_only`` (live monitor-only): every order of the account is observed and reported
    (whoever placed it), ``submit`` is refused and ``cancel`` is ignored, so nothing can leave
    through this executor whatever its caller does.
    """

    kind = DIRECT

    def __init__(self, shared: SharedTqApi, *, read_only: bool = False) -> None:
        super().__init__(shared)
        self.read_only = read_only

    def _tracked(self) -> list[str]:
        if self.read_only:
            for oid, order in self.api.get_order().items():
                if not oid.startswith("_") and oid not in self._requests:
                    self._requests[oid] = _request_of(order, "account")
        return list(self._requests)

    def submit(self, order: OrderRequest, time_ns: int) -> OrderState:
        """Queue ``order`` (sent on the next ``wait_update``); REJECTED when TqSdk refuses it
        locally (bad parameters, a local risk rule)."""
        if self.read_only:
            raise FailedPrecondition("this TqSdk executor is read-only (monitor-only): it sends no order")
        self._shared.claim(order.symbol, DIRECT)
        self._last_ns = max(self._last_ns, int(time_ns))
        if not math.isfinite(order.price):
            raise InvalidArgument(f"a limit price is required on {order.symbol} (SHFE has no market orders)")
        try:
            placed = self.api.insert_order(
                order.symbol,
                direction=_SIDES[order.side],
                offset=_OFFSETS[order.offset],
                volume=int(order.qty),
                limit_price=float(order.price),
                advanced=_ADVANCED[order.kind],
            )
        except Exception as exc:  # TqSdk raises bare Exception for invalid orders; TqRiskRuleError
            reason = translate_tqsdk_error(exc, f"sending {order}", self._shared.config, self._shared.account.secrets)
            log.warning("TqSdk refused an order: %s", reason)
            return OrderState(f"rejected-{len(self._requests) + len(self._last)}", order, codes.REJECTED,
                              reason=str(reason))  # fmt: skip
        oid = str(placed.order_id)
        self._requests[oid] = order
        state = OrderState(oid, order, codes.PENDING)
        self._last[oid] = state
        return state

    def cancel(self, order_id: str, time_ns: int) -> None:
        """Ask to cancel a working order (no-op once it is finished, and when read-only)."""
        if self.read_only:
            log.warning("monitor-only: not cancelling order %s (this executor sends nothing)", order_id)
            return
        if order_id not in self._requests:
            raise NotFound(f"no order {order_id!r} sent by this executor")
        self._last_ns = max(self._last_ns, int(time_ns))
        order = self.api.get_order(order_id)
        if order.status == "ALIVE":
            self.api.cancel_order(order_id)


class TqSdkTargetPosExecution(_TqSdkAccountView):
    """Target positions through TqSdk's ``TargetPosTask`` (one per symbol): it cancels and
    re-prices its own orders until the net position equals the target. ``price`` ACTIVE crosses
    the spread, PASSIVE joins the own side; ``offset_priority`` "今昨,开" closes today's lots,
    then yesterday's, then opens (SHFE close-today handling). ``max_order`` > 0 splits big
    changes into orders of 1..``max_order`` lots (TqSdk's split mode: random sizes in that range)."""

    kind = TARGET

    def __init__(
        self, shared: SharedTqApi, *, price: str = "ACTIVE", offset_priority: str = "今昨,开", max_order: int = 0
    ) -> None:
        if price not in ("ACTIVE", "PASSIVE"):
            raise InvalidArgument(f"price must be ACTIVE or PASSIVE, got {price!r}")
        super().__init__(shared)
        self._price = price
        self._offset_priority = offset_priority
        self._max_order = int(max_order)  # lots per order (0: whole): the task's split mode, 1..max_order
        self._tasks: dict[str, Any] = {}

    def set_target(self, symbol: str, lots: int) -> None:
        """Aim the net position in ``symbol`` at ``lots`` (long > 0, short < 0)."""
        self._shared.claim(symbol, TARGET)
        task = self._tasks.get(symbol)
        if task is None:
            from tqsdk import TargetPosTask

            try:
                split = {"min_volume": 1, "max_volume": self._max_order} if self._max_order > 0 else {}
                task = TargetPosTask(
                    self.api, symbol, price=self._price, offset_priority=self._offset_priority, **split
                )
            except Exception as exc:
                cfg, secrets = self._shared.config, self._shared.account.secrets
                raise translate_tqsdk_error(exc, f"starting a target task on {symbol}", cfg, secrets) from None
            self._tasks[symbol] = task
        task.set_target_volume(int(lots))

    def submit(self, order: OrderRequest, time_ns: int) -> OrderState:
        """Refused: this executor takes targets (``set_target``), not orders."""
        raise FailedPrecondition("the target-position executor takes targets (set_target), not orders")

    def cancel(self, order_id: str, time_ns: int) -> None:
        """Refused: the target task manages its own orders."""
        raise FailedPrecondition("the target-position executor manages its own orders; set a new target instead")

    def _tracked(self) -> list[str]:
        # The task's orders: every order of the account on a symbol this executor drives.
        symbols = set(self._tasks)
        for oid, order in self.api.get_order().items():
            if not oid.startswith("_") and oid not in self._requests and _symbol(order) in symbols:
                self._requests[oid] = _request_of(order, "target")
        return list(self._requests)

    def close(self) -> None:
        """Stop the target tasks and release the ``TqApi``."""
        for task in self._tasks.values():
            try:
                task.cancel()
            except Exception:  # closing must go on
                log.warning("cancelling a TargetPosTask raised", exc_info=True)
        self._tasks.clear()
        super().close()
