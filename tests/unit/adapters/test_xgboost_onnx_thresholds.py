"""XGBoost -> ONNX on features sitting exactly on split thresholds.

XGBoost holds split conditions as float32 and sends ``x < t`` left; the graph must decide ties
the same way. Training values are packed onto a few dozen adjacent float32 numbers so that
thresholds fall between neighbours, then every threshold read from the booster's JSON dump is
probed at itself, at both float32 neighbours, and at NaN (the default direction).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from ghtrader.adapters.onnx import OnnxInferenceRuntime
from ghtrader.adapters.xgboost.onnx_export import booster_to_onnx

N_FEATURES = 4


def _splits(booster: xgb.Booster) -> list[tuple[int, np.float32]]:
    """(feature, threshold) of every split in the booster's JSON dump."""
    out: list[tuple[int, np.float32]] = []

    def walk(node: dict[str, Any]) -> None:
        if "split" in node:
            out.append((int(node["split"][1:]), np.float32(node["split_condition"])))
            for child in node["children"]:
                walk(child)

    for tree in booster.get_dump(dump_format="json"):
        walk(json.loads(tree))
    return out


@pytest.fixture(scope="module", params=["hist", "exact"])
def booster_and_x(request: pytest.FixtureRequest) -> tuple[xgb.Booster, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 6000
    z = rng.normal(size=(n, N_FEATURES))
    x = (1.0 + z * 1e-6).astype(np.float32)  # ~1e-6 around 1.0: a few dozen adjacent float32 values
    x[:, 3] = z[:, 3].astype(np.float32)
    x[rng.random(n) < 0.05, 0] = np.nan
    y = (z[:, 0] + z[:, 1] > 0).astype(int) + (z[:, 2] > 1).astype(int)
    params = {
        "objective": "multi:softprob",
        "num_class": 3,
        "max_depth": 4,
        "tree_method": request.param,
        "seed": 1,
        "nthread": 1,
        "verbosity": 0,
    }
    return xgb.train(params, xgb.DMatrix(x, label=y, missing=np.nan), num_boost_round=30), x


def _probes(booster: xgb.Booster, x: np.ndarray) -> np.ndarray:
    """Per split: a typical row with the split's feature at the threshold, at both float32
    neighbours of it, and at NaN."""
    base = np.nanmedian(x, axis=0).astype(np.float32)
    rows = []
    for feature, threshold in _splits(booster):
        up, down = np.nextafter(threshold, np.float32(np.inf)), np.nextafter(threshold, np.float32(-np.inf))
        for value in (threshold, up, down, np.float32(np.nan)):
            row = base.copy()
            row[feature] = value
            rows.append(row)
    return np.stack(rows)


def test_thresholds_sit_between_adjacent_training_values(booster_and_x: tuple[xgb.Booster, np.ndarray]) -> None:
    """The data exercise the tie: many splits fall inside the packed features' few values."""
    booster, x = booster_and_x
    low, high = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    inside = [t for f, t in _splits(booster) if f in (0, 1, 2) and low[f] < t <= high[f]]
    assert len(inside) > 10


def test_xgboost_sends_a_value_equal_to_the_threshold_right(booster_and_x: tuple[xgb.Booster, np.ndarray]) -> None:
    """``x < t`` goes left: a row at t is routed with its upper neighbour, not its lower one."""
    booster, x = booster_and_x
    tree = json.loads(booster.get_dump(dump_format="json")[0])
    feature, threshold = int(tree["split"][1:]), np.float32(tree["split_condition"])
    leaf = {}
    for name, value in (("at", threshold), ("down", np.nextafter(threshold, np.float32(-np.inf)))):
        row = np.nanmedian(x, axis=0).astype(np.float32)[None, :]
        row[0, feature] = value
        leaf[name] = booster.predict(xgb.DMatrix(row), pred_leaf=True, iteration_range=(0, 1))[0, 0]
    assert leaf["at"] != leaf["down"]


def test_onnx_agrees_with_the_booster_on_and_around_every_threshold(
    booster_and_x: tuple[xgb.Booster, np.ndarray], tmp_path: Path
) -> None:
    booster, x = booster_and_x
    booster_to_onnx(booster, N_FEATURES, tmp_path / "m.onnx")
    session = OnnxInferenceRuntime().load(tmp_path / "m.onnx", prefer_gpu=False)
    for rows in (_probes(booster, x), x):
        expected = booster.predict(xgb.DMatrix(rows, missing=np.nan))
        got = session.run(rows)
        # Same leaves everywhere; what is left is float32 leaf sums and softmax in the graph.
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert np.array_equal(got.argmax(axis=1), expected.argmax(axis=1))
