"""Streaming generated features: a compiled plan and its state, one kernel call per tick or batch.

:func:`compile_generated` turns the requested feature names (registered factors and ``gen__...``
names, any order) into the registered factors the factor engine must compute (those requested
plus the generated features' parents) and one int64 row per generated feature for
:func:`_generated_kernels.run_online`. :class:`OnlineGenerated` holds the carried state: fed the
engine's factor rows in order it returns the requested columns, values equal to the batch
:func:`~ghtrader.domain.factors.generated.compute_generated` over the same rows (restarted at
every segment change; parents rounded to float32 as stored factor columns are).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ghtrader.domain.factors import _generated_kernels as G
from ghtrader.domain.factors.generated import _EPS, GeneratedSpec, is_generated, parse_generated
from ghtrader.domain.factors.spec import FactorError

__all__ = ["GeneratedPlan", "OnlineGenerated", "compile_generated"]

_OP_CODE = {
    "lag": G.OP_LAG,
    "diff": G.OP_DIFF,
    "mean": G.OP_MEAN,
    "std": G.OP_STD,
    "ewm": G.OP_EWM,
    "mul": G.OP_MUL,
    "div": G.OP_DIV,
}


@dataclass(frozen=True)
class GeneratedPlan:
    """``base``: registered factors to compute, in this order; ``specs``: the generated features;
    ``plan``: their kernel rows; ``select``: output column -> index into base values then
    generated values; ``state_size``: float state slots."""

    names: tuple[str, ...]
    base: tuple[str, ...]
    specs: tuple[GeneratedSpec, ...]
    plan: np.ndarray
    select: np.ndarray
    state_size: int


def compile_generated(names: Sequence[str]) -> GeneratedPlan:
    """The plan of ``names`` (FactorError for a malformed generated name or a repeated name)."""
    names = tuple(names)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FactorError(f"features requested more than once: {repeated}")
    specs = tuple(dict.fromkeys(parse_generated(n) for n in names if is_generated(n)))
    base = tuple(dict.fromkeys([*(n for n in names if not is_generated(n)), *(p for s in specs for p in s.parents)]))
    col = {n: j for j, n in enumerate(base)}
    gen_col = {s.name: len(base) + j for j, s in enumerate(specs)}
    plan = np.zeros((len(specs), G.N_COL), dtype=np.int64)
    off = 0
    for j, s in enumerate(specs):
        plan[j, G.C_OP] = _OP_CODE[s.op]
        plan[j, G.C_A] = col[s.parents[0]]
        plan[j, G.C_B] = col[s.parents[-1]]
        plan[j, G.C_K] = s.param
        plan[j, G.C_MINN] = max(1, s.param // 2)
        plan[j, G.C_OFF] = off
        off += G.state_size(plan[j, G.C_OP], s.param)
    select = np.array([gen_col[n] if is_generated(n) else col[n] for n in names], dtype=np.int64)
    return GeneratedPlan(names, base, specs, plan, select, off)


class OnlineGenerated:
    """The carried state of one :class:`GeneratedPlan`."""

    __slots__ = ("_fstate", "_gen1", "_istate", "_row1", "plan")

    def __init__(self, plan: GeneratedPlan) -> None:
        self.plan = plan
        self._fstate = np.zeros(max(1, plan.state_size), dtype=np.float64)
        self._istate = np.zeros(G.N_ISTATE, dtype=np.int64)
        self._row1 = np.zeros(1, dtype=np.int64)  # one-row scratch: the per-tick call allocates nothing
        self._gen1 = np.zeros((len(plan.specs), 1), dtype=np.float64)

    def reset(self) -> None:
        """Forget the state: the next row starts a segment."""
        self._istate[G.I_OPEN] = 0

    def run(self, base: np.ndarray, segment: np.ndarray, out: np.ndarray) -> None:
        """Advance over ``base`` (``(n, len(plan.base))`` float64 factor rows) of segment ids
        ``segment``; writes ``out`` (``(n, len(plan.names))``)."""
        p, n = self.plan, base.shape[0]
        row = self._row1 if n == 1 else np.empty(n, dtype=np.int64)
        gen = self._gen1 if n == 1 else np.empty((len(p.specs), n), dtype=np.float64)
        G.run_online(base, segment, p.plan, _EPS, self._fstate, self._istate, p.select, out, row, gen)
