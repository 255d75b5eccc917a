"""Building blocks shared by the attention models, written with plain ops so ONNX export is exact.

``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer`` switch to fused inference kernels in
eval mode; these blocks compute the same maths with matmul/softmax only, identical in training,
eval and the exported graph.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def heads_for(dim: int, wanted: int) -> int:
    """The largest head count <= ``wanted`` that divides ``dim``."""
    for h in range(max(1, min(wanted, dim)), 0, -1):
        if dim % h == 0:
            return h
    return 1


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """``(1, length, dim)`` fixed sine/cosine position codes (Vaswani et al.)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10_000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return pe[None]


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention over the token axis of ``(batch, tokens, dim)``."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = heads_for(dim, heads)
        self.head_dim = dim // self.heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)
        self.scale = 1.0 / math.sqrt(self.head_dim)
        # a no-op the explain probe hooks to read the (batch, heads, tokens, tokens) weights;
        # no parameters, nothing in the state dict or the exported graph
        self.probs = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens, dim = x.shape[1], x.shape[2]
        qkv = self.qkv(x).reshape(-1, tokens, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = self.probs(torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * self.scale, dim=-1))
        y = torch.matmul(self.drop(att), v).transpose(1, 2).reshape(-1, tokens, dim)
        return self.out(y)


class EncoderBlock(nn.Module):
    """Pre-norm Transformer encoder block: ``x + attn(ln(x))`` then ``x + mlp(ln(x))``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0, dropout: float = 0.0) -> None:
        super().__init__()
        hidden = max(1, round(dim * mlp_ratio))
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x)))
        return x + self.drop(self.mlp(self.norm2(x)))
