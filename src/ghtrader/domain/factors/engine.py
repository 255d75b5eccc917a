"""Batch and online factor engines: one kernel, one state layout, two ways to feed it.

``compute_factor_matrix`` / ``compute_factors`` run :func:`_kernels.run_ticks` over a whole tick
batch (column by column, one cache-sized block of ticks at a time); :class:`OnlineFactorEngine`
keeps the state between calls and runs the same kernel on one tick at a time (or on a batch
with ``update_many``), so its values equal the batch values bit for bit.

Inputs: ticks of ONE symbol as a :data:`~ghtrader.domain.ticks.TICK_DTYPE` array sorted by time;
``trading_day`` per tick (integers, ``datetime64`` or ISO date strings; only equality matters);
``segment_id`` per tick (int64; every change resets all factor state, so no window spans two
segments; None = one segment); ``extras``: optional as-of mids of the other varieties by name
(:data:`EXTRA_INPUTS`), aligned to the ticks; factors whose extra input is absent are NaN.

The online engine also takes generated feature names (``gen__...``, see
:mod:`~ghtrader.domain.factors.generated`): it computes their parent factors and runs the
generated features' streaming kernel (:mod:`~ghtrader.domain.factors.online_generated`) on each
factor row, returning the requested columns in the requested order.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ghtrader.domain.factors import _kernels as K
from ghtrader.domain.factors.generated import is_generated
from ghtrader.domain.factors.online_generated import OnlineGenerated, compile_generated
from ghtrader.domain.factors.plan import FactorPlan, build_plan
from ghtrader.domain.factors.series import EXTRA_INPUTS
from ghtrader.domain.factors.spec import FactorError
from ghtrader.domain.ticks import TICK_DTYPE, TICK_FIELDS, as_tick_array

__all__ = ["OnlineFactorEngine", "compute_factor_matrix", "compute_factors"]

_EXTRA_INDEX = {name: m for m, name in enumerate(EXTRA_INPUTS)}


def _gprm(price_tick: float, multiplier: float | None) -> np.ndarray:
    if not (isinstance(price_tick, (int, float)) and math.isfinite(price_tick) and price_tick > 0):
        raise FactorError(f"invalid price_tick {price_tick!r}: expected a finite number > 0")
    if multiplier is not None and not (
        isinstance(multiplier, (int, float)) and math.isfinite(multiplier) and multiplier > 0
    ):
        raise FactorError(f"invalid multiplier {multiplier!r}: expected None (infer) or a finite number > 0")
    g = np.zeros(K.N_GPRM, dtype=np.float64)
    g[K.GP_TICK] = float(price_tick)
    g[K.GP_MULT] = 0.0 if multiplier is None else float(multiplier)
    return g


def _day_keys(trading_day: object, n: int) -> np.ndarray:
    arr = np.asarray(trading_day)
    if arr.shape != (n,):
        raise FactorError(f"invalid trading_day of shape {arr.shape}: expected ({n},) like the ticks")
    if arr.dtype.kind in "iu":
        return np.ascontiguousarray(arr, dtype=np.int64)
    if arr.dtype.kind in "MOUS":
        try:
            return np.ascontiguousarray(arr.astype("datetime64[D]", copy=False).view(np.int64))
        except (TypeError, ValueError):
            pass
    raise FactorError(f"invalid trading_day of dtype {arr.dtype}: expected integers, dates or datetime64")


def _day_key(value: object) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (_dt.date, np.datetime64, str)):
        try:
            day: Any = value  # date, datetime64 or ISO text: numpy parses each
            return int(np.datetime64(day, "D").astype(np.int64))
        except (TypeError, ValueError):
            pass
    raise FactorError(f"invalid trading_day {value!r}: expected an integer, a date or a datetime64")


def _segments(segment_id: object, n: int) -> np.ndarray:
    if segment_id is None:
        return np.zeros(n, dtype=np.int64)
    arr = np.asarray(segment_id)
    if arr.shape != (n,) or arr.dtype.kind not in "iu":
        raise FactorError(f"invalid segment_id of shape {arr.shape} and dtype {arr.dtype}: expected ({n},) integers")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _extras_matrix(extras: Mapping[str, object] | None, n: int, plan: FactorPlan) -> np.ndarray:
    names = dict(extras or {})
    unknown = sorted(set(names) - set(EXTRA_INPUTS))
    if unknown:
        raise FactorError(f"unknown extra inputs {unknown}: expected names from {EXTRA_INPUTS}")
    if not plan.needs_extras:
        return np.empty((0, K.N_EXTRA), dtype=np.float64)
    xe = np.full((n, K.N_EXTRA), np.nan, dtype=np.float64)
    for name, values in names.items():
        col = np.asarray(values, dtype=np.float64)
        if col.shape != (n,):
            raise FactorError(f"invalid extra input {name!r} of shape {col.shape}: expected ({n},)")
        xe[:, _EXTRA_INDEX[name]] = col
    return xe


def _row_matrix(ticks: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(as_tick_array(ticks))
    # TICK_DTYPE is 28 packed 8-byte fields: view each row as 28 float64 (column 0 = datetime bits)
    return arr.view(np.float64).reshape(arr.shape[0], K.N_ROW)


class _State:
    """Carried kernel state (counters, series and op state, block buffers) and the scratch."""

    __slots__ = ("bb", "ib", "istate", "pstate", "state", "tb")

    def __init__(self, plan: FactorPlan) -> None:
        self.istate = np.zeros(K.N_ISTATE, dtype=np.int64)
        self.pstate = np.zeros(K.N_PSTATE, dtype=np.float64)
        self.state = np.zeros(plan.state_size, dtype=np.float64)
        self.bb = np.zeros(K.N_BROWS * K.LD, dtype=np.float64)
        self.ib = np.zeros(K.N_IROWS * K.LD, dtype=np.int64)
        self.tb = np.zeros(K.N_TROWS * K.LD, dtype=np.float64)

    def run(
        self,
        plan: FactorPlan,
        gprm: np.ndarray,
        X: np.ndarray,
        day: np.ndarray,
        seg: np.ndarray,
        xe: np.ndarray,
        out: np.ndarray,
        Xi: np.ndarray | None = None,
        flat: np.ndarray | None = None,
    ) -> None:
        """Advance over the ticks ``X``; ``out`` is an ``(n, n_factors)`` column-major matrix.
        ``Xi`` (``X`` viewed as int64) and ``flat`` (``out`` raveled in column order) may be given."""
        K.run_ticks(
            X,
            X.view(np.int64) if Xi is None else Xi,
            day,
            seg,
            xe,
            plan.ops,
            plan.fprm,
            plan.groups,
            gprm,
            self.istate,
            self.pstate,
            self.state,
            self.bb,
            self.ib,
            self.tb,
            out.ravel(order="F") if flat is None else flat,
        )


def _new_out(n: int, plan: FactorPlan) -> np.ndarray:
    # column-major: each factor is one contiguous column, written by one tight loop
    return np.empty((n, len(plan.specs)), dtype=np.float64, order="F")


def compute_factor_matrix(
    ticks: np.ndarray,
    trading_day: object,
    segment_id: object = None,
    names: Sequence[str] | None = None,
    extras: Mapping[str, object] | None = None,
    price_tick: float = 1.0,
    multiplier: float | None = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Factors of a tick batch as an ``(n_ticks, n_factors)`` float64 matrix and its column names.

    The matrix is column-major (Fortran order): each factor's values are contiguous.

    ``names`` selects factors (all registered ones when None), ``price_tick`` is the contract's
    tick size (spreads and offsets are counted in ticks), ``multiplier`` the contract multiplier
    (None: inferred from ``amount / (volume * average)``).
    """
    plan = build_plan(names)
    gprm = _gprm(price_tick, multiplier)
    X = _row_matrix(ticks)
    n = X.shape[0]
    day = _day_keys(trading_day, n)
    seg = _segments(segment_id, n)
    xe = _extras_matrix(extras, n, plan)
    out = _new_out(n, plan)
    _State(plan).run(plan, gprm, X, day, seg, xe, out)
    return out, plan.names


def compute_factors(
    ticks: np.ndarray,
    trading_day: object,
    segment_id: object = None,
    names: Sequence[str] | None = None,
    extras: Mapping[str, object] | None = None,
    price_tick: float = 1.0,
    multiplier: float | None = None,
) -> dict[str, np.ndarray]:
    """Factors of a tick batch by name (see :func:`compute_factor_matrix` for the arguments).

    The values are (contiguous) column views of one column-major ``(n_ticks, n_factors)`` matrix.
    """
    out, cols = compute_factor_matrix(ticks, trading_day, segment_id, names, extras, price_tick, multiplier)
    return {name: out[:, j] for j, name in enumerate(cols)}


class OnlineFactorEngine:
    """One-tick-at-a-time factors with the batch engine's exact definitions and state.

    ``update`` takes a tick (a TICK_DTYPE record, a one-row TICK_DTYPE array or a mapping of
    field -> value, missing fields NaN), its trading day, its segment id and optional extra
    inputs (name -> as-of mid), and returns one value per factor in :attr:`names` order.
    ``update_many`` feeds a whole batch (e.g. to warm up on history) and returns its matrix.
    ``names`` may hold generated features (``gen__...``): their parents are computed too and
    the values come back in ``names`` order; their state restarts with the factors' (a segment
    change or :meth:`reset`).
    """

    def __init__(
        self,
        names: Sequence[str] | None = None,
        price_tick: float = 1.0,
        multiplier: float | None = None,
    ) -> None:
        self._gen: OnlineGenerated | None = None
        if names is not None and not isinstance(names, str) and any(is_generated(n) for n in names):
            gplan = compile_generated(names)
            self._gen = OnlineGenerated(gplan)
            names = gplan.base
        self._plan = build_plan(names)
        self._gprm = _gprm(price_tick, multiplier)
        self._row = np.zeros(1, dtype=TICK_DTYPE)
        self._X = self._row.view(np.float64).reshape(1, K.N_ROW)
        self._day = np.zeros(1, dtype=np.int64)
        self._seg = np.zeros(1, dtype=np.int64)
        self._xe = np.full((1 if self._plan.needs_extras else 0, K.N_EXTRA), np.nan)
        self._out = _new_out(1, self._plan)
        self._Xi = self._X.view(np.int64)
        self._flat = self._out.ravel(order="F")
        self._st = _State(self._plan)
        if self._gen is not None:
            self._gout = np.empty((1, len(self._gen.plan.names)), dtype=np.float64)

    @property
    def names(self) -> tuple[str, ...]:
        """Feature names, in the order of the values ``update`` returns."""
        return self._plan.names if self._gen is None else self._gen.plan.names

    @property
    def plan(self) -> FactorPlan:
        """The compiled plan of the registered factors computed (generated features' parents included)."""
        return self._plan

    @property
    def generated(self) -> tuple[str, ...]:
        """The generated features among :attr:`names`."""
        return () if self._gen is None else tuple(s.name for s in self._gen.plan.specs)

    def reset(self) -> None:
        """Forget all state: the next tick starts a fresh segment."""
        self._st.istate[:] = 0
        if self._gen is not None:
            self._gen.reset()

    def _set_row(self, tick_row: object) -> None:
        if isinstance(tick_row, np.ndarray) and tick_row.dtype == TICK_DTYPE and tick_row.shape == (1,):
            self._row[0] = tick_row[0]
        elif isinstance(tick_row, np.void) and tick_row.dtype == TICK_DTYPE:
            self._row[0] = tick_row
        elif isinstance(tick_row, Mapping):
            unknown = sorted(str(k) for k in tick_row if k not in TICK_FIELDS)
            if unknown or "datetime_ns" not in tick_row:
                raise FactorError(f"invalid tick mapping: unknown fields {unknown} or no 'datetime_ns'")
            row = self._row
            for f in TICK_FIELDS[1:]:
                row[f] = tick_row.get(f, np.nan)
            row["datetime_ns"] = int(tick_row["datetime_ns"])
        elif isinstance(tick_row, (np.ndarray, np.void)) and tick_row.dtype.names is not None:
            arr = as_tick_array(np.atleast_1d(tick_row))
            if arr.shape != (1,):
                raise FactorError(f"update takes one tick, got {arr.shape[0]}: use update_many for batches")
            self._row[0] = arr[0]
        else:
            raise FactorError(
                f"invalid tick of type {type(tick_row).__name__}: expected a TICK_DTYPE record or a mapping"
            )

    def update(
        self,
        tick_row: object,
        trading_day: object,
        segment_id: int = 0,
        extras: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """Advance by one tick and return its factor values (a new array, one per factor)."""
        self._set_row(tick_row)
        self._day[0] = _day_key(trading_day)
        self._seg[0] = int(segment_id)
        if self._xe.shape[0]:
            xe = self._xe
            xe[0, :] = np.nan
            if extras:
                for name, value in extras.items():
                    m = _EXTRA_INDEX.get(name)
                    if m is None:
                        raise FactorError(f"unknown extra input {name!r}: expected names from {EXTRA_INPUTS}")
                    xe[0, m] = value
        elif extras:
            unknown = sorted(set(extras) - set(EXTRA_INPUTS))
            if unknown:
                raise FactorError(f"unknown extra inputs {unknown}: expected names from {EXTRA_INPUTS}")
        self._st.run(self._plan, self._gprm, self._X, self._day, self._seg, self._xe, self._out, self._Xi, self._flat)
        if self._gen is None:
            return self._flat.copy()
        self._gen.run(self._out, self._seg, self._gout)
        return self._gout[0].copy()

    def update_many(
        self,
        ticks: np.ndarray,
        trading_day: object,
        segment_id: object = None,
        extras: Mapping[str, object] | None = None,
    ) -> np.ndarray:
        """Advance over a batch of ticks (continuing the current state); returns ``(n, n_factors)``
        (column-major, like :func:`compute_factor_matrix`)."""
        X = _row_matrix(ticks)
        n = X.shape[0]
        day = _day_keys(trading_day, n)
        seg = _segments(segment_id, n)
        xe = _extras_matrix(extras, n, self._plan)
        out = _new_out(n, self._plan)
        self._st.run(self._plan, self._gprm, X, day, seg, xe, out)
        if self._gen is None:
            return out
        full = np.empty((n, len(self._gen.plan.names)), dtype=np.float64, order="F")
        self._gen.run(out, seg, full)
        return full
