"""Property test: random signals, prices, fills, rejects and account moves driven through the engine.

A tiny in-test venue keeps SHFE legs (today's / yesterday's, long / short), working orders and
cash; a tiny runner turns target signals into orders, asks the engine before every order, and on
the kill switch cancels everything and flattens with the engine's FAK closes. Invariants:

* every allowed order respects the order size, the price limits and tick grid and the session;
* the venue never holds more than ``max_net_position`` even if every working order on one side
  filled (``|net + working buys|`` and ``|net - working sells|``);
* no more than ``max_orders_per_second`` allowed orders in any one-second window;
* in REDUCING (and for a symbol past its loss limit) only reducing orders pass; once the kill switch fires only reducing FAK/FOK closes
  pass, and the position ends flat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from ghtrader.domain.calendar import TradingCalendar, beijing_datetime_to_ns
from ghtrader.domain.microsim import codes
from ghtrader.domain.risk.engine import (
    RiskEngine,
    RiskLimits,
    RiskQuote,
    RiskStateError,
    TradingState,
    is_reducing,
    working_qty,
)
from ghtrader.domain.risk.sessions import CalendarSessions
from ghtrader.domain.trading.orders import AccountSnapshot, ExecutionEvent, OrderRequest, OrderState, Position

SYM = "SHFE.cu2602"
MULT = 5.0
TICK = 10.0
SEC = 1_000_000_000
START = beijing_datetime_to_ns(datetime(2026, 1, 5, 9, 1, 0))  # Monday, day session until 10:15
LUNCH = beijing_datetime_to_ns(datetime(2026, 1, 5, 12, 0, 0))
SESSIONS = CalendarSessions(TradingCalendar([], weekday_only_fallback=True))
EQUITY0 = 1_000_000.0

SIGNAL, MOVE, FILL, REJECT, CANCEL, ACCOUNT, SHOCK, WAIT, OPERATOR, PROBE = range(10)


@dataclass
class Venue:
    """Legs, working orders and cash of one symbol; fills happen only when the test says so."""

    last: float = 75_000.0
    lower: float = 70_000.0
    upper: float = 80_000.0
    long_today: int = 0
    long_yd: int = 2  # a carried position, so closes with CLOSE exist from the start
    short_today: int = 0
    short_yd: int = 0
    cash: float = 0.0
    shock: float = 0.0
    working: list[OrderState] = field(default_factory=list)
    next_id: int = 0

    def position(self) -> Position:
        return Position(SYM, self.long_today, self.long_yd, self.short_today, self.short_yd)

    @property
    def net(self) -> int:
        return self.position().net

    def equity(self) -> float:
        # the carried 2 lots were bought at the starting price
        return EQUITY0 + self.cash + self.net * self.last * MULT - 2 * 75_000.0 * MULT + self.shock

    def submit(self, req: OrderRequest) -> OrderState:
        st_ = OrderState(order_id=str(self.next_id), request=req, status=codes.LIVE)
        self.next_id += 1
        self.working.append(st_)
        return st_

    def fill(self, idx: int, qty: int, price: float, time_ns: int) -> ExecutionEvent | None:
        o = self.working[idx]
        r = o.request
        qty = min(qty, r.qty - o.filled_qty)
        leg = _leg_name(r.side, r.offset)
        if r.offset != codes.OPEN and getattr(self, leg) < qty:
            self.working[idx] = OrderState(o.order_id, r, codes.REJECTED, o.filled_qty, reason="no position")
            self.working.pop(idx)
            return None
        setattr(self, leg, getattr(self, leg) + (qty if r.offset == codes.OPEN else -qty))
        fee = 1.0 * qty
        self.cash -= r.side * qty * price * MULT + fee
        filled = o.filled_qty + qty
        done = filled == r.qty
        new = OrderState(o.order_id, r, codes.FILLED if done else codes.LIVE, filled, price)
        if done:
            self.working.pop(idx)
        else:
            self.working[idx] = new
        return ExecutionEvent("trade_fill", time_ns, new, fill_qty=qty, fill_price=price, fee=fee)


def _leg_name(side: int, offset: int) -> str:
    if offset == codes.OPEN:
        return "long_today" if side == codes.BUY else "short_today"
    suffix = "today" if offset == codes.CLOSETODAY else "yd"
    return f"short_{suffix}" if side == codes.BUY else f"long_{suffix}"


class Harness:
    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self.engine = RiskEngine(limits, SESSIONS)
        self.engine.seed_position(SYM, 2, 75_000.0)
        self.engine.new_trading_day(EQUITY0)
        self.venue = Venue()
        self.t = START
        self.allowed_times: list[int] = []
        self.killed = False
        self.ioc_fill = 1  # lots a FAK / FOK finds on the book in the current step

    def quote(self, t: int | None = None) -> RiskQuote:
        v = self.venue
        return RiskQuote(SYM, self.t if t is None else t, TICK, v.lower, v.upper, v.last)

    def check_invariants(self) -> None:
        v = self.venue
        wb = working_qty(v.working, SYM, codes.BUY)
        ws = working_qty(v.working, SYM, codes.SELL)
        assert abs(v.net + wb) <= self.limits.max_net_position, (v.net, wb)
        assert abs(v.net - ws) <= self.limits.max_net_position, (v.net, ws)
        assert min(v.long_today, v.long_yd, v.short_today, v.short_yd) >= 0

    def send(self, req: OrderRequest, t: int | None = None) -> bool:
        """Ask the engine; on an allowed order assert every limit and submit it."""
        v = self.venue
        eng = self.engine
        state = eng.state
        blocked = SYM in eng.blocked_symbols
        pos = v.position()
        same = working_qty(v.working, SYM, req.side)
        reducing = is_reducing(pos.net, req.side, req.qty, same)
        q = self.quote(t)
        d = eng.check(req, q, pos, list(v.working))
        assert d.allowed == (d.reason == "")
        if not d.allowed:
            return False
        assert req.qty <= self.limits.max_order_size
        assert v.lower <= req.price <= v.upper
        assert abs(req.price / TICK - round(req.price / TICK)) < 1e-9
        assert SESSIONS.is_open(SYM, q.time_ns)
        if state == TradingState.REDUCING or blocked:
            assert reducing
        if state == TradingState.HALTED or self.killed:
            assert reducing and req.offset != codes.OPEN and req.kind in (codes.FAK, codes.FOK)
        self.allowed_times.append(q.time_ns)
        in_window = sum(1 for x in self.allowed_times if 0 <= q.time_ns - x < SEC)
        assert in_window <= self.limits.max_orders_per_second
        st_ = v.submit(req)
        if req.kind != codes.LIMIT:
            self.execute_ioc(st_, self.ioc_fill)
        self.check_invariants()
        return True

    def execute_ioc(self, st_: OrderState, fill_qty: int) -> None:
        """FAK fills up to ``fill_qty`` at the last price (capped by the limit), the rest is cancelled; FOK all or nothing."""
        v = self.venue
        r = st_.request
        idx = next(i for i, o in enumerate(v.working) if o.order_id == st_.order_id)
        marketable = (r.side == codes.BUY and r.price >= v.last) or (r.side == codes.SELL and r.price <= v.last)
        if r.kind == codes.FOK and fill_qty < r.qty:
            fill_qty = 0
        if marketable and fill_qty > 0:
            ev = v.fill(idx, fill_qty, v.last, self.t)
            if ev is not None:
                self.engine.on_fill(ev)
        v.working = [o for o in v.working if o.order_id != st_.order_id]

    def account(self) -> None:
        v = self.venue
        eq = v.equity()
        snap = AccountSnapshot(self.t, eq, eq, 0.0, 0.0, 0.0, 0.0, (v.position(),))
        reason = self.engine.on_account(snap)
        if reason is not None:
            assert not self.killed
            assert self.engine.kill_latched and self.engine.state == TradingState.HALTED
            self.killed = True
            self.venue.working.clear()  # cancel all
        if self.killed:
            self.flatten()

    def flatten(self) -> None:
        v = self.venue
        for req in self.engine.flatten_orders(v.position(), self.quote(), working=v.working):
            self.send(req)
        # FAK leftovers are cancelled at once: nothing of the flatten stays working
        assert all(o.request.client_id != "risk-flatten" for o in v.working)

    def signal(self, target: int, size: int, price_ticks: int, style: int) -> None:
        """Orders toward ``target`` net lots; ``style`` picks offset, kind and odd prices."""
        v = self.venue
        delta = target - v.net - working_qty(v.working, SYM, codes.BUY) + working_qty(v.working, SYM, codes.SELL)
        if delta == 0:
            return
        side = codes.BUY if delta > 0 else codes.SELL
        qty = min(abs(delta), size)
        offset = (codes.OPEN, codes.CLOSE, codes.CLOSETODAY)[style % 3]
        kind = (codes.LIMIT, codes.LIMIT, codes.FAK, codes.FOK)[(style // 3) % 4]
        price = v.last + side * price_ticks * TICK
        if style % 7 == 6:
            price += TICK / 2  # off the grid
        if style % 11 == 10:
            price = v.upper + TICK if side == codes.BUY else v.lower - TICK  # beyond the limit
        elif style % 11 == 9:
            price = v.upper if side == codes.BUY else v.lower  # at the far limit: marketable, allowed
        price = min(max(price, v.lower - TICK), v.upper + TICK)  # sometimes beyond a limit
        self.send(OrderRequest(SYM, side, qty, price, kind, offset, "strategy"))

    def step(self, op: int, a: int, b: int, c: int) -> None:
        v = self.venue
        self.t += (a % 5) * 97_000_000  # 0 .. 0.39 s between events
        self.ioc_fill = c % 4  # 0 (nothing on the book) .. 3 lots
        if op == SIGNAL:
            self.signal(target=b % 13 - 6, size=1 + c % 4, price_ticks=a % 4 - 1, style=c)
        elif op == MOVE:
            v.last = min(max(v.last + (b % 61 - 30) * TICK, v.lower), v.upper)
        elif op == FILL and v.working:
            idx = b % len(v.working)
            ev = v.fill(idx, 1 + c % 3, v.working[idx].request.price, self.t)
            if ev is not None:
                self.engine.on_fill(ev)
        elif op == REJECT and v.working:
            v.working.pop(b % len(v.working))
        elif op == CANCEL and v.working:
            v.working.pop(b % len(v.working))
        elif op == ACCOUNT:
            pass
        elif op == SHOCK:
            v.shock -= (b % 8) * 2_500.0
        elif op == WAIT:
            self.t += (b % 16) * 100_000_000
        elif op == OPERATOR:
            choice = b % 4
            if choice == 0:
                self.engine.reduce_only()
            elif choice == 1:
                try:
                    self.engine.resume()
                except RiskStateError:
                    assert self.engine.kill_latched
            elif choice == 2:
                self.engine.halt("test")
        elif op == PROBE:
            probe = OrderRequest(SYM, codes.BUY if b % 2 else codes.SELL, 1, v.last, codes.FAK, codes.CLOSE)
            assert not self.send(probe, t=LUNCH + b * SEC)
        self.check_invariants()
        self.account()  # the runner sees an account snapshot after every event

    def finish(self) -> None:
        """After a kill the runner keeps flattening on each tick until flat."""
        if not self.killed:
            return
        self.ioc_fill = self.limits.max_net_position  # the book refills
        for _ in range(2 * self.limits.max_net_position + 2):
            if self.venue.net == 0:
                break
            self.t += SEC
            self.flatten()
        assert self.venue.net == 0
        assert self.engine.kill_latched and self.engine.state == TradingState.HALTED
        # nothing but cancels now: no order of any kind passes from flat
        for side in (codes.BUY, codes.SELL):
            self.t += SEC
            req = OrderRequest(SYM, side, 1, self.venue.last, codes.FAK, codes.CLOSE)
            assert not self.send(req)


limits_st = st.builds(
    lambda n, s, r, k, p: RiskLimits(
        max_net_position=n,
        max_order_size=min(s, n),
        max_orders_per_second=r,
        max_daily_loss=20_000.0,
        max_drawdown=30_000.0,
        per_symbol_loss_limit=p,
        max_consecutive_losses=k,
    ),
    st.integers(2, 5),
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 4),
    st.sampled_from([1_000.0, 8_000.0]),
)
ops_st = st.lists(
    st.tuples(st.integers(0, 9), st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=10_000, deadline=None)
@given(limits=limits_st, ops=ops_st)
def test_random_sequences_never_break_a_limit_and_a_kill_ends_flat(
    limits: RiskLimits, ops: list[tuple[int, int, int, int]]
) -> None:
    h = Harness(limits)
    h.check_invariants()
    for op in ops:
        h.step(*op)
    h.finish()
