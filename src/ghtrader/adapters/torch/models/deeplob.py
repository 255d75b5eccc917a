"""DeepLOB (Zhang, Zohren & Roberts 2019): convolutions over the book, an inception module, an LSTM.

The original takes 40 raw L5 book columns (price/volume x bid/ask x 10 levels). Here a per-tick
linear projection first maps any ``f`` input columns to ``book_width`` (default 40) channels, so
the same stack (1x2 stride-2 convolutions pairing columns, 4x1 convolutions over time, a final
convolution collapsing the width) runs on factor frames too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

DEFAULTS: dict[str, Any] = {
    "book_width": 40,
    "conv_channels": 16,
    "inception_channels": 32,
    "lstm_hidden": 32,
    "dropout": 0.1,
}


def _time_conv(channels: int) -> list[nn.Module]:
    # Pad 3 rows before the window start so a 4x1 kernel keeps the window length (causal).
    return [
        nn.ZeroPad2d((0, 0, 3, 0)),
        nn.Conv2d(channels, channels, (4, 1)),
        nn.LeakyReLU(0.01),
        nn.BatchNorm2d(channels),
    ]


def _conv_block(c_in: int, channels: int, kernel: tuple[int, int], stride: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, channels, kernel, stride=stride),
        nn.LeakyReLU(0.01),
        nn.BatchNorm2d(channels),
        *_time_conv(channels),
        *_time_conv(channels),
    )


class DeepLOB(nn.Module):
    """Projection -> 3 conv blocks (width 40 -> 20 -> 10 -> 1) -> inception -> LSTM -> logits."""

    def __init__(
        self,
        n_features: int,
        window: int,
        book_width: int = 40,
        conv_channels: int = 16,
        inception_channels: int = 32,
        lstm_hidden: int = 32,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if book_width < 4 or book_width % 4:
            raise ValueError(f"invalid book_width={book_width}: expected a multiple of 4, >= 4")
        c, ci = conv_channels, inception_channels
        self.project = nn.Linear(n_features, book_width)
        self.block1 = _conv_block(1, c, (1, 2), (1, 2))
        self.block2 = _conv_block(c, c, (1, 2), (1, 2))
        self.block3 = _conv_block(c, c, (1, book_width // 4), (1, 1))
        self.branch3 = nn.Sequential(
            nn.Conv2d(c, ci, 1),
            nn.LeakyReLU(0.01),
            nn.BatchNorm2d(ci),
            nn.ZeroPad2d((0, 0, 1, 1)),
            nn.Conv2d(ci, ci, (3, 1)),
            nn.LeakyReLU(0.01),
            nn.BatchNorm2d(ci),
        )
        self.branch5 = nn.Sequential(
            nn.Conv2d(c, ci, 1),
            nn.LeakyReLU(0.01),
            nn.BatchNorm2d(ci),
            nn.ZeroPad2d((0, 0, 2, 2)),
            nn.Conv2d(ci, ci, (5, 1)),
            nn.LeakyReLU(0.01),
            nn.BatchNorm2d(ci),
        )
        self.branch_pool = nn.Sequential(
            nn.MaxPool2d((3, 1), stride=1, padding=(1, 0)),
            nn.Conv2d(c, ci, 1),
            nn.LeakyReLU(0.01),
            nn.BatchNorm2d(ci),
        )
        self.lstm = nn.LSTM(3 * ci, lstm_hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(lstm_hidden, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.project(x).unsqueeze(1)  # (B, 1, W, book_width)
        z = self.block3(self.block2(self.block1(z)))  # (B, C, W, 1)
        z = torch.cat([self.branch3(z), self.branch5(z), self.branch_pool(z)], dim=1)  # (B, 3Ci, W, 1)
        z = z.squeeze(3).transpose(1, 2)  # (B, W, 3Ci)
        out, _ = self.lstm(z)
        return self.head(self.drop(out[:, -1]))


def build(n_features: int, window: int, params: Mapping[str, Any]) -> nn.Module:
    return DeepLOB(n_features, window, **params)
