"""Order-level synthetic book: FIFO matching, snapshots, injected-order truth, presets, determinism."""

from __future__ import annotations

import dataclasses
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghtrader.domain.market_sim import _l3_kernels as kern
from ghtrader.domain.market_sim.config import MarketSimConfigError
from ghtrader.domain.market_sim.l3_book import (
    ASK,
    BID,
    L3BookConfig,
    OrderBook,
    l3_preset,
    simulate_l3_day,
)
from ghtrader.domain.ticks import TICK_DTYPE, check_sanity

N_SLOTS = 2400  # 20 minutes of trading time


def _grid(n: int = N_SLOTS) -> np.ndarray:
    return 1_700_000_000_000_000_000 + np.arange(1, n + 1, dtype=np.int64) * 500_000_000


@pytest.fixture(scope="module")
def day():
    n = N_SLOTS
    t = np.arange(5.0, n * 0.5 - 5.0, 1.3)
    side = (np.arange(t.size) % 2).astype(np.int64)
    # a spread of prices around the open: 0-4 ticks from 70000 on either side
    off = (np.arange(t.size) // 2) % 5
    price = np.where(side == BID, 70_000.0 - 10.0 * off, 70_010.0 + 10.0 * off)
    return simulate_l3_day(L3BookConfig(), 11, _grid(n), inject_t_s=t, inject_side=side, inject_price=price)


# --- hand-made FIFO sequences ----------------------------------------------------------------
def test_marketable_order_consumes_oldest_first():
    book = OrderBook()
    a = book.limit(BID, 10, 5)
    b = book.limit(BID, 10, 3)
    c = book.limit(BID, 10, 4)
    assert book.market(ASK, 6) == 0
    assert book.executions() == [(10, a, 5, ASK), (10, b, 1, ASK)]
    assert book.queue(BID, 10) == [(b, 2), (c, 4)]
    assert book.depth(BID, 10) == 6


def test_price_priority_then_time_priority_and_fak_remainder():
    book = OrderBook()
    low = book.limit(BID, 10, 5)
    high1 = book.limit(BID, 11, 2)
    high2 = book.limit(BID, 11, 2)
    # sell 10 lots down to price 10: 11 first (oldest first), then 10; 1 lot left over
    assert book.market(ASK, 10, limit_px=10) == 1
    assert book.executions() == [(11, high1, 2, ASK), (11, high2, 2, ASK), (10, low, 5, ASK)]
    assert book.best_bid == -1


def test_cancel_removes_the_right_order():
    book = OrderBook()
    a = book.limit(ASK, 20, 5)
    b = book.limit(ASK, 20, 3)
    c = book.limit(ASK, 20, 4)
    book.cancel(b)
    assert book.queue(ASK, 20) == [(a, 5), (c, 4)]
    assert book.depth(ASK, 20) == 9
    assert book.market(BID, 7) == 0
    assert book.executions() == [(20, a, 5, BID), (20, c, 2, BID)]
    with pytest.raises(MarketSimConfigError):
        book.cancel(b)
    with pytest.raises(MarketSimConfigError):
        book.cancel(a)  # fully filled: no longer live


def test_crossing_limit_executes_then_rests():
    book = OrderBook()
    a = book.limit(ASK, 20, 3)
    bid = book.limit(BID, 21, 5)
    assert book.executions() == [(20, a, 3, BID)]
    assert book.queue(BID, 21) == [(bid, 2)]
    assert (book.best_bid, book.best_ask) == (21, 64)
    book.cancel(bid)
    assert book.best_bid == -1


class _ReferenceBook:
    """Plain-Python price-time FIFO book: the oracle for the property test."""

    def __init__(self) -> None:
        self.q: dict[tuple[int, int], deque[list[int]]] = {}
        self.next_id = 0
        self.execs: list[tuple[int, int, int, int]] = []

    def best(self, side: int) -> int | None:
        px = [p for (s, p), dq in self.q.items() if s == side and dq]
        if not px:
            return None
        return max(px) if side == BID else min(px)

    def match(self, aggr: int, limit: int, qty: int) -> int:
        opp = 1 - aggr
        while qty > 0:
            b = self.best(opp)
            if b is None or (aggr == BID and b > limit) or (aggr == ASK and b < limit):
                break
            head = self.q[(opp, b)][0]
            take = min(qty, head[1])
            self.execs.append((b, head[0], take, aggr))
            head[1] -= take
            qty -= take
            if head[1] == 0:
                self.q[(opp, b)].popleft()
        return qty

    def limit(self, side: int, px: int, qty: int) -> None:
        rest = self.match(side, px, qty)
        if rest:
            self.q.setdefault((side, px), deque()).append([self.next_id, rest])
            self.next_id += 1

    def cancel(self, oid: int) -> None:
        for dq in self.q.values():
            for item in dq:
                if item[0] == oid:
                    dq.remove(item)
                    return


_ops = st.lists(
    st.one_of(
        st.tuples(st.just("limit"), st.sampled_from([BID, ASK]), st.integers(0, 15), st.integers(1, 9)),
        st.tuples(st.just("market"), st.sampled_from([BID, ASK]), st.integers(0, 15), st.integers(1, 30)),
        st.tuples(st.just("cancel"), st.sampled_from([BID, ASK]), st.integers(0, 1000), st.just(0)),
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(_ops)
def test_random_event_streams_keep_book_invariants(ops):
    book = OrderBook(n_levels=16)
    ref = _ReferenceBook()
    for kind, side, a, b in ops:
        if kind == "limit":
            book.limit(side, a, b)
            ref.limit(side, a, b)
        elif kind == "market":
            book.market(side, b, limit_px=a)
            ref.match(side, a, b)
        else:
            live = book.live_orders(side)
            if live:
                oid = live[a % len(live)]
                book.cancel(oid)
                ref.cancel(oid)
        assert book.executions() == ref.execs
        bb, ba = book.best_bid, book.best_ask
        assert bb == (ref.best(BID) if ref.best(BID) is not None else -1)
        assert ba == (ref.best(ASK) if ref.best(ASK) is not None else 16)
        assert bb < ba  # never crossed
    for side in (BID, ASK):
        for px in range(16):
            expect = [tuple(x) for x in ref.q.get((side, px), [])]
            assert book.queue(side, px) == expect
            assert book.depth(side, px) == sum(q for _, q in expect)


# --- simulated snapshots ---------------------------------------------------------------------
def test_snapshots_are_consistent(day):
    tk = day.ticks
    assert tk.dtype == TICK_DTYPE and tk.shape == (N_SLOTS,)
    assert check_sanity(tk).n_bad == 0  # the store's ingest checks accept them
    assert np.array_equal(tk["datetime_ns"], _grid())
    bid1, ask1 = tk["bid_price1"], tk["ask_price1"]
    both = np.isfinite(bid1) & np.isfinite(ask1)
    assert both.mean() > 0.99 and np.all(bid1[both] < ask1[both])
    for i in range(1, 5):
        nxt_b, nxt_a = tk[f"bid_price{i + 1}"], tk[f"ask_price{i + 1}"]
        ok = np.isfinite(nxt_b)
        assert np.all(nxt_b[ok] < tk[f"bid_price{i}"][ok])
        ok = np.isfinite(nxt_a)
        assert np.all(nxt_a[ok] > tk[f"ask_price{i}"][ok])
    for name in ("bid_volume1", "ask_volume3"):
        v = tk[name][np.isfinite(tk[name])]
        assert np.all(v >= 1) and np.all(v == np.round(v))
    vol = tk["volume"]
    assert np.all(np.diff(vol) >= 0)
    ex = day.executions
    slot_end = np.arange(1, N_SLOTS + 1) * 0.5
    upto = np.searchsorted(ex["t_s"], slot_end, side="right")
    cum_qty = np.concatenate([[0], np.cumsum(ex["qty"])])
    cum_amt = np.concatenate([[0.0], np.cumsum(ex["price"] * ex["qty"] * 5.0)])
    assert np.array_equal(vol, cum_qty[upto])
    np.testing.assert_allclose(tk["amount"], cum_amt[upto], rtol=1e-12)
    traded = vol > 0
    np.testing.assert_allclose(tk["average"][traded], tk["amount"][traded] / (vol[traded] * 5.0), rtol=1e-12)
    assert np.all(tk["lowest"] <= tk["last_price"]) and np.all(tk["last_price"] <= tk["highest"])
    assert np.all(ex["qty"] >= 1) and np.all(np.diff(ex["t_s"]) >= 0)


def test_default_book_is_cu_like(day):
    tk = day.ticks
    spread = (tk["ask_price1"] - tk["bid_price1"]) / 10.0
    assert np.nanmean(spread == 1.0) > 0.9
    assert 80 <= np.nanmedian(tk["bid_volume1"]) <= 600
    dv = np.diff(tk["volume"])
    per_second = dv[: dv.size // 2 * 2].reshape(-1, 2).sum(axis=1)
    assert (per_second > 0).mean() > 0.5  # trades in most seconds
    assert 0 < (np.diff(tk["bid_price1"]) != 0).mean() < 0.5  # the price moves, not every tick


def test_deterministic_given_seed():
    cfg = L3BookConfig()
    a = simulate_l3_day(cfg, 3, _grid(600), inject_t_s=[10.0], inject_side=[BID], inject_price=[70_000.0])
    b = simulate_l3_day(cfg, 3, _grid(600), inject_t_s=[10.0], inject_side=[BID], inject_price=[70_000.0])
    c = simulate_l3_day(cfg, 4, _grid(600))
    assert a.ticks.tobytes() == b.ticks.tobytes()
    assert a.injected.tobytes() == b.injected.tobytes()
    assert a.executions.tobytes() == b.executions.tobytes()
    assert a.ticks.tobytes() != c.ticks.tobytes()
    # injected orders have zero impact: the market is the same without them
    assert simulate_l3_day(cfg, 3, _grid(600)).ticks.tobytes() == a.ticks.tobytes()


# --- injected orders ---------------------------------------------------------------------------
def test_fill_truth_on_hand_made_logs():
    # executions: (t; px, resting id, qty, aggressor side)
    ex_t = np.array([2.0, 3.0, 4.0, 5.0, 6.0])
    ex = np.array(
        [
            [10, 0, 5, ASK],  # sell hits an order ahead of the bid injected with seq 3
            [10, 2, 5, ASK],  # the last one ahead
            [10, 5, 1, ASK],  # a younger order at 10 trades: the queue ahead is gone -> fill (kind 1)
            [8, 7, 1, ASK],  # trades through 9 -> the bid at 9 fills (kind 2)
            [12, 9, 1, BID],  # buy aggressor: irrelevant to bids
        ],
        dtype=np.int64,
    )
    q_t = np.array([0.0, 6.5])
    q = np.array([[10, 11], [12, 13]], dtype=np.int64)  # best bid reaches 12 at 6.5
    inj_t = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    inj_side = np.array([BID, BID, ASK, BID, ASK], dtype=np.int64)
    inj_px = np.array([10, 9, 12, 7, 14], dtype=np.int64)
    inj_seq = np.array([3, 3, 3, 3, 3], dtype=np.int64)
    fill_t = np.empty(5)
    kind = np.empty(5, dtype=np.int64)
    kern.fill_times_kernel(inj_t, inj_side, inj_px, inj_seq, 10.0, ex_t, ex, q_t, q, fill_t, kind)
    # ask at 12: the buy at 12 against id 9 >= 3 at t=6 comes before the bid touching at 6.5
    np.testing.assert_array_equal(fill_t[:3], [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(kind[:4], [1, 2, 1, 0])
    assert np.isnan(fill_t[3]) and np.isnan(fill_t[4])  # 7 never traded; the ask at 14 never reached
    kern.fill_times_kernel(inj_t, inj_side, inj_px, inj_seq, 2.5, ex_t, ex, q_t, q, fill_t, kind)
    assert np.isnan(fill_t[0]) and kind[0] == 0  # fill at 4.0 is past the 2.5 s horizon
    # an ask at 12 behind id 9 (seq 20): the buy at 12 hits an order ahead of it; the best bid
    # reaching 12 at 6.5 fills it (kind 2)
    kern.fill_times_kernel(
        np.array([1.0]), np.array([ASK]), np.array([12]), np.array([20]), 10.0, ex_t, ex, q_t, q, fill_t[:1], kind[:1]
    )
    assert fill_t[0] == 6.5 and kind[0] == 2


def test_injected_truth_matches_the_execution_log(day):
    inj, ex = day.injected, day.executions
    assert inj.size > 500
    filled = np.isfinite(inj["fill_t_s"])
    assert 0.05 < filled.mean() < 0.99
    assert np.all(inj["fill_t_s"][filled] >= inj["t_s"][filled])
    assert np.all(inj["fill_t_s"][filled] <= inj["t_s"][filled] + 60.0)
    for row in inj:
        side, p, t0 = int(row["side"]), row["price"], row["t_s"]
        opp = ex[(ex["t_s"] > t0) & (ex["t_s"] <= t0 + 60.0) & (ex["aggressor"] != side)]
        if side == BID:
            hit = (opp["price"] < p) | ((opp["price"] == p) & (opp["resting_id"] >= row["seq"]))
        else:
            hit = (opp["price"] > p) | ((opp["price"] == p) & (opp["resting_id"] >= row["seq"]))
        first = opp["t_s"][hit][0] if hit.any() else np.inf
        if row["fill_kind"] == 1:
            assert row["fill_t_s"] == first
        elif row["fill_kind"] == 2:
            assert row["fill_t_s"] <= first
        else:
            assert first == np.inf
    # queue ahead at injection = the displayed volume at the price in the snapshot just before
    tk = day.ticks
    for row in inj[:200]:
        i = int(round(row["t_s"] / 0.5)) - 1
        if abs(row["t_s"] - (i + 1) * 0.5) > 1e-9:
            continue
        col = "bid" if row["side"] == BID else "ask"
        shown = {tk[f"{col}_price{lv}"][i]: tk[f"{col}_volume{lv}"][i] for lv in range(1, 6)}
        if row["price"] in shown:
            assert row["queue_ahead"] == shown[row["price"]]


def test_injection_at_a_slot_boundary_sees_the_snapshot():
    base = simulate_l3_day(L3BookConfig(), 5, _grid(200))
    i = 99  # snapshot 99 shows the book at trading time 50.0
    bid, ask = base.ticks["bid_price1"][i], base.ticks["ask_price1"][i]
    d = simulate_l3_day(
        L3BookConfig(), 5, _grid(200), inject_t_s=[50.0, 50.0], inject_side=[BID, ASK], inject_price=[bid, ask]
    )
    assert d.injected["queue_ahead"].tolist() == [
        base.ticks["bid_volume1"][i],
        base.ticks["ask_volume1"][i],
    ]
    assert d.injected["distance_ticks"].tolist() == [0, 0]


def test_injection_validation():
    with pytest.raises(MarketSimConfigError):
        simulate_l3_day(
            L3BookConfig(), 1, _grid(10), inject_t_s=[2.0, 1.0], inject_side=[0, 0], inject_price=[7e4, 7e4]
        )
    with pytest.raises(MarketSimConfigError):
        simulate_l3_day(L3BookConfig(), 1, _grid(10), inject_t_s=[1.0], inject_side=[2], inject_price=[7e4])
    with pytest.raises(MarketSimConfigError):
        simulate_l3_day(L3BookConfig(), 1, _grid(10), inject_t_s=[1.0], inject_side=[0], inject_price=[1e9])


# --- presets and stress ----------------------------------------------------------------------
def test_config_validation_and_presets():
    with pytest.raises(MarketSimConfigError):
        L3BookConfig(cancel_rate=0.0)
    with pytest.raises(MarketSimConfigError):
        L3BookConfig(hawkes_alpha=2.0, hawkes_decay=1.0)  # explosive Hawkes
    with pytest.raises(MarketSimConfigError):
        L3BookConfig(open_price=70_005.0)  # off the tick grid
    with pytest.raises(MarketSimConfigError):
        l3_preset("nope")
    assert l3_preset("volatile", market_rate=0.5).market_rate == 0.5
    assert l3_preset("trending").flow_mean > 0


def _mid(tk: np.ndarray) -> np.ndarray:
    return (tk["bid_price1"] + tk["ask_price1"]) / 2.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_flash_crash_sweeps_the_bids(seed):
    n = 1400  # the crash runs from 600 s (slot 1200) for 20 s
    crash = simulate_l3_day(l3_preset("flash_crash"), seed, _grid(n))
    calm = simulate_l3_day(l3_preset("default"), seed, _grid(n))
    assert crash.ticks[:1199].tobytes() == calm.ticks[:1199].tobytes()  # identical until the shock
    before = _mid(crash.ticks)[1198]
    low = np.nanmin(crash.ticks["bid_price1"][1200:1245])
    assert before - low >= 30 * 10.0  # bids swept at least 30 ticks below the pre-crash mid
    assert np.nanmin(calm.ticks["bid_price1"][1200:1245]) > low


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_liquidity_crisis_drains_depth_and_widens_spread(seed):
    n = 1800  # the crisis runs from 600 s (slot 1200) to 900 s
    tk = simulate_l3_day(l3_preset("liquidity_crisis"), seed, _grid(n)).ticks
    depth = np.nansum([tk[f"{s}_volume{i}"] for s in ("bid", "ask") for i in range(1, 6)], axis=0)
    spread = tk["ask_price1"] - tk["bid_price1"]
    pre, dur = slice(900, 1199), slice(1300, 1800)
    assert np.mean(depth[dur]) < 0.4 * np.mean(depth[pre])
    assert np.nanmean(spread[dur]) > 1.2 * np.nanmean(spread[pre])


def test_regime_presets_differ_as_named():
    n = 2400
    trend = simulate_l3_day(l3_preset("trending"), 9, _grid(n)).ticks
    vol = simulate_l3_day(l3_preset("volatile"), 9, _grid(n)).ticks
    calm = simulate_l3_day(l3_preset("mean_reverting"), 9, _grid(n)).ticks
    # trending: persistent buying pressure lifts the price; volatile moves more than mean-reverting
    assert _mid(trend)[-1] - _mid(trend)[0] > 10 * 10.0
    assert np.nanstd(np.diff(_mid(vol))) > 2 * np.nanstd(np.diff(_mid(calm)))


def test_session_grid_of_a_cu_day():
    from datetime import date

    from ghtrader.domain.calendar import TradingCalendar
    from ghtrader.domain.instruments import CONTRACT_SPECS
    from ghtrader.domain.market_sim.l3_book import session_grid_ns

    grid = session_grid_ns(TradingCalendar(frozenset()), CONTRACT_SPECS["SHFE.cu"], date(2026, 11, 4))
    # night 21:00-01:00 (4 h) plus the day sessions 9:00-10:15, 10:30-11:30, 13:30-15:00 (3.75 h)
    assert grid.size == int(7.75 * 3600 * 2)
    assert np.all(np.diff(grid) >= 500_000_000)
    day = simulate_l3_day(L3BookConfig(), 1, grid[:100])
    assert np.array_equal(day.ticks["datetime_ns"], grid[:100])


@pytest.mark.parametrize("n", [1, 333, 1200])
def test_snapshot_levels_equal_the_live_orders(n):
    # a run of n slots is the prefix of a longer run; its final book is the one the last snapshot shows
    run = simulate_l3_day(l3_preset("volatile"), 21, _grid(n))
    longer = simulate_l3_day(l3_preset("volatile"), 21, _grid(n + 50))
    assert run.ticks.tobytes() == longer.ticks[:n].tobytes()
    last = run.ticks[-1]
    live = run.final_orders
    assert np.all(live["qty"] >= 1) and np.all(np.diff(live["id"]) > 0)
    assert np.all(np.diff(live["t_s"]) >= 0)  # ids are arrival order
    for side, name in ((BID, "bid"), (ASK, "ask")):
        mine = live[live["side"] == side]
        prices = np.unique(mine["price"])[::-1] if side == BID else np.unique(mine["price"])
        for lvl in range(1, 6):
            p, v = last[f"{name}_price{lvl}"], last[f"{name}_volume{lvl}"]
            if lvl > prices.size:
                assert np.isnan(p) and np.isnan(v)
                continue
            assert p == prices[lvl - 1]
            assert v == mine["qty"][mine["price"] == p].sum()
    assert live[live["side"] == BID]["price"].max() < live[live["side"] == ASK]["price"].min()


def test_cancel_beta_thins_the_side_under_pressure():
    # steady buying pressure (f ~ 0.5): with cancel_beta the asks cancel faster, the bids slower
    cfg = L3BookConfig(flow_mean=0.5, flow_sigma=0.05)
    plain = simulate_l3_day(cfg, 4, _grid(1200)).ticks
    tilted = simulate_l3_day(dataclasses.replace(cfg, cancel_beta=1.0), 4, _grid(1200)).ticks

    def l5_depth(t: np.ndarray, name: str) -> float:
        return float(np.mean(np.nansum([t[f"{name}_volume{i}"] for i in range(1, 6)], axis=0)[200:]))

    depth = {name: l5_depth(tilted, name) for name in ("bid", "ask")}
    base = {name: l5_depth(plain, name) for name in ("bid", "ask")}
    assert depth["ask"] < 0.8 * base["ask"]
    assert depth["bid"] > 1.1 * base["bid"]


def test_snapshot_truth_places_orders_on_the_snapshots():
    from ghtrader.domain.market_sim.l3_book import snapshot_truth

    cfg = L3BookConfig()
    run, snap = snapshot_truth(cfg, 6, _grid(800), every_slots=10, distances=(0, 2))
    plain = simulate_l3_day(cfg, 6, _grid(800))
    assert run.ticks.tobytes() == plain.ticks.tobytes()  # zero impact
    inj = run.injected
    assert inj.size == snap.size == 4 * 80
    assert np.all(np.diff(inj["t_s"]) >= 0)
    tk = plain.ticks
    for row, i in zip(inj, snap, strict=True):
        assert row["t_s"] == (i + 1) * 0.5
        name = "bid" if row["side"] == BID else "ask"
        shown = {tk[f"{name}_price{lv}"][i]: tk[f"{name}_volume{lv}"][i] for lv in range(1, 6)}
        assert row["queue_ahead"] == shown.get(row["price"], 0.0)
        d = round(abs(row["price"] - tk[f"{name}_price1"][i]) / 10.0)
        assert row["distance_ticks"] == d and d in (0, 2)
    with pytest.raises(MarketSimConfigError):
        snapshot_truth(cfg, 6, _grid(10), distances=())
