"""LightGBM -> ONNX on features sitting exactly on split thresholds.

Training values that are adjacent float32 numbers give float64 split thresholds halfway between
them; rounded to the nearest float32 (how ONNX's TreeEnsemble stores them) some land on the upper
value, which LightGBM sends right and a naive graph sends left. The export rounds thresholds
down, so the graph agrees with the booster at, and on both sides of, every threshold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from ghtrader.adapters.lightgbm.onnx_export import (
    booster_to_onnx,
    float32_threshold_booster,
)
from ghtrader.adapters.onnx import OnnxInferenceRuntime

N_FEATURES = 4


def _splits(booster: lgb.Booster) -> list[tuple[int, float]]:
    """(feature, float64 threshold) of every split in the booster's dump."""
    out: list[tuple[int, float]] = []

    def walk(node: dict[str, Any]) -> None:
        if "split_index" in node:
            out.append((int(node["split_feature"]), float(node["threshold"])))
            walk(node["left_child"])
            walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    return out


@pytest.fixture(scope="module")
def booster_and_x() -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 6000
    z = rng.normal(size=(n, N_FEATURES))
    x = (1.0 + z * 1e-6).astype(np.float32)  # ~1e-6 around 1.0: a few dozen adjacent float32 values
    x[:, 3] = z[:, 3].astype(np.float32)
    x[rng.random(n) < 0.05, 0] = np.nan  # feature 0 has a NaN branch, the others treat NaN as 0
    y = (z[:, 0] + z[:, 1] > 0).astype(int) + (z[:, 2] > 1).astype(int)
    params = {
        "objective": "multiclass",
        "num_class": 3,
        "num_leaves": 15,
        "min_data_in_leaf": 20,
        "seed": 1,
        "deterministic": True,
        "num_threads": 1,
        "verbosity": -1,
    }
    return lgb.train(params, lgb.Dataset(x, label=y), num_boost_round=30), x


def _probes(booster: lgb.Booster, x: np.ndarray) -> np.ndarray:
    """Per split: a typical row with the split's feature at the threshold's nearest float32, at
    both float32 neighbours of it, and at NaN."""
    base = np.nanmedian(x, axis=0).astype(np.float32)
    rows = []
    for feature, threshold in _splits(booster):
        near = np.float32(threshold)
        for value in (near, np.nextafter(near, np.float32(np.inf)), np.nextafter(near, np.float32(-np.inf)), np.nan):
            row = base.copy()
            row[feature] = value
            rows.append(row)
    return np.stack(rows)


def test_nearest_float32_thresholds_would_flip_splits(booster_and_x: tuple[lgb.Booster, np.ndarray]) -> None:
    """The root cause is present in this data: some thresholds round up to a value LightGBM sends right."""
    booster, _ = booster_and_x
    flipped = [(f, t) for f, t in _splits(booster) if float(np.float32(t)) > t]
    assert len(flipped) > 10


def test_onnx_agrees_with_the_booster_on_and_around_every_threshold(
    booster_and_x: tuple[lgb.Booster, np.ndarray], tmp_path: Path
) -> None:
    booster, x = booster_and_x
    booster_to_onnx(booster, N_FEATURES, tmp_path / "m.onnx")
    session = OnnxInferenceRuntime().load(tmp_path / "m.onnx", prefer_gpu=False)
    probes = _probes(booster, x)
    for rows in (probes, x):
        expected = booster.predict(rows)
        got = session.run(rows)
        # Same leaves everywhere; what is left is float32 leaf sums and softmax in the graph.
        np.testing.assert_allclose(got, expected, atol=1e-6)
        assert np.array_equal(got.argmax(axis=1), expected.argmax(axis=1))


def test_rounding_thresholds_down_keeps_the_boosters_predictions_exactly(
    booster_and_x: tuple[lgb.Booster, np.ndarray],
) -> None:
    booster, x = booster_and_x
    rounded = float32_threshold_booster(booster)
    thresholds = np.array([t for _, t in _splits(rounded)])
    assert np.array_equal(thresholds.astype(np.float32).astype(np.float64), thresholds)  # float32-exact
    probes = _probes(booster, x)
    assert np.array_equal(rounded.predict(probes), booster.predict(probes))
    assert np.array_equal(rounded.predict(x), booster.predict(x))
