"""TreeSHAP attributions of an XGBoost model through XGBoost's own ``pred_contribs``."""

from __future__ import annotations

import numpy as np
import xgboost as xgb

from ghtrader.adapters.xgboost.family import XGBoostModel
from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.explain import Attribution
from ghtrader.application.ports.models import CLASS_NAMES, TrainedModel

__all__ = ["XGBoostTreeShap"]


class XGBoostTreeShap:
    """Exact TreeSHAP values per class of the booster's raw (pre-softmax) margin (Attributor)."""

    method = "treeshap"

    def attribute(self, model: TrainedModel, x: np.ndarray, steps: int = 32) -> Attribution:
        if not isinstance(model, XGBoostModel):
            raise FailedPrecondition(f"XGBoost TreeSHAP explains XGBoost models, not {type(model).__name__}")
        x = np.ascontiguousarray(x, dtype=np.float32)
        m, f = x.shape
        k = len(CLASS_NAMES)
        if m == 0:
            empty = np.empty((0, k))
            return Attribution(np.empty((0, f, k)), empty, empty, self.method, "raw_margin")
        data = xgb.DMatrix(x, missing=np.nan)
        contrib = model.booster.predict(data, pred_contribs=True)  # (m, k, f + 1)
        return Attribution.tree_contributions(contrib, model.booster.predict(data, output_margin=True), self.method)
