"""Hand-built ONNX graph of a fitted logistic model: raw features in, probabilities out.

``features`` (batch, f) float32 -> Where(IsNaN(x), mean, x) -> Sub(mean) -> Div(std) ->
MatMul(W) -> Add(b) -> Softmax -> ``probabilities`` (batch, 3). NaN inputs take the training
mean, exactly as ``LogisticModel.predict_proba`` does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ghtrader.application.ports.models import OnnxSignature

__all__ = ["INPUT_NAME", "OPSET", "OUTPUT_NAME", "logistic_graph"]

INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
OPSET = 17


def logistic_graph(
    mean: np.ndarray, std: np.ndarray, weights: np.ndarray, bias: np.ndarray, path: Path
) -> OnnxSignature:
    """Write the graph to ``path``; returns its signature."""
    f, k = weights.shape
    inits = [
        numpy_helper.from_array(np.asarray(mean, dtype=np.float32), "mean"),
        numpy_helper.from_array(np.asarray(std, dtype=np.float32), "std"),
        numpy_helper.from_array(np.asarray(weights, dtype=np.float32), "W"),
        numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "b"),
    ]
    nodes = [
        helper.make_node("IsNaN", [INPUT_NAME], ["is_nan"]),
        helper.make_node("Where", ["is_nan", "mean", INPUT_NAME], ["imputed"]),
        helper.make_node("Sub", ["imputed", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "std"], ["standardised"]),
        helper.make_node("MatMul", ["standardised", "W"], ["linear"]),
        helper.make_node("Add", ["linear", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [OUTPUT_NAME], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "ghtrader_logistic",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", f])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", k])],
        initializer=inits,
    )
    opsets = [helper.make_opsetid("", OPSET)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="ghtrader")
    model.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))
    return OnnxSignature(input_name=INPUT_NAME, input_shape=("batch", f), output_name=OUTPUT_NAME, opset=OPSET)
