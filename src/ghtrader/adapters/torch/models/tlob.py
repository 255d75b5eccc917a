"""TLOB (Berti & Kasneci 2025): a Transformer with dual attention for limit order books.

Each layer attends twice: *temporal* attention mixes ticks (tokens = the ``window`` ticks,
each a ``hidden``-wide embedding), then *spatial* attention mixes feature channels (tokens =
the ``hidden`` embedded features/levels, each carrying its ``window``-long history). Layers are
stacked; a small MLP reads the flattened ``(window, hidden)`` map out to logits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ghtrader.adapters.torch.models._layers import EncoderBlock, sinusoidal_positions

DEFAULTS: dict[str, Any] = {
    "hidden": 32,
    "layers": 2,
    "temporal_heads": 4,
    "spatial_heads": 1,
    "mlp_ratio": 2.0,
    "head_hidden": 64,
    "dropout": 0.1,
}


class DualAttentionLayer(nn.Module):
    """Temporal attention over ticks, then spatial attention over feature channels."""

    def __init__(
        self, window: int, hidden: int, temporal_heads: int, spatial_heads: int, mlp_ratio: float, dropout: float
    ):
        super().__init__()
        self.temporal = EncoderBlock(hidden, temporal_heads, mlp_ratio, dropout)
        self.spatial = EncoderBlock(window, spatial_heads, mlp_ratio, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, W, H)
        x = self.temporal(x)
        return self.spatial(x.transpose(1, 2)).transpose(1, 2)


class TLOB(nn.Module):
    """(B, W, f) -> embed to (B, W, hidden) + positions -> dual-attention layers -> MLP -> logits."""

    def __init__(
        self,
        n_features: int,
        window: int,
        hidden: int = 32,
        layers: int = 2,
        temporal_heads: int = 4,
        spatial_heads: int = 1,
        mlp_ratio: float = 2.0,
        head_hidden: int = 64,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(n_features, hidden)
        self.register_buffer("positions", sinusoidal_positions(window, hidden), persistent=False)
        self.layers = nn.Sequential(
            *[
                DualAttentionLayer(window, hidden, temporal_heads, spatial_heads, mlp_ratio, dropout)
                for _ in range(layers)
            ]
        )
        self.norm = nn.LayerNorm(hidden)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(window * hidden, head_hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(head_hidden, 3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.embed(x) + self.positions
        return self.head(self.norm(self.layers(z)))


def build(n_features: int, window: int, params: Mapping[str, Any]) -> nn.Module:
    return TLOB(n_features, window, **params)
