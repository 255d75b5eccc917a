"""T-KAN: an LSTM whose gate transforms are Kolmogorov-Arnold layers (Genet & Inzirillo 2024).

A KAN layer puts a learnable function on every input->output edge instead of a scalar weight:
``y_j = sum_i w_ij silu(x_i) + sum_i sum_k c_ijk B_k(x_i)`` with ``B_k`` cubic B-splines on a
uniform grid (Cox-de Boor recursion, written with comparisons and arithmetic only). The cell
computes its four gates as ``KAN_x(x_t) + KAN_h(h_{t-1})``; ``KAN_x`` runs over the whole window
at once, only ``KAN_h`` runs per step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

DEFAULTS: dict[str, Any] = {
    "hidden": 32,
    "grid_size": 5,
    "spline_order": 3,
    "input_range": 3.0,
    "dropout": 0.1,
}


def bspline_basis(x: torch.Tensor, grid: torch.Tensor, order: int) -> torch.Tensor:
    """B-spline bases of ``order`` on knots ``grid`` (K,) at ``x`` (..., d) -> (..., d, K - 1 - order).

    Zero outside ``[grid[order], grid[-order-1])``, where the bases form a partition of unity.
    """
    x = x.unsqueeze(-1)
    bases = ((x >= grid[:-1]) & (x < grid[1:])).to(x.dtype)
    for k in range(1, order + 1):
        left = (x - grid[: -(k + 1)]) / (grid[k:-1] - grid[: -(k + 1)])
        right = (grid[k + 1 :] - x) / (grid[k + 1 :] - grid[1:-k])
        bases = left * bases[..., :-1] + right * bases[..., 1:]
    return bases


class KANLinear(nn.Module):
    """KAN layer ``in_dim -> out_dim``: a SiLU base path plus a B-spline function on each edge."""

    def __init__(
        self, in_dim: int, out_dim: int, grid_size: int, spline_order: int, value_range: float, bias: bool = True
    ):
        super().__init__()
        if grid_size < 1 or spline_order < 1 or value_range <= 0:
            raise ValueError(
                f"invalid KAN grid (grid_size={grid_size}, spline_order={spline_order}, range={value_range}): "
                "expected positive values"
            )
        self.spline_order = spline_order
        step = 2.0 * value_range / grid_size
        knots = torch.arange(-spline_order, grid_size + spline_order + 1, dtype=torch.float32) * step - value_range
        self.register_buffer("grid", knots)
        self.n_bases = grid_size + spline_order
        self.base = nn.Linear(in_dim, out_dim, bias=bias)
        self.spline = nn.Parameter(torch.randn(out_dim, in_dim * self.n_bases) * (0.1 / (in_dim * self.n_bases) ** 0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        basis = bspline_basis(x, self.grid.to(x.dtype), self.spline_order)
        basis = basis.reshape(basis.shape[:-2] + (-1,))
        return self.base(F.silu(x)) + F.linear(basis, self.spline.to(x.dtype))


class TKAN(nn.Module):
    """(B, W, f) -> KAN-gated LSTM over the window -> last hidden state -> logits."""

    def __init__(
        self,
        n_features: int,
        window: int,
        hidden: int = 32,
        grid_size: int = 5,
        spline_order: int = 3,
        input_range: float = 3.0,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.hidden = hidden
        self.gates_x = KANLinear(n_features, 4 * hidden, grid_size, spline_order, input_range)
        # h = o * tanh(c) lies in (-1, 1): its spline grid covers exactly that range.
        self.gates_h = KANLinear(hidden, 4 * hidden, grid_size, spline_order, 1.0, bias=False)
        with torch.no_grad():
            self.gates_x.base.bias[hidden : 2 * hidden].fill_(1.0)  # forget gate starts open
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gx = self.gates_x(x)  # (B, W, 4H)
        h = torch.zeros_like(gx[:, 0, : self.hidden])
        c = torch.zeros_like(h)
        for t in range(x.shape[1]):
            i, f, g, o = (gx[:, t] + self.gates_h(h)).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        return self.head(self.drop(h))


def build(n_features: int, window: int, params: Mapping[str, Any]) -> nn.Module:
    return TKAN(n_features, window, **params)
