"""ONNX export of a LightGBM booster with onnxmltools' converter.

The graph takes the raw float32 features (``features``, (batch, f); NaN follows LightGBM's
missing-value branches) and returns ``probabilities`` (batch, 3) as a plain tensor (no ZipMap)
beside the ``label`` output.

LightGBM compares a feature with a float64 split threshold (``x <= t``, usually the midpoint of
two adjacent training values); ONNX's TreeEnsemble holds thresholds as float32, and rounding
``t`` to the nearest float32 can land on the upper neighbour, which then goes left in ONNX and
right in LightGBM. Every numerical threshold is therefore rounded DOWN to a float32 before the
conversion: for any float32 ``x``, ``x <= t`` exactly when ``x <= floor32(t)``, so on float32
inputs (what both the model and the graph are fed) every split decides the same way.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import onnx

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.models import OnnxSignature

__all__ = ["INPUT_NAME", "OPSET", "OUTPUT_NAME", "booster_to_onnx", "float32_threshold_booster"]

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
        float32_threshold_booster(booster),
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
    return OnnxSignature(
        input_name=INPUT_NAME, input_shape=("batch", n_features), output_name=OUTPUT_NAME, opset=int(opset)
    )


def _floor_float32(values: np.ndarray) -> np.ndarray:
    """The largest float32 at or below each float64 value (as float64)."""
    with np.errstate(over="ignore"):
        near = values.astype(np.float32)
    above = near.astype(np.float64) > values
    near[above] = np.nextafter(near[above], np.float32(-np.inf))
    return near.astype(np.float64)


def float32_threshold_booster(booster: lgb.Booster) -> lgb.Booster:
    """The same trees with every numerical split threshold rounded down to a float32 (see the
    module docstring); categorical splits are left as they are. Predictions on float32 inputs
    equal ``booster``'s exactly."""
    lines = booster.model_to_string().split("\n")
    out: list[str] = []
    thresholds_at: int | None = None
    for line in lines:
        if line.startswith("tree_sizes="):
            continue  # byte sizes of the tree blocks change; LightGBM parses without them
        if line.startswith("Tree="):
            thresholds_at = None
        if line.startswith("threshold="):
            thresholds_at = len(out)
        elif line.startswith("decision_type=") and thresholds_at is not None:
            kinds = np.array(line.split("=", 1)[1].split(), dtype=np.int64)
            text = out[thresholds_at].split("=", 1)[1].split()
            values = np.array(text, dtype=np.float64)
            numerical = (kinds & 1) == 0
            values[numerical] = _floor_float32(values[numerical])
            out[thresholds_at] = "threshold=" + " ".join(
                repr(float(v)) if num else t for v, t, num in zip(values, text, numerical, strict=True)
            )
        out.append(line)
    return lgb.Booster(model_str="\n".join(out))
