"""``OnnxCalibrationGraphWriter``: appends a probability calibrator to an exported graph.

The node that produced the probability output now writes ``probabilities_uncalibrated`` (any
other consumer, e.g. a converter's ``label`` output, keeps reading that tensor), and these nodes
produce the output under its old name:

    Max(p, eps) -> Log -> MatMul(W^T) -> Add(b) -> Softmax(axis=-1)

Max, Log, MatMul, Add and a last-axis Softmax of a (batch, 3) tensor mean the same in every
default-domain opset from 9 on, so the graph keeps its opset (a graph without the default
domain gets opset 9 for it) and its signature.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ghtrader.application.errors import FailedPrecondition

__all__ = ["OUTPUT_NAME", "OnnxCalibrationGraphWriter", "append_calibration"]

#: The probability output every exporter of ghTrader names.
OUTPUT_NAME = "probabilities"
_PREFIX = "calibration_"
_MIN_OPSET = 9


def _unique(graph: onnx.GraphProto, name: str) -> str:
    taken = {n for node in graph.node for n in (*node.input, *node.output)}
    taken |= {i.name for i in graph.initializer} | {i.name for i in graph.input}
    candidate, k = name, 1
    while candidate in taken:
        candidate, k = f"{name}_{k}", k + 1
    return candidate


def append_calibration(
    model: onnx.ModelProto, weights: np.ndarray, bias: np.ndarray, eps: float, output: str = OUTPUT_NAME
) -> onnx.ModelProto:
    """``model`` with the calibrator on ``output`` (a new ModelProto; ``model`` is not changed)."""
    weights = np.asarray(weights, dtype=np.float64)
    bias = np.asarray(bias, dtype=np.float64)
    k = bias.shape[0]
    if weights.shape != (k, k):
        raise FailedPrecondition(f"calibration weights {weights.shape} do not match bias {bias.shape}")
    out = onnx.ModelProto()
    out.CopyFrom(model)
    if not any(o.domain in ("", "ai.onnx") for o in out.opset_import):
        # A graph of ai.onnx.ml nodes only (XGBoost's converter): the appended nodes need the
        # default domain; 9 is the lowest opset where they all mean what they mean here.
        out.opset_import.append(helper.make_opsetid("", _MIN_OPSET))
    graph = out.graph
    if output not in [o.name for o in graph.output]:
        raise FailedPrecondition(f"the ONNX graph has no output {output!r} to calibrate")
    raw = _unique(graph, f"{output}_uncalibrated")
    for node in graph.node:
        node.output[:] = [raw if n == output else n for n in node.output]
        node.input[:] = [raw if n == output else n for n in node.input]
    names = {s: _unique(graph, _PREFIX + s) for s in ("eps", "wt", "b", "floored", "log", "mixed", "logits")}
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(eps, dtype=np.float32), names["eps"]),
            numpy_helper.from_array(np.ascontiguousarray(weights.T, dtype=np.float32), names["wt"]),
            numpy_helper.from_array(bias.astype(np.float32), names["b"]),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Max", [raw, names["eps"]], [names["floored"]], name=_PREFIX + "floor"),
            helper.make_node("Log", [names["floored"]], [names["log"]], name=_PREFIX + "log"),
            helper.make_node("MatMul", [names["log"], names["wt"]], [names["mixed"]], name=_PREFIX + "matmul"),
            helper.make_node("Add", [names["mixed"], names["b"]], [names["logits"]], name=_PREFIX + "add"),
            helper.make_node("Softmax", [names["logits"]], [output], name=_PREFIX + "softmax", axis=-1),
        ]
    )
    onnx.checker.check_model(out)
    return out


class OnnxCalibrationGraphWriter:
    """CalibrationGraphWriter on the onnx package: rewrites the file in place."""

    def append(self, onnx_path: Path, weights: np.ndarray, bias: np.ndarray, eps: float) -> None:
        path = Path(onnx_path)
        if not path.is_file():
            raise FailedPrecondition(f"no ONNX graph at {path} to calibrate")
        model = append_calibration(onnx.load(str(path)), weights, bias, eps)
        tmp = path.with_name(path.name + ".calibrating")
        onnx.save_model(model, str(tmp))
        tmp.replace(path)
