"""Small FeatureFrames for the deep-model tests: the synthetic market's main contract, a few days."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np

from ghtrader.application.ports.models import FeatureFrame
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.factors import CORE_L5_FACTORS, compute_factor_matrix
from ghtrader.domain.labels import direction_labels
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig

DAYS = (date(2024, 1, 3), date(2024, 1, 4))
PRICE_TICK = 10.0


@lru_cache(maxsize=4)
def market_frame(seed: int = 11, signal_strength: float = 0.4, horizon: int = 10, days: int = 2) -> FeatureFrame:
    """CORE_L5 factors and ``dir_h{horizon}`` labels of SHFE.cu's main contract, one segment per day."""
    market = SyntheticMarket(
        SyntheticMarketConfig(seed=seed, signal_strength=signal_strength, anchor_date=date(2024, 1, 2)),
        TradingCalendar([]),
    )
    parts = []
    for i, day in enumerate(DAYS[:days]):
        ticks = market.ticks(market.main_contract("SHFE.cu", day), day)
        n = ticks.shape[0]
        trading_day = np.full(n, np.datetime64(day, "D"))
        seg = np.full(n, i, dtype=np.int64)
        x, names = compute_factor_matrix(
            ticks, trading_day, segment_id=seg, names=CORE_L5_FACTORS, price_tick=PRICE_TICK
        )
        y = direction_labels(ticks["bid_price1"], ticks["ask_price1"], seg, [horizon], PRICE_TICK)[f"dir_h{horizon}"]
        parts.append((x.astype(np.float32), names, y, seg, ticks, trading_day))
    ticks = np.concatenate([p[4] for p in parts])
    return FeatureFrame(
        features=np.concatenate([p[0] for p in parts]),
        feature_names=tuple(parts[0][1]),
        labels=np.concatenate([p[2] for p in parts]),
        segment_id=np.concatenate([p[3] for p in parts]),
        datetime_ns=ticks["datetime_ns"].astype(np.int64),
        trading_day=np.concatenate([p[5] for p in parts]),
        mid=(ticks["bid_price1"] + ticks["ask_price1"]) / 2.0,
        spread=ticks["ask_price1"] - ticks["bid_price1"],
        symbol="SHFE.cu",
        horizon=horizon,
        price_tick=PRICE_TICK,
    )


def planted_frame(n: int = 6000, f: int = 5, seed: int = 0, segments: int = 3) -> FeatureFrame:
    """A cheap random frame whose label follows feature 0 two ticks back (no market needed)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, f)).astype(np.float32)
    lagged = np.roll(x[:, 0], 2)
    labels = np.where(lagged > 0.5, 2.0, np.where(lagged < -0.5, 0.0, 1.0))
    labels[:2] = np.nan
    seg = np.repeat(np.arange(segments, dtype=np.int64), -(-n // segments))[:n]
    mid = 1000.0 + np.cumsum(rng.standard_normal(n))
    return FeatureFrame(
        features=x,
        feature_names=tuple(f"x{i}" for i in range(f)),
        labels=labels,
        segment_id=seg,
        datetime_ns=np.arange(n, dtype=np.int64) * 500_000_000,
        trading_day=np.full(n, np.datetime64("2024-01-03", "D")),
        mid=mid,
        spread=np.ones(n),
        symbol="TEST",
        horizon=2,
    )
