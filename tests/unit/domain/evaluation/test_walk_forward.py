"""Walk-forward splits by trading day: purge gaps, no leakage, fold counts, notes, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ghtrader.domain.evaluation import (
    EvaluationError,
    WalkForwardConfig,
    walk_forward_splits,
)

START = np.datetime64("2024-01-02", "D")


def _days(rows_per_day: list[int]) -> np.ndarray:
    return np.repeat(START + np.arange(len(rows_per_day)), rows_per_day)


def _assert_no_leakage(day: np.ndarray, plan, gap: int) -> None:  # type: ignore[no-untyped-def]
    for s in plan.splits:
        parts = [p for p in (s.train_index, s.valid_index, s.test_index) if p.size]
        for p in parts:
            assert p.dtype == np.int64 and np.all(np.diff(p) == 1)  # contiguous, sorted
        assert not set(s.train_index) & set(s.test_index)
        assert not set(s.train_index) & set(s.valid_index) and not set(s.valid_index) & set(s.test_index)
        # at least `gap` rows strictly between a block and the next
        assert s.test_index.min() - s.train_index.max() - 1 >= gap
        if s.valid_index.size:
            assert s.valid_index.min() - s.train_index.max() - 1 >= gap
            assert s.test_index.min() - s.valid_index.max() - 1 >= gap
        # days never shared: the test block starts on a day after every training row
        assert day[s.test_index].min() > day[s.train_index].max()
        assert (day[s.test_index].min(), day[s.test_index].max()) == tuple(np.datetime64(d) for d in s.test_days)


def test_expanding_plan_on_long_data() -> None:
    rng = np.random.default_rng(0)
    day = _days(rng.integers(200, 400, 30).tolist())
    plan = walk_forward_splits(day, max_label_horizon=50)
    assert len(plan) == 5 and plan.note is None and plan.purge == 50
    # auto test block: (30 - 1 valid) // 6 = 4 days; the 5 blocks tile the last 20 days
    assert plan.test_days == 4
    tests = [s.test_days for s in plan]
    assert tests[-1][1] == day[-1].astype(object)
    for (_, last), (first, _) in itertools.pairwise(tests):
        assert (np.datetime64(first) - np.datetime64(last)).astype(int) == 1
    for s in plan:
        assert s.train_index[0] == 0  # expanding from the first row
        assert s.valid_days is not None and s.valid_days[0] == s.valid_days[1]  # one validation day
    assert [len(s.train_index) for s in plan] == sorted(len(s.train_index) for s in plan)
    _assert_no_leakage(day, plan, 50)


def test_rolling_plan_keeps_the_training_length_in_days() -> None:
    day = _days([100] * 25)
    cfg = WalkForwardConfig(n_splits=5, mode="rolling", test_days=2, valid_days=2, train_days=6, purge_ticks=20)
    plan = walk_forward_splits(day, max_label_horizon=10, config=cfg)
    assert len(plan) == 5 and plan.purge == 20
    for s in plan:
        first, last = s.train_days
        assert (np.datetime64(last) - np.datetime64(first)).astype(int) == 5
        assert len(s.train_index) == 6 * 100 - 20 and len(s.valid_index) == 2 * 100 - 20
        assert len(s.test_index) == 200
    _assert_no_leakage(day, plan, 20)


def test_the_purge_is_never_shorter_than_the_longest_label_horizon() -> None:
    day = _days([300] * 12)
    plan = walk_forward_splits(day, max_label_horizon=200, config=WalkForwardConfig(purge_ticks=5, valid_days=0))
    assert plan.purge == 200
    for s in plan:
        assert s.valid_index.size == 0 and s.valid_days is None
    _assert_no_leakage(day, plan, 200)
    # a label at the last training row looks h rows ahead and still stops before the test block
    s = plan.splits[0]
    assert s.train_index.max() + 200 < s.test_index.min()


def test_short_data_gives_fewer_splits_with_a_note() -> None:
    plan = walk_forward_splits(_days([50] * 4), max_label_horizon=10)
    assert len(plan) == 2 and plan.note is not None
    assert "2 splits instead of 5" in plan.note and "4 trading days" in plan.note
    _assert_no_leakage(_days([50] * 4), plan, 10)
    with pytest.raises(EvaluationError, match="cannot build a walk-forward split from 2 trading days"):
        walk_forward_splits(_days([50] * 2), max_label_horizon=10)


def test_a_fold_eaten_by_the_purge_is_dropped_and_noted() -> None:
    day = _days([100, 100, 100, 30, 100, 100])  # the 30-row day cannot hold a 40-row purge
    plan = walk_forward_splits(day, max_label_horizon=40, config=WalkForwardConfig(n_splits=3, test_days=1))
    assert len(plan) == 2 and plan.note is not None and "valid empty" in plan.note
    assert [s.fold for s in plan] == [0, 1]
    _assert_no_leakage(day, plan, 40)


def test_deterministic_and_validated() -> None:
    day = _days([80] * 15)
    a = walk_forward_splits(day, 20)
    b = walk_forward_splits(day, 20)
    for x, y in zip(a, b, strict=True):
        for name in ("train_index", "valid_index", "test_index"):
            assert np.array_equal(getattr(x, name), getattr(y, name))
    with pytest.raises(EvaluationError):
        walk_forward_splits(day[::-1], 20)
    with pytest.raises(EvaluationError):
        walk_forward_splits(np.arange(10), 20)
    with pytest.raises(EvaluationError):
        WalkForwardConfig(mode="expanding", train_days=5)
    with pytest.raises(EvaluationError):
        WalkForwardConfig(n_splits=0)
