"""All labels of a tick series under one :class:`LabelConfig`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import numpy as np

from ghtrader.domain.labels.config import LABEL_PARTS, LabelConfig, LabelError
from ghtrader.domain.labels.direction import direction_label_names, direction_labels
from ghtrader.domain.labels.fill import fill_label_names, fill_labels
from ghtrader.domain.ticks import as_tick_array

__all__ = ["compute_labels", "label_names"]


def _parts(parts: object) -> tuple[str, ...]:
    items = (parts,) if isinstance(parts, str) else tuple(cast(Iterable[object], parts))
    if not items or any(p not in LABEL_PARTS for p in items):
        raise LabelError(f"invalid label parts {parts!r}: expected some of {LABEL_PARTS}")
    return tuple(p for p in LABEL_PARTS if p in items)


def label_names(config: LabelConfig, parts: str | tuple[str, ...] = LABEL_PARTS) -> tuple[str, ...]:
    """Every column :func:`compute_labels` returns for ``parts``, in order (direction, then fill)."""
    names: tuple[str, ...] = ()
    for part in _parts(parts):
        names += (
            direction_label_names(config.direction_horizons)
            if part == "direction"
            else fill_label_names(config.fill_horizons)
        )
    return names


def compute_labels(
    ticks: np.ndarray,
    trading_day: np.ndarray,
    segment_id: np.ndarray,
    price_tick: float,
    config: LabelConfig | None = None,
    parts: str | tuple[str, ...] = LABEL_PARTS,
) -> dict[str, np.ndarray]:
    """Direction and/or fill labels (``parts``) of ``ticks`` (time order) as float64 columns of
    length ``n``."""
    cfg = LabelConfig() if config is None else config
    wanted = _parts(parts)
    arr = as_tick_array(ticks)
    out: dict[str, np.ndarray] = {}
    if "direction" in wanted:
        out.update(
            direction_labels(
                arr["bid_price1"], arr["ask_price1"], segment_id, cfg.direction_horizons, price_tick, cfg.k
            )
        )
    if "fill" in wanted:
        out.update(
            fill_labels(
                arr,
                trading_day,
                segment_id,
                price_tick,
                cfg.fill_horizons,
                expire_at_day_end=cfg.fill_expire_at_day_end,
            )
        )
    return out
