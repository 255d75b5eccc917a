"""Generated features: operators over registered factors, each with its lineage.

A generated feature is one operator applied to one or two parent factors (registered factor
names) with one integer parameter; its name encodes all of that, so a name alone is enough to
compute it (``parse_generated``):

=================  ====================================  =======================================
name               value at row i                        lookback
=================  ====================================  =======================================
gen__lagK__p       p[i - K]                              K
gen__diffK__p      p[i] - p[i - K]                       K
gen__meanW__p      mean of p over the last W rows        W - 1
gen__stdW__p       population std of p over W rows       W - 1
gen__ewmS__p       EWM of p, alpha = 2 / (S + 1)         0 (recursive, from the segment start)
gen__mul__a__b     a[i] * b[i]  (degree-2 interaction)   0
gen__div__a__b     a[i] / b[i]  (NaN where |b| <= 1e-12) 0
=================  ====================================  =======================================

Every operator is causal (row i uses rows <= i) and restarts at a segment change, like the
factors themselves; windows skip NaN observations (NaN with fewer than half the window finite).
:func:`generate_specs` enumerates the candidates over a list of parents, with a cap on the
number of pairwise terms (the parents' order decides which pairs come first).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ghtrader.domain.factors import _generated_kernels as G
from ghtrader.domain.factors.spec import FactorError

__all__ = [
    "GENERATED_PREFIX",
    "PAIR_OPS",
    "UNARY_OPS",
    "GeneratedSpec",
    "compute_generated",
    "generate_specs",
    "is_generated",
    "parse_generated",
]

GENERATED_PREFIX = "gen__"
#: Operators over one parent with a positive integer parameter.
UNARY_OPS: tuple[str, ...] = ("lag", "diff", "mean", "std", "ewm")
#: Operators over two parents (no parameter).
PAIR_OPS: tuple[str, ...] = ("mul", "div")
_EPS = 1e-12
_UNARY_RE = re.compile(r"^gen__(lag|diff|mean|std|ewm)([1-9][0-9]*)__([a-z0-9_]+)$")
_PAIR_RE = re.compile(r"^gen__(mul|div)__([a-z0-9_]+?)__([a-z0-9_]+)$")
_PARENT_RE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class GeneratedSpec:
    """One generated feature: ``op`` over ``parents`` with ``param`` (0 for pair operators)."""

    op: str
    parents: tuple[str, ...]
    param: int = 0

    def __post_init__(self) -> None:
        if self.op in UNARY_OPS:
            if len(self.parents) != 1 or self.param < 1:
                raise FactorError(f"{self.op} takes one parent and a parameter >= 1 (got {self.parents}, {self.param})")
        elif self.op in PAIR_OPS:
            if len(self.parents) != 2 or self.param != 0:
                raise FactorError(f"{self.op} takes two parents and no parameter (got {self.parents}, {self.param})")
        else:
            raise FactorError(f"unknown generator operator {self.op!r}: expected one of {UNARY_OPS + PAIR_OPS}")
        bad = [p for p in self.parents if not _PARENT_RE.match(p) or p.startswith(GENERATED_PREFIX)]
        if bad:
            raise FactorError(f"generated features take registered factor names as parents, not {bad}")

    @property
    def name(self) -> str:
        if self.op in PAIR_OPS:
            return f"{GENERATED_PREFIX}{self.op}__{self.parents[0]}__{self.parents[1]}"
        return f"{GENERATED_PREFIX}{self.op}{self.param}__{self.parents[0]}"

    @property
    def lookback(self) -> int:
        """Rows of history (beyond the current one) the value needs."""
        if self.op in ("lag", "diff"):
            return self.param
        if self.op in ("mean", "std"):
            return self.param - 1
        return 0

    def lineage(self) -> dict[str, object]:
        """Parents, operator and parameters (what the feature registry records)."""
        return {"parents": list(self.parents), "operator": self.op, "params": {"k": self.param} if self.param else {}}

    @property
    def definition_hash(self) -> str:
        text = json.dumps({"name": self.name, **self.lineage()}, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def is_generated(name: str) -> bool:
    return name.startswith(GENERATED_PREFIX)


def parse_generated(name: str) -> GeneratedSpec:
    """The spec a generated feature's name encodes; FactorError when it is not one."""
    m = _UNARY_RE.match(name)
    if m:
        return GeneratedSpec(m.group(1), (m.group(3),), int(m.group(2)))
    m = _PAIR_RE.match(name)
    if m:
        return GeneratedSpec(m.group(1), (m.group(2), m.group(3)))
    raise FactorError(f"{name!r} is not a generated feature name (gen__<op><K>__<factor> or gen__<mul|div>__<a>__<b>)")


def generate_specs(
    parents: Sequence[str],
    *,
    lags: Sequence[int] = (1, 5),
    diffs: Sequence[int] = (1,),
    windows: Sequence[int] = (20, 100),
    ewm_spans: Sequence[int] = (20,),
    interactions: bool = True,
    ratios: bool = False,
    max_pairs: int = 20,
) -> list[GeneratedSpec]:
    """Candidate features over ``parents``: the unary operators with each parameter, then at most
    ``max_pairs`` products (and as many ratios when ``ratios``) of parent pairs, pairs of earlier
    parents first (pass parents most important first to keep the best interactions)."""
    if max_pairs < 0:
        raise FactorError(f"max_pairs must be >= 0 (got {max_pairs})")
    out: list[GeneratedSpec] = []
    for p in parents:
        out += [GeneratedSpec("lag", (p,), k) for k in lags]
        out += [GeneratedSpec("diff", (p,), k) for k in diffs]
        out += [GeneratedSpec(op, (p,), w) for w in windows for op in ("mean", "std")]
        out += [GeneratedSpec("ewm", (p,), s) for s in ewm_spans]
    # pairs ordered by the later parent's position, so the first pairs use the first parents only
    pairs = sorted(combinations(range(len(parents)), 2), key=lambda ij: (ij[1], ij[0]))[:max_pairs]
    if interactions:
        out += [GeneratedSpec("mul", (parents[i], parents[j])) for i, j in pairs]
    if ratios:
        out += [GeneratedSpec("div", (parents[i], parents[j])) for i, j in pairs]
    return out


def compute_generated(
    parents: np.ndarray,
    parent_names: Sequence[str],
    segment_id: np.ndarray,
    specs: Sequence[GeneratedSpec],
    dtype: type[np.floating] = np.float32,
) -> np.ndarray:
    """(n, len(specs)) values of ``specs`` from the parent columns ``parents`` (n, p), computed in
    float64 and returned as ``dtype`` (float32, as frames hold them, unless asked otherwise)."""
    x = np.asarray(parents, dtype=np.float64)
    seg = np.ascontiguousarray(segment_id, dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != len(parent_names) or seg.shape[0] != x.shape[0]:
        raise FactorError(f"parents of shape {x.shape} do not match {len(parent_names)} names and {seg.shape[0]} rows")
    column = {name: j for j, name in enumerate(parent_names)}
    missing = sorted({p for s in specs for p in s.parents if p not in column})
    if missing:
        raise FactorError(f"parent factors missing from the input: {missing}")
    out: np.ndarray = np.empty((x.shape[0], len(specs)), dtype=dtype)
    moments: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    for k, s in enumerate(specs):
        a = np.ascontiguousarray(x[:, column[s.parents[0]]])
        if s.op == "lag":
            v = G.lag(a, seg, s.param)
        elif s.op == "diff":
            v = G.diff(a, seg, s.param)
        elif s.op in ("mean", "std"):
            key = (s.parents[0], s.param)
            if key not in moments:
                moments[key] = G.rolling_moments(a, seg, s.param, max(1, s.param // 2))
            v = moments[key][0 if s.op == "mean" else 1]
        elif s.op == "ewm":
            v = G.ewm(a, seg, s.param)
        else:
            b = np.ascontiguousarray(x[:, column[s.parents[1]]])
            v = a * b if s.op == "mul" else G.ratio(a, b, _EPS)
        out[:, k] = v
    return out
