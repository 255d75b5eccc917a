"""Labels of a tick series: forward mid-price direction and passive-order fills (numba kernels)."""

from ghtrader.domain.labels.compute import compute_labels, label_names
from ghtrader.domain.labels.config import (
    DEFAULT_DIRECTION_HORIZONS,
    DEFAULT_FILL_HORIZONS,
    LABEL_PARTS,
    LABELS_VERSION,
    LabelConfig,
    LabelError,
)
from ghtrader.domain.labels.direction import (
    DOWN,
    FLAT,
    UP,
    direction_label_names,
    direction_labels,
    mid_price,
    move_label,
)
from ghtrader.domain.labels.fill import FILL_ORDERS, fill_label_names, fill_labels, traded_volume

__all__ = [
    "DEFAULT_DIRECTION_HORIZONS",
    "DEFAULT_FILL_HORIZONS",
    "DOWN",
    "FILL_ORDERS",
    "FLAT",
    "LABELS_VERSION",
    "LABEL_PARTS",
    "UP",
    "LabelConfig",
    "LabelError",
    "compute_labels",
    "direction_label_names",
    "direction_labels",
    "fill_label_names",
    "fill_labels",
    "label_names",
    "mid_price",
    "move_label",
    "traded_volume",
]
