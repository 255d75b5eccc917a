"""hftbacktest 2.4.4 replaying the shared L5 snapshot file (runs in bench/.venv-hft, not the project venv).

Run:  $(bench/hftbacktest_env.sh) bench/bench_hftbacktest.py [--file data/bench/cu_l5_1m.npz] [--repeat 3]

Conversion (numba, not timed): the first snapshot becomes one depth-snapshot event per level; each
later snapshot becomes per-level diffs against the previous one (levels that left the five shown
get qty 0, then new or changed levels their size; deletions of both sides first so the book never
crosses mid-snapshot), preceded by the trades inferred from the cumulative counters: delta volume
split over the two ticks around the VWAP (delta amount / (delta volume * multiplier)) exactly as
the micro-sim's ``split_vwap`` does, each part a trade event whose aggressor is a buyer when its
price is at or above the previous mid, else a seller (L5 data does not say). No trades across a
trading-day boundary. Local (feed) timestamps are exchange time + ``--feed-ms``.

Runs: (a) pure replay, elapsing to the end of the data with no orders; (b) the re-quoting strategy
of the micro-sim's ``QuoteStrategy`` (1 lot GTC at the best bid and ask, re-sent when a best price
moves, no buy at position >= 5, no sell at <= -5), deciding once per snapshot at its local time,
under RiskAdverseQueueModel, PowerProbQueueModel(n=2) and LogProbQueueModel, constant order
latency ``--entry-ms`` (response 0, as the micro-sim's strategy learns of fills at once), the
no-partial-fill exchange. Timed: backtester build + replay + close, best of ``--repeat``.
``--json`` prints one JSON line per run for bench_microsim_vs_hftbacktest.sh.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from hftbacktest import (
    BUY_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EXCH_EVENT,
    GTC,
    LIMIT,
    LOCAL_EVENT,
    SELL_EVENT,
    TRADE_EVENT,
    BacktestAsset,
    HashMapMarketDepthBacktest,
    event_dtype,
)
from numba import njit

_FLAGS = EXCH_EVENT | LOCAL_EVENT


@njit(cache=True)
def _split_vwap(qty, vwap, tick):
    x = vwap / tick
    k = np.floor(x + 1e-9)
    frac = x - k
    if frac < 1e-6 or frac > 1.0 - 1e-6:
        lo = np.floor(x + 0.5) * tick
        return lo, qty, lo, 0.0
    q_hi = qty * frac
    return k * tick, qty - q_hi, k * tick + tick, q_hi


@njit(cache=True)
def _put(ev, n, flag, ts, local, px, qty):
    ev[n]["ev"] = flag
    ev[n]["exch_ts"] = ts
    ev[n]["local_ts"] = local
    ev[n]["px"] = px
    ev[n]["qty"] = qty
    return n + 1


@njit(cache=True)
def _in(px, prices, eps):
    for k in range(prices.shape[0]):
        if abs(prices[k] - px) < eps:
            return k
    return -1


@njit(cache=True)
def _convert(t, bid_p, bid_v, ask_p, ask_v, volume, amount, day_start, tick, mult, feed_ns, ev):
    """Fill ``ev`` (capacity >= 30 rows per snapshot) and return the row count."""
    eps = tick * 1e-3
    n = 0
    levels = bid_p.shape[1]
    for lv in range(levels):
        if bid_p[0, lv] == bid_p[0, lv]:
            n = _put(ev, n, DEPTH_SNAPSHOT_EVENT | _FLAGS | BUY_EVENT, t[0], t[0] + feed_ns, bid_p[0, lv], bid_v[0, lv])
        if ask_p[0, lv] == ask_p[0, lv]:
            n = _put(
                ev, n, DEPTH_SNAPSHOT_EVENT | _FLAGS | SELL_EVENT, t[0], t[0] + feed_ns, ask_p[0, lv], ask_v[0, lv]
            )
    for i in range(1, t.shape[0]):
        ts = t[i]
        lt = ts + feed_ns
        if not day_start[i]:
            dv = volume[i] - volume[i - 1]
            da = amount[i] - amount[i - 1]
            if dv > 0.0 and da > 0.0:
                lo, q_lo, hi, q_hi = _split_vwap(dv, da / (dv * mult), tick)
                mid = 0.5 * (bid_p[i - 1, 0] + ask_p[i - 1, 0])
                for px, q in ((lo, q_lo), (hi, q_hi)):
                    if q > 0.0:
                        side = BUY_EVENT if px >= mid - eps else SELL_EVENT
                        n = _put(ev, n, TRADE_EVENT | _FLAGS | side, ts, lt, px, q)
        for s in range(2):
            pp = bid_p if s == 0 else ask_p
            flag = DEPTH_EVENT | _FLAGS | (BUY_EVENT if s == 0 else SELL_EVENT)
            for lv in range(levels):
                px = pp[i - 1, lv]
                if px == px and _in(px, pp[i], eps) < 0:
                    n = _put(ev, n, flag, ts, lt, px, 0.0)
        for s in range(2):
            pp = bid_p if s == 0 else ask_p
            vv = bid_v if s == 0 else ask_v
            flag = DEPTH_EVENT | _FLAGS | (BUY_EVENT if s == 0 else SELL_EVENT)
            for lv in range(levels):
                px = pp[i, lv]
                if px != px:
                    continue
                k = _in(px, pp[i - 1], eps)
                if k < 0 or vv[i - 1, k] != vv[i, lv]:
                    n = _put(ev, n, flag, ts, lt, px, vv[i, lv])
    return n


def convert(ticks: np.ndarray, day_start: np.ndarray, tick: float, mult: float, feed_ns: int) -> np.ndarray:
    """hftbacktest events of the snapshots (see the module docstring)."""

    def lv(name: str) -> np.ndarray:
        return np.ascontiguousarray(np.stack([ticks[f"{name}{k}"] for k in range(1, 6)], axis=1), dtype=np.float64)

    ev = np.zeros(ticks.shape[0] * 24 + 16, dtype=event_dtype)
    n = _convert(
        np.ascontiguousarray(ticks["datetime_ns"], dtype=np.int64),
        lv("bid_price"), lv("bid_volume"), lv("ask_price"), lv("ask_volume"),
        np.ascontiguousarray(ticks["volume"], dtype=np.float64),
        np.ascontiguousarray(ticks["amount"], dtype=np.float64),
        np.ascontiguousarray(day_start, dtype=np.bool_), tick, mult, feed_ns, ev,
    )  # fmt: skip
    return ev[:n].copy()


@njit
def _pure(hbt, step_ns):
    steps = 0
    hbt.wait_next_feed(False, step_ns)  # the clock starts at the first feed event
    while hbt.elapse(step_ns) == 0:
        steps += 1
    return steps


@njit
def _requote(hbt, decide_ns, day_end, qty, max_pos, fills_out):
    """Quote ``qty`` at the best bid / ask at each snapshot's local time; returns orders sent.
    After a trading day's last snapshot the working quotes are cancelled 10 ms later (the micro-sim
    expires them at the next day's first snapshot; no event lies in between)."""
    buy_id = 0
    sell_id = 0
    buy_px = np.nan
    sell_px = np.nan
    next_id = 1
    sent = 0
    eps = 1e-6
    for i in range(decide_ns.shape[0]):
        if i == 0:
            hbt.wait_next_feed(False, 1_000_000_000)  # the clock starts (at i64 max) on the first feed
        dt = decide_ns[i] - hbt.current_timestamp
        if dt > 0:
            hbt.elapse(dt)  # returns 1 at the last snapshot (end of data): still quote on it, as the micro-sim does
        hbt.clear_inactive_orders(0)
        orders = hbt.orders(0)
        if buy_id != 0 and buy_id not in orders:
            buy_id = 0
        if sell_id != 0 and sell_id not in orders:
            sell_id = 0
        depth = hbt.depth(0)
        pos = hbt.position(0)
        bb = depth.best_bid
        ba = depth.best_ask
        ok = np.isfinite(bb) and pos < max_pos
        if not (buy_id != 0 and ok and abs(bb - buy_px) < eps):
            if buy_id != 0:
                hbt.cancel(0, buy_id, False)
                buy_id = 0
            if ok:
                buy_id = next_id
                next_id += 1
                buy_px = bb
                hbt.submit_buy_order(0, buy_id, bb, qty, GTC, LIMIT, False)
                sent += 1
        ok = np.isfinite(ba) and pos > -max_pos
        if not (sell_id != 0 and ok and abs(ba - sell_px) < eps):
            if sell_id != 0:
                hbt.cancel(0, sell_id, False)
                sell_id = 0
            if ok:
                sell_id = next_id
                next_id += 1
                sell_px = ba
                hbt.submit_sell_order(0, sell_id, ba, qty, GTC, LIMIT, False)
                sent += 1
        if day_end[i]:
            hbt.elapse(10_000_000)
            if buy_id != 0:
                hbt.cancel(0, buy_id, False)
                buy_id = 0
            if sell_id != 0:
                hbt.cancel(0, sell_id, False)
                sell_id = 0
    fills_out[0] = hbt.state_values(0).num_trades
    fills_out[1] = hbt.position(0)
    return sent


def make_backtest(events: np.ndarray, tick: float, mult: float, model: str, entry_ns: int):
    asset = (
        BacktestAsset()
        .data([events])
        .linear_asset(mult)
        .constant_order_latency(entry_ns, 0)
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(tick)
        .lot_size(1.0)
        .last_trades_capacity(0)
    )
    if model == "risk_averse":
        asset = asset.risk_adverse_queue_model()
    elif model == "prob_power":
        asset = asset.power_prob_queue_model(2.0)
    elif model == "prob_log":
        asset = asset.log_prob_queue_model()
    else:
        raise ValueError(model)
    return HashMapMarketDepthBacktest([asset])


def run(events, decide_ns, day_end, tick, mult, model, entry_ns, strategy, max_pos=5.0) -> tuple[float, float, dict]:
    """``(build_s, replay_s, stats)`` of one backtest."""
    t0 = time.perf_counter()
    hbt = make_backtest(events, tick, mult, model, entry_ns)
    t1 = time.perf_counter()
    out = np.zeros(2)
    if strategy:
        sent = _requote(hbt, decide_ns, day_end, 1.0, max_pos, out)
    else:
        sent = 0
        _pure(hbt, 10_000_000_000)
    hbt.close()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, {"orders": int(sent), "fills": int(out[0]), "position": float(out[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default="data/bench/cu_l5_1m.npz")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--feed-ms", type=float, default=5.0)
    parser.add_argument("--entry-ms", type=float, default=5.0)
    parser.add_argument("--models", default="risk_averse,prob_power,prob_log")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    z = np.load(args.file)
    ticks, day_start = z["ticks"], z["day_start"]
    tick, mult = float(z["tick"]), float(z["multiplier"])
    feed_ns, entry_ns = int(args.feed_ms * 1e6), int(args.entry_ms * 1e6)
    t0 = time.perf_counter()
    events = convert(ticks, day_start, tick, mult, feed_ns)
    conv_s = time.perf_counter() - t0
    n = ticks.shape[0]
    decide = ticks["datetime_ns"].astype(np.int64) + feed_ns
    day_end = np.zeros(n, dtype=np.bool_)
    day_end[:-1] = day_start[1:]
    warm = convert(ticks[:3000], day_start[:3000], tick, mult, feed_ns)
    run(warm, decide[:3000], day_end[:3000], tick, mult, "risk_averse", entry_ns, True)  # JIT warm-up
    run(warm, decide[:3000], day_end[:3000], tick, mult, "risk_averse", entry_ns, False)
    kinds = np.bincount((events["ev"] & 0xFF).astype(np.int64), minlength=5)
    if not args.json:
        print(
            f"{n} snapshots -> {events.shape[0]} events ({events.shape[0] / n:.2f} per snapshot: "
            f"{kinds[4]} snapshot, {kinds[1]} depth diff, {kinds[2]} trade), converted in {conv_s:.1f} s\n"
        )
        print("| run | queue model | build (s) | replay (s) | snapshots/s | events/s | orders | fills |")
        print("|---|---|---|---|---|---|---|---|")
    runs = [("pure replay", "risk_averse", False)] + [("re-quote", m, True) for m in args.models.split(",")]
    for name, model, strat in runs:
        best = (float("inf"), float("inf"), {})
        for _ in range(args.repeat):
            b, r, st = run(events, decide, day_end, tick, mult, model, entry_ns, strat)
            if b + r < best[0] + best[1]:
                best = (b, r, st)
        b, r, st = best
        wall = b + r
        row = {
            "engine": "hftbacktest", "run": name, "model": model, "build_s": b, "replay_s": r, "wall_s": wall,
            "snapshots": n, "events": int(events.shape[0]), **st,
        }  # fmt: skip
        if args.json:
            print(json.dumps(row))
        else:
            print(
                f"| {name} | {model} | {b:.3f} | {r:.3f} | {n / wall:,.0f} | {events.shape[0] / wall:,.0f} | "
                f"{st['orders']} | {st['fills']} |"
            )


if __name__ == "__main__":
    main()
