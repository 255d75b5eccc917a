"""Risk engine: every hard limit, the trading states and the kill switch on hand-computed cases."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from ghtrader.domain.calendar import TradingCalendar, beijing_datetime_to_ns
from ghtrader.domain.microsim import codes
from ghtrader.domain.risk.engine import (
    RiskDecision,
    RiskEngine,
    RiskLimits,
    RiskQuote,
    RiskStateError,
    StressConfig,
    TradingState,
    is_reducing,
    working_qty,
)
from ghtrader.domain.risk.measures import StressPosition
from ghtrader.domain.risk.sessions import CalendarSessions, FunctionSessions
from ghtrader.domain.trading.orders import AccountSnapshot, ExecutionEvent, OrderRequest, OrderState, Position

SYM = "SHFE.cu2602"
# Monday 2026-01-05 10:00:00 Beijing: inside the 09:00-10:15 day session.
T0 = beijing_datetime_to_ns(datetime(2026, 1, 5, 10, 0, 0))
SEC = 1_000_000_000

LIMITS = RiskLimits(
    max_net_position=4,
    max_order_size=2,
    max_orders_per_second=3,
    max_daily_loss=10_000.0,
    max_drawdown=15_000.0,
    per_symbol_loss_limit=5_000.0,
    max_consecutive_losses=2,
)


def make_engine(limits: RiskLimits = LIMITS) -> RiskEngine:
    return RiskEngine(limits, CalendarSessions(TradingCalendar([], weekday_only_fallback=True)))


def quote(t: int = T0, symbol: str = SYM) -> RiskQuote:
    return RiskQuote(
        symbol=symbol, time_ns=t, price_tick=10.0, lower_limit=70_000.0, upper_limit=80_000.0, last_price=75_000.0
    )


def order(
    side: int, qty: int, price: float = 75_000.0, *, kind: int = codes.LIMIT, offset: int = codes.OPEN
) -> OrderRequest:
    return OrderRequest(symbol=SYM, side=side, qty=qty, price=price, kind=kind, offset=offset)


def live(req: OrderRequest, filled: int = 0, oid: str = "w") -> OrderState:
    return OrderState(order_id=oid, request=req, status=codes.LIVE, filled_qty=filled)


def pos(long_today: int = 0, long_yd: int = 0, short_today: int = 0, short_yd: int = 0) -> Position:
    return Position(SYM, long_today=long_today, long_yd=long_yd, short_today=short_today, short_yd=short_yd)


def fill(side: int, qty: int, price: float, *, fee: float = 0.0, offset: int = codes.OPEN) -> ExecutionEvent:
    req = order(side, qty, price, offset=offset)
    st = OrderState(order_id="f", request=req, status=codes.FILLED, filled_qty=qty, avg_price=price)
    return ExecutionEvent(kind="trade_fill", time_ns=T0, order=st, fill_qty=qty, fill_price=price, fee=fee)


def snap(equity: float) -> AccountSnapshot:
    return AccountSnapshot(
        time_ns=T0, balance=equity, available=equity, margin=0.0, float_profit=0.0, position_profit=0.0, risk_ratio=0.0
    )


# --- limits values ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field,value",
    [
        ("max_net_position", 0),
        ("max_order_size", -1),
        ("max_orders_per_second", 1.5),
        ("max_consecutive_losses", True),
        ("max_daily_loss", 0.0),
        ("max_drawdown", float("nan")),
        ("per_symbol_loss_limit", float("inf")),
    ],
)
def test_limits_reject_invalid_values(field: str, value: object) -> None:
    values = LIMITS.to_dict() | {field: value}
    with pytest.raises(ValueError, match=field):
        RiskLimits.from_mapping(values)


def test_limits_from_mapping_rejects_unknown_and_missing_keys() -> None:
    assert RiskLimits.from_mapping(LIMITS.to_dict()) == LIMITS
    with pytest.raises(ValueError, match="unknown risk limit"):
        RiskLimits.from_mapping(LIMITS.to_dict() | {"max_leverage": 3})
    values = LIMITS.to_dict()
    del values["max_drawdown"]
    with pytest.raises(ValueError, match="missing risk limit"):
        RiskLimits.from_mapping(values)
    with pytest.raises(ValueError, match="exceeds max_net_position"):
        RiskLimits.from_mapping(LIMITS.to_dict() | {"max_order_size": 5})


def test_quote_rejects_invalid_values() -> None:
    with pytest.raises(ValueError, match="price_tick"):
        RiskQuote(SYM, T0, 0.0, 1.0, 2.0, 1.5)
    with pytest.raises(ValueError, match="lower_limit"):
        RiskQuote(SYM, T0, 1.0, 3.0, 2.0, 2.5)


# --- helpers ------------------------------------------------------------------------------
def test_working_qty_counts_unfilled_alive_orders_of_symbol_and_side() -> None:
    w = [
        live(order(codes.BUY, 2), filled=1),
        live(order(codes.BUY, 1, offset=codes.CLOSE)),
        OrderState("x", order(codes.BUY, 2), status=codes.CANCELLED),
        live(order(codes.SELL, 2)),
        live(OrderRequest("SHFE.cu2603", codes.BUY, 2, 75_000.0)),
    ]
    assert working_qty(w, SYM, codes.BUY) == 2
    assert working_qty(w, SYM, codes.BUY, codes.CLOSE) == 1
    assert working_qty(w, SYM, codes.SELL) == 2


@pytest.mark.parametrize(
    "net,side,qty,working,expected",
    [
        (3, codes.SELL, 3, 0, True),
        (3, codes.SELL, 2, 1, True),
        (3, codes.SELL, 2, 2, False),  # 3 - 4 flips
        (3, codes.BUY, 1, 0, False),
        (0, codes.SELL, 1, 0, False),
        (-2, codes.BUY, 1, 0, True),
        (-2, codes.BUY, 3, 0, False),
    ],
)
def test_is_reducing(net: int, side: int, qty: int, working: int, expected: bool) -> None:
    assert is_reducing(net, side, qty, working) is expected


# --- hard limits --------------------------------------------------------------------------
def test_allowed_order_has_empty_reason() -> None:
    assert make_engine().check(order(codes.BUY, 2), quote(), pos(), []) == RiskDecision(True, "")


def test_max_net_position_counts_working_orders_on_the_same_side() -> None:
    eng = make_engine()
    p = pos(long_today=2)
    # net 2 + working 1 + 1 = 4: at the limit, allowed
    assert eng.check(order(codes.BUY, 1), quote(), p, [live(order(codes.BUY, 1))]).allowed
    # net 2 + working 1 + 2 = 5 > 4
    d = eng.check(order(codes.BUY, 2), quote(t=T0 + 2 * SEC), p, [live(order(codes.BUY, 1))])
    assert not d.allowed
    assert d.reason.startswith("max_net_position: net 2 + working 1 + order 2 = 5")
    # working sells do not offset a buy: still 5
    w = [live(order(codes.BUY, 1)), live(order(codes.SELL, 2, offset=codes.CLOSETODAY))]
    assert not eng.check(order(codes.BUY, 2), quote(t=T0 + 4 * SEC), p, w).allowed
    # a sell from net 2 with 2 working sells: 2 - 2 - 2 = -2, within the limit
    assert eng.check(order(codes.SELL, 2), quote(t=T0 + 6 * SEC), p, [live(order(codes.SELL, 2))]).allowed
    # short side: -3 - 2 = -5
    d = eng.check(order(codes.SELL, 2), quote(t=T0 + 8 * SEC), pos(short_yd=3), [])
    assert not d.allowed and "= -5" in d.reason


def test_reducing_order_allowed_even_when_net_is_above_a_lowered_limit() -> None:
    eng = make_engine()
    # net 6 > 4 (e.g. a limit lowered mid-day): selling 2 reduces to 4 and is allowed, buying is not.
    p = pos(long_today=6)
    assert eng.check(order(codes.SELL, 2, offset=codes.CLOSETODAY), quote(), p, []).allowed
    assert not eng.check(order(codes.BUY, 1), quote(t=T0 + SEC), p, []).allowed


def test_max_order_size() -> None:
    d = make_engine().check(order(codes.BUY, 3), quote(), pos(), [])
    assert d == RiskDecision(False, "max_order_size: 3 > 2")


def test_rate_limit_counts_allowed_orders_in_a_sliding_second() -> None:
    eng = make_engine()
    for i in range(3):
        assert eng.check(order(codes.BUY, 1), quote(t=T0 + i * 100_000_000), pos(), []).allowed
    d = eng.check(order(codes.SELL, 1), quote(t=T0 + 999_999_999), pos(), [])
    assert not d.allowed and d.reason.startswith("max_orders_per_second: 3")
    # a refused order is not counted; one second after the first, one slot frees up
    assert eng.check(order(codes.SELL, 1), quote(t=T0 + SEC), pos(), []).allowed
    assert not eng.check(order(codes.SELL, 1), quote(t=T0 + SEC + 1), pos(), []).allowed
    assert eng.orders_in_window(T0 + SEC + 1) == 3


def test_refused_orders_do_not_use_up_the_rate_limit() -> None:
    eng = make_engine()
    for i in range(10):
        assert not eng.check(order(codes.BUY, 3), quote(t=T0 + i), pos(), []).allowed
    assert eng.orders_in_window(T0 + 10) == 0
    assert eng.check(order(codes.BUY, 1), quote(t=T0 + 10), pos(), []).allowed


def test_session_guard() -> None:
    eng = make_engine()
    lunch = beijing_datetime_to_ns(datetime(2026, 1, 5, 12, 0, 0))
    d = eng.check(order(codes.BUY, 1), quote(t=lunch), pos(), [])
    assert not d.allowed and d.reason.startswith("session:")
    bell = beijing_datetime_to_ns(datetime(2026, 1, 5, 15, 0, 0))  # the window is [13:30, 15:00)
    assert not eng.check(order(codes.BUY, 1), quote(t=bell), pos(), []).allowed
    saturday = beijing_datetime_to_ns(datetime(2026, 1, 10, 10, 0, 0))
    assert not eng.check(order(codes.BUY, 1), quote(t=saturday), pos(), []).allowed
    night = beijing_datetime_to_ns(datetime(2026, 1, 5, 21, 30, 0))
    assert eng.check(order(codes.BUY, 1), quote(t=night), pos(), []).allowed
    # copper's night ends at 01:00, gold's at 02:30
    late = beijing_datetime_to_ns(datetime(2026, 1, 6, 1, 30, 0))
    assert not eng.check(order(codes.BUY, 1), quote(t=late), pos(), []).allowed
    holiday = RiskEngine(LIMITS, CalendarSessions(TradingCalendar([date(2026, 1, 5)])))
    assert not holiday.check(order(codes.BUY, 1), quote(), pos(), []).allowed


def test_function_sessions_adapter() -> None:
    eng = RiskEngine(LIMITS, FunctionSessions(lambda s, t: t < T0))
    assert not eng.check(order(codes.BUY, 1), quote(), pos(), []).allowed
    assert eng.check(order(codes.BUY, 1), quote(t=T0 - 1), pos(), []).allowed


@pytest.mark.parametrize(
    "price,prefix",
    [
        (69_990.0, "price_limit"),
        (80_010.0, "price_limit"),
        (float("nan"), "price_limit"),
        (75_005.0, "price_tick"),
    ],
)
def test_price_limits_and_tick_grid(price: float, prefix: str) -> None:
    d = make_engine().check(order(codes.BUY, 1, price), quote(), pos(), [])
    assert not d.allowed and d.reason.startswith(prefix)


def test_prices_at_the_limits_and_on_the_grid_pass() -> None:
    eng = make_engine()
    assert eng.check(order(codes.BUY, 1, 70_000.0), quote(), pos(), []).allowed
    assert eng.check(order(codes.BUY, 1, 80_000.0), quote(t=T0 + SEC), pos(), []).allowed
    # float noise of a computed price (0.1 + 0.2 style) stays on the grid
    q = RiskQuote(SYM, T0 + 2 * SEC, 0.02, 500.0, 600.0, 550.0)
    assert eng.check(order(codes.BUY, 1, 550.0 + 0.02 * 3), q, pos(), []).allowed


def test_symbol_mismatch() -> None:
    d = make_engine().check(order(codes.BUY, 1), quote(symbol="SHFE.cu2603"), pos(), [])
    assert not d.allowed and d.reason.startswith("symbol_mismatch")


def test_close_needs_enough_of_the_right_leg() -> None:
    eng = make_engine()
    p = pos(long_today=1, long_yd=2)
    assert eng.check(order(codes.SELL, 2, offset=codes.CLOSE), quote(), p, []).allowed
    d = eng.check(order(codes.SELL, 2, offset=codes.CLOSETODAY), quote(t=T0 + SEC), p, [])
    assert d == RiskDecision(False, "insufficient_position: CLOSETODAY 2 > 1 held - 0 working")
    w = [live(order(codes.SELL, 1, offset=codes.CLOSE))]
    d = eng.check(order(codes.SELL, 2, offset=codes.CLOSE), quote(t=T0 + 2 * SEC), p, w)
    assert d.reason == "insufficient_position: CLOSE 2 > 2 held - 1 working"


# --- states -------------------------------------------------------------------------------
def test_reduce_only_allows_only_reducing_orders() -> None:
    eng = make_engine()
    eng.reduce_only()
    assert eng.state == TradingState.REDUCING
    p = pos(long_yd=2)
    d = eng.check(order(codes.BUY, 1), quote(), p, [])
    assert not d.allowed and d.reason.startswith("reduce_only: operator")
    assert not eng.check(order(codes.SELL, 1), quote(), pos(), []).allowed  # from flat nothing reduces
    # flipping 2 -> -1 is not reducing
    assert not eng.check(order(codes.SELL, 2), quote(), p, [live(order(codes.SELL, 1))]).allowed
    assert eng.check(order(codes.SELL, 2, offset=codes.CLOSE), quote(), p, []).allowed
    eng.resume()
    assert eng.state == TradingState.ACTIVE
    assert eng.check(order(codes.BUY, 1), quote(t=T0 + SEC), p, []).allowed


def test_halt_allows_only_flattening_fak_closes() -> None:
    eng = make_engine()
    eng.halt("operator test")
    assert eng.state == TradingState.HALTED
    p = pos(long_today=2)
    for o in (
        order(codes.BUY, 1),
        order(codes.SELL, 1, offset=codes.CLOSETODAY),  # LIMIT: could rest, so refused
        order(codes.SELL, 1, kind=codes.FAK),  # OPEN: refused
    ):
        d = eng.check(o, quote(), p, [])
        assert not d.allowed and "halted: operator test" in d.reason
    assert eng.check(order(codes.SELL, 2, 70_000.0, kind=codes.FAK, offset=codes.CLOSETODAY), quote(), p, []).allowed
    eng.reduce_only()  # a halt stays a halt
    assert eng.state == TradingState.HALTED
    eng.resume()
    assert eng.state == TradingState.ACTIVE


def test_loss_streak_pauses_to_reducing_and_a_new_day_resets_it() -> None:
    eng = make_engine()  # pause after 2 losing round trips; cu multiplier 5
    eng.on_fill(fill(codes.BUY, 1, 75_000.0))
    eng.on_fill(fill(codes.SELL, 1, 74_990.0))  # -50
    assert eng.loss_streak == 1 and eng.state == TradingState.ACTIVE
    eng.on_fill(fill(codes.SELL, 2, 75_000.0))
    eng.on_fill(fill(codes.BUY, 1, 75_000.0, fee=3.0))  # partial close: trip still open
    assert eng.loss_streak == 1
    eng.on_fill(fill(codes.BUY, 1, 74_990.0, fee=3.0))  # +50 - 6 fees = +44: a win resets
    assert eng.loss_streak == 0
    eng.on_fill(fill(codes.BUY, 1, 75_000.0, fee=1.0))
    eng.on_fill(fill(codes.SELL, 1, 75_000.0, fee=1.0))  # flat price, fees only: -2 loses
    eng.on_fill(fill(codes.BUY, 1, 75_000.0))
    eng.on_fill(fill(codes.SELL, 1, 74_980.0))  # -100
    assert eng.loss_streak == 2 and eng.state == TradingState.REDUCING
    d = eng.check(order(codes.BUY, 1), quote(), pos(), [])
    assert not d.allowed and d.reason.startswith("max_consecutive_losses: 2")
    assert eng.realized_pnl(SYM) == pytest.approx(-50 + 44 - 2 - 100)
    eng.new_trading_day(1_000_000.0)
    assert eng.state == TradingState.ACTIVE and eng.loss_streak == 0
    assert eng.realized_pnl(SYM) == 0.0 and eng.realized_pnl(SYM, today=False) == pytest.approx(-108)


def test_flip_through_zero_ends_one_trip_and_opens_the_next_at_the_fill_price() -> None:
    eng = make_engine()
    eng.on_fill(fill(codes.BUY, 2, 75_000.0))
    eng.on_fill(fill(codes.SELL, 3, 74_900.0))  # closes 2 at -100*2*5 = -1000, opens 1 short at 74 900
    assert eng.loss_streak == 1
    eng.on_fill(fill(codes.BUY, 1, 74_800.0))  # short closed +100*5 = +500
    assert eng.loss_streak == 0
    assert eng.realized_pnl(SYM) == pytest.approx(-500.0)


def test_per_symbol_loss_limit_makes_that_symbol_reduce_only() -> None:
    eng = make_engine()  # limit 5000 CNY; cu: 5 CNY per point per lot
    eng.on_fill(fill(codes.BUY, 2, 75_000.0))
    eng.on_fill(fill(codes.SELL, 1, 74_500.0))  # -2500
    assert SYM not in eng.blocked_symbols
    eng.on_fill(fill(codes.SELL, 1, 74_500.0))  # -5000 in total: at the limit
    assert eng.blocked_symbols[SYM].startswith("per_symbol_loss_limit: SHFE.cu2602 realized -5000.00")
    assert eng.state == TradingState.ACTIVE  # the engine as a whole is not paused
    d = eng.check(order(codes.BUY, 1), quote(), pos(), [])
    assert not d.allowed and d.reason.startswith("per_symbol_loss_limit")
    other = OrderRequest("SHFE.cu2603", codes.BUY, 1, 75_000.0)
    assert eng.check(other, quote(symbol="SHFE.cu2603"), Position("SHFE.cu2603"), []).allowed
    assert eng.check(order(codes.SELL, 1, offset=codes.CLOSE), quote(), pos(long_yd=1), []).allowed
    eng.new_trading_day(1_000_000.0)
    assert eng.blocked_symbols == {}


def test_seed_position_prices_a_carried_position() -> None:
    eng = make_engine()
    eng.seed_position(SYM, -2, 75_000.0)
    eng.on_fill(fill(codes.BUY, 2, 75_100.0, offset=codes.CLOSE))
    assert eng.realized_pnl(SYM) == pytest.approx(-1000.0)
    assert eng.loss_streak == 1


def test_multiplier_override() -> None:
    eng = RiskEngine(LIMITS, FunctionSessions(lambda s, t: True), multipliers={SYM: 1.0})
    eng.on_fill(fill(codes.BUY, 1, 75_000.0))
    eng.on_fill(fill(codes.SELL, 1, 75_010.0))
    assert eng.realized_pnl(SYM) == pytest.approx(10.0)


# --- kill switch --------------------------------------------------------------------------
def test_daily_loss_fires_the_kill_switch_once_and_latches() -> None:
    eng = make_engine()
    eng.new_trading_day(1_000_000.0)
    assert eng.on_account(snap(990_001.0)) is None
    reason = eng.on_account(snap(990_000.0))  # 10 000 below the day's start
    assert reason is not None and reason.startswith("max_daily_loss: equity 990000.00 is 10000.00 below")
    assert eng.kill_latched and eng.kill_reason == reason and eng.state == TradingState.HALTED
    assert eng.on_account(snap(980_000.0)) is None  # only the first time
    with pytest.raises(RiskStateError, match="kill switch latched"):
        eng.resume()
    eng.new_trading_day(980_000.0)  # a new day does not unlatch
    assert eng.kill_latched and eng.state == TradingState.HALTED
    assert not eng.check(order(codes.BUY, 1), quote(), pos(), []).allowed
    eng.reset_kill()
    assert not eng.kill_latched and eng.state == TradingState.HALTED  # still halted until a person resumes
    eng.resume()
    assert eng.state == TradingState.ACTIVE


def test_drawdown_from_the_peak_across_days() -> None:
    eng = make_engine()  # drawdown 15 000, daily loss 10 000
    eng.new_trading_day(1_000_000.0)
    eng.on_account(snap(1_009_000.0))  # new peak
    eng.new_trading_day(1_001_000.0)
    assert eng.on_account(snap(995_000.0)) is None  # day -6000, peak -14 000
    reason = eng.on_account(snap(994_000.0))  # peak -15 000
    assert reason is not None and reason.startswith("max_drawdown: equity 994000.00 is 15000.00 below the peak")


def test_first_snapshot_is_the_day_base_without_new_trading_day() -> None:
    eng = make_engine()
    assert eng.on_account(snap(500_000.0)) is None
    assert eng.on_account(snap(490_000.0)) is not None


def test_reset_kill_with_rebase_stops_the_switch_refiring() -> None:
    eng = make_engine()
    eng.new_trading_day(1_000_000.0)
    assert eng.on_account(snap(985_000.0)) is not None
    eng.reset_kill()
    assert eng.on_account(snap(985_000.0)) is not None  # the loss still stands
    eng.reset_kill(rebase_equity=985_000.0)
    eng.resume()
    assert eng.on_account(snap(985_000.0)) is None and eng.state == TradingState.ACTIVE


def test_manual_kill() -> None:
    eng = make_engine()
    eng.kill("operator pulled the plug")
    assert eng.kill_latched and eng.state_reason == "kill switch: operator pulled the plug"


# --- flattening ---------------------------------------------------------------------------
def test_flatten_orders_close_today_then_yesterday_in_size_chunks_at_the_far_limit() -> None:
    eng = make_engine()  # max order size 2
    p = pos(long_today=3, long_yd=1)
    out = eng.flatten_orders(p, quote())
    assert [(o.side, o.qty, o.offset, o.kind, o.price) for o in out] == [
        (codes.SELL, 2, codes.CLOSETODAY, codes.FAK, 70_000.0),
        (codes.SELL, 1, codes.CLOSETODAY, codes.FAK, 70_000.0),
        (codes.SELL, 1, codes.CLOSE, codes.FAK, 70_000.0),
    ]
    short = eng.flatten_orders(pos(short_yd=2), quote())
    assert [(o.side, o.qty, o.offset, o.price) for o in short] == [(codes.BUY, 2, codes.CLOSE, 80_000.0)]
    assert eng.flatten_orders(pos(), quote()) == []


def test_flatten_of_a_lock_closes_only_the_net() -> None:
    eng = make_engine()
    out = eng.flatten_orders(pos(long_today=1, long_yd=2, short_today=1), quote())
    assert [(o.side, o.qty, o.offset) for o in out] == [(codes.SELL, 1, codes.CLOSETODAY), (codes.SELL, 1, codes.CLOSE)]
    assert eng.flatten_orders(pos(long_today=1, short_yd=1), quote()) == []


def test_flatten_orders_skip_what_working_closes_already_cover() -> None:
    eng = make_engine()
    w = [live(order(codes.SELL, 2, offset=codes.CLOSETODAY))]
    out = eng.flatten_orders(pos(long_today=2, long_yd=1), quote(), working=w)
    assert [(o.qty, o.offset) for o in out] == [(1, codes.CLOSE)]


def test_flatten_orders_pass_check_after_the_kill_switch() -> None:
    eng = make_engine()
    eng.new_trading_day(1_000_000.0)
    assert eng.on_account(snap(900_000.0)) is not None
    p = pos(long_today=3, long_yd=1)
    sent: list[OrderState] = []
    for i, o in enumerate(eng.flatten_orders(p, quote())):
        assert eng.check(o, quote(t=T0 + i), p, sent).allowed
        sent.append(live(o, oid=str(i)))
    # with every flatten order working, nothing more passes (it would flip)
    extra = order(codes.SELL, 1, 70_000.0, kind=codes.FAK, offset=codes.CLOSE)
    assert not eng.check(extra, quote(t=T0 + 5 * SEC), p, sent).allowed


# --- pre-trade stress -----------------------------------------------------------------------
def test_pre_trade_stress_refuses_an_order_whose_book_fails_the_scenarios() -> None:
    # cu: 3-sigma move of 800 points at 5 CNY/point = 12 000 per lot; freeze 1 tick (50 CNY) per further lot
    stress = StressConfig(loss_limit=40_000.0, n_sigma=3.0, freeze_ticks=1.0)
    eng = RiskEngine(LIMITS, FunctionSessions(lambda s, t: True), stress=stress)
    book = [StressPosition(SYM, net=0, sigma=800.0, multiplier=5.0, price_tick=10.0)]
    p = pos(long_today=2)
    # net 2 + 1 = 3 lots: 36 000 + exit 50 * 6 = 36 300 <= 40 000
    assert eng.check(order(codes.BUY, 1), quote(), p, [], stress_book=book).allowed
    # with a working buy: 4 lots: 48 000 + 500 > 40 000
    d = eng.check(order(codes.BUY, 1), quote(t=T0 + SEC), p, [live(order(codes.BUY, 1))], stress_book=book)
    assert d == RiskDecision(False, "stress: liquidity_freeze loss 48500.00 > 40000")
    # without a book the stress check is skipped; a reducing order never fails it
    assert eng.check(order(codes.BUY, 1), quote(t=T0 + 2 * SEC), p, [live(order(codes.BUY, 1))]).allowed
    big = pos(long_today=4)
    assert eng.check(
        order(codes.SELL, 1, offset=codes.CLOSETODAY), quote(t=T0 + 3 * SEC), big, [], stress_book=book
    ).allowed
    with pytest.raises(ValueError, match="loss_limit"):
        StressConfig(loss_limit=0.0)


def test_status_summarizes_the_engine() -> None:
    eng = make_engine()
    eng.new_trading_day(1_000_000.0)
    eng.on_account(snap(985_000.0))
    st = eng.status()
    assert st["state"] == "HALTED" and st["kill_latched"] is True
    assert st["day_start_equity"] == 1_000_000.0 and st["last_equity"] == 985_000.0
    assert st["limits"] == LIMITS.to_dict()
    assert json.loads(json.dumps(st))["kill_reason"] == st["kill_reason"]


# --- unknown price limits -------------------------------------------------------------------
def nan_quote(last: float = 75_003.0, t: int = T0) -> RiskQuote:
    return RiskQuote(SYM, t, 10.0, float("nan"), float("nan"), last)


def test_unknown_limits_use_a_band_around_the_last_price() -> None:
    eng = make_engine()  # band 2%: 75 003 * 0.98 = 73 502.94 -> 73 510; * 1.02 = 76 503.06 -> 76 500
    assert eng.effective_limits(nan_quote()) == (73_510.0, 76_500.0)
    assert eng.check(order(codes.BUY, 1, 76_500.0), nan_quote(), pos(), []).allowed
    d = eng.check(order(codes.BUY, 1, 76_510.0), nan_quote(t=T0 + SEC), pos(), [])
    assert d == RiskDecision(False, "price_limit: 76510.0 outside [73510.0, 76500.0]")
    # one known limit is kept as given
    q = RiskQuote(SYM, T0, 10.0, 74_000.0, float("nan"), 75_000.0)
    assert eng.effective_limits(q) == (74_000.0, 76_500.0)
    wide = RiskEngine(LIMITS, FunctionSessions(lambda s, t: True), unknown_limit_band=0.1)
    assert wide.effective_limits(nan_quote(75_000.0)) == (67_500.0, 82_500.0)
    with pytest.raises(ValueError, match="unknown_limit_band"):
        RiskEngine(LIMITS, FunctionSessions(lambda s, t: True), unknown_limit_band=0.0)


def test_unknown_limits_and_no_last_price_refuse_and_cannot_flatten() -> None:
    eng = make_engine()
    d = eng.check(order(codes.BUY, 1), nan_quote(float("nan")), pos(), [])
    assert not d.allowed and d.reason.startswith("price_limit: no price limits")
    assert eng.flatten_orders(pos(long_today=1), nan_quote(float("nan"))) == []
    out = eng.flatten_orders(pos(short_today=1), nan_quote())
    assert [(o.side, o.price, o.kind) for o in out] == [(codes.BUY, 76_500.0, codes.FAK)]
    with pytest.raises(ValueError, match="finite or NaN"):
        RiskQuote(SYM, T0, 10.0, float("-inf"), 80_000.0, 75_000.0)
