"""Attention maps of the transformer-family models, read during an eval-mode forward pass.

Every attention layer of these models is a :class:`~ghtrader.adapters.torch.models._layers.SelfAttention`
whose softmax goes through a no-op ``probs`` module; a forward hook on it copies the
``(batch, heads, tokens, tokens)`` weights. Nothing about the module changes (weights, mode
after the pass, ONNX graph). Per architecture the tokens mean:

- ``transformer``: the ticks of the window (plus the CLS token first when pooled by CLS), one
  temporal map per layer; the read-out query is the CLS token or the newest tick;
- ``tlob``: a temporal map per layer (tokens = ticks) and a *spatial* one (tokens = the
  ``hidden`` embedded channels). The spatial map is returned over the input features through the
  embedding's absolute weights: with ``P`` (channels x features) each channel's weight shares
  and ``Q`` (features x channels) each feature's shares over channels, ``Q A P`` is row-stochastic
  like ``A`` (an approximation: the channels mix features linearly);
- ``patchtst``: tokens = patches of ticks, one map per layer averaged over the feature channels
  (each channel is encoded on its own by the shared encoder).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from ghtrader.adapters.torch.family import TorchTrainedModel
from ghtrader.adapters.torch.models._layers import SelfAttention
from ghtrader.adapters.torch.models.patchtst import PatchTST
from ghtrader.adapters.torch.models.tlob import TLOB
from ghtrader.adapters.torch.models.transformer import TickTransformer
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.explain import AttentionMap
from ghtrader.application.ports.models import TrainedModel

__all__ = ["TorchAttentionMaps", "capture_attention", "feature_projection"]


@contextmanager
def _hooked(layers: list[SelfAttention]) -> Iterator[list[list[torch.Tensor]]]:
    captured: list[list[torch.Tensor]] = [[] for _ in layers]
    handles = []
    for k, layer in enumerate(layers):

        def hook(_m: nn.Module, _inputs: object, output: torch.Tensor, k: int = k) -> None:
            captured[k].append(output.detach().to("cpu", torch.float64))

        handles.append(layer.probs.register_forward_hook(hook))
    try:
        yield captured
    finally:
        for h in handles:
            h.remove()


def capture_attention(
    module: nn.Module, layers: list[SelfAttention], x: np.ndarray, batch_size: int = 64
) -> list[np.ndarray]:
    """Per layer in ``layers``: the head-averaged weights ``(batch, tokens, tokens)`` of one
    eval-mode forward pass of ``module`` over ``x`` (the layer's own batch axis, which is
    ``m * channels`` for a channel-independent encoder). The module's mode is restored."""
    was_training = module.training
    module.eval()
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    try:
        with _hooked(layers) as captured, torch.no_grad():
            for i in range(0, xt.shape[0], batch_size):
                module(xt[i : i + batch_size])
    finally:
        module.train(was_training)
    return [torch.cat(chunks).mean(dim=1).numpy() if chunks else np.empty((0, 0, 0)) for chunks in captured]


def feature_projection(weights: np.ndarray, embed: np.ndarray) -> np.ndarray:
    """``(m, c, c)`` channel attention -> ``(m, f, f)`` feature attention ``Q A P`` through the
    embedding ``embed`` (c channels x f features): rows of the result still sum to 1."""
    a = np.abs(np.asarray(embed, dtype=np.float64))
    p = a / np.maximum(a.sum(axis=1, keepdims=True), 1e-300)  # (c, f): each channel's feature shares
    q = (a / np.maximum(a.sum(axis=0, keepdims=True), 1e-300)).T  # (f, c): each feature's channel shares
    return np.einsum("fc,mcd,dg->mfg", q, weights, p)


def _tick_labels(window: int) -> tuple[str, ...]:
    return tuple(f"t-{window - 1 - i}" for i in range(window))


def _transformer(module: TickTransformer, x: np.ndarray) -> list[AttentionMap]:
    window = x.shape[1]
    layers = [block.attn for block in module.blocks]
    maps = capture_attention(module, layers, x)
    cls = module.pooling == "cls"
    labels = (("CLS",) if cls else ()) + _tick_labels(window)
    steps = ((-1,) if cls else ()) + tuple(range(window - 1, -1, -1))
    readout = 0 if cls else window - 1
    return [
        AttentionMap(f"layer {k + 1} temporal", "temporal", k + 1, w, labels, readout, steps)
        for k, w in enumerate(maps)
    ]


def _tlob(module: TLOB, x: np.ndarray, feature_names: tuple[str, ...]) -> list[AttentionMap]:
    window = x.shape[1]
    temporal = [layer.temporal.attn for layer in module.layers]
    spatial = [layer.spatial.attn for layer in module.layers]
    maps = capture_attention(module, temporal + spatial, x)
    embed = module.embed.weight.detach().cpu().numpy()
    labels = _tick_labels(window)
    steps = tuple(range(window - 1, -1, -1))
    out = [
        AttentionMap(f"layer {k + 1} temporal", "temporal", k + 1, w, labels, None, steps)
        for k, w in enumerate(maps[: len(temporal)])
    ]
    note = "spatial attention over the embedded channels, mapped to input features through |embedding weights|"
    out += [
        AttentionMap(f"layer {k + 1} feature", "feature", k + 1, feature_projection(w, embed), feature_names, note=note)
        for k, w in enumerate(maps[len(temporal) :])
    ]
    return out


def _patchtst(module: PatchTST, x: np.ndarray) -> list[AttentionMap]:
    m, window, f = x.shape
    layers = [block.attn for block in module.blocks]
    maps = capture_attention(module, layers, x)
    index = module.patch_index.cpu().numpy()  # (patches, patch_len) tick positions, past the end = padding
    first = np.minimum(index[:, 0], window - 1)
    last = np.minimum(index[:, -1], window - 1)
    labels = tuple(f"t-{window - 1 - int(a)}..t-{window - 1 - int(b)}" for a, b in zip(first, last, strict=True))
    steps = tuple(int(window - 1 - b) for b in last)
    note = "tokens are patches of ticks; averaged over the feature channels (each encoded on its own)"
    return [
        AttentionMap(
            f"layer {k + 1} temporal",
            "temporal",
            k + 1,
            w.reshape(m, f, *w.shape[1:]).mean(axis=1),
            labels,
            readout=None,
            step_of=steps,
            note=note,
        )
        for k, w in enumerate(maps)
    ]


class TorchAttentionMaps:
    """AttentionProbe for the deep families: maps of transformer, TLOB and PatchTST models,
    ``None`` for the architectures without attention (deeplob, tcn, ssm, tkan)."""

    def attention(self, model: TrainedModel, x: np.ndarray) -> list[AttentionMap] | None:
        if not isinstance(model, TorchTrainedModel):
            return None
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 3:
            raise InvalidArgument(f"expected windows (m, window, f), got shape {x.shape}")
        module = model.module.to("cpu")
        if isinstance(module, TickTransformer):
            return _transformer(module, x)
        if isinstance(module, TLOB):
            return _tlob(module, x, tuple(model.feature_names))
        if isinstance(module, PatchTST):
            return _patchtst(module, x)
        return None
