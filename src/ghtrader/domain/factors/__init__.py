"""Causal tick factors for SHFE futures: a declarative registry and batch + online engines.

Every factor is declared once (:mod:`~ghtrader.domain.factors.catalog`, one module per taxonomy
group) as an op over per-tick base series (:mod:`~ghtrader.domain.factors.series`). One numba
driver advances all selected factors over an explicit state: per block of ticks it computes
only the base series the selection reads, then runs each factor's op as its own tight loop over
the block. The batch engine feeds it whole arrays, the online engine one tick at a time, so both
give identical values. Factors are causal (a value at tick t uses ticks <= t only) and every
state resets when the segment id changes. See docs/factors.md for the full list with formulas.
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
from ghtrader.domain.factors.spec import (
    GROUPS,
    KINDS,
    STORED_DTYPE,
    FactorError,
    FactorSpec,
)

__all__ = [
    "CORE_L5_FACTORS",
    "EXTRA_INPUTS",
    "FACTOR_REGISTRY",
    "GROUPS",
    "KINDS",
    "SERIES",
    "STORED_DTYPE",
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
