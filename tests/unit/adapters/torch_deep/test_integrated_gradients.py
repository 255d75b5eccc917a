"""Integrated gradients: completeness (attributions sum to f(x) - f(baseline)) within a small
tolerance that shrinks with the step count, exact for a linear model, and the planted lag
carries the attribution of a trained deep model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ghtrader.adapters.torch import deep_families
from ghtrader.adapters.torch.explain import TorchIntegratedGradients, integrated_gradients
from ghtrader.application.ports.models import TrainConfig
from tests.unit.adapters.torch_deep.frames import planted_frame
from tests.unit.adapters.torch_deep.tiny import TINY


def _mlp(window: int, f: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(window * f, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)
    )


def test_linear_model_is_exact() -> None:
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    x = np.random.default_rng(0).standard_normal((5, 4, 3)).astype(np.float32)
    values, base, output = integrated_gradients(module, x, np.zeros((4, 3), np.float32), steps=1)
    np.testing.assert_allclose(values.reshape(5, 12, 3).sum(axis=1) + base, output, atol=1e-5)


def test_completeness_error_shrinks_with_steps() -> None:
    module = _mlp(6, 4)
    x = 2.0 * np.random.default_rng(1).standard_normal((20, 6, 4)).astype(np.float32)
    errors = []
    for steps in (2, 64):
        values, base, output = integrated_gradients(module, x, np.zeros((6, 4), np.float32), steps=steps)
        errors.append(np.abs(values.reshape(20, -1, 3).sum(axis=1) + base - output).max())
    assert errors[1] < 1e-3 < errors[0]


@pytest.mark.parametrize("name", ["tcn"])
def test_trained_deep_model_attributes_the_planted_lag(name: str) -> None:
    frame = planted_frame(4000, 4, seed=3, segments=2)
    train, valid = frame.take(np.arange(3000)), frame.take(np.arange(3100, 4000))
    config = TrainConfig(horizon=1, window=8, max_epochs=3, batch_size=128, params=TINY[name], seed=0)
    model = deep_families()[name].fit(train, valid, config, lambda *_: None)
    x, _ = model.inputs(valid)
    a = TorchIntegratedGradients().attribute(model, x[:64], steps=48)
    assert a.values.shape == (64, 8, 4, 3) and a.output_space == "logit"
    scale = np.abs(a.output - a.base).max()
    assert a.completeness_error() < 0.05 * max(scale, 1e-6)
    importance = np.abs(a.values).mean(axis=(0, 3))  # (window, f)
    lag, feature = np.unravel_index(np.argmax(importance), importance.shape)
    assert feature == 0  # the label follows feature 0 ...
    assert lag == 8 - 1 - 2  # ... two ticks back
