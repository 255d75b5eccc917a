"""PatchTST (Nie et al. 2023): each feature channel is cut into overlapping patches of ticks and
encoded *independently* by one shared Transformer over its patches; the per-channel patch
embeddings are flattened together into a linear classification head.

As in the paper the series is padded at the end with ``stride`` copies of its last value, giving
``(window - patch_len) // stride + 2`` patches per channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ghtrader.adapters.torch.models._layers import EncoderBlock

DEFAULTS: dict[str, Any] = {
    "patch_len": 8,
    "stride": 4,
    "d_model": 32,
    "heads": 4,
    "layers": 2,
    "mlp_ratio": 2.0,
    "dropout": 0.1,
}


class PatchTST(nn.Module):
    """(B, W, f) -> per channel (B*f, patches, patch_len) -> embed + positions -> encoder -> head."""

    def __init__(
        self,
        n_features: int,
        window: int,
        patch_len: int = 8,
        stride: int = 4,
        d_model: int = 32,
        heads: int = 4,
        layers: int = 2,
        mlp_ratio: float = 2.0,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if patch_len < 1 or stride < 1:
            raise ValueError(f"invalid patching (patch_len={patch_len}, stride={stride}): expected >= 1")
        patch_len = min(patch_len, window)
        n_patches = (window - patch_len) // stride + 2
        self.n_features = n_features
        self.stride = stride
        starts = torch.arange(n_patches) * stride
        self.register_buffer("patch_index", starts[:, None] + torch.arange(patch_len)[None, :], persistent=False)
        self.embed = nn.Linear(patch_len, d_model)
        self.positions = nn.Parameter(torch.randn(1, n_patches, d_model) * 0.02)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.Sequential(*[EncoderBlock(d_model, heads, mlp_ratio, dropout) for _ in range(layers)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(n_features * n_patches * d_model, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = x.shape[1]
        series = x.transpose(1, 2).reshape(-1, w)  # (B*f, W), one row per channel
        series = torch.cat([series, series[:, -1:].expand(-1, self.stride)], dim=1)
        patches = series[:, self.patch_index]  # (B*f, P, patch_len)
        z = self.norm(self.blocks(self.drop(self.embed(patches) + self.positions)))
        return self.head(z.reshape(-1, self.n_features, z.shape[1] * z.shape[2]))


def build(n_features: int, window: int, params: Mapping[str, Any]) -> nn.Module:
    return PatchTST(n_features, window, **params)
