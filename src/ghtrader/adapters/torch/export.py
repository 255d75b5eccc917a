"""ONNX export of a deep model: ``(batch, window, f)`` normalized windows -> ``(batch, 3)`` probabilities.

The graph ends in a softmax so it returns probabilities, as :class:`OnnxSignature` promises.
The default exporter is PyTorch's TorchScript-based one (``dynamo=False``): it handles all seven
architectures in about a second each without extra packages. ``exporter="dynamo"`` uses the
``torch.export`` path instead (needs the ``onnxscript`` package; much slower on the recurrent
models); switch when the legacy exporter is removed from PyTorch.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Literal

import onnx
import torch
from torch import nn

from ghtrader.application.ports.models import OnnxSignature

__all__ = ["INPUT_NAME", "OPSET", "OUTPUT_NAME", "export_onnx"]

INPUT_NAME = "x"
OUTPUT_NAME = "probabilities"
OPSET = 17


class _Probabilities(nn.Module):
    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.module(x), dim=-1)


def export_onnx(
    module: nn.Module,
    path: Path,
    window: int,
    n_features: int,
    opset: int = OPSET,
    exporter: Literal["torchscript", "dynamo"] = "torchscript",
) -> OnnxSignature:
    """Write ``module`` (eval mode, float32, CPU copy) as a single-file ONNX graph with a dynamic batch axis."""
    if opset < 17:
        raise ValueError(f"invalid opset={opset}: expected >= 17")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapped = _Probabilities(copy.deepcopy(module).to("cpu").float().eval()).eval()
    example = (torch.zeros(2, window, n_features),)
    with warnings.catch_warnings():
        # The legacy exporter announces its deprecation and warns about traced Python control
        # flow; the window length is fixed per model, so unrolled loops are exact.
        warnings.simplefilter("ignore")
        if exporter == "torchscript":
            torch.onnx.export(
                wrapped,
                example,
                str(path),
                dynamo=False,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            )
        elif exporter == "dynamo":
            program = torch.onnx.export(
                wrapped,
                example,
                dynamo=True,
                opset_version=max(opset, 18),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
            )
            program.save(str(path), external_data=False)
        else:
            raise ValueError(f"invalid exporter={exporter!r}: expected 'torchscript' or 'dynamo'")
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph)
    opset_used = next((o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")), opset)
    return OnnxSignature(
        input_name=INPUT_NAME, input_shape=("batch", window, n_features), output_name=OUTPUT_NAME, opset=int(opset_used)
    )
