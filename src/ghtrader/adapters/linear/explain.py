"""Exact attributions of a logistic model: each standardised feature times its weight.

The model's logit of class c is ``sum_j z_j W[j, c] + b_c`` with ``z`` the features standardised
on the training rows (NaN -> 0, the training mean). With the training mean as the baseline the
Shapley value of feature j is ``z_j W[j, c]`` (the model is additive), the base is ``b_c``, and
they sum exactly to the logit.
"""

from __future__ import annotations

import numpy as np

from ghtrader.adapters.linear.family import LogisticModel
from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.explain import Attribution
from ghtrader.application.ports.models import TrainedModel

__all__ = ["LinearAttributions"]


class LinearAttributions:
    """Attributor of the logistic family (method ``linear``)."""

    method = "linear"

    def attribute(self, model: TrainedModel, x: np.ndarray, steps: int = 32) -> Attribution:
        if not isinstance(model, LogisticModel):
            raise FailedPrecondition(f"linear attributions explain logistic models, not {type(model).__name__}")
        z = model.standardise(x)
        values = z[:, :, None] * model.weights[None, :, :]
        base = np.broadcast_to(model.bias, (z.shape[0], model.bias.shape[0])).copy()
        return Attribution(values=values, base=base, output=z @ model.weights + model.bias, method=self.method,
                           output_space="logit")  # fmt: skip
