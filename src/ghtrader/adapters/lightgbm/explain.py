"""TreeSHAP attributions of a LightGBM model through LightGBM's own ``pred_contrib``."""

from __future__ import annotations

import numpy as np

from ghtrader.adapters.lightgbm.family import LightGBMModel
from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.explain import Attribution
from ghtrader.application.ports.models import CLASS_NAMES, TrainedModel

__all__ = ["LightGBMTreeShap"]


class LightGBMTreeShap:
    """Exact TreeSHAP values per class of the booster's raw (pre-softmax) margin (Attributor)."""

    method = "treeshap"

    def attribute(self, model: TrainedModel, x: np.ndarray, steps: int = 32) -> Attribution:
        if not isinstance(model, LightGBMModel):
            raise FailedPrecondition(f"LightGBM TreeSHAP explains LightGBM models, not {type(model).__name__}")
        x = np.ascontiguousarray(x, dtype=np.float32)
        m, f = x.shape
        k = len(CLASS_NAMES)
        if m == 0:
            empty = np.empty((0, k))
            return Attribution(np.empty((0, f, k)), empty, empty, self.method, "raw_margin")
        it = model.best_iteration
        # Multiclass contributions come class after class: [f features + expected value] x k.
        contrib = np.asarray(model.booster.predict(x, num_iteration=it, pred_contrib=True)).reshape(m, k, f + 1)
        margin = model.booster.predict(x, num_iteration=it, raw_score=True)
        return Attribution.tree_contributions(contrib, margin, self.method)
