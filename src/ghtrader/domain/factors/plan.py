"""Compile a list of factor specs into the op table and state layout the kernel runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ghtrader.domain.factors import _kernels as K
from ghtrader.domain.factors.registry import resolve
from ghtrader.domain.factors.series import (
    EXTRA_INPUTS,
    SERIES,
    SERIES_KERNELS,
    kernel_closure,
)
from ghtrader.domain.factors.spec import KINDS, FactorSpec, all_series

__all__ = ["FactorPlan", "build_plan"]


@dataclass(frozen=True, eq=False)
class FactorPlan:
    """The op table of a factor selection: one row of ``ops``/``fprm`` per factor.

    ``groups`` flags the series kernels and raw columns the selection needs (indexed by
    ``_kernels.S_*`` and ``_kernels.F_*``, see :data:`~ghtrader.domain.factors.series.SERIES_KERNELS`),
    ``state_size`` is the length of the op state vector, ``extras`` the extra inputs some
    selected factor reads.
    """

    specs: tuple[FactorSpec, ...]
    ops: np.ndarray
    fprm: np.ndarray
    groups: np.ndarray
    state_size: int
    extras: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Factor names in output order."""
        return tuple(s.name for s in self.specs)

    @property
    def needs_extras(self) -> bool:
        """True when some selected factor reads an extra input."""
        return bool(self.groups[K.S_X])


def _masks(spec: FactorSpec) -> tuple[int, int]:
    w = int(spec.param("window", 0))
    w2 = int(spec.param("window2", 0))
    mode = spec.param("mode")
    kind = spec.kind
    if kind == "lag":
        return K.ring_mask((2 * w if mode == "accel" else w) + 1), 0
    if kind in ("sum", "ratio", "move", "todprofile", "regime", "vpin"):
        return K.ring_mask(w + 1), 0
    if kind == "meanratio":
        return K.ring_mask(max(w, w2) + 1), 0
    if kind in ("moments", "realspread"):
        return K.ring_mask(w + 1), K.ring_mask(w2 + 1)
    if kind == "range":
        return K.ring_mask(w), 0
    return 0, 0


def build_plan(names: Sequence[str] | None = None) -> FactorPlan:
    """Plan for the factors ``names`` (all registered factors when None), in that order."""
    specs = resolve(names)
    m = len(specs)
    ops = np.zeros((m, K.N_OCOL), dtype=np.int64)
    fprm = np.zeros((m, K.N_FCOL), dtype=np.float64)
    groups = np.zeros(K.N_FLAGS, dtype=np.int64)
    extras: dict[str, None] = {}
    off = 0
    for j, spec in enumerate(specs):
        info = KINDS[spec.kind]
        w = int(spec.param("window", 0))
        w2 = int(spec.param("window2", 0))
        mask, mask2 = _masks(spec)
        idx = [SERIES[s].index for s in spec.series]
        ops[j, K.O_KIND] = info.code
        ops[j, K.O_A] = idx[0] if idx else 0
        ops[j, K.O_B] = idx[1] if len(idx) > 1 else ops[j, K.O_A]
        ref = spec.param("ref")
        ops[j, K.O_C] = SERIES[ref].index if ref else 0
        ops[j, K.O_W] = w
        ops[j, K.O_W2] = w2
        ops[j, K.O_MODE] = info.modes.index(spec.param("mode"))
        ops[j, K.O_OFF] = off
        ops[j, K.O_MASK] = mask
        ops[j, K.O_MASK2] = mask2
        ops[j, K.O_WARM] = spec.lookback
        ops[j, K.O_MINN] = int(spec.param("min_valid", 0) or 0)
        ops[j, K.O_MINN2] = int(spec.param("min_valid2", 0) or 0)
        fprm[j, K.F_SCALE] = float(spec.param("scale", 1.0))
        fprm[j, K.F_OFFSET] = float(spec.param("offset", 0.0))
        fprm[j, K.F_C] = float(spec.param("c", 0.0))
        fprm[j, K.F_D] = float(spec.param("d", 0.0))
        off += K.state_size(info.code, w, w2, mask, mask2)
        for g in kernel_closure(all_series(spec)):
            flag, _, raw = SERIES_KERNELS[g]
            groups[flag] = 1
            groups[list(raw)] = 1
        for col in spec.inputs:
            if col in EXTRA_INPUTS:
                extras[col] = None
    return FactorPlan(
        specs=specs,
        ops=ops,
        fprm=fprm,
        groups=groups,
        state_size=off,
        extras=tuple(extras),
    )
