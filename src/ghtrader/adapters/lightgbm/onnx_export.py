"""ONNX export of a LightGBM booster with onnxmltools' converter.

The graph takes the raw float32 features (``features``, (batch, f); NaN follows LightGBM's
missing-value branches) and returns ``probabilities`` (batch, 3) as a plain tensor (no ZipMap)
beside the ``label`` output.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import onnx

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.models import OnnxSignature

__all__ = ["INPUT_NAME", "OPSET", "OUTPUT_NAME", "booster_to_onnx"]

INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
OPSET = 15  # the highest onnxmltools 1.16 targets


def booster_to_onnx(booster: lgb.Booster, n_features: int, path: Path) -> OnnxSignature:
    """Convert ``booster`` (multiclass, 3 classes) and write it to ``path``; the signature's
    opset is the default-domain opset the converter actually used (it picks the lowest that
    suffices, up to ``OPSET``)."""
    from onnxmltools.convert import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    model = convert_lightgbm(
        booster,
        name="ghtrader_lightgbm",
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        target_opset=OPSET,
        zipmap=False,
    )
    outputs = [o.name for o in model.graph.output]
    if OUTPUT_NAME not in outputs:
        raise FailedPrecondition(f"the LightGBM ONNX converter produced outputs {outputs}, not {OUTPUT_NAME!r}")
    for value in model.graph.input:
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=OPSET)
    return OnnxSignature(input_name=INPUT_NAME, input_shape=("batch", n_features), output_name=OUTPUT_NAME, opset=int(opset))
