"""Every architecture: shapes, the pieces written by hand, and torch == ONNX Runtime."""

from __future__ import annotations

import importlib.util

import numpy as np
import onnxruntime as ort
import pytest
import torch

from ghtrader.adapters.torch.export import INPUT_NAME, OUTPUT_NAME, export_onnx
from ghtrader.adapters.torch.models import ARCHITECTURES
from ghtrader.adapters.torch.models.ssm import linear_scan
from ghtrader.adapters.torch.models.tkan import bspline_basis
from tests.unit.adapters.torch_deep.tiny import TINY

WINDOW, FEATURES = 16, 6


def _module(name: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return ARCHITECTURES[name].build(FEATURES, WINDOW, TINY[name]).eval()


def test_every_family_has_tiny_sizes_and_known_parameters() -> None:
    assert set(TINY) == set(ARCHITECTURES)
    for name, module in ARCHITECTURES.items():
        assert set(TINY[name]) <= set(module.DEFAULTS), name
        assert module.__doc__ and len(module.__doc__) > 80, f"{name} needs a docstring saying what it is"


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_logits_shape_and_gradients(name: str) -> None:
    module = _module(name).train()
    x = torch.randn(5, WINDOW, FEATURES)
    out = module(x)
    assert out.shape == (5, 3) and torch.isfinite(out).all()
    out.sum().backward()
    grads = [p.grad for p in module.parameters() if p.requires_grad]
    assert all(g is not None for g in grads), f"{name}: a parameter gets no gradient"


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_default_sizes_build_for_odd_shapes(name: str) -> None:
    module = ARCHITECTURES[name].build(7, 9, ARCHITECTURES[name].DEFAULTS).eval()
    with torch.no_grad():
        assert module(torch.randn(2, 9, 7)).shape == (2, 3)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_onnx_probabilities_match_torch(name: str, tmp_path) -> None:
    module = _module(name, seed=3)
    sig = export_onnx(module, tmp_path / f"{name}.onnx", WINDOW, FEATURES)
    assert sig.input_name == INPUT_NAME and sig.output_name == OUTPUT_NAME
    assert sig.input_shape == ("batch", WINDOW, FEATURES) and sig.opset >= 17
    session = ort.InferenceSession(str(tmp_path / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(5)
    for batch in (1, 13):  # the batch axis is dynamic
        x = rng.standard_normal((batch, WINDOW, FEATURES)).astype(np.float32)
        with torch.no_grad():
            expected = torch.softmax(module(torch.from_numpy(x)), dim=-1).numpy()
        got = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
        assert got.shape == (batch, 3)
        np.testing.assert_allclose(got, expected, atol=1e-4)
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.skipif(importlib.util.find_spec("onnxscript") is None, reason="onnxscript not installed (dynamo exporter)")
def test_dynamo_exporter_gives_the_same_graph_outputs(tmp_path) -> None:
    module = _module("tcn")
    export_onnx(module, tmp_path / "tcn.onnx", WINDOW, FEATURES, exporter="dynamo")
    x = np.random.default_rng(0).standard_normal((4, WINDOW, FEATURES)).astype(np.float32)
    got = ort.InferenceSession(str(tmp_path / "tcn.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {INPUT_NAME: x}
    )[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, torch.softmax(module(torch.from_numpy(x)), -1).numpy(), atol=1e-4)


@pytest.mark.parametrize("length", [1, 5, 16, 33])
def test_parallel_scan_equals_the_recurrence(length: int) -> None:
    g = torch.Generator().manual_seed(length)
    log_a = -torch.rand(2, length, 3, 4, generator=g) * 2
    b = torch.randn(2, length, 3, 4, generator=g)
    h, expected = torch.zeros(2, 3, 4), []
    for t in range(length):
        h = torch.exp(log_a[:, t]) * h + b[:, t]
        expected.append(h)
    torch.testing.assert_close(linear_scan(log_a, b, length), torch.stack(expected, dim=1), atol=1e-5, rtol=1e-5)


def test_bspline_bases_partition_unity_inside_the_grid_and_vanish_outside() -> None:
    order, grid_size, r = 3, 5, 2.0
    step = 2 * r / grid_size
    grid = torch.arange(-order, grid_size + order + 1, dtype=torch.float32) * step - r
    x = torch.tensor([[-1.99, -0.3, 0.0, 1.2, 1.99]])
    bases = bspline_basis(x, grid, order)
    assert bases.shape == (1, 5, grid_size + order)
    torch.testing.assert_close(bases.sum(-1), torch.ones(1, 5))
    assert (bases >= 0).all()
    outside = bspline_basis(torch.tensor([[-9.0, 9.0]]), grid, order)
    assert outside.abs().sum() == 0


def test_ssm_sequential_and_parallel_scans_agree() -> None:
    torch.manual_seed(1)
    seq = ARCHITECTURES["ssm"].build(FEATURES, WINDOW, {**TINY["ssm"], "scan": "sequential"}).eval()
    par = ARCHITECTURES["ssm"].build(FEATURES, WINDOW, {**TINY["ssm"], "scan": "parallel"}).eval()
    par.load_state_dict(seq.state_dict())
    x = torch.randn(4, WINDOW, FEATURES)
    with torch.no_grad():
        torch.testing.assert_close(seq(x), par(x), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="scan"):
        ARCHITECTURES["ssm"].build(FEATURES, WINDOW, {"scan": "sideways"})


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_mixed_precision_forward_and_backward(name: str) -> None:
    # CUDA autocast is what training uses on a GPU; CPU bfloat16 autocast exercises the same
    # dtype boundaries (float32 scans, buffers added to half-precision activations) here.
    module = _module(name).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(torch.randn(3, WINDOW, FEATURES))
    assert out.shape == (3, 3) and torch.isfinite(out.float()).all()
    out.float().sum().backward()


def test_transformer_last_token_pooling_has_no_unused_parameters() -> None:
    module = ARCHITECTURES["transformer"].build(FEATURES, WINDOW, {**TINY["transformer"], "pooling": "last"})
    module(torch.randn(2, WINDOW, FEATURES)).sum().backward()
    assert all(p.grad is not None for p in module.parameters())
