"""All labels of a tick series under one :class:`LabelConfig`."""

from __future__ import annotations

import numpy as np

from ghtrader.domain.labels.config import LabelConfig
from ghtrader.domain.labels.direction import direction_label_names, direction_labels
from ghtrader.domain.labels.fill import fill_label_names, fill_labels
from ghtrader.domain.ticks import as_tick_array

__all__ = ["compute_labels", "label_names"]


def label_names(config: LabelConfig) -> tuple[str, ...]:
    """Every column :func:`compute_labels` returns, in order (direction, then fill)."""
    return direction_label_names(config.direction_horizons) + fill_label_names(config.fill_horizons)


def compute_labels(
    ticks: np.ndarray,
    trading_day: np.ndarray,
    segment_id: np.ndarray,
    price_tick: float,
    config: LabelConfig | None = None,
) -> dict[str, np.ndarray]:
    """Direction and fill labels of ``ticks`` (time order) as float64 columns of length ``n``."""
    cfg = LabelConfig() if config is None else config
    arr = as_tick_array(ticks)
    out = direction_labels(
        arr["bid_price1"], arr["ask_price1"], segment_id, cfg.direction_horizons, price_tick, cfg.k
    )
    out.update(
        fill_labels(
            arr, trading_day, segment_id, price_tick, cfg.fill_horizons,
            expire_at_day_end=cfg.fill_expire_at_day_end,
        )
    )
    return out
