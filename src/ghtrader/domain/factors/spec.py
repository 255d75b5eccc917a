"""Factor specifications: the declarative record of one factor and its definition hash.

A factor is one *op* of a small set of kinds (``value``, ``lag``, ``sum``, ``ratio``, ...) applied
to one or more base series (:mod:`ghtrader.domain.factors.series`) with integer windows, a mode
and an affine output map ``offset + scale * value``. :func:`define` derives everything that
follows from that: the raw input columns, the lookback (ticks of the segment the value depends
on), the TTL and the definition hash.

Windows are counted in ticks of one segment. A windowed factor is NaN until ``lookback`` ticks of
the segment have been seen (it is never computed on a partial window); inside a full window NaN
observations are skipped and the value is NaN when fewer than ``min_valid`` remain. *Recursive*
factors (EWMAs, volume buckets, time-of-day profiles, regime statistics, quote age, day means)
keep state since the segment start; their ``lookback`` is the warm-up before the first value.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

from ghtrader.domain.errors import DomainError
from ghtrader.domain.factors import _kernels as K
from ghtrader.domain.factors.series import SERIES, kernel_closure

__all__ = [
    "GROUPS",
    "KINDS",
    "STORED_DTYPE",
    "FactorError",
    "FactorSpec",
    "KindInfo",
    "all_series",
    "define",
]


class FactorError(DomainError):
    """An unknown factor name, a bad factor definition or bad engine inputs."""


#: Taxonomy groups, in documentation order.
GROUPS: tuple[str, ...] = (
    "order_flow",
    "liquidity",
    "price_impact",
    "momentum",
    "volatility",
    "volume",
    "book_imbalance",
    "pressure",
    "shape",
    "dynamics",
    "cross_asset",
    "regime",
)


@dataclass(frozen=True, slots=True)
class KindInfo:
    """An op kind: kernel code, its modes, how many base series it reads, whether it recurses,
    and the column kernel that computes it."""

    code: int
    modes: tuple[str, ...]
    n_series: int
    recursive: bool
    kernel: Callable[..., Any]


KINDS: Mapping[str, KindInfo] = MappingProxyType(
    {
        "value": KindInfo(K.K_VALUE, ("value",), 1, False, K._col_value),
        "lag": KindInfo(K.K_LAG, ("diff", "accel"), 1, False, K._col_lag),
        "sum": KindInfo(K.K_SUM, ("sum", "mean", "log1p_sum"), 1, False, K._col_sum),
        "ratio": KindInfo(K.K_RATIO, ("ratio", "deviation"), 2, False, K._col_ratio),
        "move": KindInfo(K.K_MOVE, ("move",), 2, False, K._col_move),
        "meanratio": KindInfo(K.K_MEANRATIO, ("log_ratio",), 1, False, K._col_meanratio),
        "moments": KindInfo(K.K_MOMENTS, ("corr", "beta", "zscore"), 2, False, K._col_moments),
        "range": KindInfo(K.K_RANGE, ("position", "parkinson", "garman_klass"), 1, False, K._col_range),
        "emagap": KindInfo(K.K_EMAGAP, ("gap",), 1, True, K._col_emagap),
        "vpin": KindInfo(K.K_VPIN, ("vpin",), 2, True, K._col_vpin),
        "todprofile": KindInfo(K.K_TODPROF, ("ratio",), 1, True, K._col_todprof),
        "regime": KindInfo(K.K_REGIME, ("z", "bucket"), 1, True, K._col_regime),
        "realspread": KindInfo(K.K_REALSPREAD, ("realized", "impact"), 0, False, K._col_realspread),
        "age": KindInfo(K.K_AGE, ("age",), 1, True, K._col_age),
        "daymean": KindInfo(K.K_DAYMEAN, ("today", "previous"), 1, True, K._col_daymean),
    }
)

# base series a kind reads implicitly (besides its declared ones)
_IMPLICIT: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "realspread": ("sign", "tradepx", "midprev", "mid"),
        "todprofile": ("tod", "newday"),
        "age": ("dt",),
        "daymean": ("newday",),
    }
)

# the kernel functions behind each series kernel (see series.SERIES_KERNELS)
_SERIES_KERNEL_FNS: Mapping[str, tuple[Callable[..., Any], ...]] = MappingProxyType(
    {
        "mid": (K._sk_mid,),
        "logmid": (K._sk_logmid,),
        "returns": (K._sk_ret,),
        "trade": (K._sk_trade,),
        "logdvol": (K._sk_logdvol,),
        "quote": (K._sk_quote,),
        "misc": (K._sk_misc,),
        "clock": (K._sk_clock,),
        "lots": (K._sk_lots, K._lots),
        "depth": (K._sk_depth,),
        "levels": (K._sk_levels,),
        "shape": (K._sk_shape,),
        "logdepth": (K._sk_logdep,),
        "wmid": (K._sk_wmid,),
        "slope": (K._sk_slope, K._side_slope),
        "book": (K._sk_book,),
        "ofi": (K._sk_ofi, K._ofi_level),
        "dynamics": (K._sk_dyn, K._side_flow),
        "cross": (K._sk_x,),
    }
)
# helpers of the column kernels, by kind
_KIND_HELPERS: Mapping[str, tuple[Callable[..., Any], ...]] = MappingProxyType(
    {
        "sum": (K._cumsum_valid,),
        "move": (K._cumsum_valid,),
        "meanratio": (K._cumsum_valid,),
        "moments": (K._window_moments,),
    }
)
_SHARED_KERNELS: tuple[Callable[..., Any], ...] = (
    K.run_ticks,
    K._gather,
    K._run_series,
    K._run_ops,
    K._carry,
    K._reset,
    K._o,
    K._r,
    K._finite,
    K._fin,
    K._lag_row,
    K._to_ring,
    K._ln,
    K._ln1p,
)

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
#: The dtype factor values are stored (and served from the store) as. Kernels compute in float64;
#: float32 keeps 7 significant digits, which changes no model metric measurably
#: (bench/factor_dtype_bench.py) and halves the features table.
STORED_DTYPE = "float32"


@dataclass(frozen=True, slots=True)
class FactorSpec:
    """One registered factor.

    ``series`` are the base series its op reads (in op order; a kind may read a few more
    implicitly, see ``inputs``), ``params`` its integer/float parameters (window,
    window2, mode, scale, ...), ``inputs`` the raw tick columns and extra inputs behind them,
    ``lookback`` the ticks of history (this tick included) its value depends on (for
    ``recursive`` factors: the warm-up), ``ttl_s`` how many seconds a value stays usable when no
    newer tick arrives, ``dtype`` the dtype its values are stored as (:data:`STORED_DTYPE`:
    computed in float64, stored as float32), ``formula`` the exact definition, ``definition_hash`` a digest of all of
    that plus the source of the kernels that compute it.
    """

    name: str
    version: int
    group: str
    kind: str
    series: tuple[str, ...]
    params: tuple[tuple[str, Any], ...]
    inputs: tuple[str, ...]
    lookback: int
    recursive: bool
    ttl_s: float
    dtype: str
    unit: str
    formula: str
    definition_hash: str = field(default="", compare=False)

    def param(self, key: str, default: Any = None) -> Any:
        """The value of parameter ``key`` (``default`` when not set)."""
        for k, v in self.params:
            if k == key:
                return v
        return default

    @property
    def params_dict(self) -> dict[str, Any]:
        """Parameters as a fresh dict."""
        return dict(self.params)

    def as_dict(self) -> dict[str, Any]:
        """Every field as plain JSON-able values."""
        return {
            "name": self.name,
            "version": self.version,
            "group": self.group,
            "kind": self.kind,
            "series": list(self.series),
            "params": dict(self.params),
            "inputs": list(self.inputs),
            "lookback": self.lookback,
            "recursive": self.recursive,
            "ttl_s": self.ttl_s,
            "dtype": self.dtype,
            "unit": self.unit,
            "formula": self.formula,
            "definition_hash": self.definition_hash,
        }


@cache
def _source(fn: Callable[..., Any]) -> str:
    return inspect.getsource(getattr(fn, "py_func", fn))


def all_series(spec: FactorSpec) -> tuple[str, ...]:
    """Every base series ``spec`` reads: its op series, its reference and the kind's implicit ones."""
    ref = spec.param("ref")
    return tuple(dict.fromkeys((*spec.series, *((ref,) if ref else ()), *_IMPLICIT.get(spec.kind, ()))))


def _kernel_sources(kind: str, series: tuple[str, ...]) -> list[str]:
    fns: list[Callable[..., Any]] = list(_SHARED_KERNELS)
    for g in kernel_closure(series):
        fns.extend(_SERIES_KERNEL_FNS[g])
    fns.append(KINDS[kind].kernel)
    fns.extend(_KIND_HELPERS.get(kind, ()))
    return [_source(fn) for fn in dict.fromkeys(fns)]


def _digest(spec_fields: dict[str, Any], sources: list[str]) -> str:
    payload = json.dumps({"spec": spec_fields, "kernels": sources}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _ttl(lookback: int) -> float:
    # Ticks arrive about twice a second: allow 10% of the window's span, 3 s .. 300 s.
    return round(min(300.0, max(3.0, 0.05 * lookback)), 1)


def _lookback(kind: str, mode: str, lbs: list[int], w: int, w2: int) -> int:
    la = lbs[0] if lbs else 1
    lmax = max(lbs) if lbs else 1
    if kind == "value":
        return lmax
    if kind == "lag":
        return (2 * w if mode == "accel" else w) + la
    if kind in ("sum", "ratio", "range", "todprofile"):
        return w + lmax - 1
    if kind == "regime":
        return w + w2 + lmax - 1
    if kind == "move":
        return max(w + la, w + lbs[1] - 1)
    if kind == "meanratio":
        return max(w, w2) + lmax - 1
    if kind == "moments":
        return max(w + lbs[0] - 1, w + w2 + lbs[1] - 1)
    if kind == "realspread":
        return w + w2 + 1
    if kind == "emagap":
        return max(w, w2)
    return lmax  # vpin, age, daymean: defined from the first usable tick on


def define(
    name: str,
    group: str,
    kind: str,
    series: tuple[str, ...] | str = (),
    *,
    formula: str,
    unit: str,
    window: int = 0,
    window2: int = 0,
    mode: str | None = None,
    scale: float = 1.0,
    offset: float = 0.0,
    c: float = 0.0,
    d: float = 0.0,
    ref: str | None = None,
    min_valid: int | None = None,
    min_valid2: int | None = None,
    ttl_s: float | None = None,
    version: int = 1,
) -> FactorSpec:
    """Build and validate a :class:`FactorSpec`, deriving inputs, lookback, TTL and hash.

    ``window``/``window2`` are tick counts (``window2`` is the second window of ``meanratio``,
    the lag of ``moments`` and ``realspread``, the slow span of ``emagap`` and the minimum EWMA
    updates of ``regime``); ``c``/``d`` are the kind's float constants (``ratio``: denominator
    floor; ``meanratio``/``regime``: additive constant ``c`` and EWMA alpha ``d``; ``vpin``:
    bucket size in EWMA volumes per tick ``c`` and EWMA alpha ``d``); ``ref`` is the reference
    series of ``ratio`` in ``deviation`` mode.
    """
    if isinstance(series, str):
        series = (series,)
    if not _NAME_RE.fullmatch(name):
        raise FactorError(f"invalid factor name {name!r}: expected lowercase letters, digits and '_'")
    if group not in GROUPS:
        raise FactorError(f"factor {name!r}: unknown group {group!r}, expected one of {GROUPS}")
    if kind not in KINDS:
        raise FactorError(f"factor {name!r}: unknown kind {kind!r}, expected one of {sorted(KINDS)}")
    info = KINDS[kind]
    mode = info.modes[0] if mode is None else mode
    if mode not in info.modes:
        raise FactorError(f"factor {name!r}: kind {kind!r} has no mode {mode!r}, expected one of {info.modes}")
    if len(series) != info.n_series:
        raise FactorError(f"factor {name!r}: kind {kind!r} reads {info.n_series} base series, got {series}")
    for s in (*series, *((ref,) if ref else ())):
        if s not in SERIES:
            raise FactorError(f"factor {name!r}: unknown base series {s!r}")
    if not formula.strip():
        raise FactorError(f"factor {name!r}: formula text is required")
    if window < 0 or window2 < 0:
        raise FactorError(f"factor {name!r}: windows must be >= 0")
    if kind not in ("value", "age", "daymean") and window < 1:
        raise FactorError(f"factor {name!r}: kind {kind!r} needs window >= 1")
    if not (math.isfinite(scale) and math.isfinite(offset)):
        raise FactorError(f"factor {name!r}: scale and offset must be finite")

    used = tuple(dict.fromkeys((*series, *((ref,) if ref else ()), *_IMPLICIT.get(kind, ()))))
    lbs = [SERIES[s].lookback for s in series] or [SERIES[s].lookback for s in used]
    lookback = _lookback(kind, mode, lbs, window, window2)
    if kind in ("sum", "ratio", "meanratio", "moments", "todprofile", "regime", "realspread"):
        min_valid = (window + 1) // 2 if min_valid is None else min_valid
    if kind == "meanratio":
        min_valid2 = (window2 + 1) // 2 if min_valid2 is None else min_valid2
    inputs = tuple(dict.fromkeys(col for s in used for col in SERIES[s].inputs))

    params: dict[str, Any] = {"mode": mode}
    for key, value, default in (
        ("window", window, 0),
        ("window2", window2, 0),
        ("scale", scale, 1.0),
        ("offset", offset, 0.0),
        ("c", c, 0.0),
        ("d", d, 0.0),
        ("ref", ref, None),
        ("min_valid", min_valid, None),
        ("min_valid2", min_valid2, None),
    ):
        if value != default:
            params[key] = value
    spec = FactorSpec(
        name=name,
        version=version,
        group=group,
        kind=kind,
        series=tuple(series),
        params=tuple(sorted(params.items())),
        inputs=inputs,
        lookback=lookback,
        recursive=info.recursive,
        ttl_s=_ttl(lookback) if ttl_s is None else float(ttl_s),
        dtype=STORED_DTYPE,
        unit=unit,
        formula=" ".join(formula.split()),
    )
    fields = spec.as_dict()
    fields.pop("definition_hash")
    digest = _digest(fields, _kernel_sources(kind, used))
    return FactorSpec(**{**{f: getattr(spec, f) for f in spec.__dataclass_fields__}, "definition_hash": digest})
