"""Fill labels: each fill rule, queue ahead, censoring, boundaries, locality, a reference model."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.labels import FILL_ORDERS, LabelError, fill_label_names, fill_labels, traded_volume

NAN = np.nan
TICK = 10.0


def run(ticks, horizons=(1, 3, 10), day=None, seg=None, **kw):
    n = len(ticks)
    day = np.zeros(n, dtype=np.int64) if day is None else np.asarray(day)
    seg = np.zeros(n, dtype=np.int64) if seg is None else np.asarray(seg)
    return fill_labels(ticks, day, seg, TICK, horizons, **kw)


def quiet_book(make_ticks, n, **overrides):
    """bid 70000 x5 / ask 70010 x5, level 2 one tick further out x7, no trades."""
    cols = dict(
        bid_price1=70_000.0,
        bid_volume1=5.0,
        ask_price1=70_010.0,
        ask_volume1=5.0,
        bid_price2=69_990.0,
        bid_volume2=7.0,
        ask_price2=70_020.0,
        ask_volume2=8.0,
        last_price=70_000.0,
        volume=100.0,
    )
    cols.update(overrides)
    return make_ticks(n, **cols)


def test_column_names_and_shapes(make_ticks) -> None:
    t = quiet_book(make_ticks, 4)
    out = run(t, horizons=(3, 1))
    assert tuple(out) == fill_label_names((1, 3))
    assert {c for c in out if c.startswith("queue_ahead_")} == {f"queue_ahead_{o}" for o in FILL_ORDERS}
    assert all(v.shape == (4,) and v.dtype == np.float64 for v in out.values())


def test_queue_depletion_needs_more_than_the_queue_ahead(make_ticks) -> None:
    # buy_best at 70000 with 5 ahead: trades at 70000 of 3, 2 (= 5, not yet), 1 (> 5: fill).
    t = quiet_book(make_ticks, 6, volume=[100, 103, 105, 105, 106, 106])
    out = run(t)
    assert out["queue_ahead_buy_best"][0] == 5.0
    assert out["ttf_buy_best_ticks"][0] == 4.0 and out["ttf_buy_best_censored"][0] == 0.0
    assert out["ttf_buy_best_ns"][0] == 4 * 500_000_000
    assert (out["fill_buy_best_h1"][0], out["fill_buy_best_h3"][0]) == (0.0, 0.0)
    assert out["fill_buy_best_h10"][0] == 1.0
    # Placed at row 2 (cumulative traded so far is irrelevant): needs 6 more, gets only 1.
    assert out["ttf_buy_best_censored"][2] == 1.0 and np.isnan(out["ttf_buy_best_ticks"][2])
    # The order one tick behind (69990, 7 ahead) sees no trades at its price.
    assert out["queue_ahead_buy_behind"][0] == 7.0 and out["ttf_buy_behind_censored"][0] == 1.0


def test_behind_queue_is_zero_when_that_level_is_empty(make_ticks) -> None:
    # Level 2 is two ticks away (a gap): nothing displayed one tick behind -> the first trade
    # at that price fills.
    t = quiet_book(make_ticks, 3, bid_price2=69_980.0, last_price=[70_000, 69_990, 69_990], volume=[100, 100, 101])
    out = run(t)
    assert out["queue_ahead_buy_behind"][0] == 0.0
    assert out["ttf_buy_behind_ticks"][0] == 2.0  # row 1 has a stale last price (no volume)
    assert out["queue_ahead_sell_behind"][0] == 8.0


def test_trade_through_and_stale_last_price(make_ticks) -> None:
    # Row 1: last 69990 below the bid but no new volume (stale) -> nothing; row 2: a real trade
    # at 69990 -> trade-through fill of the bid at 70000 (and of nothing one tick behind).
    t = quiet_book(make_ticks, 4, last_price=[70_000, 69_990, 69_990, 69_990], volume=[100, 100, 101, 101])
    out = run(t)
    assert out["ttf_buy_best_ticks"][0] == 2.0
    assert out["ttf_buy_behind_censored"][0] == 1.0  # 69990 was traded at, 7 ahead, only 1 lot
    # Sell side mirror: a trade above the ask fills sell_best.
    t2 = quiet_book(make_ticks, 3, last_price=[70_000, 70_020, 70_020], volume=[100, 101, 102])
    out2 = run(t2)
    assert out2["ttf_sell_best_ticks"][0] == 1.0 and out2["ttf_sell_behind_censored"][0] == 1.0


def test_opposite_quote_reaching_the_price_fills(make_ticks) -> None:
    # Row 2: the ask drops to 70000 (our bid): every bid at 70000 has traded -> buy_best fills
    # with no volume at all. Row 3: the bid rises to 70020 -> sell_behind (70020) fills.
    t = quiet_book(
        make_ticks,
        4,
        bid_price1=[70_000, 70_000, 69_990, 70_020],
        ask_price1=[70_010, 70_010, 70_000, 70_030],
    )
    out = run(t)
    assert out["ttf_buy_best_ticks"][0] == 2.0
    assert out["ttf_sell_behind_ticks"][0] == 3.0 and out["ttf_sell_best_ticks"][0] == 3.0
    assert out["ttf_buy_behind_censored"][0] == 1.0


def test_censoring_at_horizon_end_of_data_segment_and_day(make_ticks) -> None:
    n = 8
    # A fill event for buy_best at row 5 (ask touches 70000).
    ask = [70_010.0] * n
    ask[5] = 70_000.0
    t = quiet_book(make_ticks, n, ask_price1=ask, volume=[100.0] * 3 + [0.0] * 5)  # no trades
    base = run(t, horizons=(2, 5))
    assert base["ttf_buy_best_ticks"][0] == 5.0 and base["fill_buy_best_h5"][0] == 1.0
    assert base["fill_buy_best_h2"][0] == 0.0
    # Max horizon 4 < 5: censored, and each fully observed window is a 0.
    h4 = run(t, horizons=(2, 4))
    assert h4["ttf_buy_best_censored"][0] == 1.0 and np.isnan(h4["ttf_buy_best_ns"][0])
    assert (h4["fill_buy_best_h2"][0], h4["fill_buy_best_h4"][0]) == (0.0, 0.0)
    # Near the end of data a window that cannot be observed is unknown (NaN), not 0.
    assert base["fill_buy_best_h5"][6] != base["fill_buy_best_h5"][6]
    assert base["fill_buy_best_h2"][5] == 0.0 and np.isnan(base["fill_buy_best_h2"][6])
    assert base["ttf_buy_best_censored"][7] == 1.0
    # A segment change at row 3: no fill across it; rows before it are censored.
    seg = [0, 0, 0, 1, 1, 1, 1, 1]
    s = run(t, horizons=(2, 5), seg=seg)
    assert s["ttf_buy_best_censored"][0] == 1.0 and np.isnan(s["fill_buy_best_h5"][0])
    assert s["fill_buy_best_h2"][0] == 0.0 and np.isnan(s["fill_buy_best_h2"][1])
    assert s["ttf_buy_best_ticks"][3] == 2.0  # inside the new segment the fill is seen
    # A trading-day change at row 3 ends day orders the same way, unless they do not expire.
    day = np.array(["2024-06-03"] * 3 + ["2024-06-04"] * 5, dtype="datetime64[D]")
    d = run(t, horizons=(2, 5), day=day)
    assert d["ttf_buy_best_censored"][0] == 1.0 and np.isnan(d["fill_buy_best_h5"][0])
    g = run(t, horizons=(2, 5), day=day, expire_at_day_end=False)
    assert g["ttf_buy_best_ticks"][0] == 5.0


def test_volume_resets_each_trading_day(make_ticks) -> None:
    # Day 1 ends at cumulative 1000; day 2 starts at 3 then 9. With the reset, row 2 traded 3
    # lots and row 3 traded 6 (not -997 and 6).
    vol = np.array([990.0, 1000.0, 3.0, 9.0, NAN, 8.0])
    day = np.array([1, 1, 2, 2, 2, 2])
    np.testing.assert_array_equal(traded_volume(vol, day), [990.0, 10.0, 3.0, 6.0, 0.0, 0.0])
    np.testing.assert_array_equal(traded_volume(vol), [990.0, 10.0, 0.0, 6.0, 0.0, 0.0])
    # An order at row 1 that does not expire sees the 3 lots at its price on row 2: 2 ahead -> fill.
    t = quiet_book(
        make_ticks, 4, bid_volume1=2.0, volume=[990, 1000, 3, 9], last_price=[70_000, 70_000, 70_000, 69_990]
    )
    out = run(t, day=day[:4], expire_at_day_end=False)
    assert out["ttf_buy_best_ticks"][1] == 1.0
    assert run(t, day=day[:4])["ttf_buy_best_censored"][1] == 1.0


def test_no_order_without_a_best_price(make_ticks) -> None:
    t = quiet_book(make_ticks, 3, bid_price1=[NAN, 0.0, 70_000.0])
    out = run(t)
    for col in ("queue_ahead_buy_best", "ttf_buy_best_censored", "fill_buy_best_h1", "ttf_buy_behind_censored"):
        assert np.isnan(out[col][:2]).all(), col
    assert out["queue_ahead_sell_best"][0] == 5.0


def ref_fill(ticks, day, seg, tick, horizons, expire):
    """Independent vectorised restatement of the documented model, one order at a time."""
    n = len(ticks)
    eps = tick * 1e-6
    vol = ticks["volume"]
    reset = np.r_[True, (day[1:] != day[:-1]) | (seg[1:] != seg[:-1])]
    dv = np.where(reset, vol, vol - np.r_[NAN, vol[:-1]])
    dv = np.where(np.isnan(dv) | (dv < 0), 0.0, dv)
    last = ticks["last_price"]
    h_max = max(horizons)
    out = {}
    for side in ("buy", "sell"):
        px = "bid" if side == "buy" else "ask"
        sign = 1.0 if side == "buy" else -1.0  # a buy at P fills on prices <= P
        for kind in ("best", "behind"):
            name = f"{side}_{kind}"
            cols = {c: np.full(n, NAN) for c in ("q", "ticks", "ns", "cens")}
            fills = {h: np.full(n, NAN) for h in horizons}
            for t in range(n):
                best = ticks[f"{px}_price1"][t]
                if not best > 0:
                    continue
                p = best - sign * tick if kind == "behind" else best
                levels = [(ticks[f"{px}_price{i}"][t], ticks[f"{px}_volume{i}"][t]) for i in range(1, 6)]
                q = next((v if v > 0 else 0.0 for lp, v in levels if abs(lp - p) <= eps), 0.0)
                cols["q"][t] = q
                stop = min(n - 1, t + h_max)
                same = (seg == seg[t]) & ((day == day[t]) if expire else True)
                breaks = np.flatnonzero(~same[t + 1 : stop + 1])
                if breaks.size:
                    stop = t + breaks[0]
                idx = np.arange(t + 1, stop + 1)
                opp = ticks[("ask" if side == "buy" else "bid") + "_price1"][idx]
                traded = dv[idx] > 0
                through = ((opp > 0) & (sign * (opp - p) <= eps)) | (traded & (sign * (last[idx] - p) < -eps))
                at_p = traded & (np.abs(last[idx] - p) <= eps)
                queue_done = at_p & (np.cumsum(np.where(at_p, dv[idx], 0.0)) > q)
                hit = np.flatnonzero(through | queue_done)
                s = int(hit[0]) + 1 if hit.size else None
                cols["cens"][t] = 0.0 if s else 1.0
                if s:
                    cols["ticks"][t] = s
                    cols["ns"][t] = ticks["datetime_ns"][t + s] - ticks["datetime_ns"][t]
                for h in horizons:
                    if s and s <= h:
                        fills[h][t] = 1.0
                    elif t + h <= stop:  # the whole window was observable
                        fills[h][t] = 0.0
            out[f"queue_ahead_{name}"] = cols["q"]
            out[f"ttf_{name}_ticks"] = cols["ticks"]
            out[f"ttf_{name}_ns"] = cols["ns"]
            out[f"ttf_{name}_censored"] = cols["cens"]
            for h in horizons:
                out[f"fill_{name}_h{h}"] = fills[h]
    return out


@pytest.mark.parametrize(("seed", "expire"), [(0, True), (1, True), (2, False), (3, False)])
def test_agrees_with_reference_model_on_random_books(seed: int, expire: bool, random_book) -> None:
    rng = np.random.default_rng(seed)
    n = 240
    t = random_book(rng, n, TICK)
    day = np.repeat(np.arange(3), [90, 70, 80])
    seg = np.repeat([0, 0, 1], [90, 70, 80])
    horizons = (2, 8, 30)
    got = fill_labels(t, day, seg, TICK, horizons, expire_at_day_end=expire)
    want = ref_fill(t, day, seg, TICK, horizons, expire)
    assert set(got) == set(want)
    for name in got:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    # The sample exercises every outcome.
    assert 0 < np.nanmean(got["ttf_buy_best_censored"]) < 1
    assert (got["queue_ahead_buy_behind"] == 0).any() and (got["queue_ahead_buy_behind"] > 0).any()
    assert np.isnan(got["fill_sell_best_h30"]).any() and (got["fill_sell_best_h30"] == 0).any()


def test_label_ignores_rows_after_the_max_horizon(random_book) -> None:
    rng = np.random.default_rng(11)
    n, cut, horizons = 200, 120, (3, 25)
    t = random_book(rng, n, TICK)
    day = np.zeros(n, dtype=np.int64)
    seg = np.zeros(n, dtype=np.int64)
    base = fill_labels(t, day, seg, TICK, horizons)
    t2 = t.copy()
    other = random_book(np.random.default_rng(12), n, TICK)
    t2[cut + 1 :] = other[cut + 1 :]
    day2, seg2 = day.copy(), seg.copy()
    day2[cut + 1 :] = 5
    seg2[cut + 1 :] = 3
    moved = fill_labels(t2, day2, seg2, TICK, horizons)
    keep = cut - max(horizons) + 1
    changed = 0
    for name in base:
        np.testing.assert_array_equal(base[name][:keep], moved[name][:keep], err_msg=name)
        changed += not np.array_equal(base[name], moved[name], equal_nan=True)
    assert changed > 0


def test_invalid_arguments(make_ticks) -> None:
    t = quiet_book(make_ticks, 3)
    z = np.zeros(3, dtype=np.int64)
    with pytest.raises(LabelError, match="trading_day"):
        fill_labels(t, np.zeros(2, dtype=np.int64), z, TICK)
    with pytest.raises(LabelError, match="price_tick"):
        fill_labels(t, z, z, -1.0)
    with pytest.raises(LabelError, match="horizons"):
        fill_labels(t, z, z, TICK, (5, 5))
    dates = np.array(["2024-06-03"] * 3, dtype="datetime64[D]").astype(object)
    assert fill_labels(t, dates, z, TICK)["queue_ahead_buy_best"].shape == (3,)
