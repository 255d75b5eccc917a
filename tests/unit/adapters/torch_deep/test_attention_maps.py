"""Attention maps of the transformer families: shapes, rows summing to 1, the probe leaves the
module (weights, outputs, mode) unchanged, the CLS read-out, TLOB's feature projection, the
hooked weights equal a direct recomputation, and families without attention give ``None``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ghtrader.adapters.torch import deep_families
from ghtrader.adapters.torch.attention import TorchAttentionMaps, capture_attention, feature_projection
from ghtrader.adapters.torch.models._layers import SelfAttention
from ghtrader.application.ports.models import TrainConfig
from ghtrader.application.research.explain_attention import attention_entry
from tests.unit.adapters.torch_deep.frames import planted_frame
from tests.unit.adapters.torch_deep.tiny import TINY

WINDOW, F = 8, 4


def _model(name: str, epochs: int = 1, params: dict[str, object] | None = None) -> object:
    frame = planted_frame(1200, F, seed=1, segments=1)
    train, valid = frame.take(np.arange(900)), frame.take(np.arange(900, 1200))
    config = TrainConfig(
        horizon=1, window=WINDOW, max_epochs=epochs, batch_size=128, params={**TINY[name], **(params or {})}, seed=0
    )
    return deep_families()[name].fit(train, valid, config, lambda *_: None), valid


def _x(model: object, valid: object, m: int = 20) -> np.ndarray:
    x, _ = model.inputs(valid)  # type: ignore[attr-defined]
    return x[:m]


@pytest.mark.parametrize(
    ("name", "params", "tokens", "readout"),
    [
        ("transformer", {}, WINDOW + 1, 0),
        ("transformer", {"pooling": "last"}, WINDOW, WINDOW - 1),
        ("patchtst", {}, (WINDOW - 4) // 4 + 2, None),
    ],
)
def test_temporal_maps_are_row_stochastic(
    name: str, params: dict[str, object], tokens: int, readout: int | None
) -> None:
    model, valid = _model(name, params=params)
    x = _x(model, valid)
    state = {k: v.clone() for k, v in model.module.state_dict().items()}
    with torch.no_grad():
        before = model.module(torch.from_numpy(x)).numpy()
    maps = TorchAttentionMaps().attention(model, x)
    assert maps is not None and [m.layer for m in maps] == [1]  # TINY: one layer
    am = maps[0]
    assert am.kind == "temporal" and am.weights.shape == (20, tokens, tokens) and am.readout == readout
    np.testing.assert_allclose(am.weights.sum(axis=-1), 1.0, atol=1e-6)
    assert (am.weights >= 0).all() and len(am.labels) == tokens == len(am.step_of)
    assert min(am.step_of) in (-1, 0) and max(am.step_of) <= WINDOW - 1
    # nothing changed: weights, outputs, eval mode
    assert all(torch.equal(state[k], v) for k, v in model.module.state_dict().items())
    with torch.no_grad():
        np.testing.assert_array_equal(model.module(torch.from_numpy(x)).numpy(), before)
    assert not model.module.training


def test_tlob_has_temporal_and_feature_maps() -> None:
    model, valid = _model("tlob", params={"layers": 2})
    x = _x(model, valid, 10)
    maps = TorchAttentionMaps().attention(model, x)
    assert maps is not None
    assert [(m.kind, m.layer) for m in maps] == [("temporal", 1), ("temporal", 2), ("feature", 1), ("feature", 2)]
    for am in maps:
        n = WINDOW if am.kind == "temporal" else F
        assert am.weights.shape == (10, n, n)
        np.testing.assert_allclose(am.weights.sum(axis=-1), 1.0, atol=1e-6)
    assert maps[2].labels == model.feature_names


def test_hooked_weights_equal_a_direct_recomputation() -> None:
    torch.manual_seed(0)
    layer = SelfAttention(8, 2).eval()
    x = torch.randn(3, 5, 8)
    (got,) = capture_attention(layer, [layer], x.numpy())
    q, k, _ = layer.qkv(x).reshape(3, 5, 3, 2, 4).permute(2, 0, 3, 1, 4)
    want = torch.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1).mean(dim=1)
    np.testing.assert_allclose(got, want.detach().numpy(), atol=1e-6)


def test_feature_projection_keeps_rows_stochastic() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((2, 6, 6))
    a /= a.sum(axis=-1, keepdims=True)
    out = feature_projection(a, rng.standard_normal((6, 3)))
    assert out.shape == (2, 3, 3)
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, atol=1e-12)
    # an embedding that copies feature j into channel j only gives back the channel map itself
    np.testing.assert_allclose(feature_projection(a, np.eye(6)), a, atol=1e-12)


@pytest.mark.parametrize("name", ["tcn", "deeplob"])
def test_families_without_attention_give_none(name: str) -> None:
    model, valid = _model(name)
    assert TorchAttentionMaps().attention(model, _x(model, valid, 4)) is None


def test_report_entry_summarises_the_readout_query() -> None:
    model, valid = _model("transformer")
    am = TorchAttentionMaps().attention(model, _x(model, valid))[0]  # type: ignore[index]
    e = attention_entry(am, 3)
    assert np.allclose(e["tick_map"], am.weights[3]) and np.allclose(e["mean_map"], am.weights.mean(axis=0))
    s = e["summary"]
    assert s["query"] == "CLS" and s["row_sum_max_error"] < 1e-6 and 0 < s["entropy"] <= 1
    cls_row = am.weights.mean(axis=0)[0]
    assert s["share_last_k"]["1"] == pytest.approx(cls_row[-1]) and s["share_last_k"]["5"] == pytest.approx(
        cls_row[-5:].sum()
    )
    assert s["uniform_share_last_k"] == {"1": pytest.approx(1 / 9), "5": pytest.approx(5 / 9)}
    assert s["share_non_tick"] == pytest.approx(cls_row[0])
