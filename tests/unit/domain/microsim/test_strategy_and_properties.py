"""Re-quoting strategy mode, determinism with empirical latency, round trips and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghtrader.domain.microsim import Latency, QuoteStrategy, SimConfig, make_commands, simulate
from ghtrader.domain.microsim.codes import BUY, CANCEL, FAK, FILL_CROSS, FILL_QUEUE, FOK, LIMIT, OPEN, SELL
from tests.unit.domain.microsim._book import MS, book, random_book


def _signed_fill_sum(r) -> float:  # type: ignore[no-untyped-def]
    return float((r.fills["side"] * r.fills["qty"]).sum())


def test_requote_strategy_cancels_and_requotes_when_the_best_moves() -> None:
    # Feed 1 ms, entry 2 ms, cancel 0. Decision at 1 ms on snapshot 0: bid 70000 (#0), ask 70010 (#1).
    # 500: the bid rises to 70010 = our ask -> #1 fills by cross; short 1 (= -max_position).
    # Decision at 501: cancel #0, bid 70010 (#2, arrives 503 behind the 2 shown); no ask quote.
    # 1000: 3 traded at 70010 -> ahead 2 - 3 = -1 -> #2 fills 1 (queue); flat again.
    # Decision at 1001: #2 is done -> new bid 70010 (#3) and ask 70020 (#4).
    b = book(
        [
            {"t_ms": 0, "bids": [(70000.0, 5)], "asks": [(70010.0, 5)]},
            {"t_ms": 500, "bids": [(70010.0, 2)], "asks": [(70020.0, 5)]},
            {"t_ms": 1000, "bids": [(70010.0, 4)], "asks": [(70020.0, 5)], "trades": [(70010.0, 3)]},
        ]
    )
    cfg = SimConfig.for_variety("cu", feed_latency=Latency(1 * MS), entry_latency=Latency(2 * MS))
    r = simulate(b, cfg, strategy=QuoteStrategy(qty=1, max_position=1))
    o = r.orders
    assert o["price"].tolist() == [70000.0, 70010.0, 70010.0, 70010.0, 70020.0]
    assert o["side"].tolist() == [BUY, SELL, BUY, BUY, SELL]
    assert o["send_ns"].tolist() == [1 * MS, 1 * MS, 501 * MS, 1001 * MS, 1001 * MS]
    assert o["arrive_ns"].tolist() == [3 * MS, 3 * MS, 503 * MS, 1003 * MS, 1003 * MS]
    assert o["cancel_send_ns"][0] == 501 * MS and o["done_ns"][0] == 501 * MS
    assert r.fills["order_id"].tolist() == [1, 2]
    assert r.fills["datetime_ns"].tolist() == [500 * MS, 1000 * MS]
    assert r.fills["fill_kind"].tolist() == [FILL_CROSS, FILL_QUEUE]
    assert r.equity["position"].tolist() == [0.0, -1.0, 0.0]
    assert r.round_trips["pnl_gross"].tolist() == [0.0]


def test_strategy_position_stays_within_bounds_and_matches_fills() -> None:
    b = random_book(400, seed=3)
    r = simulate(b, SimConfig.for_variety("cu"), strategy=QuoteStrategy(qty=1, max_position=2))
    assert r.fills.size > 10
    pos = r.equity["position"]
    # a decision sees the position at decision time; in-flight quotes can overshoot by one quote
    assert np.abs(pos).max() <= 3
    assert pos[-1] == pytest.approx(_signed_fill_sum(r))
    kinds = r.summary["fills_passive_queue"] + r.summary["fills_passive_cross"] + r.summary["fills_aggressive"]
    assert kinds == r.summary["fills"]
    assert r.summary["fees"] > 0 and r.summary["pnl_net"] == pytest.approx(r.summary["pnl_gross"] - r.summary["fees"])


def test_same_seed_same_fills_other_seed_differs_with_empirical_latency() -> None:
    b = random_book(300, seed=11)
    lat = Latency(samples_ns=np.array([1, 50, 300, 700, 1200]) * MS)

    def run(seed: int):  # type: ignore[no-untyped-def]
        cfg = SimConfig.for_variety("cu", entry_latency=lat, cancel_latency=lat, feed_latency=lat, seed=seed)
        return simulate(b, cfg, strategy=QuoteStrategy(qty=1, max_position=2))

    a, a2 = run(1), run(1)
    assert np.array_equal(a.fills, a2.fills) and np.array_equal(a.orders, a2.orders)
    others = [run(s) for s in (2, 3, 4)]
    assert any(not np.array_equal(a.fills, o.fills) for o in others)


def test_round_trips_fifo_with_fees() -> None:
    rows = [{"t_ms": 500 * i, "bids": [(70000.0, 10)], "asks": [(70010.0, 10)]} for i in range(3)]
    cmds = make_commands(
        [
            (10 * MS, FAK, BUY, 70010.0, 2, 1, OPEN),
            (20 * MS, FAK, SELL, 70000.0, 1, 2, 2),  # CLOSETODAY
            (600 * MS, FAK, SELL, 70000.0, 3, 3, OPEN),
        ]
    )
    r = simulate(book(rows), SimConfig.for_variety("cu"), cmds)
    t = r.round_trips
    # lot 1 closed by order 2, lot 2 by order 3; order 3's last 2 lots open a short (no exit)
    assert t["qty"].tolist() == [1.0, 1.0]
    assert t["side"].tolist() == [1, 1]
    assert t["pnl_gross"].tolist() == pytest.approx([-50.0, -50.0])
    # fees: open 70010*5*0.5e-4 = 17.5025 a lot; close today 70000*5*1e-4 = 35; open 17.5
    assert t["fees"].tolist() == pytest.approx([17.5025 + 35.0, 17.5025 + 17.5])
    assert r.summary["round_trips"] == 2.0 and r.summary["final_position"] == -2.0


_BOOK = random_book(60, seed=5)


@st.composite
def _commands(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 25))
    rows = []
    ids: list[int] = []
    for j in range(n):
        t = draw(st.integers(0, 30_000)) * MS
        if ids and draw(st.booleans()) and draw(st.booleans()):
            rows.append((t, CANCEL, 0, 0.0, 0, draw(st.sampled_from(ids)), OPEN))
            continue
        kind = draw(st.sampled_from([LIMIT, LIMIT, FAK, FOK]))
        side = draw(st.sampled_from([BUY, SELL]))
        price = 70000.0 + 10.0 * draw(st.integers(-8, 8))
        qty = draw(st.integers(1, 12))
        off = draw(st.sampled_from([0, 1, 2, 3]))
        rows.append((t, kind, side, price, qty, j, off))
        ids.append(j)
    return make_commands(rows)


@settings(max_examples=60, deadline=None)
@given(cmds=_commands(), model=st.sampled_from(["risk_averse", "prob_power", "prob_log"]), ent=st.integers(0, 900))
def test_invariants_hold_for_random_command_streams(cmds, model, ent) -> None:  # type: ignore[no-untyped-def]
    cfg = SimConfig.for_variety("cu", queue_model=model, entry_latency=Latency(ent * MS), long_yesterday=3)
    r = simulate(_BOOK, cfg, cmds)
    assert (r.fills["fee"] >= 0).all() and (r.fills["qty"] >= 1).all()
    assert (r.orders["filled"] <= r.orders["qty"]).all()
    per_order = {int(o): 0.0 for o in r.orders["order_id"]}
    for oid, q in zip(r.fills["order_id"], r.fills["qty"], strict=True):
        per_order[int(oid)] += float(q)
    assert [per_order[int(o)] for o in r.orders["order_id"]] == r.orders["filled"].tolist()
    p = r.positions
    net = p["long_today"] + p["long_yesterday"] - p["short_today"] - p["short_yesterday"]
    assert net == pytest.approx(3.0 + _signed_fill_sum(r))
    assert min(p.values()) >= 0.0
    assert r.equity["position"][-1] == pytest.approx(net)
    # fills never happen before the order reached the exchange
    arrive = dict(zip(r.orders["order_id"].tolist(), r.orders["arrive_ns"].tolist(), strict=True))
    assert all(t >= arrive[int(o)] for t, o in zip(r.fills["datetime_ns"], r.fills["order_id"], strict=True))
