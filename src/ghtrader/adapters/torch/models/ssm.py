"""A Mamba-style selective state-space model (Gu & Dao 2023) in plain torch.

Per block: a gated branch ``z`` and a main branch ``u`` (linear expansion, causal depthwise
convolution, SiLU). From ``u`` the block computes *input-dependent* step sizes ``delta``
(softplus of a low-rank projection) and input/output matrices ``B_t``, ``C_t``; with a learned
diagonal ``A < 0`` the zero-order-hold discretization gives ``h_t = exp(delta_t A) h_{t-1} +
delta_t B_t u_t`` and ``y_t = C_t h_t + D u_t``.

Two exact evaluations of the recurrence, both plain torch ops that export to ONNX (the window
length is fixed per model, so loops unroll): a Hillis-Steele parallel prefix scan
(``ceil(log2 W)`` rounds over ``(batch, W, d_inner, d_state)`` tensors; best on GPUs and for
small-batch inference) and a step-by-step scan that never materializes that 4-D tensor (best for
CPU training, where memory traffic dominates). ``scan="auto"`` uses the parallel scan on CUDA and
in ONNX export, the sequential one otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

DEFAULTS: dict[str, Any] = {
    "d_model": 32,
    "layers": 2,
    "d_state": 8,
    "expand": 2,
    "conv_kernel": 4,
    "dropout": 0.1,
    "scan": "auto",
}
SCANS = ("auto", "parallel", "sequential")


def linear_scan(log_a: torch.Tensor, b: torch.Tensor, length: int) -> torch.Tensor:
    """All ``h_t = exp(log_a_t) h_{t-1} + b_t`` (``h_{-1} = 0``) along dim 1 (of size ``length``),
    by a Hillis-Steele parallel prefix scan.

    Composing step ``s`` then ``t`` gives ``(log_a_s + log_a_t, exp(log_a_t) b_s + b_t)``; doubling
    the span each round takes ``ceil(log2 L)`` rounds of elementwise ops. Decays are kept as logs
    and clamped at ``exp(-60)`` so long products never reach float32 denormals (which are both
    meaningless here and very slow on CPUs). ``length`` is a Python int so an exported graph
    unrolls exactly these rounds.
    """
    span = 1
    while span < length:
        la_prev = torch.cat([torch.zeros_like(log_a[:, :span]), log_a[:, : length - span]], dim=1)
        b_prev = torch.cat([torch.zeros_like(b[:, :span]), b[:, : length - span]], dim=1)
        b = torch.exp(torch.clamp(log_a, min=-60.0)) * b_prev + b
        log_a = log_a + la_prev
        span *= 2
    return b


def selective_scan_sequential(
    delta: torch.Tensor, u: torch.Tensor, b: torch.Tensor, c: torch.Tensor, a: torch.Tensor
) -> torch.Tensor:
    """``y_t = C_t h_t`` with ``h_t = exp(delta_t a) h_{t-1} + delta_t u_t B_t``, one step at a time.

    Shapes: delta, u (B, L, Di); b, c (B, L, N); a (Di, N) -> y (B, L, Di).
    """
    h: torch.Tensor | None = None
    ys = []
    for d_t, u_t, b_t, c_t in zip(delta.unbind(1), u.unbind(1), b.unbind(1), c.unbind(1), strict=False):
        drive = (d_t * u_t).unsqueeze(-1) * b_t.unsqueeze(1)  # (B, Di, N)
        h = drive if h is None else torch.exp(d_t.unsqueeze(-1) * a) * h + drive
        ys.append((h * c_t.unsqueeze(1)).sum(dim=-1))
    return torch.stack(ys, dim=1)


def selective_scan_parallel(
    delta: torch.Tensor, u: torch.Tensor, b: torch.Tensor, c: torch.Tensor, a: torch.Tensor, length: int
) -> torch.Tensor:
    """The same as :func:`selective_scan_sequential` through :func:`linear_scan`."""
    log_a = delta.unsqueeze(-1) * a  # (B, L, Di, N)
    drive = (delta * u).unsqueeze(-1) * b.unsqueeze(2)
    return (linear_scan(log_a, drive, length) * c.unsqueeze(2)).sum(dim=-1)


class SelectiveSSMBlock(nn.Module):
    """Residual Mamba block: ``x + out(ssm(conv(u)) * silu(z))`` with ``(u, z) = in(norm(x))``."""

    def __init__(
        self, window: int, d_model: int, d_state: int, expand: int, conv_kernel: int, dropout: float, scan: str = "auto"
    ) -> None:
        super().__init__()
        if scan not in SCANS:
            raise ValueError(f"invalid scan={scan!r}: expected one of {SCANS}")
        self.window = window
        self.scan = scan
        d_inner = expand * d_model
        self.dt_rank = max(1, math.ceil(d_model / 16))
        self.d_state = d_state
        self.norm = nn.LayerNorm(d_model)
        self.in_proj = nn.Linear(d_model, 2 * d_inner)
        self.conv_kernel = conv_kernel
        self.conv = nn.Conv1d(d_inner, d_inner, conv_kernel, groups=d_inner)
        self.x_proj = nn.Linear(d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, d_inner)
        # Step sizes start log-uniform in [1e-3, 1e-1] (softplus^-1 of them as the bias), as in Mamba.
        dt = torch.exp(torch.rand(d_inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model)
        self.drop = nn.Dropout(dropout)

    def _parallel(self, x: torch.Tensor) -> bool:
        if self.scan != "auto":
            return self.scan == "parallel"
        return x.is_cuda or torch.onnx.is_in_onnx_export()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, d_model)
        u, z = self.in_proj(self.norm(x)).chunk(2, dim=-1)
        u = F.silu(self.conv(F.pad(u.transpose(1, 2), (self.conv_kernel - 1, 0))).transpose(1, 2))
        dt, b_t, c_t = torch.split(self.x_proj(u), [self.dt_rank, self.d_state, self.d_state], dim=-1)
        # The scan runs in float32 even under autocast: products of many decays need the range.
        delta = F.softplus(self.dt_proj(dt)).float()  # (B, L, Di)
        uf = u.float()
        a = -torch.exp(self.A_log.float())  # (Di, N), negative: a stable decay
        if self._parallel(x):
            y = selective_scan_parallel(delta, uf, b_t.float(), c_t.float(), a, self.window)
        else:
            y = selective_scan_sequential(delta, uf, b_t.float(), c_t.float(), a)
        y = y + uf * self.D.float()
        y = y.to(z.dtype) * F.silu(z)
        return x + self.drop(self.out_proj(y))


class SelectiveSSM(nn.Module):
    """(B, W, f) -> embed -> selective SSM blocks -> norm -> last tick -> logits."""

    def __init__(
        self,
        n_features: int,
        window: int,
        d_model: int = 32,
        layers: int = 2,
        d_state: int = 8,
        expand: int = 2,
        conv_kernel: int = 4,
        dropout: float = 0.1,
        scan: str = "auto",
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(n_features, d_model)
        self.blocks = nn.Sequential(
            *[SelectiveSSMBlock(window, d_model, d_state, expand, conv_kernel, dropout, scan) for _ in range(layers)]
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.norm(self.blocks(self.embed(x)))
        return self.head(z[:, -1])


def build(n_features: int, window: int, params: Mapping[str, Any]) -> nn.Module:
    return SelectiveSSM(n_features, window, **params)
