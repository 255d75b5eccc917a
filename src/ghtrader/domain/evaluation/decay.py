"""Alpha decay: how a signal's link to the realised move fades with the horizon.

Per horizon ``h`` (rows where the score or ``dmid_h`` is NaN are dropped):

- IC: Spearman (Pearson of average ranks, ties share their mean rank) or Pearson correlation
  between the signal score (e.g. ``p_up - p_down``) and the realised ``dmid_h``; NaN when
  fewer than 3 rows remain or either side is constant.
- directional accuracy: among rows with a non-zero score and a non-zero move, the share where
  their signs agree.

Half-life: with ``IC_max`` the largest IC (at horizon ``h_max``) and ``target = IC_max / 2``,
the smallest horizon after ``h_max`` where the IC has fallen to ``target``, interpolated
between the two bracketing horizons: log-linearly when both ICs are positive (exact for an
exponential decay), linearly otherwise. None when ``IC_max <= 0`` or the IC never gets there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ghtrader.domain.evaluation._checks import (
    EvaluationError,
    as_vector,
    check_positive_int,
)

__all__ = [
    "DEFAULT_DECAY_HORIZONS",
    "DecayReport",
    "alpha_decay",
    "directional_accuracy",
    "half_life_horizon",
    "information_coefficient",
    "rank_average",
]

DEFAULT_DECAY_HORIZONS: tuple[int, ...] = (10, 50, 100, 200)
ICMethod = Literal["spearman", "pearson"]
_MIN_ROWS = 3


def rank_average(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given the mean of the ranks they span (float64)."""
    x = as_vector(values, "values")
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    before = np.cumsum(counts) - counts
    return (before + (counts + 1) / 2.0)[inverse.reshape(-1)]


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    da = a - a.mean()
    db = b - b.mean()
    den = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    return float(np.dot(da, db) / den) if den > 0 else math.nan


def information_coefficient(score: np.ndarray, realised: np.ndarray, method: ICMethod = "spearman") -> float:
    """Correlation of ``score`` and ``realised`` over rows where both are finite."""
    s = as_vector(score, "score")
    r = as_vector(realised, "realised", s.shape[0])
    ok = np.isfinite(s) & np.isfinite(r)
    if int(ok.sum()) < _MIN_ROWS:
        return math.nan
    s, r = s[ok], r[ok]
    if method == "spearman":
        return _pearson(rank_average(s), rank_average(r))
    if method == "pearson":
        return _pearson(s, r)
    raise EvaluationError(f"invalid IC method {method!r}: expected 'spearman' or 'pearson'")


def directional_accuracy(score: np.ndarray, realised: np.ndarray) -> tuple[float, int]:
    """``(accuracy, n)``: sign agreement over rows where both are finite and non-zero."""
    s = as_vector(score, "score")
    r = as_vector(realised, "realised", s.shape[0])
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(s) & np.isfinite(r) & (s != 0) & (r != 0)
    n = int(ok.sum())
    if n == 0:
        return math.nan, 0
    return float(np.mean(np.sign(s[ok]) == np.sign(r[ok]))), n


def half_life_horizon(horizons: Sequence[int], ic: Sequence[float]) -> float | None:
    """Interpolated horizon where the IC first falls to half its maximum (module docstring)."""
    h = np.asarray(horizons, dtype=np.float64)
    v = np.asarray(ic, dtype=np.float64)
    if h.ndim != 1 or h.shape != v.shape:
        raise EvaluationError(f"horizons {h.shape} and ic {v.shape} must be 1-d of the same length")
    if h.shape[0] and not np.all(np.diff(h) > 0):
        raise EvaluationError(f"invalid horizons {list(horizons)}: expected strictly increasing")
    finite = np.isfinite(v)
    if not finite.any():
        return None
    peak = int(np.flatnonzero(finite)[np.argmax(v[finite])])
    top = float(v[peak])
    if not top > 0:
        return None
    target = top / 2.0
    prev_h, prev_v = float(h[peak]), top
    for j in range(peak + 1, h.shape[0]):
        if not finite[j]:
            continue
        cur_h, cur_v = float(h[j]), float(v[j])
        if cur_v <= target:
            if cur_v > 0:
                frac = math.log(prev_v / target) / math.log(prev_v / cur_v)
            else:
                frac = (prev_v - target) / (prev_v - cur_v)
            return prev_h + frac * (cur_h - prev_h)
        prev_h, prev_v = cur_h, cur_v
    return None


@dataclass(frozen=True)
class DecayReport:
    """IC and directional accuracy per horizon, and the half-life horizon."""

    horizons: tuple[int, ...]
    method: str
    ic: tuple[float, ...]
    accuracy: tuple[float, ...]
    n: tuple[int, ...]  # rows used for the IC
    n_directional: tuple[int, ...]  # rows used for the accuracy
    half_life: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "half_life": self.half_life,
            "by_horizon": [
                {"horizon": h, "ic": ic, "accuracy": acc, "n": n, "n_directional": nd}
                for h, ic, acc, n, nd in zip(
                    self.horizons, self.ic, self.accuracy, self.n, self.n_directional, strict=True
                )
            ],
        }


def alpha_decay(
    score: np.ndarray,
    realised_by_horizon: Mapping[int, np.ndarray],
    horizons: Sequence[int] | None = None,
    method: ICMethod = "spearman",
) -> DecayReport:
    """Decay profile of ``score`` against ``realised_by_horizon[h]`` (``dmid_h`` per row).

    ``horizons`` defaults to :data:`DEFAULT_DECAY_HORIZONS` restricted to those present in the
    mapping (it must hold every horizon asked for explicitly).
    """
    s = as_vector(score, "score")
    if horizons is None:
        hs = [h for h in DEFAULT_DECAY_HORIZONS if h in realised_by_horizon]
        if not hs:
            raise EvaluationError(
                f"no default horizon {list(DEFAULT_DECAY_HORIZONS)} in realised moves {sorted(realised_by_horizon)}"
            )
    else:
        hs = [check_positive_int(h, "horizon") for h in horizons]
        missing = [h for h in hs if h not in realised_by_horizon]
        if missing:
            raise EvaluationError(f"no realised move for horizons {missing}")
    hs = sorted(set(hs))
    if method not in ("spearman", "pearson"):
        raise EvaluationError(f"invalid IC method {method!r}: expected 'spearman' or 'pearson'")
    ics: list[float] = []
    accs: list[float] = []
    ns: list[int] = []
    nds: list[int] = []
    for h in hs:
        r = as_vector(realised_by_horizon[h], f"realised move h={h}", s.shape[0])
        ics.append(information_coefficient(s, r, method))
        ns.append(int(np.sum(np.isfinite(s) & np.isfinite(r))))
        acc, nd = directional_accuracy(s, r)
        accs.append(acc)
        nds.append(nd)
    return DecayReport(
        horizons=tuple(hs),
        method=method,
        ic=tuple(ics),
        accuracy=tuple(accs),
        n=tuple(ns),
        n_directional=tuple(nds),
        half_life=half_life_horizon(hs, ics),
    )
