"""Row / column selection shared by the tabular families and TrainModel."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.research.tabular import (
    class_weights,
    even_subsample,
    labelled_rows,
    select_features,
    tabular_xy,
)
from tests.fakes.tabular_frames import planted_frame


def test_select_features_reorders_and_names_what_is_missing() -> None:
    frame = planted_frame(50, 4)
    picked = select_features(frame, ("x2", "x0"))
    assert picked.feature_names == ("x2", "x0")
    np.testing.assert_array_equal(picked.features, frame.features[:, [2, 0]])
    assert select_features(frame, frame.feature_names) is frame
    with pytest.raises(InvalidArgument, match="not in the frame: nope"):
        select_features(frame, ("x0", "nope"))
    with pytest.raises(InvalidArgument, match="repeated: x1"):
        select_features(frame, ("x1", "x1"))
    with pytest.raises(InvalidArgument, match="no feature names"):
        select_features(frame, ())


def test_labels_outside_the_classes_are_refused() -> None:
    frame = planted_frame(30, 2)
    assert labelled_rows(frame).shape[0] == int(np.isfinite(frame.labels).sum())
    with pytest.raises(InvalidArgument, match=r"found \[3.0\]"):
        labelled_rows(replace(frame, labels=np.where(np.isnan(frame.labels), 3.0, frame.labels)))


def test_even_subsample_spans_the_whole_period() -> None:
    rows = np.arange(100, 200)
    picked = even_subsample(rows, 5)
    assert picked.tolist() == [100, 125, 150, 174, 199]
    assert even_subsample(rows, None) is rows and even_subsample(rows, 1000) is rows
    x, y = tabular_xy(planted_frame(300, 3), max_rows=10)
    assert x.shape == (10, 3) and x.dtype == np.float32 and y.dtype == np.int64


def test_balanced_class_weights_equalise_class_mass() -> None:
    y = np.array([0, 1, 1, 1, 2, 2])
    w = class_weights(y, "balanced")
    assert w is not None
    mass = np.bincount(y, weights=w)
    np.testing.assert_allclose(mass, mass[0])
    assert class_weights(y, None) is None
    with pytest.raises(InvalidArgument, match="class_weight"):
        class_weights(y, "inverse")
