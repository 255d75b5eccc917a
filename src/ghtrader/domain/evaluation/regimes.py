"""Row regimes for breaking metrics down: volatility terciles and trading session.

Volatility: the causal rolling realised volatility of the mid price,
``vol[t] = sqrt(mean(r_i^2))`` over the log returns ``r_i = ln(mid_i / mid_{i-1})`` of the last
``window`` rows up to ``t``; returns are taken only inside a run (same segment id and trading
day), so a roll or an overnight gap never counts, and ``vol`` is NaN while fewer than
``min_periods`` finite returns are in the window. :func:`fit_vol_regimes` learns the tercile
edges on training rows only; :meth:`VolRegimes.assign` codes any rows with them:
``vol <= low_edge`` -> LOW, ``<= high_edge`` -> MID, else HIGH, NaN -> UNKNOWN.

Session: ``day`` / ``night`` from the exchange timestamps through
:meth:`ghtrader.domain.calendar.TradingCalendar.session_codes` (rows outside every session get
code 0, ``SESSION_NONE``).

Use the codes with :func:`group_masks`, ``TradingReport.by_group`` or any metric on a mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ghtrader.domain.calendar import SESSION_DAY, SESSION_NIGHT, TradingCalendar
from ghtrader.domain.evaluation._checks import (
    EvaluationError,
    as_day_codes,
    as_vector,
    check_positive_int,
    run_bounds,
)
from ghtrader.domain.instruments import ContractSpec

__all__ = [
    "SESSION_NAMES",
    "VOL_HIGH",
    "VOL_LOW",
    "VOL_MID",
    "VOL_REGIME_NAMES",
    "VOL_UNKNOWN",
    "VolRegimes",
    "fit_vol_regimes",
    "group_masks",
    "rolling_realised_vol",
    "session_codes",
]

VOL_UNKNOWN = -1
VOL_LOW = 0
VOL_MID = 1
VOL_HIGH = 2
VOL_REGIME_NAMES: Mapping[int, str] = {VOL_LOW: "low_vol", VOL_MID: "mid_vol", VOL_HIGH: "high_vol"}
SESSION_NAMES: Mapping[int, str] = {SESSION_DAY: "day", SESSION_NIGHT: "night"}
DEFAULT_VOL_WINDOW = 200


def rolling_realised_vol(
    mid: np.ndarray,
    segment_id: np.ndarray,
    trading_day: np.ndarray,
    window: int = DEFAULT_VOL_WINDOW,
    min_periods: int | None = None,
) -> np.ndarray:
    """Causal per-row realised volatility (module docstring); ``min_periods`` defaults to
    ``window // 2`` (at least 1)."""
    w = check_positive_int(window, "window")
    mp = max(1, w // 2) if min_periods is None else check_positive_int(min_periods, "min_periods")
    if mp > w:
        raise EvaluationError(f"min_periods={mp} exceeds window={w}")
    m = as_vector(mid, "mid")
    n = m.shape[0]
    seg = as_vector(segment_id, "segment_id", n, dtype=np.int64)
    run_start, _ = run_bounds(seg, as_day_codes(trading_day, n))
    r = np.full(n, np.nan)
    if n > 1:
        with np.errstate(invalid="ignore"):
            ok = (m[1:] > 0) & (m[:-1] > 0)  # False for NaN
        ratio = np.divide(m[1:], m[:-1], out=np.ones(n - 1), where=ok)
        r[1:] = np.where(ok, np.log(ratio), np.nan)
    idx = np.arange(n)
    r[idx == run_start] = np.nan  # no return across a run boundary
    finite = np.isfinite(r)
    sq = np.concatenate(([0.0], np.cumsum(np.where(finite, r * r, 0.0))))
    cnt = np.concatenate(([0], np.cumsum(finite)))
    lo = np.maximum(idx - w + 1, run_start)
    total = np.maximum(sq[idx + 1] - sq[lo], 0.0)
    count = cnt[idx + 1] - cnt[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count >= mp, np.sqrt(total / np.maximum(count, 1)), np.nan)


@dataclass(frozen=True)
class VolRegimes:
    """Volatility tercile edges fitted on training rows, and the vol settings they used."""

    window: int
    min_periods: int
    low_edge: float
    high_edge: float

    def codes_of(self, vol: np.ndarray) -> np.ndarray:
        """int8 regime code per realised-vol value."""
        v = as_vector(vol, "vol")
        out = np.full(v.shape[0], VOL_UNKNOWN, dtype=np.int8)
        ok = np.isfinite(v)
        out[ok & (v <= self.low_edge)] = VOL_LOW
        out[ok & (v > self.low_edge) & (v <= self.high_edge)] = VOL_MID
        out[ok & (v > self.high_edge)] = VOL_HIGH
        return out

    def assign(self, mid: np.ndarray, segment_id: np.ndarray, trading_day: np.ndarray) -> np.ndarray:
        """int8 regime code per row of a (test) series."""
        return self.codes_of(rolling_realised_vol(mid, segment_id, trading_day, self.window, self.min_periods))


def fit_vol_regimes(
    mid: np.ndarray,
    segment_id: np.ndarray,
    trading_day: np.ndarray,
    window: int = DEFAULT_VOL_WINDOW,
    min_periods: int | None = None,
) -> VolRegimes:
    """Tercile edges of the rolling realised vol of the given (training) rows."""
    w = check_positive_int(window, "window")
    mp = max(1, w // 2) if min_periods is None else check_positive_int(min_periods, "min_periods")
    vol = rolling_realised_vol(mid, segment_id, trading_day, w, mp)
    vol = vol[np.isfinite(vol)]
    if vol.shape[0] == 0:
        raise EvaluationError(
            f"no realised volatility in the training rows (window={w}, min_periods={mp}): too few valid mids"
        )
    low, high = np.quantile(vol, [1.0 / 3.0, 2.0 / 3.0])
    return VolRegimes(window=w, min_periods=mp, low_edge=float(low), high_edge=float(high))


def session_codes(
    datetime_ns: np.ndarray, calendar: TradingCalendar, spec: ContractSpec, end_grace_ns: int = 0
) -> np.ndarray:
    """int8 session per row: SESSION_DAY (1), SESSION_NIGHT (2) or SESSION_NONE (0)."""
    return calendar.session_codes(np.asarray(datetime_ns), spec, end_grace_ns=end_grace_ns)


def group_masks(codes: np.ndarray, names: Mapping[int, str]) -> dict[str, np.ndarray]:
    """``{name: codes == code}`` for every named code (unnamed codes belong to no group)."""
    c = np.asarray(codes)
    if c.ndim != 1:
        raise EvaluationError(f"invalid codes of shape {c.shape}: expected a 1-d array")
    return {name: c == code for code, name in names.items()}
