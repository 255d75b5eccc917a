"""OnnxInferenceRuntime: provider choice, batch-1 session options, probability output pick-up,
input checks and clear errors for missing or broken graphs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from ghtrader.adapters.onnx import OnnxInferenceRuntime
from ghtrader.adapters.onnx import runtime as runtime_module
from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound


def _softmax_graph(path: Path, outputs: tuple[str, ...] = ("probabilities",), f: int = 3) -> Path:
    """x (batch, f) -> Softmax(x @ I[:, :3]) under each name in ``outputs`` (plus an int label)."""
    weights = helper.make_tensor("W", TensorProto.FLOAT, [f, 3], np.eye(f, 3, dtype=np.float32).ravel().tolist())
    nodes = [helper.make_node("MatMul", ["x", "W"], ["logits"])]
    nodes += [helper.make_node("Softmax", ["logits"], [name], axis=-1) for name in outputs]
    nodes.append(helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0))
    graph = helper.make_graph(
        nodes,
        "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", f])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])]
        + [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 3]) for name in outputs],
        initializer=[weights],
    )
    opsets = [helper.make_opsetid("", 17)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.save_model(model, str(path))
    return path


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_cpu_session_returns_probabilities_with_batch_one_options(tmp_path: Path) -> None:
    path = _softmax_graph(tmp_path / "m.onnx")
    session = OnnxInferenceRuntime().load(path, prefer_gpu=False)
    assert session.providers == ("CPUExecutionProvider",)
    assert session.input_name == "x" and session.output_name == "probabilities"
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]], dtype=np.float64)  # cast to float32 inside
    np.testing.assert_allclose(session.run(x), _softmax(x), atol=1e-6)
    np.testing.assert_allclose(session.run(x[:1]), _softmax(x[:1]), atol=1e-6)  # batch 1
    options = OnnxInferenceRuntime(intra_op_threads=1)._options()
    assert options.intra_op_num_threads == 1


def test_provider_list_follows_preference_and_availability(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = OnnxInferenceRuntime(device_id=1)
    monkeypatch.setattr(OnnxInferenceRuntime, "_cuda_failed", False)
    monkeypatch.setattr(runtime_module, "_nvidia_driver_present", lambda: True)
    monkeypatch.setattr(
        runtime_module.ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    assert runtime.providers_for(prefer_gpu=True) == [
        ("CUDAExecutionProvider", {"device_id": 1}),
        "CPUExecutionProvider",
    ]
    monkeypatch.setattr(runtime_module, "_nvidia_driver_present", lambda: False)
    assert runtime.providers_for(prefer_gpu=True) == ["CPUExecutionProvider"]  # no driver: never ask
    monkeypatch.setattr(runtime_module, "_nvidia_driver_present", lambda: True)
    assert runtime.providers_for(prefer_gpu=False) == ["CPUExecutionProvider"]
    monkeypatch.setattr(runtime_module.ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert runtime.providers_for(prefer_gpu=True) == ["CPUExecutionProvider"]


def test_gpu_preference_reports_the_provider_really_used(tmp_path: Path) -> None:
    path = _softmax_graph(tmp_path / "m.onnx")
    runtime = OnnxInferenceRuntime()
    session = runtime.load(path, prefer_gpu=True)
    # onnxruntime-gpu may list CUDA without a usable GPU: the session says what it runs on.
    assert session.providers[-1] == "CPUExecutionProvider"
    if "CUDAExecutionProvider" not in session.providers:
        assert runtime.providers_for(prefer_gpu=True) == ["CPUExecutionProvider"]  # not retried
    x = np.ones((4, 3), dtype=np.float32)
    np.testing.assert_allclose(session.run(x), _softmax(x), atol=1e-6)


def test_output_is_found_without_the_conventional_name(tmp_path: Path) -> None:
    session = OnnxInferenceRuntime().load(_softmax_graph(tmp_path / "m.onnx", outputs=("probs",)), prefer_gpu=False)
    assert session.output_name == "probs"
    with pytest.raises(FailedPrecondition, match="probability output"):
        OnnxInferenceRuntime().load(_softmax_graph(tmp_path / "two.onnx", outputs=("a", "b")), prefer_gpu=False)


def test_input_shape_is_checked(tmp_path: Path) -> None:
    session = OnnxInferenceRuntime().load(_softmax_graph(tmp_path / "m.onnx", f=4), prefer_gpu=False)
    with pytest.raises(InvalidArgument, match="axis 1 must be 4"):
        session.run(np.ones((2, 3)))
    with pytest.raises(InvalidArgument, match="2 dimensions"):
        session.run(np.ones(4))


def test_missing_and_broken_files_are_refused(tmp_path: Path) -> None:
    runtime = OnnxInferenceRuntime()
    with pytest.raises(NotFound, match="does not exist"):
        runtime.load(tmp_path / "none.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a graph")
    with pytest.raises(FailedPrecondition, match="cannot load ONNX model"):
        runtime.load(broken, prefer_gpu=False)
