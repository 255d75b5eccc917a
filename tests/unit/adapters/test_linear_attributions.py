"""Logistic attributions: feature x weight contributions plus the bias equal the logits exactly,
softmax of them is the model's probabilities, and the planted features carry the attribution."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.adapters.lightgbm.explain import LightGBMTreeShap
from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.linear.explain import LinearAttributions
from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.models import TrainConfig
from tests.fakes.tabular_frames import planted_frame


def test_linear_attributions_are_exact() -> None:
    frame = planted_frame(3000, 5, seed=1, nan_fraction=0.05)
    cut = 2100
    model = LogisticFamily().fit(
        frame.take(np.arange(cut - 10)),
        frame.take(np.arange(cut, 3000)),
        TrainConfig(horizon=10, params={"l2_path": [0.01]}),
    )
    x, _ = model.inputs(frame)
    a = LinearAttributions().attribute(model, x)
    assert a.values.shape == (3000, 5, 3) and a.method == "linear" and a.completeness_error() < 1e-12
    z = a.output - a.output.max(axis=1, keepdims=True)
    np.testing.assert_allclose(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), model.predict_proba(frame), atol=1e-12)
    importance = np.abs(a.per_feature()).mean(axis=(0, 2))
    assert set(np.argsort(-importance)[:2]) == {0, 1}
    with pytest.raises(FailedPrecondition):
        LightGBMTreeShap().attribute(model, x[:3])
