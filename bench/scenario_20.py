"""A hand-made 20-snapshot SHFE.cu L5 scenario run through the micro-sim and hftbacktest with the
same orders (numpy only: both virtualenvs import it). Each order shows one rule:

* A  buy 70000 (best bid, 10 ahead): trades and cancels at its level; the queue models disagree
  on a cancel when lots joined behind A (s2, s3), so A fills at s4 or s5.
* B  sell 70020 (second ask, 20 ahead): buyers sweep 70010, then 70020 and 3 lots at 70030 (s7):
  the trade went through B's price.
* C  buy 69990 (second bid): the price falls; s9's best ask reaches 69990.
* D  sell 70000 with a cancel sent 2 ms before s10, where the best bid rises to 70000: the fill
  arrives while the cancel is in flight.
* E  buy 69990, arriving just after s10 (20 shown there); s11 shows the level grown 20 -> 40 (no
  trades), s12 has 25 lots traded at 69990: E joined behind the 20 seen on arrival, so it fills.

Snapshots every 500 ms; feed latency 5 ms, entry / cancel latency 5 ms, 1 lot per order.
"""

from __future__ import annotations

import numpy as np

TICK = 10.0
MULT = 5.0
FEED_NS = 5_000_000
ENTRY_NS = 5_000_000
T0 = 1_800_000_000_000_000_000  # exchange time of s0
STEP_NS = 500_000_000
FIELDS = ["datetime_ns", "volume", "amount"] + [
    f"{s}_{k}{lv}" for s in ("bid", "ask") for k in ("price", "volume") for lv in range(1, 6)
]

# per snapshot: (best bid, 5 bid sizes, best ask, 5 ask sizes, trades [(price, lots)] since the previous one)
_BOOK = [
    (70000, [10, 20, 30, 40, 50], 70010, [10, 20, 30, 40, 50], []),  # s0
    (70000, [6, 20, 30, 40, 50], 70010, [10, 20, 30, 40, 50], [(70000, 4)]),  # s1: 4 traded at A's level
    (70000, [16, 20, 30, 40, 50], 70010, [10, 20, 30, 40, 50], []),  # s2: 10 lots join behind A
    (70000, [12, 20, 30, 40, 50], 70010, [10, 20, 30, 40, 50], []),  # s3: 4 cancelled, no trade
    (70000, [7, 20, 30, 40, 50], 70010, [10, 20, 30, 40, 50], [(70000, 5)]),  # s4
    (70000, [5, 20, 30, 40, 50], 70010, [10, 20, 30, 40, 50], [(70000, 2)]),  # s5
    (70000, [5, 20, 30, 40, 50], 70020, [20, 30, 40, 50, 60], [(70010, 10)]),  # s6: 70010 swept
    (70000, [5, 20, 30, 40, 50], 70030, [27, 40, 50, 60, 70], [(70020, 20), (70030, 3)]),  # s7: through B
    (69990, [20, 30, 40, 50, 60], 70000, [8, 10, 20, 30, 40], [(70000, 5)]),  # s8: bid level 70000 gone
    (69980, [30, 40, 50, 60, 70], 69990, [5, 8, 10, 20, 30], [(69990, 15)]),  # s9: ask reaches C
    (70000, [3, 20, 30, 40, 50], 70010, [10, 20, 30, 40, 50], [(69990, 5), (70000, 8)]),  # s10: bid up to D
    (70000, [3, 40, 30, 40, 50], 70010, [10, 20, 30, 40, 50], []),  # s11: 69990 grows 20 -> 40
    (69990, [15, 30, 40, 50, 60], 70010, [10, 20, 30, 40, 50], [(70000, 3), (69990, 25)]),  # s12
] + [(69990, [15, 30, 40, 50, 60], 70010, [10, 20, 30, 40, 50], [])] * 7  # s13..s19: quiet


def ticks() -> np.ndarray:
    """The 20 snapshots as a structured array with the L5 tick fields the replays read."""
    out = np.zeros(len(_BOOK), dtype=[(f, "i8" if f == "datetime_ns" else "f8") for f in FIELDS])
    volume = 1000.0
    amount = volume * 70000.0 * MULT
    for i, (bid, bid_v, ask, ask_v, trades) in enumerate(_BOOK):
        for px, q in trades:
            volume += q
            amount += px * q * MULT
        out[i]["datetime_ns"] = T0 + i * STEP_NS
        out[i]["volume"] = volume
        out[i]["amount"] = amount
        for lv in range(5):
            out[i][f"bid_price{lv + 1}"] = bid - lv * TICK
            out[i][f"bid_volume{lv + 1}"] = bid_v[lv]
            out[i][f"ask_price{lv + 1}"] = ask + lv * TICK
            out[i][f"ask_volume{lv + 1}"] = ask_v[lv]
    return out


# (send time after T0 in ms, "limit" or "cancel", side +1 / -1, price, order id)
ORDERS: list[tuple[int, str, int, float, int]] = [
    (100, "limit", 1, 70000.0, 1),  # A
    (100, "limit", -1, 70020.0, 2),  # B
    (100, "limit", 1, 69990.0, 3),  # C
    (4100, "limit", -1, 70000.0, 4),  # D
    (4998, "cancel", 0, 0.0, 4),  # cancel D, 2 ms before s10
    (5100, "limit", 1, 69990.0, 5),  # E
]

#: hand-computed fills: {queue model: {engine: {order id: snapshot index of its fill}}} (docs/microsim.md)
_AGREED = {2: 7, 3: 9, 4: 10, 5: 12}
EXPECTED: dict[str, dict[str, dict[int, int]]] = {
    "risk_averse": {"microsim": {1: 5, **_AGREED}, "hftbacktest": {1: 5, **_AGREED}},
    "prob_power": {"microsim": {1: 5, **_AGREED}, "hftbacktest": {1: 5, **_AGREED}},
    "prob_log": {"microsim": {1: 5, **_AGREED}, "hftbacktest": {1: 4, **_AGREED}},
}
