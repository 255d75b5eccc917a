"""Pre-trade analysis: what an order is expected to cost and how to schedule it.

From recent ticks (:func:`market_profile`): the half-spread, the mid's volatility per sqrt
second, traded lots per second by minute of the day (the VWAP profile) and the lots quoted
within a few ticks of the touch (the liquidity forecast). Schedules split ``qty`` lots over
``horizon_s`` seconds into integer slices: TWAP (equal), VWAP (by the volume profile) and
implementation shortfall (Almgren-Chriss: holdings ``Q sinh(u (1 - t/T)) / sinh(u)``, front-loaded
as the urgency ``u`` grows; ``u = T sqrt(lambda sigma^2 / eta)`` for a linear impact ``eta`` and
risk aversion ``lambda``). Expected cost of a schedule: spread (half-spread per lot), impact (each
slice pays ``q_k * impact(q_k)``: the impact of one slice is taken to decay before the next) and
timing (one standard deviation of the mid's drift on the lots still to trade).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ghtrader.domain.tca._kernels import depth_within_kernel
from ghtrader.domain.tca.impact import ImpactModel

__all__ = [
    "SCHEDULES",
    "MarketProfile",
    "Schedule",
    "expected_costs",
    "is_schedule",
    "make_schedule",
    "market_profile",
    "twap_schedule",
    "urgency_curve",
    "vwap_schedule",
]

SCHEDULES = ("twap", "vwap", "is")
_MINUTES = 1440
_MAX_GAP_NS = 60_000_000_000  # mid changes across longer gaps (breaks, nights) are not volatility


@dataclass(frozen=True)
class MarketProfile:
    """What recent ticks say about trading ``symbol`` now (prices in ticks)."""

    half_spread_ticks: float  # mean half-spread
    sigma_ticks: float  # std of the mid's change per sqrt(second)
    lots_per_s: float  # traded lots per second while trading
    minute_volume: np.ndarray = field(repr=False)  # (1440,) mean lots traded per minute of the day (UTC)
    depth_offsets_ticks: tuple[int, ...] = ()
    depth_buy: tuple[float, ...] = ()  # mean lots offered within each offset of the best ask
    depth_sell: tuple[float, ...] = ()  # mean lots bid within each offset of the best bid
    mid: float = math.nan  # the last mid (price units)
    last_ns: int = 0
    ticks_used: int = 0


@dataclass(frozen=True)
class Schedule:
    """Integer lots per slice, sent at ``times_s`` seconds from now."""

    name: str
    times_s: np.ndarray
    lots: np.ndarray


def market_profile(
    times_ns: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    volume: np.ndarray,
    tick: float,
    book: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    depth_offsets_ticks: tuple[int, ...] = (0, 1, 2, 5),
) -> MarketProfile:
    """Summarise recent ticks. ``volume`` is the cumulative daily counter (resets are skipped);
    ``book`` is (bid prices, bid volumes, ask prices, ask volumes), each (n, levels)."""
    t = np.asarray(times_ns, np.int64)
    b, a = np.asarray(bid, np.float64), np.asarray(ask, np.float64)
    ok = np.isfinite(b) & np.isfinite(a) & (a >= b)
    mid = np.where(ok, (a + b) / 2.0, np.nan)
    half = float(np.nanmean((a - b)[ok]) / 2.0 / tick) if ok.any() else math.nan
    dt = np.diff(t) / 1e9
    dm = np.diff(mid) / tick
    good = np.isfinite(dm) & (dt > 0) & (dt * 1e9 <= _MAX_GAP_NS)
    sigma = float(math.sqrt(np.sum(dm[good] ** 2) / np.sum(dt[good]))) if good.any() else math.nan
    dv = np.diff(np.asarray(volume, np.float64))
    vgood = good & np.isfinite(dv) & (dv >= 0)
    lots_per_s = float(np.sum(dv[vgood]) / np.sum(dt[vgood])) if vgood.any() else math.nan
    minute = ((t[1:] // 60_000_000_000) % _MINUTES).astype(np.int64)
    days = max(len(np.unique(t // 86_400_000_000_000)), 1)
    minute_volume = np.bincount(minute[vgood], weights=dv[vgood], minlength=_MINUTES) / days
    depth_buy: tuple[float, ...] = ()
    depth_sell: tuple[float, ...] = ()
    if book is not None:
        bp, bv, ap, av = (np.ascontiguousarray(x, dtype=np.float64) for x in book)
        offs = np.asarray(depth_offsets_ticks, np.float64) * tick
        buy = depth_within_kernel(np.ascontiguousarray(ap[:, 0]), ap, av, 1.0, offs)
        sell = depth_within_kernel(np.ascontiguousarray(bp[:, 0]), bp, bv, -1.0, offs)
        depth_buy = tuple(float(x) for x in np.nanmean(buy, axis=0)) if buy.size and np.isfinite(buy).any() else ()
        depth_sell = tuple(float(x) for x in np.nanmean(sell, axis=0)) if sell.size and np.isfinite(sell).any() else ()
    last = np.flatnonzero(ok)
    return MarketProfile(
        half_spread_ticks=half, sigma_ticks=sigma, lots_per_s=lots_per_s, minute_volume=minute_volume,
        depth_offsets_ticks=tuple(int(x) for x in depth_offsets_ticks), depth_buy=depth_buy, depth_sell=depth_sell,
        mid=float(mid[last[-1]]) if last.size else math.nan, last_ns=int(t[-1]) if t.size else 0,
        ticks_used=int(t.size),
    )  # fmt: skip


def _slice_times(horizon_s: float, slices: int) -> np.ndarray:
    return np.arange(slices, dtype=np.float64) * (horizon_s / slices)


def _from_holdings(name: str, qty: int, horizon_s: float, holdings: np.ndarray) -> Schedule:
    """Slices from the holdings left at each slice's start (rounded to lots; they sum to qty)."""
    held = np.rint(np.r_[holdings, 0.0]).astype(np.int64)
    held[0] = qty
    lots = -np.diff(held)
    return Schedule(name, _slice_times(horizon_s, lots.shape[0]), lots)


def _check(qty: int, horizon_s: float, slices: int) -> None:
    if qty <= 0:
        raise ValueError(f"qty must be positive, got {qty}")
    if not (math.isfinite(horizon_s) and horizon_s >= 0):
        raise ValueError(f"horizon_s must be finite and >= 0, got {horizon_s}")
    if slices < 1:
        raise ValueError(f"slices must be >= 1, got {slices}")


def twap_schedule(qty: int, horizon_s: float, slices: int) -> Schedule:
    """Equal slices."""
    _check(qty, horizon_s, slices)
    frac = np.arange(slices, dtype=np.float64) / slices
    return _from_holdings("twap", qty, horizon_s, qty * (1.0 - frac))


def vwap_schedule(qty: int, horizon_s: float, slices: int, minute_volume: np.ndarray, start_ns: int) -> Schedule:
    """Slices in proportion to the volume traded at those minutes of the day (TWAP where the
    profile is empty)."""
    _check(qty, horizon_s, slices)
    times = _slice_times(horizon_s, slices)
    minutes = ((start_ns + (times * 1e9).astype(np.int64)) // 60_000_000_000) % _MINUTES
    w = np.asarray(minute_volume, np.float64)[minutes] + 1e-12
    done = np.r_[0.0, np.cumsum(w)[:-1]] / np.sum(w)
    return _from_holdings("vwap", qty, horizon_s, qty * (1.0 - done))


def is_schedule(qty: int, horizon_s: float, slices: int, urgency: float) -> Schedule:
    """Almgren-Chriss holdings ``Q sinh(u (1 - t/T)) / sinh(u)``; ``urgency`` u = 0 is TWAP."""
    _check(qty, horizon_s, slices)
    if not (math.isfinite(urgency) and urgency >= 0):
        raise ValueError(f"urgency must be finite and >= 0, got {urgency}")
    frac = np.arange(slices, dtype=np.float64) / slices
    held = qty * (1.0 - frac) if urgency < 1e-9 else qty * np.sinh(urgency * (1.0 - frac)) / math.sinh(urgency)
    return _from_holdings("is", qty, horizon_s, held)


def make_schedule(
    name: str, qty: int, horizon_s: float, slices: int, profile: MarketProfile, urgency: float = 2.0
) -> Schedule:
    """One of :data:`SCHEDULES` by name."""
    if name == "twap":
        return twap_schedule(qty, horizon_s, slices)
    if name == "vwap":
        return vwap_schedule(qty, horizon_s, slices, profile.minute_volume, profile.last_ns)
    if name == "is":
        return is_schedule(qty, horizon_s, slices, urgency)
    raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {name!r}")


def expected_costs(schedule: Schedule, profile: MarketProfile, impact: ImpactModel) -> dict[str, float]:
    """Expected spread, impact and timing cost of ``schedule`` in ticks x lots (and their sum)."""
    lots = schedule.lots.astype(np.float64)
    spread = float(np.sum(lots) * profile.half_spread_ticks)
    impact_cost = float(np.sum(lots * impact.per_lot(lots)))
    left = np.sum(lots) - np.cumsum(lots)  # lots still to trade after each slice
    dt = np.diff(np.r_[schedule.times_s, schedule.times_s[-1]]) if lots.size else np.zeros(0)
    var = float(np.sum(left**2 * dt)) * profile.sigma_ticks**2
    timing = math.sqrt(var) if math.isfinite(var) else math.nan
    return {"spread": spread, "impact": impact_cost, "timing": timing, "total": spread + impact_cost + timing}


def urgency_curve(
    qty: int, horizon_s: float, slices: int, profile: MarketProfile, impact: ImpactModel, urgencies: np.ndarray
) -> dict[str, np.ndarray]:
    """Expected impact and timing cost (ticks x lots) of the IS schedule at each urgency."""
    u = np.asarray(urgencies, np.float64)
    rows = [expected_costs(is_schedule(qty, horizon_s, slices, float(x)), profile, impact) for x in u]
    return {k: np.array([r[k] for r in rows]) for k in ("spread", "impact", "timing", "total")} | {"urgency": u}
