"""Transformer encoder over ticks: per-tick linear embedding, sinusoidal positions, pre-norm
self-attention blocks, pooled by a learned CLS token (``pooling="cls"``) or the last tick
(``pooling="last"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ghtrader.adapters.torch.models._layers import EncoderBlock, sinusoidal_positions

DEFAULTS: dict[str, Any] = {"d_model": 32, "heads": 4, "layers": 2, "mlp_ratio": 2.0, "dropout": 0.1, "pooling": "cls"}


class TickTransformer(nn.Module):
    """(B, W, f) -> embed + positions (+ CLS) -> encoder blocks -> pooled token -> logits."""

    def __init__(
        self,
        n_features: int,
        window: int,
        d_model: int = 32,
        heads: int = 4,
        layers: int = 2,
        mlp_ratio: float = 2.0,
        dropout: float = 0.1,
        pooling: str = "cls",
    ) -> None:
        super().__init__()
        if pooling not in ("cls", "last"):
            raise ValueError(f"invalid pooling={pooling!r}: expected 'cls' or 'last'")
        self.pooling = pooling
        self.embed = nn.Linear(n_features, d_model)
        self.register_buffer("positions", sinusoidal_positions(window + 1, d_model), persistent=False)
        # Only a CLS-pooled model owns the token: DDP refuses parameters that get no gradient.
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model)) if pooling == "cls" else None
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.Sequential(*[EncoderBlock(d_model, heads, mlp_ratio, dropout) for _ in range(layers)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = x.shape[1]
        z = self.embed(x)
        if self.cls is not None:
            z = torch.cat([self.cls.expand(x.shape[0], -1, -1).to(z.dtype), z], dim=1) + self.positions[:, : w + 1]
        else:
            z = z + self.positions[:, :w]
        z = self.norm(self.blocks(self.drop(z)))
        return self.head(z[:, 0] if self.pooling == "cls" else z[:, -1])


def build(n_features: int, window: int, params: Mapping[str, Any]) -> nn.Module:
    return TickTransformer(n_features, window, **params)
