"""The factor registry: every factor by name, in taxonomy order, plus the core L5 set."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from ghtrader.domain.factors.catalog import ALL_SPECS
from ghtrader.domain.factors.spec import GROUPS, FactorError, FactorSpec

__all__ = [
    "CORE_L5_FACTORS",
    "FACTOR_REGISTRY",
    "factor_names",
    "get_factor",
    "registry",
    "resolve",
]


def _index(specs: Iterable[FactorSpec]) -> Mapping[str, FactorSpec]:
    out: dict[str, FactorSpec] = {}
    for spec in specs:
        if spec.name in out:
            raise FactorError(f"factor {spec.name!r} is registered twice")
        out[spec.name] = spec
    return MappingProxyType(out)


#: Every registered factor by name (taxonomy order).
FACTOR_REGISTRY: Mapping[str, FactorSpec] = _index(ALL_SPECS)

#: A small set of L5 factors for benchmarks and fast model defaults: book imbalance and shape,
#: order flow, returns, realized variance, VWAP deviation, volume surprise, Kyle's lambda.
CORE_L5_FACTORS: tuple[str, ...] = (
    "imb_l1",
    "imb_cum5",
    "imb_dw",
    "micro_dev",
    "wmid5_dev",
    "spread_ticks",
    "log_depth5",
    "slope_imb",
    "ofi_l1_10",
    "ofi_int_50",
    "tib_50",
    "ret_1",
    "ret_10",
    "ret_100",
    "rv_100",
    "vwap_dev_50",
    "vol_surprise_10_500",
    "kyle_100",
)


def registry() -> list[FactorSpec]:
    """Every registered factor spec, in taxonomy order."""
    return list(FACTOR_REGISTRY.values())


def get_factor(name: str) -> FactorSpec:
    """The spec of factor ``name``."""
    try:
        return FACTOR_REGISTRY[name]
    except KeyError:
        raise FactorError(f"unknown factor {name!r}: see factor_names() for the registered ones") from None


def factor_names(group: str | None = None) -> tuple[str, ...]:
    """Names of every factor, or of the factors of one taxonomy ``group``."""
    if group is None:
        return tuple(FACTOR_REGISTRY)
    if group not in GROUPS:
        raise FactorError(f"unknown factor group {group!r}: expected one of {GROUPS}")
    return tuple(n for n, s in FACTOR_REGISTRY.items() if s.group == group)


def resolve(names: Sequence[str] | None) -> tuple[FactorSpec, ...]:
    """Specs for ``names`` in the given order (all factors when None); rejects unknown and repeated names."""
    if names is None:
        return tuple(FACTOR_REGISTRY.values())
    if isinstance(names, str):
        raise FactorError(f"factor names must be a sequence of names, not the string {names!r}")
    seen: set[str] = set()
    out = []
    for name in names:
        if name in seen:
            raise FactorError(f"factor {name!r} is requested twice")
        seen.add(name)
        out.append(get_factor(name))
    if not out:
        raise FactorError("no factor requested: pass None for all factors or at least one name")
    return tuple(out)


def _check_core() -> None:
    missing = [n for n in CORE_L5_FACTORS if n not in FACTOR_REGISTRY]
    if missing:
        raise FactorError(f"CORE_L5_FACTORS names unknown factors {missing}")


_check_core()
