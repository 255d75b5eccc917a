"""Realistic FeatureFrames from the synthetic SHFE market, without any store.

``synthetic_frame`` builds what a dataset build would give a model: L5 factors (the factor
engine), direction labels of one horizon, mid / spread, per-contract segments, trading days, and
the generator's own view of the future in ``extras``:

- ``"oracle_direction"``: the oracle's class per row (0 DOWN / 1 FLAT / 2 UP, float64; NaN where
  the oracle is undefined, i.e. ``i + horizon`` is past the contract-day's last tick), from
  ``SyntheticMarket.oracle_direction`` with threshold ``k * price_tick`` - the same threshold the
  labels use;
- ``"oracle_dmid"``: the oracle's expected mid change over the horizon (price units);
- ``"dmid_h{h}"`` for h in 10/50/100/200 (and ``horizon``): the realized forward mid change.

Frames are cached per argument set inside the process; every call returns fresh copies, so a
caller may modify what it gets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from functools import lru_cache

import numpy as np

from ghtrader.adapters.filesystem.calendar_cache import bundled_holidays_text
from ghtrader.application.ports.models import FeatureFrame
from ghtrader.domain.calendar import TradingCalendar, parse_holidays
from ghtrader.domain.factors import CORE_L5_FACTORS, compute_factor_matrix
from ghtrader.domain.instruments import contract_spec, variety_key
from ghtrader.domain.labels import direction_labels, mid_price
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig

__all__ = ["DMID_HORIZONS", "SYNTHETIC_ANCHOR", "SYNTHETIC_START", "synthetic_frame", "synthetic_market"]

#: First day of the simulated history (the market is a pure function of its config and calendar).
SYNTHETIC_ANCHOR = date(2026, 1, 5)
#: Default first trading day of a frame: SHFE.cu2612 is the copper main around it (seed 7).
SYNTHETIC_START = date(2026, 11, 2)
#: Horizons (ticks) of the realized ``dmid_h{h}`` extras.
DMID_HORIZONS: tuple[int, ...] = (10, 50, 100, 200)

_CONTRACT_RE = re.compile(r"^[A-Z]+\.[a-z]+\d{4}$")


@lru_cache(maxsize=8)
def synthetic_market(seed: int = 7, signal_strength: float = 0.3, tick_interval_ms: int = 2000) -> SyntheticMarket:
    """The shared synthetic market (bundled holiday calendar, anchor ``SYNTHETIC_ANCHOR``)."""
    calendar = TradingCalendar(parse_holidays(bundled_holidays_text()))
    cfg = SyntheticMarketConfig(
        seed=seed, anchor_date=SYNTHETIC_ANCHOR, signal_strength=signal_strength, tick_interval_ms=tick_interval_ms
    )
    return SyntheticMarket(cfg, calendar)


def synthetic_frame(
    days: int = 6,
    horizon: int = 10,
    factors: Sequence[str] = CORE_L5_FACTORS,
    seed: int = 7,
    signal_strength: float = 0.3,
    symbol: str = "SHFE.cu2612",
    price_tick: float | None = None,
    *,
    start: date = SYNTHETIC_START,
    k: float = 1.0,
    tick_interval_ms: int = 2000,
) -> FeatureFrame:
    """A FeatureFrame of ``days`` trading days of synthetic ticks from ``start`` on.

    Args:
        days: trading days (a contract-day without ticks is skipped, so a frame may hold fewer).
        horizon: label horizon in ticks (``labels`` = ``dir_h{horizon}``).
        factors: factor names (``compute_factor_matrix``) = the feature columns, in order.
        seed, signal_strength: the synthetic market's seed and planted order-flow signal
            (``kappa``; 0 = no signal).
        symbol: a dated contract (``"SHFE.cu2612"``: one segment) or a variety / continuous alias
            (``"SHFE.cu"``, ``"KQ.m@SHFE.au"``: each day's main contract; the segment id changes
            at every roll, like main_l5).
        price_tick: the label / factor tick size (default: the variety's).
        start: first calendar day considered (the first trading day on or after it is used).
        k: label threshold in ticks (also the oracle's threshold).
        tick_interval_ms: the simulator's snapshot clock; 2000 ms keeps a day at ~14k rows
            (500 ms is SHFE's real clock, ~55k rows a day for a main contract).

    ~0.1 s per day (numba kernels already compiled).
    """
    frame = _cached_frame(
        int(days),
        int(horizon),
        tuple(factors),
        int(seed),
        float(signal_strength),
        str(symbol),
        None if price_tick is None else float(price_tick),
        start,
        float(k),
        int(tick_interval_ms),
    )
    return _copy(frame)


def _copy(frame: FeatureFrame) -> FeatureFrame:
    return replace(
        frame,
        features=frame.features.copy(),
        labels=frame.labels.copy(),
        segment_id=frame.segment_id.copy(),
        datetime_ns=frame.datetime_ns.copy(),
        trading_day=frame.trading_day.copy(),
        mid=frame.mid.copy(),
        spread=frame.spread.copy(),
        extras={key: value.copy() for key, value in frame.extras.items()},
    )


@lru_cache(maxsize=16)
def _cached_frame(
    days: int,
    horizon: int,
    factors: tuple[str, ...],
    seed: int,
    signal_strength: float,
    symbol: str,
    price_tick: float | None,
    start: date,
    k: float,
    tick_interval_ms: int,
) -> FeatureFrame:
    if days < 1 or horizon < 1:
        raise ValueError(f"synthetic_frame needs days >= 1 and horizon >= 1 (got days={days}, horizon={horizon})")
    market = synthetic_market(seed, signal_strength, tick_interval_ms)
    spec = contract_spec(symbol)
    tick = spec.price_tick if price_tick is None else price_tick
    dated = bool(_CONTRACT_RE.match(symbol))
    cal = market.calendar
    first = start if cal.is_trading_day(start) else cal.next_trading_day(start)
    trading_days = [first]
    while len(trading_days) < days:
        trading_days.append(cal.next_trading_day(trading_days[-1]))

    tick_parts: list[np.ndarray] = []
    day_parts: list[np.ndarray] = []
    seg_parts: list[np.ndarray] = []
    oracle_parts: list[np.ndarray] = []
    oracle_dir_parts: list[np.ndarray] = []
    segment, previous_contract = -1, None
    for day in trading_days:
        contract = symbol if dated else market.main_contract(variety_key(symbol), day)
        ticks = market.ticks(contract, day)
        n = ticks.shape[0]
        if n == 0:
            continue
        if contract != previous_contract:
            segment, previous_contract = segment + 1, contract
        tick_parts.append(ticks)
        day_parts.append(np.full(n, np.datetime64(day, "D")))
        seg_parts.append(np.full(n, segment, dtype=np.int64))
        expected = market.oracle(contract, day, horizon)
        direction = market.oracle_direction(contract, day, horizon, k * tick).astype(np.float64) + 1.0
        direction[np.isnan(expected)] = np.nan
        oracle_parts.append(expected)
        oracle_dir_parts.append(direction)
    if not tick_parts:
        raise ValueError(f"the synthetic market has no ticks of {symbol} on {trading_days[0]}..{trading_days[-1]}")

    ticks = np.concatenate(tick_parts)
    trading_day = np.concatenate(day_parts)
    segment_id = np.concatenate(seg_parts)
    features, names = compute_factor_matrix(ticks, trading_day, segment_id, factors, price_tick=tick)
    horizons = tuple(sorted({horizon, *DMID_HORIZONS}))
    labels = direction_labels(ticks["bid_price1"], ticks["ask_price1"], segment_id, horizons, tick, k)
    mid = mid_price(ticks["bid_price1"], ticks["ask_price1"])
    spread = np.where(np.isnan(mid), np.nan, ticks["ask_price1"] - ticks["bid_price1"])
    extras = {
        "oracle_direction": np.concatenate(oracle_dir_parts),
        "oracle_dmid": np.concatenate(oracle_parts),
        **{f"dmid_h{h}": labels[f"dmid_h{h}"] for h in horizons},
    }
    return FeatureFrame(
        features=np.ascontiguousarray(features, dtype=np.float32),
        feature_names=tuple(names),
        labels=labels[f"dir_h{horizon}"].astype(np.float64),
        segment_id=segment_id,
        datetime_ns=ticks["datetime_ns"].astype(np.int64),
        trading_day=trading_day,
        mid=mid.astype(np.float64),
        spread=spread.astype(np.float64),
        symbol=symbol,
        horizon=horizon,
        price_tick=tick,
        extras=extras,
    )
