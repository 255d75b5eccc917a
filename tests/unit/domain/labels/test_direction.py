"""Direction labels: thresholds, NaN rules, segment boundaries, locality."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.labels import DOWN, FLAT, UP, LabelError, direction_label_names, direction_labels, mid_price


def ref_direction(bid, ask, seg, h, tick, k):
    """Plain-Python restatement of the definition."""
    n = len(bid)
    lab = [float("nan")] * n
    dm = [float("nan")] * n
    for t in range(n):
        j = t + h
        if j >= n or any(seg[i] != seg[t] for i in range(t, j + 1)):
            continue
        if not (bid[t] > 0 and ask[t] > 0 and bid[j] > 0 and ask[j] > 0):
            continue
        d = (bid[j] + ask[j]) / 2 - (bid[t] + ask[t]) / 2
        dm[t] = d
        ticks = round(d / tick, 6)
        lab[t] = 2.0 if ticks >= k else 0.0 if ticks <= -k else 1.0
    return np.array(lab), np.array(dm)


def test_hand_made_sequence() -> None:
    bid = np.array([100, 100, 101, 99, 100, 100], dtype=float)
    ask = bid + 1
    seg = np.zeros(6, dtype=np.int64)
    out = direction_labels(bid, ask, seg, (1, 2), price_tick=1.0)
    assert list(out) == ["dir_h1", "dir_h2", "dmid_h1", "dmid_h2"] == list(direction_label_names((2, 1)))
    np.testing.assert_array_equal(out["dmid_h1"], [0, 1, -2, 1, 0, np.nan])
    np.testing.assert_array_equal(out["dir_h1"], [FLAT, UP, DOWN, UP, FLAT, np.nan])
    np.testing.assert_array_equal(out["dmid_h2"], [1, -1, -1, 1, np.nan, np.nan])
    np.testing.assert_array_equal(out["dir_h2"], [UP, DOWN, DOWN, UP, np.nan, np.nan])


def test_threshold_is_inclusive_at_k_ticks() -> None:
    # mid moves 0.5, 1.0, 1.5, 2.0 ticks (tick = 10) from the first row.
    bid = np.array([70_000, 70_005, 70_010, 70_015, 70_020], dtype=float)
    ask = bid + 10
    seg = np.zeros(5, dtype=np.int64)
    for k, want in ((1.0, [FLAT, UP, UP, UP]), (2.0, [FLAT, FLAT, FLAT, UP]), (1.5, [FLAT, FLAT, UP, UP])):
        labels = [direction_labels(bid, ask, seg, (h,), 10.0, k)[f"dir_h{h}"][0] for h in range(1, 5)]
        assert labels == want, k
    down = direction_labels(bid[::-1].copy(), ask[::-1].copy(), seg, (4,), 10.0, 2.0)
    assert down["dir_h4"][0] == DOWN and down["dmid_h4"][0] == -20.0


def test_full_tick_survives_float_rounding() -> None:
    # Gold: tick 0.02; mid 450.01 -> 450.03 is 0.0199999... in binary floating point.
    bid = np.array([450.0, 450.02], dtype=float)
    ask = np.array([450.02, 450.04], dtype=float)
    out = direction_labels(bid, ask, np.zeros(2, dtype=np.int64), (1,), 0.02)
    assert out["dmid_h1"][0] < 0.02  # the raw difference really is below one tick
    assert out["dir_h1"][0] == UP


def test_nan_past_the_end_across_segments_and_for_missing_quotes() -> None:
    bid = np.array([100, 101, np.nan, 103, 104, 105, 0.0, 107], dtype=float)
    ask = bid + 1
    seg = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    out = direction_labels(bid, ask, seg, (1,), 1.0)
    # rows: 0->1 ok; 1->2 NaN bid; 2 NaN; 3->4 crosses the segment; 4->5 ok; 5->6 bid 0 is empty;
    # 6 empty; 7 past the end.
    np.testing.assert_array_equal(out["dir_h1"], [UP, np.nan, np.nan, np.nan, UP, np.nan, np.nan, np.nan])
    assert np.isnan(mid_price(bid, ask)[[2, 6]]).all()
    # A segment that returns to an earlier id is still a boundary.
    seg2 = np.array([0, 0, 1, 1, 0, 0, 0, 0])
    bid2 = np.arange(8, dtype=float) + 100
    out2 = direction_labels(bid2, bid2 + 1, seg2, (3,), 1.0)
    np.testing.assert_array_equal(np.isnan(out2["dir_h3"]), [True, True, True, True, False, True, True, True])


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_reference_and_ignores_rows_beyond_horizon(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    bid = 7000 + np.cumsum(rng.choice([-1.0, 0, 0, 1.0], n))
    ask = bid + rng.choice([1.0, 1.0, 2.0], n)
    bid[rng.random(n) < 0.03] = np.nan
    seg = np.cumsum(rng.random(n) < 0.02)
    horizons = (1, 5, 17)
    out = direction_labels(bid, ask, seg, horizons, 1.0, 1.0)
    for h in horizons:
        lab, dm = ref_direction(bid, ask, seg, h, 1.0, 1.0)
        np.testing.assert_array_equal(out[f"dir_h{h}"], lab)
        np.testing.assert_allclose(out[f"dmid_h{h}"], dm, equal_nan=True)
    # Scramble everything after a cut: labels of rows t with t + max_h <= cut do not move.
    cut = 150
    bid2, ask2, seg2 = bid.copy(), ask.copy(), seg.copy()
    bid2[cut + 1 :] = rng.normal(5000, 100, n - cut - 1)
    ask2[cut + 1 :] = np.nan
    seg2[cut + 1 :] = rng.integers(0, 100, n - cut - 1)
    out2 = direction_labels(bid2, ask2, seg2, horizons, 1.0, 1.0)
    keep = cut - max(horizons) + 1
    for name in out:
        np.testing.assert_array_equal(out[name][:keep], out2[name][:keep])
        assert not np.array_equal(out[name], out2[name], equal_nan=True)


def test_invalid_arguments() -> None:
    x = np.ones(3)
    seg = np.zeros(3, dtype=np.int64)
    with pytest.raises(LabelError, match="horizons"):
        direction_labels(x, x, seg, (0, 5), 1.0)
    with pytest.raises(LabelError, match="price_tick"):
        direction_labels(x, x, seg, (1,), 0.0)
    with pytest.raises(LabelError, match="k="):
        direction_labels(x, x, seg, (1,), 1.0, k=0)
    with pytest.raises(LabelError, match="ask1"):
        direction_labels(x, np.ones(4), seg, (1,), 1.0)
    with pytest.raises(LabelError, match="segment_id"):
        direction_labels(x, x, np.zeros(3, dtype=float), (1,), 1.0)
    empty = direction_labels(np.empty(0), np.empty(0), np.empty(0, dtype=np.int64), (1,), 1.0)
    assert empty["dir_h1"].shape == (0,)
