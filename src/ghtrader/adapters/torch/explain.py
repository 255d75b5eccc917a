"""Integrated gradients of a deep model's logits with respect to its normalised input windows.

Baseline: the training mean, which is 0 after the model's own standardisation (the
normaliser maps the training mean of every feature to 0). The path integral is a midpoint
Riemann sum over ``steps`` points; its completeness error (sum of attributions versus
``f(x) - f(baseline)``) shrinks as ``steps`` grows and is reported with the attributions.
"""

from __future__ import annotations

import numpy as np
import torch

from ghtrader.adapters.torch.family import TorchTrainedModel
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.explain import Attribution
from ghtrader.application.ports.models import CLASS_NAMES, TrainedModel

__all__ = ["TorchIntegratedGradients", "integrated_gradients"]


def integrated_gradients(
    module: torch.nn.Module, x: np.ndarray, baseline: np.ndarray, steps: int, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values, base, output)``: attributions shaped like ``x`` plus a class axis, the logits at
    the baseline and at ``x``. ``x`` is (m, ...) float32; ``baseline`` broadcasts to one input."""
    if steps < 1:
        raise InvalidArgument(f"steps must be >= 1 (got {steps})")
    module = module.eval()
    k = len(CLASS_NAMES)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    bt = torch.from_numpy(np.broadcast_to(np.asarray(baseline, dtype=np.float32), x.shape[1:]).copy())
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
    values = np.zeros((*x.shape, k), dtype=np.float64)
    with torch.no_grad():
        output = (
            np.concatenate([module(xt[i : i + batch_size]).double().numpy() for i in range(0, x.shape[0], batch_size)])
            if x.shape[0]
            else np.empty((0, k))
        )
        base = module(bt[None]).double().numpy().repeat(x.shape[0], axis=0)
    rows_per = max(1, batch_size // steps)
    for start in range(0, x.shape[0], rows_per):
        chunk = xt[start : start + rows_per]
        n = chunk.shape[0]
        delta = chunk - bt
        path = (bt + alphas.view(-1, *([1] * chunk.dim())) * delta).reshape(steps * n, *chunk.shape[1:])
        path.requires_grad_(True)
        logits = module(path)
        for c in range(k):
            (grad,) = torch.autograd.grad(logits[:, c].sum(), path, retain_graph=c < k - 1)
            mean_grad = grad.reshape(steps, n, *chunk.shape[1:]).double().mean(dim=0)
            values[start : start + n, ..., c] = (mean_grad * delta.double()).numpy()
    return values, base, output


class TorchIntegratedGradients:
    """Attributor for every deep family: integrated gradients on the CPU."""

    method = "ig"

    def __init__(self, batch_size: int = 256) -> None:
        self._batch = int(batch_size)

    def attribute(self, model: TrainedModel, x: np.ndarray, steps: int = 32) -> Attribution:
        if not isinstance(model, TorchTrainedModel):
            raise FailedPrecondition(f"integrated gradients explain deep models, not {type(model).__name__}")
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 3:
            raise InvalidArgument(f"expected windows (m, window, f), got shape {x.shape}")
        module = model.module.to("cpu")
        values, base, output = integrated_gradients(module, x, np.zeros(x.shape[1:], np.float32), steps, self._batch)
        return Attribution(values=values, base=base, output=output, method=self.method, output_space="logit")
