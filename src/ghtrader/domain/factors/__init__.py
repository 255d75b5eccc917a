"""Causal tick factors for SHFE futures: a declarative registry and batch + online engines.

Every factor is declared once (:mod:`~ghtrader.domain.factors.catalog`, one module per taxonomy
group) as an op over per-tick base series (:mod:`~ghtrader.domain.factors.series`). One numba
kernel advances all selected factors by one tick over an explicit state vector; the batch engine
loops it over an array, the online engine calls it per tick, so both give identical values.
Factors are causal (a value at tick t uses ticks <= t only) and every state resets when the
segment id changes. See docs/factors.md for the full list with formulas.
"""

from ghtrader.domain.factors.engine import (
    OnlineFactorEngine,
    compute_factor_matrix,
    compute_factors,
)
from ghtrader.domain.factors.plan import FactorPlan, build_plan
from ghtrader.domain.factors.registry import (
    CORE_L5_FACTORS,
    FACTOR_REGISTRY,
    factor_names,
    get_factor,
    registry,
    resolve,
)
from ghtrader.domain.factors.series import EXTRA_INPUTS, SERIES, BaseSeries
from ghtrader.domain.factors.spec import GROUPS, KINDS, FactorError, FactorSpec

__all__ = [
    "CORE_L5_FACTORS",
    "EXTRA_INPUTS",
    "FACTOR_REGISTRY",
    "GROUPS",
    "KINDS",
    "SERIES",
    "BaseSeries",
    "FactorError",
    "FactorPlan",
    "FactorSpec",
    "OnlineFactorEngine",
    "build_plan",
    "compute_factor_matrix",
    "compute_factors",
    "factor_names",
    "get_factor",
    "registry",
    "resolve",
]
