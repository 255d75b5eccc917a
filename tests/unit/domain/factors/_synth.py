"""Seeded synthetic L5 ticks for the factor tests, and helpers running both engines over them.

The batch: two trading days of about an hour each (prices on a 10-CNY grid around 70,000,
cumulative volume and turnover restarting each day, a 15-minute break inside day 1), a segment
change in the middle of day 2, NaN book levels sprinkled in (missing sides, thin bid levels
4-5, a few rows without volume or a level-1 side), and as-of mids of three other varieties.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ghtrader.domain.factors import OnlineFactorEngine, compute_factor_matrix
from ghtrader.domain.ticks import empty_ticks

PRICE_TICK = 10.0
MULTIPLIER = 5.0
N_DAY = 7000
SEG_SPLIT = 7600  # first tick of segment 1 (inside day 2)
BREAK_AT = 4000  # a 15-minute gap inside day 1
_DAY_OPEN_UTC = (np.datetime64("2024-03-04T01:00:00", "ns"), np.datetime64("2024-03-05T01:00:00", "ns"))


@dataclass
class Synth:
    ticks: np.ndarray
    day: np.ndarray
    seg: np.ndarray
    extras: dict[str, np.ndarray]
    price_tick: float = PRICE_TICK
    meta: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ticks.shape[0])

    def slice(self, start: int, stop: int | None = None) -> Synth:
        sl = slice(start, stop)
        return Synth(
            self.ticks[sl].copy(),
            self.day[sl].copy(),
            self.seg[sl].copy(),
            {k: v[sl].copy() for k, v in self.extras.items()},
            self.price_tick,
        )


def make_synth(seed: int = 7, n_day: int = N_DAY, seg_split: int = SEG_SPLIT) -> Synth:
    """Two trading days of realistic L5 ticks (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n = 2 * n_day
    t = empty_ticks(n)
    # clock: ~0.5 s steps from 09:00 Beijing each day, one 15-minute break on day 1
    steps = rng.uniform(0.2, 0.8, n)
    steps[BREAK_AT] += 900.0
    times = np.empty(n, dtype=np.int64)
    for d in range(2):
        sl = slice(d * n_day, (d + 1) * n_day)
        secs = np.cumsum(steps[sl]) - steps[sl][0]
        times[sl] = _DAY_OPEN_UTC[d].astype(np.int64) + np.round(secs * 1e9).astype(np.int64)
    t["datetime_ns"] = times
    day = np.repeat(np.array(["2024-03-04", "2024-03-05"], dtype="datetime64[D]"), n_day)
    seg = np.where(np.arange(n) < seg_split, 0, 1).astype(np.int64)

    # book on the tick grid: bid1 index walks, spread 1..3 ticks, levels one tick apart with gaps
    move = rng.choice([-1, 0, 1], size=n, p=[0.15, 0.7, 0.15])
    bid_idx = 7000 + np.cumsum(move)
    spread = rng.choice([1, 2, 3], size=n, p=[0.8, 0.15, 0.05])
    ask_idx = bid_idx + spread
    bi, ai = bid_idx, ask_idx
    for lvl in range(1, 6):
        gap_b = rng.random(n) < 0.1
        gap_a = rng.random(n) < 0.1
        if lvl > 1:
            bi = bi - 1 - gap_b
            ai = ai + 1 + gap_a
        t[f"bid_price{lvl}"] = bi * PRICE_TICK
        t[f"ask_price{lvl}"] = ai * PRICE_TICK
        t[f"bid_volume{lvl}"] = rng.integers(1, 40, n) * lvl
        t[f"ask_volume{lvl}"] = rng.integers(1, 40, n) * lvl

    # missing data: random empty sides, a thin stretch without bid levels 4-5, rows without L1 bid
    for _ in range(int(0.03 * n)):
        r = rng.integers(0, n)
        lvl = rng.integers(2, 6)
        side = "bid" if rng.random() < 0.5 else "ask"
        t[f"{side}_price{lvl}"][r] = np.nan
        t[f"{side}_volume{lvl}"][r] = 0.0
    thin = slice(2500, 2700)
    for lvl in (4, 5):
        t[f"bid_price{lvl}"][thin] = np.nan
        t[f"bid_volume{lvl}"][thin] = 0.0
    no_bid = rng.choice(n, size=int(0.005 * n), replace=False)
    t["bid_price1"][no_bid] = np.nan
    t["bid_volume1"][no_bid] = 0.0

    # trades: cumulative volume and turnover per day, last price at the touched side
    dv = rng.poisson(3.0, n) * (rng.random(n) < 0.6)
    buy = rng.random(n) < 0.5 + 0.2 * np.tanh(np.concatenate([[0], move[1:]]))
    bid1 = bid_idx * PRICE_TICK
    ask1 = ask_idx * PRICE_TICK
    trade_px = np.where(buy, ask1, bid1)
    last = np.empty(n)
    cumvol = np.empty(n)
    cumamt = np.empty(n)
    for d in range(2):
        sl = slice(d * n_day, (d + 1) * n_day)
        v = dv[sl].astype(float)
        v[0] += 500.0  # the opening trade of the day
        cumvol[sl] = np.cumsum(v)
        cumamt[sl] = np.cumsum(v * trade_px[sl] * MULTIPLIER)
        lp = np.where(v > 0, trade_px[sl], np.nan)
        # forward-fill the last trade price
        idx = np.where(~np.isnan(lp), np.arange(lp.size), 0)
        np.maximum.accumulate(idx, out=idx)
        last[sl] = lp[idx]
        last[sl][np.isnan(last[sl])] = trade_px[sl][0]
        t["highest"][sl] = np.maximum.accumulate(last[sl])
        t["lowest"][sl] = np.minimum.accumulate(last[sl])
    t["last_price"] = last
    t["volume"] = cumvol
    t["amount"] = cumamt
    t["average"] = cumamt / (cumvol * MULTIPLIER)
    t["open_interest"] = 80000.0 + np.cumsum(rng.integers(-3, 4, n))
    bad_vol = rng.choice(n, size=10, replace=False)
    t["volume"][bad_vol] = np.nan
    t["amount"][bad_vol] = np.nan

    # other varieties: correlated log returns, au lagging ours by one tick, ag independent
    own_r = np.diff(np.log(0.5 * (bid1 + ask1)), prepend=np.log(0.5 * (bid1[0] + ask1[0])))
    cu = 70000.0 * np.exp(np.cumsum(0.6 * own_r + rng.normal(0, 2e-5, n)))
    au = 480.0 * np.exp(np.cumsum(0.4 * np.roll(own_r, 1) + rng.normal(0, 3e-5, n)))
    ag = 6000.0 * np.exp(np.cumsum(rng.normal(0, 4e-5, n)))
    au[rng.random(n) < 0.01] = np.nan
    extras = {"cu_mid": cu, "au_mid": au, "ag_mid": ag}
    return Synth(t, day, seg, extras)


def run_online(synth: Synth, names=None) -> np.ndarray:
    """Feed ``synth`` tick by tick to an online engine; returns the stacked values."""
    eng = OnlineFactorEngine(names, price_tick=synth.price_tick)
    out = np.empty((len(synth), len(eng.names)))
    keys = list(synth.extras)
    cols = [synth.extras[k] for k in keys]
    for i in range(len(synth)):
        ex = {k: float(c[i]) for k, c in zip(keys, cols, strict=True)}
        out[i] = eng.update(synth.ticks[i], synth.day[i], int(synth.seg[i]), ex)
    return out


def run_batch(synth: Synth, names=None) -> tuple[np.ndarray, tuple[str, ...]]:
    return compute_factor_matrix(
        synth.ticks, synth.day, synth.seg, names=names, extras=synth.extras, price_tick=synth.price_tick
    )
