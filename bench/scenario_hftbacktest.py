"""The hftbacktest half of the 20-snapshot scenario (runs in bench/.venv-hft; see scenario_20.py).

Run:  $(bench/hftbacktest_env.sh) bench/scenario_hftbacktest.py [--model risk_averse]

Converts the scenario like bench_hftbacktest.py, sends the scenario's orders at their send times
(GTC limits, constant entry latency, response latency 0) and prints one JSON line: the fills as
``[order id, exchange time (ns), price]`` and the final status of every order.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from hftbacktest import FILLED, GTC, LIMIT
from numba import njit

import scenario_20 as sc
from bench_hftbacktest import convert, make_backtest


@njit
def _drive(hbt, step_ns, cmd_kind, cmd_side, cmd_px, cmd_id, n_orders, out):
    """Visit every step time (snapshot arrivals and command sends), send the commands due, and
    record each order's status, fill exchange time and fill price in ``out`` (rows by order id)."""
    hbt.wait_next_feed(False, 1_000_000_000)  # start the clock on the first feed
    for i in range(step_ns.shape[0]):
        dt = step_ns[i] - hbt.current_timestamp
        if dt > 0:
            hbt.elapse(dt)
        for k in range(cmd_kind.shape[0]):
            oid = cmd_id[k]
            if cmd_kind[k] == 0 and out[oid, 4] == step_ns[i]:
                if cmd_side[k] > 0:
                    hbt.submit_buy_order(0, oid, cmd_px[k], 1.0, GTC, LIMIT, False)
                else:
                    hbt.submit_sell_order(0, oid, cmd_px[k], 1.0, GTC, LIMIT, False)
            elif cmd_kind[k] == 1 and out[oid, 5] == step_ns[i]:
                hbt.cancel(0, oid, False)
        orders = hbt.orders(0)
        for oid in range(1, n_orders + 1):
            if oid in orders:
                o = orders.get(oid)
                if o.status == FILLED and out[oid, 0] != FILLED:
                    out[oid, 1] = o.exch_timestamp
                    out[oid, 2] = o.exec_price_tick
                out[oid, 0] = o.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="risk_averse")
    args = parser.parse_args()
    ticks = sc.ticks()
    day_start = np.zeros(ticks.shape[0], dtype=np.bool_)
    day_start[0] = True
    events = convert(ticks, day_start, sc.TICK, sc.MULT, sc.FEED_NS)
    hbt = make_backtest(events, sc.TICK, sc.MULT, args.model, sc.ENTRY_NS)
    send = np.array([sc.T0 + ms * 1_000_000 for ms, *_ in sc.ORDERS], dtype=np.int64)
    steps = np.unique(np.concatenate([ticks["datetime_ns"] + sc.FEED_NS, send]))
    n_orders = max(o[4] for o in sc.ORDERS)
    # rows by order id: status, fill exchange time, fill price in ticks, unused, limit send time, cancel send time
    out = np.full((n_orders + 1, 6), -1, dtype=np.int64)
    kind = np.array([0 if o[1] == "limit" else 1 for o in sc.ORDERS], dtype=np.int64)
    for (_ms, k, _side, _px, oid), t in zip(sc.ORDERS, send, strict=True):
        out[oid, 4 if k == "limit" else 5] = t
    _drive(
        hbt, steps, kind, np.array([o[2] for o in sc.ORDERS], dtype=np.int64),
        np.array([o[3] for o in sc.ORDERS]), np.array([o[4] for o in sc.ORDERS], dtype=np.int64), n_orders, out,
    )  # fmt: skip
    hbt.close()
    fills = [
        [oid, int(out[oid, 1]), float(out[oid, 2] * sc.TICK)] for oid in range(1, n_orders + 1) if out[oid, 1] >= 0
    ]
    status = {oid: int(out[oid, 0]) for oid in range(1, n_orders + 1)}
    print(json.dumps({"engine": "hftbacktest", "model": args.model, "fills": fills, "status": status}))


if __name__ == "__main__":
    main()
