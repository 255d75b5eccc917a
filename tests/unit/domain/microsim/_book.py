"""Hand-made L5 snapshot sequences for the micro-simulator tests (cu: tick 10, multiplier 5)."""

from __future__ import annotations

import numpy as np

from ghtrader.domain.ticks import empty_ticks

MS = 1_000_000
TICK = 10.0
MULT = 5.0


def book(rows: list[dict]) -> np.ndarray:
    """Snapshots from rows ``{t_ms, bids: [(price, vol)...], asks: [...], volume, vwap_trades}``.

    ``trades`` is a list of ``(price, qty)`` traded since the previous row; volume and amount
    accumulate them exactly as the vendor's counters do.
    """
    x = empty_ticks(len(rows))
    vol = 0.0
    amt = 0.0
    for i, r in enumerate(rows):
        for p, q in r.get("trades", []):
            vol += q
            amt += p * q * MULT
        x["datetime_ns"][i] = r["t_ms"] * MS
        x["volume"][i] = vol
        x["amount"][i] = amt
        for lvl, (p, v) in enumerate(r["bids"], start=1):
            x[f"bid_price{lvl}"][i] = p
            x[f"bid_volume{lvl}"][i] = v
        for lvl, (p, v) in enumerate(r["asks"], start=1):
            x[f"ask_price{lvl}"][i] = p
            x[f"ask_volume{lvl}"][i] = v
    return x


def random_book(n: int, seed: int) -> np.ndarray:
    """A random-walk L5 book with trades at the best prices (for properties and determinism)."""
    rng = np.random.default_rng(seed)
    mid_ticks = 7000 + np.cumsum(rng.integers(-1, 2, size=n))
    rows = []
    for i in range(n):
        bid = float(mid_ticks[i] * TICK)
        ask = bid + TICK
        trades = []
        if i and rng.random() < 0.6:
            trades.append((bid if rng.random() < 0.5 else ask, int(rng.integers(1, 8))))
        rows.append(
            {
                "t_ms": 500 * i,
                "bids": [(bid - TICK * k, int(rng.integers(1, 20))) for k in range(5)],
                "asks": [(ask + TICK * k, int(rng.integers(1, 20))) for k in range(5)],
                "trades": trades,
            }
        )
    return book(rows)
