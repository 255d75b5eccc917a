"""compute_labels: one call gives every label column of a config."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.labels import LabelConfig, LabelError, compute_labels, direction_labels, fill_labels, label_names


def test_compute_labels_combines_direction_and_fill(random_book) -> None:
    rng = np.random.default_rng(3)
    n = 120
    ticks = random_book(rng, n, 10.0)
    day = np.repeat(np.array(["2024-06-03", "2024-06-04"], dtype="datetime64[D]"), [60, 60])
    seg = np.repeat([4, 5], [60, 60])
    cfg = LabelConfig(direction_horizons=(2, 9), k=2.0, fill_horizons=(3, 12), fill_expire_at_day_end=False)
    out = compute_labels(ticks, day, seg, 10.0, cfg)
    assert tuple(out) == label_names(cfg)
    assert all(v.shape == (n,) and v.dtype == np.float64 for v in out.values())
    direction = direction_labels(ticks["bid_price1"], ticks["ask_price1"], seg, (2, 9), 10.0, 2.0)
    fills = fill_labels(ticks, day, seg, 10.0, (3, 12), expire_at_day_end=False)
    for name, col in {**direction, **fills}.items():
        np.testing.assert_array_equal(out[name], col, err_msg=name)
    assert len(label_names(LabelConfig())) == 6 + 4 * (4 + 4)


def test_compute_labels_by_part(random_book) -> None:
    rng = np.random.default_rng(4)
    ticks = random_book(rng, 80, 10.0)
    day = np.repeat(np.array(["2024-06-03"], dtype="datetime64[D]"), 80)
    seg = np.zeros(80, dtype=np.int64)
    cfg = LabelConfig(direction_horizons=(3,), fill_horizons=(5, 20))
    both = compute_labels(ticks, day, seg, 10.0, cfg)
    for part in ("direction", "fill"):
        one = compute_labels(ticks, day, seg, 10.0, cfg, part)
        assert tuple(one) == label_names(cfg, part)
        for name, col in one.items():
            np.testing.assert_array_equal(col, both[name], err_msg=name)
    assert label_names(cfg, "direction") + label_names(cfg, "fill") == label_names(cfg)
    with pytest.raises(LabelError, match="invalid label parts"):
        compute_labels(ticks, day, seg, 10.0, cfg, ("spread",))
