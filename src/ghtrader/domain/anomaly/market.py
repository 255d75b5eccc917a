"""Market detectors: liquidity against a rolling baseline, volume against a session profile and
the CU / AU / AG return-correlation break. Causal and vectorised.

- ``spread_widening``: spread (ticks) over the rolling median spread of the previous ``window``
  ticks.
- ``depth_depletion``: rolling median of the thinner side's L1-L5 depth over that depth now,
  the smallest such ratio of the last ``persist_rows`` ticks (a sweep that refills is not one).
- ``volume_profile``: lots traded per ``profile_bucket_s`` bucket of the Beijing time of day
  against a reference profile (:func:`volume_profile` over clean days):
  ``max(observed / expected, expected / observed)``, each floored at one lot.
- ``correlation_break``: ``|rolling corr - reference corr|`` of two aligned return series.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ghtrader.domain.anomaly import _kernels as k
from ghtrader.domain.anomaly.config import AnomalyConfig
from ghtrader.domain.anomaly.data_quality import traded_lots
from ghtrader.domain.anomaly.events import AnomalyEvent, episodes
from ghtrader.domain.ticks import ASK_VOLUME_FIELDS, BID_VOLUME_FIELDS

__all__ = [
    "correlation_break_events",
    "depth_ratio",
    "liquidity_events",
    "rolling_corr",
    "spread_ratio",
    "volume_buckets",
    "volume_profile",
    "volume_profile_events",
]

_BEIJING_NS = 8 * 3600 * 1_000_000_000
_DAY_NS = 86_400 * 1_000_000_000


def _causal_ratio(x: np.ndarray, config: AnomalyConfig, invert: bool) -> np.ndarray:
    base = k.rolling_median_causal(np.ascontiguousarray(x, dtype=np.float64), config.window, config.min_periods)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = base / x if invert else x / base
    return np.where(np.isfinite(r), r, np.nan)


def spread_ratio(ticks: np.ndarray, price_tick: float, config: AnomalyConfig) -> np.ndarray:
    """Spread in ticks over its rolling median (NaN for a missing side or a crossed book)."""
    with np.errstate(invalid="ignore"):
        s = (ticks["ask_price1"] - ticks["bid_price1"]) / price_tick
        s = np.where(s > 0, s, np.nan)
    return _causal_ratio(s, config, invert=False)


def depth_ratio(ticks: np.ndarray, config: AnomalyConfig) -> np.ndarray:
    """Rolling median of the thinner side's L1-L5 depth over that depth, held ``persist_rows``."""
    bid = np.zeros(ticks.shape[0])
    ask = np.zeros(ticks.shape[0])
    for b, a in zip(BID_VOLUME_FIELDS, ASK_VOLUME_FIELDS, strict=True):
        bid += np.nan_to_num(ticks[b])
        ask += np.nan_to_num(ticks[a])
    thin = np.minimum(bid, ask)
    thin = np.where(thin > 0, thin, 0.5)  # an emptied side: half a lot, so the ratio stays finite
    ratio = _causal_ratio(thin, config, invert=True)
    p = config.persist_rows
    held = np.full(ratio.shape, np.nan)
    if ratio.shape[0] >= p:  # the smallest ratio of the last p ticks: a depletion that lasted
        held[p - 1 :] = np.min(sliding_window_view(np.nan_to_num(ratio, nan=np.inf), p), axis=1)
    return np.where(np.isfinite(held), held, np.nan)


def liquidity_events(ticks: np.ndarray, symbol: str, price_tick: float, config: AnomalyConfig) -> list[AnomalyEvent]:
    ts = ticks["datetime_ns"]
    out = []
    for kind, score in (("spread_widening", spread_ratio(ticks, price_tick, config)),
                        ("depth_depletion", depth_ratio(ticks, config))):  # fmt: skip
        t = config.threshold(kind)
        out += episodes(ts, t.grade(score), score, anomaly_type=kind, symbol=symbol, method="rolling_median_ratio",
                        details={"window": config.window})  # fmt: skip
    return out


def volume_buckets(ticks: np.ndarray, bucket_s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(bucket keys, lots per bucket, first datetime_ns per bucket)`` of one day's ticks; the
    key is the Beijing time of day // ``bucket_s``."""
    ts = ticks["datetime_ns"].astype(np.int64)
    if ts.shape[0] == 0:
        e = np.empty(0, dtype=np.int64)
        return e, np.empty(0), e
    key = ((ts + _BEIJING_NS) % _DAY_NS) // (int(bucket_s) * 1_000_000_000)
    lots = np.nan_to_num(traded_lots(ticks))
    keys, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return keys, np.bincount(inverse, weights=lots, minlength=keys.shape[0]), ts[first]


def volume_profile(days: Sequence[np.ndarray], bucket_s: int) -> dict[int, float]:
    """Median lots per time-of-day bucket over reference days' ticks (a bucket absent on a day
    counts as 0 that day)."""
    per_day = [dict(zip(*volume_buckets(t, bucket_s)[:2], strict=True)) for t in days]
    keys = sorted({key for d in per_day for key in d})
    return {int(key): float(np.median([d.get(key, 0.0) for d in per_day])) for key in keys}


def volume_profile_events(
    ticks: np.ndarray, symbol: str, profile: Mapping[int, float], config: AnomalyConfig
) -> list[AnomalyEvent]:
    """``volume_profile`` events of one day against ``profile`` (keys of :func:`volume_buckets`)."""
    keys, lots, first_ns = volume_buckets(ticks, config.profile_bucket_s)
    if not profile or keys.shape[0] == 0:
        return []
    expected = np.array([profile.get(int(key), np.nan) for key in keys])
    obs, exp = np.maximum(lots, 1.0), np.maximum(expected, 1.0)
    score = np.where(np.isfinite(expected), np.maximum(obs / exp, exp / obs), np.nan)
    t = config.threshold("volume_profile")
    return episodes(first_ns, t.grade(score), score, anomaly_type="volume_profile", symbol=symbol,
                    method="session_profile", details={"bucket_s": config.profile_bucket_s})  # fmt: skip


def rolling_corr(a: np.ndarray, b: np.ndarray, window: int) -> np.ndarray:
    """Pearson correlation of the last ``window`` aligned pairs ending at each row (NaN before,
    and where a series is flat); non-finite pairs count as 0 returns."""
    x, y = np.nan_to_num(np.asarray(a, float)), np.nan_to_num(np.asarray(b, float))
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n < window:
        return out

    def roll(v: np.ndarray) -> np.ndarray:
        c = np.concatenate(([0.0], np.cumsum(v)))
        return c[window:] - c[:-window]

    sx, sy, sxx, syy, sxy = roll(x), roll(y), roll(x * x), roll(y * y), roll(x * y)
    cov = sxy - sx * sy / window
    vx, vy = sxx - sx * sx / window, syy - sy * sy / window
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov / np.sqrt(vx * vy)
    out[window - 1 :] = np.where((vx > 1e-18) & (vy > 1e-18), r, np.nan)
    return out


def correlation_break_events(
    datetime_ns: np.ndarray,
    returns: Mapping[str, np.ndarray],
    reference: Mapping[tuple[str, str], float],
    config: AnomalyConfig,
) -> list[AnomalyEvent]:
    """``correlation_break`` events of each pair in ``reference`` (aligned return series on one
    time grid, e.g. 1-minute mid returns of CU, AU and AG)."""
    t = config.threshold("correlation_break")
    out = []
    for (a, b), ref in sorted(reference.items()):
        corr = rolling_corr(returns[a], returns[b], config.corr_window)
        score = np.abs(corr - ref)
        out += episodes(datetime_ns, t.grade(score), score, anomaly_type="correlation_break", symbol=f"{a}/{b}",
                        method="rolling_pearson", details={"reference": ref, "window": config.corr_window})  # fmt: skip
    return out
