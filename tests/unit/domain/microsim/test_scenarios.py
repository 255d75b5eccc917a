"""Hand-computed micro-simulator scenarios (issue 12, "Done when").

cu: tick 10, multiplier 5. Every expected figure below is worked out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.microsim import FeeRate, FeeTable, Latency, SimConfig, make_commands, simulate
from ghtrader.domain.microsim.codes import (
    BUY,
    CANCEL,
    CANCELLED,
    CLOSE,
    CLOSETODAY,
    FAK,
    FILL_AGGRESSIVE,
    FILL_CROSS,
    FILL_QUEUE,
    FILLED,
    LIMIT,
    LIVE,
    OPEN,
    REJECTED,
    SELL,
)
from tests.unit.domain.microsim._book import MS, book

NO_FEES = FeeTable("cu", FeeRate(), FeeRate(), FeeRate())
P = 70000.0
ASKS = [(70010.0, 5)]


def _cfg(**kw: object) -> SimConfig:
    kw.setdefault("fees", NO_FEES)
    return SimConfig(tick=10.0, multiplier=5.0, **kw)  # type: ignore[arg-type]


def _queue_book() -> np.ndarray:
    # t=0: bid 70000 x5. A bid joining at t=1ms has 5 lots ahead.
    # 500: 3 traded at 70000, 2 shown   -> risk-averse ahead = min(5 - 3, 2) = 2
    # 1000: 2 traded at 70000, 4 shown  -> ahead = min(2 - 2, 4) = 0 (no lot traded past us)
    # 1500: 1 traded at 70000, 3 shown  -> ahead = -1: one lot trades past the front: fill 1
    return book(
        [
            {"t_ms": 0, "bids": [(P, 5)], "asks": ASKS},
            {"t_ms": 500, "bids": [(P, 2)], "asks": ASKS, "trades": [(P, 3)]},
            {"t_ms": 1000, "bids": [(P, 4)], "asks": ASKS, "trades": [(P, 2)]},
            {"t_ms": 1500, "bids": [(P, 3)], "asks": ASKS, "trades": [(P, 1)]},
        ]
    )


def test_resting_bid_fills_only_after_the_queue_ahead_trades() -> None:
    cmds = make_commands([(1 * MS, LIMIT, BUY, P, 1, 7, OPEN)])
    r = simulate(_queue_book(), _cfg(), cmds)
    assert r.fills.size == 1
    f = r.fills[0]
    assert (f["datetime_ns"], f["order_id"], f["price"], f["qty"]) == (1500 * MS, 7, P, 1.0)
    assert f["passive"] and f["fill_kind"] == FILL_QUEUE
    assert r.orders["status"][0] == FILLED and r.orders["done_ns"][0] == 1500 * MS
    assert r.equity["position"].tolist() == [0.0, 0.0, 0.0, 1.0]
    # bought at 70000, marked at mid 70005: +5 * 5 = 25
    assert r.summary["pnl_gross"] == pytest.approx(25.0)


def test_queue_fill_moves_later_when_order_entry_latency_is_longer() -> None:
    # 10 ms entry latency: arrives at 11 ms, before the 500 ms snapshot -> fills at 1500 (above).
    # 600 ms: arrives after the 500 ms snapshot and joins behind its 2 shown lots:
    # 1000: ahead = min(2 - 2, 4) = 0; 1500: ahead = -1 -> fill at 1500 as well. With 1100 ms it
    # joins behind the 4 shown at 1000: 1500 leaves min(4 - 1, 3) = 3 ahead -> no fill at all.
    cmds = make_commands([(1 * MS, LIMIT, BUY, P, 1, 1, OPEN)])
    fast = simulate(_queue_book(), _cfg(entry_latency=Latency(10 * MS)), cmds)
    slow = simulate(_queue_book(), _cfg(entry_latency=Latency(1100 * MS)), cmds)
    assert fast.fills["datetime_ns"].tolist() == [1500 * MS]
    assert slow.fills.size == 0 and slow.orders["status"][0] == LIVE
    assert slow.orders["arrive_ns"][0] == 1101 * MS


def test_latency_moves_a_fill_to_a_later_snapshot() -> None:
    # bid 70000 x5 at 0; 500: 3 traded (shown 5, refilled behind); 1000: 4 traded; 1500: 2 traded.
    # 0 latency: ahead 5 -> min(5-3,5)=2 -> 2-4=-2: fill 1 lot at 1000.
    # 700 ms latency: arrives at 701 behind the 5 shown at 500 -> 5-4=1 at 1000 -> 1-2=-1 at 1500.
    b = book(
        [
            {"t_ms": 0, "bids": [(P, 5)], "asks": ASKS},
            {"t_ms": 500, "bids": [(P, 5)], "asks": ASKS, "trades": [(P, 3)]},
            {"t_ms": 1000, "bids": [(P, 5)], "asks": ASKS, "trades": [(P, 4)]},
            {"t_ms": 1500, "bids": [(P, 5)], "asks": ASKS, "trades": [(P, 2)]},
        ]
    )
    cmds = make_commands([(1 * MS, LIMIT, BUY, P, 1, 1, OPEN)])
    now = simulate(b, _cfg(), cmds)
    late = simulate(b, _cfg(entry_latency=Latency(700 * MS)), cmds)
    assert now.fills["datetime_ns"].tolist() == [1000 * MS]
    assert late.fills["datetime_ns"].tolist() == [1500 * MS]
    assert late.fills["fill_kind"].tolist() == [FILL_QUEUE]


def test_cancel_in_flight_while_the_fill_arrives() -> None:
    # Order at 1 ms, cancel sent at 1400 ms. The 1500 ms snapshot fills it (see _queue_book).
    # Cancel latency 200 ms: the cancel lands at 1600, after the fill -> rejected, order FILLED.
    # Cancel latency 50 ms: it lands at 1450, before the fill -> CANCELLED, no fill.
    cmds = make_commands([(1 * MS, LIMIT, BUY, P, 1, 3, OPEN), (1400 * MS, CANCEL, 0, 0.0, 0, 3, OPEN)])
    slow = simulate(_queue_book(), _cfg(cancel_latency=Latency(200 * MS)), cmds)
    assert slow.fills["datetime_ns"].tolist() == [1500 * MS]
    o = slow.orders[0]
    assert o["status"] == FILLED and o["cancel_send_ns"] == 1400 * MS
    assert slow.summary["cancel_rejects"] == 1.0
    fast = simulate(_queue_book(), _cfg(cancel_latency=Latency(50 * MS)), cmds)
    assert fast.fills.size == 0
    assert fast.orders["status"][0] == CANCELLED and fast.orders["done_ns"][0] == 1450 * MS


def test_partial_fill_then_cross_fill_update_position_and_pnl() -> None:
    # Buy 3 at 70000 joining behind 1 lot. 500: 3 traded at 70000 -> ahead 1 - 3 = -2: 2 lots fill.
    # 1000: ask drops to 70000 (crosses the bid): the last lot fills at 70000 (cross).
    # 1500: mid (70010 + 70020) / 2 = 70015: 3 lots * 15 * 5 = 225 gross.
    b = book(
        [
            {"t_ms": 0, "bids": [(P, 1)], "asks": ASKS},
            {"t_ms": 500, "bids": [(P, 2)], "asks": ASKS, "trades": [(P, 3)]},
            {"t_ms": 1000, "bids": [(69990.0, 4)], "asks": [(P, 3)]},
            {"t_ms": 1500, "bids": [(70010.0, 4)], "asks": [(70020.0, 3)]},
        ]
    )
    r = simulate(b, _cfg(), make_commands([(1 * MS, LIMIT, BUY, P, 3, 1, OPEN)]))
    assert r.fills["qty"].tolist() == [2.0, 1.0]
    assert r.fills["fill_kind"].tolist() == [FILL_QUEUE, FILL_CROSS]
    assert r.fills["datetime_ns"].tolist() == [500 * MS, 1000 * MS]
    assert r.equity["position"].tolist() == [0.0, 2.0, 3.0, 3.0]
    # at 500 the mid is 70005: 2 lots * 5 * 5 = 50
    assert r.equity["pnl_gross"][1] == pytest.approx(50.0)
    assert r.summary["pnl_gross"] == pytest.approx(225.0)
    assert r.orders["filled"][0] == 3.0 and r.orders["status"][0] == FILLED


def _flat_book() -> np.ndarray:
    rows = [{"t_ms": 500 * i, "bids": [(P, 10)], "asks": [(70010.0, 10)]} for i in range(3)]
    return book(rows)


def test_close_today_and_close_yesterday_fees() -> None:
    # cu defaults: 0.5 bp open / close, 1 bp close today. Buy 2 OPEN at 70010 (aggressive):
    # 2 * 70010 * 5 * 0.5e-4 = 35.005. Sell 2 CLOSETODAY at 70000: 2 * 70000 * 5 * 1e-4 = 70.
    # Sell 1 CLOSE (the yesterday lot) at 70000: 70000 * 5 * 0.5e-4 = 17.5.
    # A second CLOSE of 1 has no yesterday lot left: rejected.
    cmds = make_commands(
        [
            (100 * MS, FAK, BUY, 70010.0, 2, 1, OPEN),
            (200 * MS, FAK, SELL, P, 2, 2, CLOSETODAY),
            (300 * MS, FAK, SELL, P, 1, 3, CLOSE),
            (400 * MS, FAK, SELL, P, 1, 4, CLOSE),
        ]
    )
    r = simulate(_flat_book(), SimConfig.for_variety("cu", long_yesterday=1), cmds)
    assert r.fills["fee"].tolist() == pytest.approx([35.005, 70.0, 17.5])
    assert r.fills["offset"].tolist() == [OPEN, CLOSETODAY, CLOSE]
    assert r.orders["status"].tolist() == [FILLED, FILLED, FILLED, REJECTED]
    assert r.positions == {"long_today": 0.0, "long_yesterday": 0.0, "short_today": 0.0, "short_yesterday": 0.0}
    # gross: the bought pair loses 2 * (70000 - 70010) * 5 = -100; the yesterday lot enters at
    # the first mid 70005 and is sold at 70000: -5 * 5 = -25 -> -125 before fees of 122.505
    assert r.summary["pnl_gross"] == pytest.approx(-125.0)
    assert r.summary["fees"] == pytest.approx(122.505)
    assert r.summary["pnl_net"] == pytest.approx(r.summary["pnl_gross"] - 122.505)


def test_close_today_needs_a_today_position_and_gold_charges_per_lot() -> None:
    cmds = make_commands([(100 * MS, FAK, SELL, P, 1, 1, CLOSETODAY), (200 * MS, FAK, BUY, 70010.0, 3, 2, OPEN)])
    r = simulate(_flat_book(), _cfg(fees=FeeTable("au", FeeRate(per_lot=2.0), FeeRate(per_lot=2.0), FeeRate())), cmds)
    assert r.orders["status"].tolist() == [REJECTED, FILLED]
    assert r.fills["fee"].tolist() == [6.0]


def _deep_asks_book() -> np.ndarray:
    asks = [(70010.0, 2), (70020.0, 3), (70030.0, 5)]
    return book([{"t_ms": 0, "bids": [(P, 10)], "asks": asks}, {"t_ms": 1000, "bids": [(P, 10)], "asks": asks}])


def test_fak_walks_levels_up_to_its_limit_and_cancels_the_rest() -> None:
    cmds = make_commands([(10 * MS, FAK, BUY, 70020.0, 10, 1, OPEN)])
    r = simulate(_deep_asks_book(), _cfg(), cmds)
    assert r.fills["price"].tolist() == [70010.0, 70020.0]
    assert r.fills["qty"].tolist() == [2.0, 3.0]
    assert (r.fills["fill_kind"] == FILL_AGGRESSIVE).all() and not r.fills["passive"].any()
    assert r.orders["status"][0] == CANCELLED and r.orders["filled"][0] == 5.0


def test_fok_fills_all_or_nothing() -> None:
    cmds = make_commands([(10 * MS, 2, BUY, 70020.0, 6, 1, OPEN), (20 * MS, 2, BUY, 70020.0, 5, 2, OPEN)])
    r = simulate(_deep_asks_book(), _cfg(consume_depth=False), cmds)
    assert r.orders["status"].tolist() == [CANCELLED, FILLED]
    assert r.orders["filled"].tolist() == [0.0, 5.0]
    assert r.fills["order_id"].tolist() == [2, 2]


def test_consumed_depth_is_not_offered_twice_before_the_next_snapshot() -> None:
    cmds = make_commands([(10 * MS, FAK, BUY, 70010.0, 2, 1, OPEN), (20 * MS, FAK, BUY, 70010.0, 2, 2, OPEN)])
    used = simulate(_deep_asks_book(), _cfg(consume_depth=True), cmds)
    free = simulate(_deep_asks_book(), _cfg(consume_depth=False), cmds)
    assert used.orders["filled"].tolist() == [2.0, 0.0]
    assert free.orders["filled"].tolist() == [2.0, 2.0]


def test_marketable_limit_walks_then_rests_at_the_front() -> None:
    # Buy 7 at 70020: takes 2 @70010 and 3 @70020, rests 2 lots at 70020 with nobody ahead.
    # The 1000 ms snapshot shows 1 lot traded at 70020 (through the empty queue): fills 1 more.
    asks = [(70010.0, 2), (70020.0, 3), (70030.0, 5)]
    b = book(
        [
            {"t_ms": 0, "bids": [(P, 10)], "asks": asks},
            {"t_ms": 1000, "bids": [(70020.0, 1), (P, 10)], "asks": [(70030.0, 5)], "trades": [(70020.0, 1)]},
        ]
    )
    r = simulate(b, _cfg(), make_commands([(10 * MS, LIMIT, BUY, 70020.0, 7, 1, OPEN)]))
    assert r.fills["qty"].tolist() == [2.0, 3.0, 1.0]
    assert r.fills["fill_kind"].tolist() == [FILL_AGGRESSIVE, FILL_AGGRESSIVE, FILL_QUEUE]
    assert r.orders["status"][0] == LIVE and r.orders["filled"][0] == 6.0


def test_orders_expire_and_positions_roll_at_day_start() -> None:
    b = _flat_book()
    cmds = make_commands([(10 * MS, FAK, BUY, 70010.0, 1, 1, OPEN), (20 * MS, LIMIT, BUY, 69990.0, 1, 2, OPEN)])
    r = simulate(b, _cfg(), cmds, day_start=np.array([True, False, True]))
    assert r.orders["status"].tolist() == [FILLED, CANCELLED]
    assert r.orders["done_ns"][1] == 1000 * MS
    assert r.positions["long_yesterday"] == 1.0 and r.positions["long_today"] == 0.0


def test_bad_commands_and_configs_are_refused() -> None:
    b = _flat_book()
    with pytest.raises(ValueError, match="unknown order id"):
        simulate(b, _cfg(), make_commands([(0, CANCEL, 0, 0.0, 0, 9, OPEN)]))
    with pytest.raises(ValueError, match="unique"):
        simulate(b, _cfg(), make_commands([(0, LIMIT, BUY, P, 1, 1, OPEN), (1, LIMIT, BUY, P, 1, 1, OPEN)]))
    with pytest.raises(ValueError, match="qty > 0"):
        simulate(b, _cfg(), make_commands([(0, LIMIT, BUY, P, 0, 1, OPEN)]))
    with pytest.raises(ValueError, match="unknown queue model"):
        _cfg(queue_model="coin_flip")
    with pytest.raises(ValueError, match=">= 0"):
        Latency(-1)


def test_an_order_before_the_first_snapshot_is_rejected() -> None:
    b = _flat_book()
    b["datetime_ns"] += 1000 * MS
    r = simulate(b, _cfg(), make_commands([(0, LIMIT, BUY, P, 1, 1, OPEN)]))
    assert r.orders["status"].tolist() == [REJECTED] and r.fills.size == 0


@pytest.mark.parametrize(("model", "fill_ms"), [("risk_averse", 2500), ("prob_power", 2000), ("prob_log", 2000)])
def test_queue_models_inside_the_replay(model: str, fill_ms: int) -> None:
    # Join behind 10 at 70000. 500: 4 cancelled (shown 6) -> every model: min(10, 6) = 6 (back 0).
    # 1000: 10 join behind (shown 16). 1500: 6 cancelled (shown 10), front 6, back 10:
    #   risk-averse 6; power n=1: p = 10/16 from behind, 6 * 6/16 = 2.25 from ahead -> 3.75;
    #   log: p = ln 11 / (ln 11 + ln 7) from behind, 6 * (1 - p) = 2.688 from ahead -> 3.312.
    # 2000: 5 traded at 70000 (shown 5): risk-averse 1 (no fill); power -1.25 and log -1.69: fill.
    # 2500: 3 traded (shown 2): risk-averse 1 - 3 = -2: fill.
    b = book(
        [
            {"t_ms": 0, "bids": [(P, 10)], "asks": ASKS},
            {"t_ms": 500, "bids": [(P, 6)], "asks": ASKS},
            {"t_ms": 1000, "bids": [(P, 16)], "asks": ASKS},
            {"t_ms": 1500, "bids": [(P, 10)], "asks": ASKS},
            {"t_ms": 2000, "bids": [(P, 5)], "asks": ASKS, "trades": [(P, 5)]},
            {"t_ms": 2500, "bids": [(P, 2)], "asks": ASKS, "trades": [(P, 3)]},
        ]
    )
    r = simulate(b, _cfg(queue_model=model, queue_power=1.0), make_commands([(1 * MS, LIMIT, BUY, P, 1, 1, OPEN)]))
    assert r.fills["datetime_ns"].tolist() == [fill_ms * MS]
    assert r.fills["fill_kind"].tolist() == [FILL_QUEUE]
