"""Segment-safe windows and train-only normalization."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ghtrader.adapters.torch.windows import (
    Normalizer,
    WindowDataset,
    evenly_spaced,
    gather_windows,
    labelled_window_ends,
    window_ends,
)


def _naive_ends(seg: np.ndarray, window: int) -> list[int]:
    return [t for t in range(window - 1, len(seg)) if np.all(seg[t - window + 1 : t + 1] == seg[t])]


@pytest.mark.parametrize("window", [1, 2, 5, 9])
def test_window_ends_match_a_direct_definition(window: int) -> None:
    rng = np.random.default_rng(window)
    seg = np.cumsum(rng.random(300) < 0.08).astype(np.int64)  # runs of random length, some shorter than window
    assert window_ends(seg, window).tolist() == _naive_ends(seg, window)


def test_a_segment_id_that_comes_back_still_starts_a_new_run() -> None:
    seg = np.array([0, 0, 0, 1, 0, 0, 0], dtype=np.int64)
    assert window_ends(seg, 3).tolist() == [2, 6]


def test_windows_never_cross_a_segment_change() -> None:
    rng = np.random.default_rng(3)
    seg = np.cumsum(rng.random(500) < 0.05).astype(np.int64)
    ends = window_ends(seg, 12)
    windows = gather_windows(seg[:, None].astype(np.float32), ends, 12)[:, :, 0]
    assert ends.size > 0
    assert np.all(windows == windows[:, -1:])


def test_labelled_ends_skip_rows_without_a_label() -> None:
    seg = np.zeros(10, dtype=np.int64)
    labels = np.array([0, 1, 2, np.nan, 1, np.nan, 2, 0, 1, np.nan])
    assert labelled_window_ends(seg, labels, 3).tolist() == [2, 4, 6, 7, 8]


def test_invalid_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        window_ends(np.zeros(4, dtype=np.int64), 0)


def test_evenly_spaced_keeps_the_ends_and_the_count() -> None:
    idx = np.arange(100, 200)
    got = evenly_spaced(idx, 11)
    assert len(got) == 11 and got[0] == 100 and got[-1] == 199
    assert set(np.diff(got).tolist()) <= {9, 10}
    assert evenly_spaced(idx, None) is idx
    assert evenly_spaced(idx, 500) is idx


def test_gather_windows_rows_are_consecutive_and_end_at_the_row() -> None:
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    w = gather_windows(x, np.array([4, 19]), 3)
    assert w.shape == (2, 3, 2) and w.dtype == np.float32
    assert w[0].tolist() == x[2:5].tolist()
    assert w[1].tolist() == x[17:20].tolist()


def test_dataset_batches_equal_gathered_windows() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3)).astype(np.float32)
    labels = rng.integers(0, 3, 50).astype(np.float64)
    ends = window_ends(np.zeros(50, dtype=np.int64), 4)
    ds = WindowDataset(torch.from_numpy(x), ends, labels, 4)
    bx, by = ds.batch(torch.tensor([0, 7, 30]))
    np.testing.assert_array_equal(bx.numpy(), gather_windows(x, ends[[0, 7, 30]], 4))
    assert by.tolist() == labels[ends[[0, 7, 30]]].astype(int).tolist()
    item_x, item_y = ds[7]
    assert int(item_y) == int(labels[ends[7]])
    np.testing.assert_array_equal(item_x.numpy(), bx[1].numpy())
    assert ds.class_counts().sum() == len(ds)


def test_normalizer_ignores_nan_and_zeroes_missing_values() -> None:
    x = np.array([[1.0, np.nan, 5.0], [3.0, np.nan, 5.0], [np.nan, np.nan, 5.0]], dtype=np.float32)
    norm = Normalizer.fit(x)
    np.testing.assert_allclose(norm.mean, [2.0, 0.0, 5.0])
    np.testing.assert_allclose(norm.std, [1.0, 1.0, 1.0])  # all-NaN and constant columns get std 1
    out = norm.apply(x)
    np.testing.assert_allclose(out[:, 0], [-1.0, 1.0, 0.0])
    assert np.all(out[:, 1] == 0.0) and np.all(out[:, 2] == 0.0)


def test_normalizer_clips_and_round_trips(tmp_path) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 4)).astype(np.float32)
    norm = Normalizer.fit(x, clip=2.0)
    assert np.abs(norm.apply(x * 10)).max() == pytest.approx(2.0)
    again = Normalizer.load(norm.save(tmp_path / "n.npz"))
    np.testing.assert_array_equal(again.apply(x), norm.apply(x))
    assert again.clip == 2.0
