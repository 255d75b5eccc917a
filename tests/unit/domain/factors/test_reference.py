"""Engine values against straightforward reference implementations written from the formulas.

The references recompute base quantities with plain NumPy and loop over windows explicitly, on a
slice holding a 15-minute break (index 500) and a trading-day change (index 3500).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ._synth import MULTIPLIER, PRICE_TICK, run_batch

NAN = np.nan
TICK = PRICE_TICK


@pytest.fixture(scope="module")
def ref(synth):
    s = synth.slice(3500, 7600)
    mat, names = run_batch(s)
    return s, dict(zip(names, mat.T, strict=True)), _base(s)


def _present(p, v):
    return (p > 0) & (v > 0)


def _base(s):
    t, n = s.ticks, len(s)
    b = {}
    for i in range(1, 6):
        b[f"bok{i}"] = _present(t[f"bid_price{i}"], t[f"bid_volume{i}"])
        b[f"aok{i}"] = _present(t[f"ask_price{i}"], t[f"ask_volume{i}"])
        b[f"bv{i}"] = np.where(b[f"bok{i}"], t[f"bid_volume{i}"], 0.0)
        b[f"av{i}"] = np.where(b[f"aok{i}"], t[f"ask_volume{i}"], 0.0)
    bid1, ask1 = t["bid_price1"], t["ask_price1"]
    both = b["bok1"] & b["aok1"] & (ask1 >= bid1)
    mid = np.where(both, 0.5 * (bid1 + ask1), NAN)
    lm = np.log(mid)
    ret = np.r_[NAN, np.diff(lm) * 1e4]
    new_day = np.r_[True, s.day[1:] != s.day[:-1]]
    dvol = np.full(n, NAN)
    damt = np.full(n, NAN)
    for i in range(1, n):
        for src, dst in (("volume", dvol), ("amount", damt)):
            d = t[src][i] if new_day[i] else t[src][i] - t[src][i - 1]
            dst[i] = d if d >= 0 else NAN
    with np.errstate(invalid="ignore", divide="ignore"):
        px = np.where(dvol > 0, damt / MULTIPLIER / dvol, NAN)
    prev_mid = np.r_[NAN, mid[:-1]]
    prev_spread = np.r_[NAN, (ask1 - bid1)[:-1]]
    prev_spread = np.where(np.r_[False, both[:-1]], prev_spread, NAN)
    sign = np.full(n, NAN)
    for i in range(1, n):
        if dvol[i] == 0:
            sign[i] = 0.0
        elif dvol[i] > 0:
            if not np.isnan(prev_mid[i]) and prev_spread[i] > 0:
                sign[i] = min(1.0, max(-1.0, (px[i] - prev_mid[i]) / (0.5 * prev_spread[i])))
            elif not np.isnan(px[i - 1]):
                sign[i] = float(np.sign(px[i] - px[i - 1]))
            else:
                sign[i] = 0.0
    gap = np.r_[NAN, np.diff(t["datetime_ns"]) / 1e9]
    gap[gap > 600] = NAN
    b.update(
        mid=mid,
        lm=lm,
        ret=ret,
        dvol=dvol,
        damt=damt,
        px=px,
        prev_mid=prev_mid,
        sign=sign,
        q=sign * dvol,
        dt=gap,
        new_day=new_day,
    )
    return b


def _roll(n, w, lookback, fn):
    out = np.full(n, NAN)
    for i in range(lookback - 1, n):
        out[i] = fn(slice(i - w + 1, i + 1), i)
    return out


def _check(got, want):
    assert np.isnan(got).sum() < got.size, "reference comparison must cover values"
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, equal_nan=True)


def _ratio(a, b, w, minn=None):
    minn = (w + 1) // 2 if minn is None else minn

    def f(sl, i):
        ok = np.isfinite(a[sl]) & np.isfinite(b[sl])
        if ok.sum() < minn:
            return NAN
        den = b[sl][ok].sum()
        return a[sl][ok].sum() / den if den != 0 else NAN

    return f


def test_returns_and_acceleration(ref):
    s, got, b = ref
    n = len(s)
    _check(got["ret_5"], _roll(n, 1, 6, lambda sl, i: (b["lm"][i] - b["lm"][i - 5]) * 1e4))
    _check(got["acc_10"], _roll(n, 1, 21, lambda sl, i: (b["lm"][i] - 2 * b["lm"][i - 10] + b["lm"][i - 20]) * 1e4))


def test_realized_variance_family(ref):
    s, got, b = ref
    n, r = len(s), b["ret"]

    def rv(sl, i):
        x = r[sl][np.isfinite(r[sl])]
        return (x * x).sum() if x.size >= 25 else NAN

    _check(got["rv_50"], _roll(n, 50, 51, rv))
    lm = b["lm"]

    def hl(sl):
        x = lm[sl][np.isfinite(lm[sl])]
        return x.max(), x.min()

    _check(
        got["parkinson_100"], _roll(n, 100, 100, lambda sl, i: (np.subtract(*hl(sl))) ** 2 / (4 * math.log(2)) * 1e8)
    )

    def gk(sl, i):
        h, lo = hl(sl)
        o, c = lm[sl][0], lm[i]
        return (0.5 * (h - lo) ** 2 - (2 * math.log(2) - 1) * (c - o) ** 2) * 1e8

    _check(got["gk_100"], _roll(n, 100, 100, gk))

    def pos(sl, i):
        h, lo = hl(sl)
        return (lm[i] - lo) / (h - lo) if h > lo else NAN

    _check(got["range_pos_100"], _roll(n, 100, 100, pos))
    today = np.full(n, NAN)
    start = 0
    for i in range(n):
        if b["new_day"][i]:
            start = i
        x = r[start : i + 1] ** 2
        x = x[np.isfinite(x)]
        today[i] = 100 * x.mean() if x.size else NAN
    _check(got["har_rv_today"], today)


def test_trade_and_flow_ratios(ref):
    s, got, b = ref
    n = len(s)
    _check(got["tib_10"], _roll(n, 10, 11, _ratio(b["q"], b["dvol"], 10)))
    _check(got["amihud_50"], _roll(n, 50, 51, _ratio(np.abs(b["ret"]), b["damt"] / 1e6, 50)))
    one = np.ones(n)
    _check(got["tick_rate_50"], _roll(n, 50, 51, _ratio(one, b["dt"], 50)))
    t = s.ticks
    ofi = np.full(n, NAN)
    for i in range(1, n):
        bp, ap, pbp, pap = t["bid_price2"][i], t["ask_price2"][i], t["bid_price2"][i - 1], t["ask_price2"][i - 1]
        bv, av, pbv, pav = t["bid_volume2"][i], t["ask_volume2"][i], t["bid_volume2"][i - 1], t["ask_volume2"][i - 1]
        if min(bp, ap, pbp, pap, bv, av, pbv, pav) > 0:  # NaN compares False
            eb = (bv if bp >= pbp else 0) - (pbv if bp <= pbp else 0)
            ea = (av if ap <= pap else 0) - (pav if ap >= pap else 0)
            ofi[i] = eb - ea
    _check(got["ofi_l2_10"], _roll(n, 10, 11, _ratio(ofi, 0.5 * (b["bv2"] + b["av2"]), 10)))
    vwap = _roll(n, 50, 51, _ratio(b["damt"] / MULTIPLIER, b["dvol"], 50))
    _check(got["vwap_dev_50"], np.where(vwap > 0, (b["mid"] / vwap - 1) * 1e4, NAN))
    dv = b["dvol"]

    def surprise(sl, i):
        a = dv[i - 9 : i + 1]
        c = dv[i - 499 : i + 1]
        a, c = a[np.isfinite(a)], c[np.isfinite(c)]
        if a.size < 5 or c.size < 250:
            return NAN
        return math.log((a.mean() + 1) / (c.mean() + 1))

    _check(got["vol_surprise_10_500"], _roll(n, 1, 501, surprise))
    _check(got["log_dvol"], np.log1p(dv))


def test_kyle_correlations_and_zscore(ref):
    s, got, b = ref
    n = len(s)
    dmid = np.r_[NAN, np.diff(b["mid"])] / TICK

    def beta(x, y, w, lag=0):
        def f(sl, i):
            xs = x[sl]
            ys = y[sl.start - lag : sl.stop - lag]
            ok = np.isfinite(xs) & np.isfinite(ys)
            if ok.sum() < (w + 1) // 2 or np.var(xs[ok]) == 0:
                return NAN
            return np.cov(xs[ok], ys[ok], bias=True)[0, 1] / np.var(xs[ok])

        return f

    def corr(x, y, w, lag=0):
        def f(sl, i):
            xs = x[sl]
            ys = y[sl.start - lag : sl.stop - lag]
            ok = np.isfinite(xs) & np.isfinite(ys)
            if ok.sum() < (w + 1) // 2 or np.var(xs[ok]) == 0 or np.var(ys[ok]) == 0:
                return NAN
            return np.corrcoef(xs[ok], ys[ok])[0, 1]

        return f

    _check(got["kyle_50"], _roll(n, 50, 51, beta(b["q"], dmid, 50)))
    cu = np.log(s.extras["cu_mid"])
    au = np.log(s.extras["au_mid"])
    xret_cu = np.r_[NAN, np.diff(cu)] * 1e4
    xret_au = np.r_[NAN, np.diff(au)] * 1e4
    _check(got["xcorr_cu_100"], _roll(n, 100, 101, corr(b["ret"], xret_cu, 100)))
    _check(got["xlead_au_500"], _roll(n, 500, 502, corr(b["ret"], xret_au, 500, lag=1)))
    spr = (b["lm"] - au) * 1e4

    def z(sl, i):
        x = spr[sl][np.isfinite(spr[sl])]
        if x.size < 250 or not np.isfinite(spr[i]):
            return NAN
        return (spr[i] - x.mean()) / x.std()

    _check(got["xz_au_500"], _roll(n, 500, 500, z))
    spread = (s.ticks["ask_price1"] - s.ticks["bid_price1"]) / TICK
    spread = np.where(np.isfinite(b["mid"]), spread, NAN)
    want = 1.0 - _roll(n, 100, 101, corr(spread, spread, 100, lag=1))
    _check(got["spread_resil_100"], want)


def test_snapshot_book_factors(ref):
    s, got, b = ref
    t = s.ticks
    _check(got["imb_l3"], np.where(b["bv3"] + b["av3"] > 0, (b["bv3"] - b["av3"]) / (b["bv3"] + b["av3"]), NAN))
    _check(got["depth_l2"], b["bv2"] + b["av2"])
    bsum = sum(b[f"bv{i}"] for i in range(1, 6))
    _check(got["conc_bid"], np.where(bsum > 0, sum(b[f"bv{i}"] ** 2 for i in range(1, 6)) / bsum**2, NAN))
    asum = sum(b[f"av{i}"] for i in range(1, 6))
    _check(got["curv_ask"], np.where(asum > 0, (b["av1"] - 2 * b["av3"] + b["av5"]) / asum, NAN))
    gaps = np.full(len(s), NAN)
    slopes = np.full(len(s), NAN)
    for i in range(len(s)):
        prices = [t[f"ask_price{k}"][i] for k in range(1, 6) if b[f"aok{k}"][i]]
        if len(prices) >= 2:
            gaps[i] = (prices[-1] - prices[0]) / TICK / (len(prices) - 1)
        if np.isfinite(b["mid"][i]):
            d = [(b["mid"][i] - t[f"bid_price{k}"][i]) / TICK for k in range(1, 6) if b[f"bok{k}"][i]]
            cum = np.cumsum([b[f"bv{k}"][i] for k in range(1, 6)])
            c = [cum[k - 1] for k in range(1, 6) if b[f"bok{k}"][i]]
            if len(d) >= 2 and np.var(d) > 0:
                slopes[i] = np.polyfit(d, c, 1)[0]
    _check(got["gap_ask"], gaps)
    _check(got["slope_bid"], slopes)
    micro = (t["ask_price1"] * t["bid_volume1"] + t["bid_price1"] * t["ask_volume1"]) / (
        t["bid_volume1"] + t["ask_volume1"]
    )
    _check(got["micro_dev"], np.where(np.isfinite(b["mid"]), (micro - b["mid"]) / TICK, NAN))
    pb = sum(np.where(b[f"bok{k}"], b[f"bv{k}"] / ((b["mid"] - t[f"bid_price{k}"]) / TICK), 0.0) for k in range(1, 6))
    pa = sum(np.where(b[f"aok{k}"], b[f"av{k}"] / ((t[f"ask_price{k}"] - b["mid"]) / TICK), 0.0) for k in range(1, 6))
    _check(got["book_pressure"], np.where(np.isfinite(b["mid"]), (pb - pa) / (pb + pa), NAN))


def test_spreads_and_quote_age(ref):
    s, got, b = ref
    n = len(s)
    eff = 2 * np.abs(b["px"] - b["prev_mid"]) / b["prev_mid"] * 1e4
    _check(got["eff_spread"], eff)
    realized = np.full(n, NAN)
    for i in range(10, n):
        j = i - 10
        if np.isfinite(b["px"][j]) and np.isfinite(b["mid"][i]) and b["prev_mid"][j] > 0:
            realized[i] = 2 * b["sign"][j] * (b["px"][j] - b["mid"][i]) / b["prev_mid"][j] * 1e4
    want = _roll(n, 50, 61, lambda sl, i: np.nanmean(realized[sl]) if np.isfinite(realized[sl]).any() else NAN)
    _check(got["realized_spread_10_50"], want)
    t = s.ticks
    age = np.full(n, NAN)
    last_change = None
    for i in range(1, n):
        changed = False
        for side in ("bid", "ask"):
            p, v = t[f"{side}_price1"], t[f"{side}_volume1"]
            ok_now, ok_prev = p[i] > 0 and v[i] > 0, p[i - 1] > 0 and v[i - 1] > 0
            changed |= ok_now != ok_prev or (ok_now and ok_prev and p[i] != p[i - 1])
        if changed:
            last_change = i
        if last_change is not None:
            d = b["dt"][last_change + 1 : i + 1]
            age[i] = d[np.isfinite(d)].sum()
    _check(got["quote_age"], age)


def test_vpin(ref):
    s, got, b = ref
    n = len(s)
    alpha = 1.0 - 0.5 ** (1.0 / 500.0)
    ewma, started = 0.0, False
    cur_b = cur_s = cur_v = 0.0
    buckets: list[tuple[float, float]] = []
    want = np.full(n, NAN)
    for i in range(n):
        v, sg = b["dvol"][i], b["sign"][i]
        if np.isfinite(v) and v >= 0:
            ewma = v if not started else ewma + alpha * (v - ewma)
            started = True
            size = 10 * ewma
            if v > 0 and size > 0:
                bf = 0.5 * (1 + sg) if np.isfinite(sg) else 0.5
                rem, closed = v, 0
                while rem > 0 and closed <= 10:
                    take = min(rem, max(size - cur_v, 0.0))
                    cur_b, cur_s, cur_v, rem = cur_b + take * bf, cur_s + take * (1 - bf), cur_v + take, rem - take
                    if cur_v >= size * (1 - 1e-12):
                        buckets.append((abs(cur_b - cur_s), cur_v))
                        cur_b = cur_s = cur_v = 0.0
                        closed += 1
        if len(buckets) >= 10:
            last = buckets[-10:]
            want[i] = sum(x for x, _ in last) / sum(v for _, v in last)
    want[0] = NAN  # the first tick of the segment is inside the warm-up
    _check(got["vpin_10"], want)
