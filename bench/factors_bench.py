"""Factor engine benchmark: batch and online numba engines against the same factors in pandas.

Run:  .venv/bin/python bench/factors_bench.py --ticks 1000000

Measures, on one core: batch throughput (ticks/s) of the full registry and of CORE_L5_FACTORS;
online update latency per tick (p50/p99/max) for the full set and the core set; the core set
written the plain pandas way (groupby/shift/rolling idioms) and its throughput; the ratio
numba/pandas; the memory floor (reading the ticks once and writing the output matrix, no compute)
and so the highest ratio any engine could reach on this machine; the engine's compute alone (on a
batch small enough to stay in the CPU caches); and how well the pandas values
agree with the engine's (a cross-check of the definitions). The batch and pandas timings are taken side by side in ``--rounds`` rounds (batch:
best of ``--repeat`` per round, pandas: one run per round) and reported as medians over the
rounds, the speed-up with its range, since the machine may be shared. Prints the command and a
markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numba
import numpy as np
import pandas as pd

from ghtrader.domain.factors import (
    CORE_L5_FACTORS,
    OnlineFactorEngine,
    compute_factor_matrix,
    factor_names,
)
from ghtrader.domain.ticks import empty_ticks

TICK = 10.0
MULT = 5.0
TICKS_PER_DAY = 20_000
DAYS_PER_SEGMENT = 5


# --------------------------------------------------------------------------------------------
# synthetic ticks (vectorized; realistic enough: grid prices, L5 with gaps and holes, cumulative
# volume per day, several days and segments)
# --------------------------------------------------------------------------------------------
def make_ticks(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    t = empty_ticks(n)
    day = np.arange(n) // TICKS_PER_DAY
    seg = (day // DAYS_PER_SEGMENT).astype(np.int64)
    first_of_day = np.r_[True, day[1:] != day[:-1]]
    step = rng.uniform(0.2, 0.8, n)
    secs = np.cumsum(step)
    day_start = secs[first_of_day][day]
    t["datetime_ns"] = (
        np.datetime64("2024-01-02T01:00:00", "ns").astype(np.int64)
        + day.astype(np.int64) * 86_400_000_000_000
        + np.round((secs - day_start) * 1e9).astype(np.int64)
    )
    move = rng.choice([-1, 0, 1], size=n, p=[0.15, 0.7, 0.15])
    bid_idx = 7000 + np.cumsum(move)
    ask_idx = bid_idx + rng.choice([1, 2, 3], size=n, p=[0.8, 0.15, 0.05])
    pb, pa = bid_idx, ask_idx
    for lvl in range(1, 6):
        if lvl > 1:
            pb = pb - 1 - (rng.random(n) < 0.1)
            pa = pa + 1 + (rng.random(n) < 0.1)
        t[f"bid_price{lvl}"] = pb * TICK
        t[f"ask_price{lvl}"] = pa * TICK
        t[f"bid_volume{lvl}"] = rng.integers(1, 40, n) * lvl
        t[f"ask_volume{lvl}"] = rng.integers(1, 40, n) * lvl
    holes = rng.integers(0, n, int(0.03 * n))
    lv = rng.integers(2, 6, holes.size)
    for lvl in range(2, 6):
        h = holes[lv == lvl]
        t[f"bid_price{lvl}"][h[: h.size // 2]] = np.nan
        t[f"bid_volume{lvl}"][h[: h.size // 2]] = 0.0
        t[f"ask_price{lvl}"][h[h.size // 2 :]] = np.nan
        t[f"ask_volume{lvl}"][h[h.size // 2 :]] = 0.0
    dv = (rng.poisson(3.0, n) * (rng.random(n) < 0.6)).astype(float)
    dv[first_of_day] += 500.0
    px = np.where(rng.random(n) < 0.5, t["ask_price1"], t["bid_price1"])
    start = np.flatnonzero(first_of_day)
    cv = np.cumsum(dv)
    ca = np.cumsum(dv * px * MULT)
    t["volume"] = cv - np.repeat(np.r_[0.0, cv[start[1:] - 1]], np.diff(np.r_[start, n]))
    t["amount"] = ca - np.repeat(np.r_[0.0, ca[start[1:] - 1]], np.diff(np.r_[start, n]))
    t["average"] = t["amount"] / (t["volume"] * MULT)
    t["last_price"] = px
    t["highest"] = px
    t["lowest"] = px
    t["open_interest"] = 80000.0 + np.cumsum(rng.integers(-3, 4, n))
    own = np.log(0.5 * (t["bid_price1"] + t["ask_price1"]))
    extras = {
        "cu_mid": 70000.0 * np.exp(0.6 * (own - own[0]) + np.cumsum(rng.normal(0, 2e-5, n))),
        "au_mid": 480.0 * np.exp(np.cumsum(rng.normal(0, 3e-5, n))),
        "ag_mid": 6000.0 * np.exp(np.cumsum(rng.normal(0, 4e-5, n))),
    }
    return t, (day + 20000).astype(np.int64), seg, extras


# --------------------------------------------------------------------------------------------
# the core factors the plain pandas way
# --------------------------------------------------------------------------------------------
def pandas_core(ticks: np.ndarray, day: np.ndarray, seg: np.ndarray, tick: float) -> pd.DataFrame:
    """CORE_L5_FACTORS with pandas: vectorized columns, groupby(segment) shift/diff/rolling."""
    df = pd.DataFrame(ticks)
    df["day"] = day
    df["seg"] = seg
    g = df.groupby("seg", sort=False)
    pos = g.cumcount()  # ticks seen before this one in the segment
    out = pd.DataFrame(index=df.index)

    bv, av, bp, ap, bok, aok = {}, {}, {}, {}, {}, {}
    for i in range(1, 6):
        bp[i], ap[i] = df[f"bid_price{i}"], df[f"ask_price{i}"]
        bok[i] = (bp[i] > 0) & (df[f"bid_volume{i}"] > 0)
        aok[i] = (ap[i] > 0) & (df[f"ask_volume{i}"] > 0)
        bv[i] = df[f"bid_volume{i}"].where(bok[i], 0.0)
        av[i] = df[f"ask_volume{i}"].where(aok[i], 0.0)
    both = bok[1] & aok[1] & (ap[1] >= bp[1])
    mid = ((bp[1] + ap[1]) / 2).where(both)
    logmid = np.log(mid)

    dep1 = bv[1] + av[1]
    out["imb_l1"] = ((bv[1] - av[1]) / dep1).where(dep1 > 0)
    b5 = sum(bv.values())
    a5 = sum(av.values())
    out["imb_cum5"] = ((b5 - a5) / (b5 + a5)).where(b5 + a5 > 0)
    wn = sum((bv[i] - av[i]) / i for i in range(1, 6))
    wd = sum((bv[i] + av[i]) / i for i in range(1, 6))
    out["imb_dw"] = (wn / wd).where(wd > 0)
    out["micro_dev"] = (((ap[1] * bv[1] + bp[1] * av[1]) / (bv[1] + av[1]) - mid) / tick).where(both)
    pair = {i: bok[i] & aok[i] for i in range(1, 6)}
    wmn = sum((bp[i] * av[i] + ap[i] * bv[i]).where(pair[i], 0.0) for i in range(1, 6))
    wmd = sum((bv[i] + av[i]).where(pair[i], 0.0) for i in range(1, 6))
    out["wmid5_dev"] = ((wmn / wmd - mid) / tick).where(wmd > 0)
    out["spread_ticks"] = ((ap[1] - bp[1]) / tick).where(both)
    out["log_depth5"] = np.log1p(b5 + a5)

    def side_slope(prices, vols, oks, sign):
        n = sd = sD = sdd = sdD = 0.0
        cum = 0.0
        for i in range(1, 6):
            cum = cum + vols[i]
            ok = oks[i] & mid.notna()
            d = (sign * (mid - prices[i]) / tick).where(ok, 0.0)
            n = n + ok.astype(float)
            sd = sd + d
            sD = sD + cum.where(ok, 0.0)
            sdd = sdd + d * d
            sdD = sdD + d * cum.where(ok, 0.0)
        den = n * sdd - sd * sd
        return ((n * sdD - sd * sD) / den).where((n >= 2) & (den > 0))

    sb = side_slope(bp, bv, bok, 1.0)
    sa = side_slope(ap, av, aok, -1.0)
    out["slope_imb"] = ((sb - sa) / (sb + sa)).where(sb + sa > 0)

    # differences against the previous tick of the segment; volume restarts each trading day
    has_prev = pos > 0
    newday = df["day"] != g["day"].shift(1)
    prev_mid = mid.groupby(df["seg"]).shift(1)
    prev_spread = ((ap[1] - bp[1]) / tick).where(both).groupby(df["seg"]).shift(1)

    def day_diff(col: str) -> pd.Series:
        d = g[col].diff()
        d = d.where(~newday, df[col].where(df[col] >= 0))
        return d.where(has_prev & (d >= 0))

    dvol = day_diff("volume")
    damt = day_diff("amount")
    mult = (
        (df["amount"] / (df["volume"] * df["average"]))
        .where((df["volume"] > 0) & (df["amount"] > 0) & (df["average"] > 0))
        .groupby(df["seg"])
        .ffill()
    )
    notional = (damt / mult).where((dvol >= 0) & (damt >= 0) & (mult > 0))
    px = (notional / dvol).where((dvol > 0) & (notional > 0))
    px = px.fillna(df["last_price"].where((dvol > 0) & (df["last_price"] > 0)))
    prev_px = px.groupby(df["seg"]).shift(1)
    quote_sign = ((px - prev_mid) / (0.5 * prev_spread * tick)).clip(-1, 1)
    tick_rule = np.sign(px - prev_px).fillna(0.0)
    sign = quote_sign.where(prev_mid.notna() & (prev_spread > 0), tick_rule)
    sign = sign.where((dvol > 0) & px.notna())
    sign = sign.mask(dvol == 0, 0.0)
    q = sign * dvol

    def ofi_level(i: int) -> pd.Series:
        pbp, pap = g[f"bid_price{i}"].shift(1), g[f"ask_price{i}"].shift(1)
        pbv, pav = g[f"bid_volume{i}"].shift(1), g[f"ask_volume{i}"].shift(1)
        ok = bok[i] & aok[i] & (pbp > 0) & (pbv > 0) & (pap > 0) & (pav > 0)
        eb = bv[i].where(bp[i] >= pbp, 0.0) - pbv.where(bp[i] <= pbp, 0.0)
        ea = av[i].where(ap[i] <= pap, 0.0) - pav.where(ap[i] >= pap, 0.0)
        return (eb - ea).where(ok)

    def rolling_sum(x: pd.Series, w: int, minp: int) -> pd.Series:
        return x.groupby(df["seg"]).transform(lambda s: s.rolling(w, min_periods=minp).sum())

    def rolling_ratio(a: pd.Series, b: pd.Series, w: int, lookback: int) -> pd.Series:
        ok = a.notna() & b.notna()
        sa = rolling_sum(a.where(ok), w, (w + 1) // 2)
        sb = rolling_sum(b.where(ok), w, (w + 1) // 2)
        return (sa / sb).where((sb != 0) & (pos + 1 >= lookback))

    hdep = {i: 0.5 * (bv[i] + av[i]) for i in range(1, 6)}
    ofi = {i: ofi_level(i) for i in range(1, 6)}
    out["ofi_l1_10"] = rolling_ratio(ofi[1], hdep[1], 10, 11)
    defined = pd.concat([ofi[i].notna() for i in range(1, 6)], axis=1)
    ofisum = pd.concat([ofi[i] for i in range(1, 6)], axis=1).sum(axis=1, min_count=1)
    hdepsum = pd.concat([hdep[i].where(ofi[i].notna()) for i in range(1, 6)], axis=1).sum(axis=1)
    hdepsum = hdepsum.where(defined.any(axis=1))
    out["ofi_int_50"] = rolling_ratio(ofisum, hdepsum, 50, 51)
    out["tib_50"] = rolling_ratio(q, dvol, 50, 51)

    lm = logmid.groupby(df["seg"])
    ret = lm.diff() * 1e4
    for k in (1, 10, 100):
        out[f"ret_{k}"] = lm.diff(k) * 1e4
    out["rv_100"] = rolling_sum(ret * ret, 100, 50).where(pos + 1 >= 101)
    vwap = rolling_ratio(notional, dvol, 50, 51)
    out["vwap_dev_50"] = ((mid / vwap - 1.0) * 1e4).where(vwap > 0)
    dv_ok = dvol.notna()
    m10 = rolling_sum(dvol, 10, 5) / rolling_sum(dv_ok.astype(float).where(dv_ok), 10, 5)
    m500 = rolling_sum(dvol, 500, 250) / rolling_sum(dv_ok.astype(float).where(dv_ok), 500, 250)
    out["vol_surprise_10_500"] = np.log((m10 + 1.0) / (m500 + 1.0)).where(pos + 1 >= 501)
    dmid = (mid - prev_mid) / tick
    ok = q.notna() & dmid.notna()
    frame = pd.DataFrame({"q": q.where(ok), "d": dmid.where(ok), "seg": df["seg"]})
    cov = pd.concat([f["q"].rolling(100, min_periods=50).cov(f["d"]) for _, f in frame.groupby("seg", sort=False)])
    var = pd.concat([f["q"].rolling(100, min_periods=50).var() for _, f in frame.groupby("seg", sort=False)])
    out["kyle_100"] = (cov / var).where((var > 0) & (pos + 1 >= 101))
    return out[list(CORE_L5_FACTORS)]


# --------------------------------------------------------------------------------------------
def memory_floor(ticks: np.ndarray, n_out: int) -> float:
    """Read every byte of the ticks once and write an (n, n_out) float64 column-major matrix,
    with no arithmetic worth the name: what any engine taking these ticks and returning this
    matrix must at least spend on this machine. Returns a checksum so nothing is optimized away."""
    flat = ticks.view(np.float64)
    out = np.empty((ticks.shape[0], n_out), dtype=np.float64, order="F")
    out.fill(1.0)
    return float(np.add.reduce(flat, dtype=np.float64)) + float(out[-1, -1])


def cache_resident(ticks: np.ndarray, day: np.ndarray, seg: np.ndarray, names: list[str], block: int) -> float:
    """Seconds per tick of the batch engine when its input and output stay in the CPU caches: the
    first ``block`` ticks computed over and over (as many times as the full batch has blocks).
    This is the engine's compute alone, with next to no memory traffic."""
    t, d, s = ticks[:block].copy(), day[:block].copy(), seg[:block].copy()
    reps = max(1, ticks.shape[0] // block)
    t0 = time.perf_counter()
    for _ in range(reps):
        compute_factor_matrix(t, d, s, names=names, price_tick=TICK)
    return (time.perf_counter() - t0) / (reps * block)


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _online(ticks, day, seg, extras, names, n_updates):
    eng = OnlineFactorEngine(names, price_tick=TICK)
    lat = np.empty(n_updates)
    keys = list(extras) if eng.plan.needs_extras else []
    cols = [extras[k] for k in keys]
    for i in range(n_updates):
        ex = {k: float(c[i]) for k, c in zip(keys, cols, strict=False)} if keys else None
        row, d, s = ticks[i], int(day[i]), int(seg[i])
        t0 = time.perf_counter_ns()
        eng.update(row, d, s, ex)
        lat[i] = time.perf_counter_ns() - t0
    return lat[100:] / 1e3  # microseconds; the first updates include cache warm-up


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    fa, fb = np.isfinite(a), np.isfinite(b)
    either = fa | fb
    if not either.any():
        return float("nan")
    same = fa & fb & (np.abs(a - b) <= 1e-6 * (1.0 + np.abs(a)))
    return float(same.sum() / either.sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=1_000_000, help="ticks in the batch (default 1,000,000)")
    ap.add_argument("--online", type=int, default=20_000, help="ticks fed to the online engines")
    ap.add_argument("--repeat", type=int, default=3, help="batch timings: best of N per round")
    ap.add_argument("--rounds", type=int, default=3, help="side-by-side rounds of batch and pandas timings")
    ap.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    ap.add_argument(
        "--cache-block", type=int, default=32_768, help="ticks per batch of the cache-resident (compute alone) timing"
    )
    args = ap.parse_args(argv)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    ticks, day, seg, extras = make_ticks(args.ticks)
    core = list(CORE_L5_FACTORS)
    t0 = time.perf_counter()
    compute_factor_matrix(
        ticks[:1000], day[:1000], seg[:1000], extras={k: v[:1000] for k, v in extras.items()}, price_tick=TICK
    )
    jit_s = time.perf_counter() - t0

    def batch(names):
        return compute_factor_matrix(ticks, day, seg, names=names, extras=extras, price_tick=TICK)

    full, fast, slow, bare, warm = [], [], [], [], []
    block = min(args.cache_block, args.ticks)
    for _ in range(max(1, args.rounds)):
        full.append(_best(lambda: batch(None), args.repeat))
        fast.append(_best(lambda: batch(core), args.repeat))
        bare.append(_best(lambda: memory_floor(ticks, len(core)), args.repeat))
        warm.append(min(cache_resident(ticks, day, seg, core, block) for _ in range(args.repeat)))
        if not args.no_pandas:
            slow.append(_best(lambda: pandas_core(ticks, day, seg, TICK), 1))
    full_s, core_s, floor_s = float(np.median(full)), float(np.median(fast)), float(np.median(bare))
    warm_s = float(np.median(warm)) * args.ticks
    n_online = min(args.online, args.ticks)
    lat_full = _online(ticks, day, seg, extras, None, n_online)
    lat_core = _online(ticks, day, seg, extras, core, n_online)

    n = args.ticks
    rounds = f"median of {len(fast)} rounds, best of {args.repeat} each"
    rows = [
        ("factors (full registry / core L5)", f"{len(factor_names())} / {len(core)}", ""),
        ("JIT compile or cache load, first call", f"{jit_s:.2f} s", ""),
        ("batch, full set", f"{n / full_s:,.0f} ticks/s", f"{full_s:.3f} s for {n:,} ticks ({rounds})"),
        ("batch, core L5", f"{n / core_s:,.0f} ticks/s", f"{core_s:.3f} s"),
        (
            "memory floor for core L5: read the ticks once, write the float64 output, no compute",
            f"{n / floor_s:,.0f} ticks/s",
            f"{floor_s:.3f} s; core L5 batch takes {core_s / floor_s:.1f}x this",
        ),
        (
            f"core L5 compute alone: {block:,}-tick batches that stay in the CPU caches",
            f"{n / warm_s:,.0f} ticks/s",
            f"{warm_s / n * 1e9:.0f} ns per tick",
        ),
        (
            "online update, full set: p50 / p99 / max",
            f"{np.percentile(lat_full, 50):.1f} / {np.percentile(lat_full, 99):.1f} / {lat_full.max():.0f} us",
            f"{lat_full.size:,} updates",
        ),
        (
            "online update, core L5: p50 / p99 / max",
            f"{np.percentile(lat_core, 50):.1f} / {np.percentile(lat_core, 99):.1f} / {lat_core.max():.0f} us",
            "",
        ),
    ]
    if not args.no_pandas:
        pd_s = float(np.median(slow))
        ratios = [p / c for p, c in zip(slow, fast, strict=False)]
        ref = pandas_core(ticks, day, seg, TICK)
        mat, names = batch(core)
        agree = [_agreement(mat[:, j], ref[name].to_numpy(dtype=float)) for j, name in enumerate(names)]
        rows += [
            ("pandas, core L5", f"{n / pd_s:,.0f} ticks/s", f"{pd_s:.3f} s (median of {len(slow)} single runs)"),
            (
                "speed-up batch core L5 vs pandas",
                f"{np.median(ratios):.1f}x",
                f"per round {min(ratios):.1f}x .. {max(ratios):.1f}x",
            ),
            (
                "ceiling: pandas vs the memory floor",
                f"{np.median([p / f for p, f in zip(slow, bare, strict=False)]):.1f}x",
                "no engine with this input and output can beat this ratio here",
            ),
            (
                "ceiling: pandas vs the engine's compute alone",
                f"{np.median([p / w / n for p, w in zip(slow, warm, strict=False)]):.1f}x",
                "the ratio if reading the ticks and writing the output cost nothing",
            ),
            (
                "speed-up batch full set vs pandas core L5",
                f"{pd_s / full_s:.1f}x",
                f"{len(factor_names())} vs {len(core)} factors",
            ),
            (
                "pandas vs engine values, core L5: share of ticks equal (worst factor)",
                f"{np.nanmin(agree):.4f}",
                "all factors agree" if np.nanmin(agree) == 1.0 else names[int(np.nanargmin(agree))],
            ),
        ]
    print("command: " + " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load:.2f} at start; numba {numba.__version__}, "
        f"pandas {pd.__version__}, numpy {np.__version__}"
    )
    print()
    print("| measure | value | note |")
    print("|---|---|---|")
    for a, b, c in rows:
        print(f"| {a} | {b} | {c} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
