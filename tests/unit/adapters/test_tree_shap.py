"""TreeSHAP through the boosters' own pred_contrib: per class, the contributions plus the
expected value equal the raw margin (additivity, 1e-6), and the planted signal's features
carry the attribution."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.adapters.lightgbm import LightGBMFamily
from ghtrader.adapters.lightgbm.explain import LightGBMTreeShap
from ghtrader.adapters.xgboost import XGBoostFamily
from ghtrader.adapters.xgboost.explain import XGBoostTreeShap
from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.models import FeatureFrame, TrainConfig
from tests.fakes.tabular_frames import planted_frame

CASES = {
    "lightgbm": (
        LightGBMFamily,
        LightGBMTreeShap,
        {"num_boost_round": 60, "early_stopping_rounds": 10, "learning_rate": 0.2, "num_leaves": 15, "num_threads": 1},
    ),
    "xgboost": (
        XGBoostFamily,
        XGBoostTreeShap,
        {"num_boost_round": 60, "early_stopping_rounds": 10, "learning_rate": 0.2, "max_depth": 4, "num_threads": 1},
    ),
}


def _split(frame: FeatureFrame) -> tuple[FeatureFrame, FeatureFrame]:
    cut = int(len(frame) * 0.7)
    return frame.take(np.arange(cut - frame.horizon)), frame.take(np.arange(cut, len(frame)))


@pytest.fixture(scope="module", params=sorted(CASES))
def fitted(request):
    family, attributor, params = CASES[request.param]
    train, valid = _split(planted_frame(3000, 5, seed=2, nan_fraction=0.05))
    model = family().fit(train, valid, TrainConfig(horizon=10, seed=1, params=params))
    return model, attributor(), valid


def test_contributions_plus_expected_value_equal_the_raw_margin(fitted) -> None:
    model, attributor, valid = fitted
    x, _ = model.inputs(valid)
    a = attributor.attribute(model, x[:400])
    assert a.values.shape == (400, 5, 3) and a.base.shape == (400, 3) and a.method == "treeshap"
    np.testing.assert_allclose(a.values.sum(axis=1) + a.base, a.output, atol=1e-6)
    assert a.completeness_error() < 1e-6
    # The margin is what the model's probabilities are the softmax of.
    z = a.output - a.output.max(axis=1, keepdims=True)
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax, model.predict_proba(valid.take(np.arange(400))), atol=1e-5)


def test_the_planted_features_carry_the_attribution(fitted) -> None:
    model, attributor, valid = fitted
    x, _ = model.inputs(valid)
    importance = np.abs(attributor.attribute(model, x).per_feature()).mean(axis=(0, 2))
    assert set(np.argsort(-importance)[:2]) == {0, 1}  # the label is built from x0 - x1


def test_refuses_another_family_model(fitted) -> None:
    model, attributor, valid = fitted
    other = LightGBMTreeShap() if isinstance(attributor, XGBoostTreeShap) else XGBoostTreeShap()
    with pytest.raises(FailedPrecondition):
        other.attribute(model, model.inputs(valid)[0][:3])
