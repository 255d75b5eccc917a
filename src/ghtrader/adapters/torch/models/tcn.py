"""Temporal Convolutional Network (Bai, Kolter & Koltun 2018): residual blocks of dilated causal
1-D convolutions over time (dilation doubling per level), read out at the window's last tick.

With ``kernel_size`` k and ``levels`` L the receptive field is ``1 + 2 (k - 1) (2^L - 1)`` ticks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

DEFAULTS: dict[str, Any] = {"channels": 32, "levels": 4, "kernel_size": 3, "dropout": 0.1}


class CausalConv1d(nn.Conv1d):
    """Conv1d padded on the left only, so output ``t`` sees inputs ``<= t``."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int) -> None:
        super().__init__(c_in, c_out, kernel_size, dilation=dilation)
        self.left = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left, 0)))


class TemporalBlock(nn.Module):
    """Two dilated causal convolutions with ReLU and dropout, plus a (1x1 when needed) skip."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            CausalConv1d(c_in, c_out, kernel_size, dilation),
            nn.ReLU(),
            nn.Dropout(dropout),
            CausalConv1d(c_out, c_out, kernel_size, dilation),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.net(x) + self.skip(x))


class TCN(nn.Module):
    """(B, W, f) -> stacked temporal blocks (dilation 1, 2, 4, ...) -> last tick -> logits."""

    def __init__(
        self,
        n_features: int,
        window: int,
        channels: int = 32,
        levels: int = 4,
        kernel_size: int = 3,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        blocks = [
            TemporalBlock(n_features if i == 0 else channels, channels, kernel_size, 2**i, dropout)
            for i in range(levels)
        ]
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.blocks(x.transpose(1, 2))  # (B, C, W)
        return self.head(z[:, :, -1])


def build(n_features: int, window: int, params: Mapping[str, Any]) -> nn.Module:
    return TCN(n_features, window, **params)
