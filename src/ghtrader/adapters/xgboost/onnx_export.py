"""ONNX export of an XGBoost booster with onnxmltools' converter.

The graph takes the raw float32 features (``features``, (batch, f); NaN follows each split's
default direction) and returns ``probabilities`` (batch, 3) as a plain tensor beside the
``label`` output.

Unlike LightGBM, XGBoost needs no threshold rewrite: it stores split conditions as float32 and
sends a row left when ``x < t``; the converter reads them from the JSON dump (printed with enough
digits to round-trip a float32) into ``BRANCH_LT`` nodes, so on float32 inputs every split
decides the same way in both (tested on rows sitting exactly on every threshold).
"""

from __future__ import annotations

from pathlib import Path

import onnx
import xgboost as xgb

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.models import OnnxSignature

__all__ = ["INPUT_NAME", "OPSET", "OUTPUT_NAME", "booster_to_onnx"]

INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
OPSET = 15  # the highest onnxmltools 1.16 targets


def booster_to_onnx(booster: xgb.Booster, n_features: int, path: Path) -> OnnxSignature:
    """Convert ``booster`` (multi:softprob, 3 classes, features named f0..) and write it to
    ``path``; the signature's opset is the default-domain opset the converter used."""
    from onnxmltools.convert import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    model = convert_xgboost(
        booster,
        name="ghtrader_xgboost",
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        target_opset=OPSET,
    )
    outputs = [o.name for o in model.graph.output]
    if OUTPUT_NAME not in outputs:
        raise FailedPrecondition(f"the XGBoost ONNX converter produced outputs {outputs}, not {OUTPUT_NAME!r}")
    _check_branch_lt(model)
    for value in model.graph.input:
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=OPSET)
    return OnnxSignature(
        input_name=INPUT_NAME, input_shape=("batch", n_features), output_name=OUTPUT_NAME, opset=int(opset)
    )


def _check_branch_lt(model: onnx.ModelProto) -> None:
    """Every split must be ``x < t`` as in XGBoost; any other mode would decide ties differently."""
    modes: set[str] = set()
    for node in model.graph.node:
        if node.op_type.startswith("TreeEnsemble"):
            for attr in node.attribute:
                if attr.name == "nodes_modes":
                    modes |= {s.decode() for s in attr.strings}
    if not modes or not modes <= {"BRANCH_LT", "LEAF"}:
        raise FailedPrecondition(f"the XGBoost ONNX graph has node modes {sorted(modes)}; BRANCH_LT expected")
