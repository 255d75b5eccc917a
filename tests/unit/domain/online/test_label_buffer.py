"""Delayed-label buffer: same labels as the batch rule, none across a roll or a day, bounded."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.labels import LabelConfig, direction_labels, mid_price
from ghtrader.domain.online import DelayedLabelBuffer, OnlineError

TICK = 10.0


def _recorded_book(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A copper-like L1 series: random-walk mid on the tick grid, 1-2 tick spread, a few empty
    sides, one roll and two trading-day changes."""
    rng = np.random.default_rng(seed)
    mid2 = 2 * 70_000 + np.cumsum(rng.choice([-2, -1, 0, 0, 0, 1, 2], size=n))  # 2 * mid in ticks
    spread = rng.choice([1, 2], size=n)
    bid = (mid2 - spread) / 2.0 * TICK
    ask = (mid2 + spread) / 2.0 * TICK
    bid = np.floor(bid / TICK) * TICK
    ask = np.ceil(ask / TICK) * TICK
    empty = rng.random(n) < 0.01
    bid[empty] = 0.0
    segment = np.zeros(n, dtype=np.int64)
    segment[int(n * 0.6) :] = 1  # the roll
    day = np.full(n, 739_000, dtype=np.int64)
    day[int(n * 0.3) :] += 1
    day[int(n * 0.8) :] += 1
    return bid, ask, segment, day


def _stream(buf: DelayedLabelBuffer, mid: np.ndarray, segment: np.ndarray, day: np.ndarray) -> dict[int, tuple]:
    out = {}
    for t in range(mid.shape[0]):
        probs = np.array([t, t + 0.5, t + 0.25])
        feats = np.array([float(t), -float(t)])
        row = buf.push(t, float(mid[t]), probs, feats, int(segment[t]), int(day[t]))
        if row is not None:
            out[row.tick_index] = (row.label, row.dmid, row.probs, row.features)
    return out


@pytest.mark.parametrize("horizon", [1, 10, 50])
@pytest.mark.parametrize("k", [1.0, 2.0])
def test_labels_equal_the_batch_rule(horizon: int, k: float) -> None:
    bid, ask, segment, day = _recorded_book(horizon, 3000)
    # The buffer cuts at rolls and at trading days: the batch rule with both as the segment key.
    key = segment * 1_000_000 + day
    batch = direction_labels(bid, ask, key, [horizon], TICK, k)
    expected, dmid = batch[f"dir_h{horizon}"], batch[f"dmid_h{horizon}"]
    buf = DelayedLabelBuffer(horizon, TICK, k, n_features=2)
    got = _stream(buf, mid_price(bid, ask), segment, day)
    labelled = np.flatnonzero(~np.isnan(expected))
    assert sorted(got) == labelled.tolist()
    for t in labelled:
        label, d, probs, feats = got[int(t)]
        assert label == int(expected[t]) and d == dmid[t]
        assert probs.tolist() == [t, t + 0.5, t + 0.25] and feats.tolist() == [t, -t]  # the row pushed at t
    if horizon >= 10:  # one tick rarely moves the mid k ticks
        assert {0, 1, 2} <= {v[0] for v in got.values()}
    stats = buf.stats()
    assert stats.resolved == labelled.shape[0] and stats.pushed == 3000
    assert stats.pending == horizon
    assert stats.resolved + stats.dropped_nan + stats.cleared + stats.pending == stats.pushed


def test_no_label_across_a_roll_but_across_days_when_asked() -> None:
    bid, ask, segment, day = _recorded_book(3, 2000)
    mid = mid_price(bid, ask)
    h = 20
    got = _stream(DelayedLabelBuffer(h, TICK, 1.0, 2, clear_on_new_day=False), mid, segment, day)
    assert got and all(segment[t] == segment[t + h] for t in got)
    assert any(day[t] != day[t + h] for t in got)  # the batch rule's own cut: segments only
    batch = direction_labels(bid, ask, segment, [h], TICK, 1.0)[f"dir_h{h}"]
    assert sorted(got) == np.flatnonzero(~np.isnan(batch)).tolist()
    got = _stream(DelayedLabelBuffer(h, TICK, 1.0, 2), mid, segment, day)
    assert all(segment[t] == segment[t + h] and day[t] == day[t + h] for t in got)


def test_roll_clears_pending_rows() -> None:
    buf = DelayedLabelBuffer(5, TICK, 1.0, 0)
    for t in range(3):
        assert buf.push(t, 100.0, np.ones(3) / 3, np.empty(0), segment_id=0) is None
    assert buf.pending == 3
    assert buf.push(3, 500.0, np.ones(3) / 3, np.empty(0), segment_id=1) is None
    assert buf.pending == 1 and buf.stats().cleared == 3
    for t in range(4, 8):
        assert buf.push(t, 500.0, np.ones(3) / 3, np.empty(0), segment_id=1) is None
    row = buf.push(8, 520.0, np.ones(3) / 3, np.empty(0), segment_id=1)
    assert row is not None and row.tick_index == 3 and row.label == 2 and row.dmid == 20.0


def test_gaps_drop_rows_whose_horizon_was_skipped_and_memory_is_bounded() -> None:
    buf = DelayedLabelBuffer(3, TICK, 1.0, 1)
    ticks = [0, 1, 2, 3, 7, 8, 9, 10]  # 4, 5, 6 missing: rows 1, 2, 3 cannot resolve; 0 resolves at 3
    rows = [buf.push(t, 100.0 + 10.0 * t, np.ones(3) / 3, np.zeros(1)) for t in ticks]
    assert [r.tick_index for r in rows if r is not None] == [0, 7]
    assert buf.stats().dropped_gap == 3
    assert buf.pending <= 3 and buf._features.shape == (3, 1)


def test_from_label_config_and_invalid_inputs() -> None:
    buf = DelayedLabelBuffer.from_label_config(LabelConfig(k=2.0), 50, TICK, 4)
    assert buf.k == 2.0 and buf.horizon == 50
    with pytest.raises(OnlineError):
        DelayedLabelBuffer.from_label_config(LabelConfig(), 7, TICK, 4)
    with pytest.raises(OnlineError):
        DelayedLabelBuffer(0, TICK, 1.0, 2)
    with pytest.raises(OnlineError):
        DelayedLabelBuffer(5, 0.0, 1.0, 2)
    buf = DelayedLabelBuffer(5, TICK, 1.0, 2)
    buf.push(10, 1.0, np.ones(3), np.zeros(2))
    with pytest.raises(OnlineError):
        buf.push(10, 1.0, np.ones(3), np.zeros(2))  # not after the previous tick
    with pytest.raises(OnlineError):
        buf.push(11, 1.0, np.ones(3), np.zeros(5))
