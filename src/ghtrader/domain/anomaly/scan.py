"""One symbol-day's tick scan: the data-quality, liquidity and volume-profile detectors together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ghtrader.domain.anomaly.config import AnomalyConfig
from ghtrader.domain.anomaly.data_quality import data_quality_events
from ghtrader.domain.anomaly.events import AnomalyEvent
from ghtrader.domain.anomaly.market import liquidity_events, volume_profile_events

__all__ = ["scan_day"]


def scan_day(
    ticks: np.ndarray,
    symbol: str,
    price_tick: float,
    windows: Sequence[tuple[int, int]],
    config: AnomalyConfig,
    profile: Mapping[int, float] | None = None,
) -> list[AnomalyEvent]:
    """Every tick-level event of one symbol's day, sorted by time then type."""
    events = data_quality_events(ticks, symbol, price_tick, windows, config)
    events += liquidity_events(ticks, symbol, price_tick, config)
    if profile:
        events += volume_profile_events(ticks, symbol, profile, config)
    return sorted(events, key=lambda e: (e.datetime_ns, e.anomaly_type))
