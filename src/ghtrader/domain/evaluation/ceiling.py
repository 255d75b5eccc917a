"""How close a model comes to the best any model could do, given the true class probabilities
(a Bayes oracle) on some rows.

- Prior log-loss: the log-loss of a constant forecast, the training rows' class frequencies
  (add-one smoothed so no class has probability 0), on the evaluated labels.
- Information captured: ``(LL_prior - LL_model) / (LL_prior - LL_bayes)`` on the same rows: 1 when
  the model knows what the generator knows, 0 when it knows no more than the base rates (it can
  be negative, or above 1 by sampling error). NaN when the oracle does not beat the prior.
- Bayes decision rule for macro-F1: macro-F1 is not maximised by the argmax of calibrated
  probabilities when classes are imbalanced; the rule predicts ``argmax(w * p)`` with
  ``w = (w_down, 1, w_up)`` chosen on training rows from a geometric grid.
- Cost-aware policy: the expected move ``E`` (price units) read from the edge ``p_up - p_down``
  through a monotone curve fitted on the fitting rows (:class:`MoveCurve`); one lot in the sign of ``E`` wherever
  ``|E| > threshold``, the threshold chosen to maximise net PnL on fitting rows from a grid that
  starts at the mean round-trip cost. When no threshold of the grid makes money there, the
  policy never trades (``threshold`` is +inf and ``trades`` is False).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ghtrader.domain.evaluation._checks import EvaluationError, as_probs, as_vector, check_finite
from ghtrader.domain.evaluation._kernels import isotonic_blocks, weighted_argmax_f1_grid
from ghtrader.domain.evaluation.classification import N_CLASSES, clean_rows, log_loss
from ghtrader.domain.evaluation.signals import edge_score
from ghtrader.domain.evaluation.trading import CostModel

__all__ = [
    "DEFAULT_POLICY_GRID",
    "DEFAULT_WEIGHT_GRID",
    "DecisionRule",
    "ExpectedMovePolicy",
    "class_frequencies",
    "class_mean_moves",
    "MoveCurve",
    "fit_move_curve",
    "fit_decision_rule",
    "fit_expected_move_policy",
    "independent_trade_net",
    "information_captured",
    "prior_log_loss",
    "round_trip_cost",
]

#: Class weights tried for DOWN and for UP (FLAT has weight 1): geometric, 1/8 .. 16.
DEFAULT_WEIGHT_GRID: tuple[float, ...] = tuple(float(x) for x in np.geomspace(0.125, 16.0, 43))
#: Policy thresholds as multiples of the mean round-trip cost: geometric, 1 .. 20.
DEFAULT_POLICY_GRID: tuple[float, ...] = tuple(float(x) for x in np.geomspace(1.0, 20.0, 61))


def class_frequencies(labels: np.ndarray, smoothing: float = 1.0) -> np.ndarray:
    """``(3,)`` class frequencies of the non-NaN labels, each count plus ``smoothing``."""
    s = check_finite(smoothing, "smoothing", minimum=0.0)
    y = as_vector(labels, "labels")
    y = y[~np.isnan(y)]
    if not np.isin(y, (0.0, 1.0, 2.0)).all():
        raise EvaluationError("invalid labels: expected 0 (DOWN), 1 (FLAT), 2 (UP) or NaN")
    counts = np.bincount(y.astype(np.int64), minlength=N_CLASSES).astype(np.float64) + s
    total = counts.sum()
    if total <= 0:
        raise EvaluationError("no labels and no smoothing: class frequencies are undefined")
    return counts / total


def prior_log_loss(train_labels: np.ndarray, labels: np.ndarray, smoothing: float = 1.0) -> float:
    """Log-loss on ``labels`` of the constant forecast ``class_frequencies(train_labels)``."""
    freq = class_frequencies(train_labels, smoothing)
    y = as_vector(labels, "labels")
    return log_loss(y, np.tile(freq, (y.shape[0], 1)))


def information_captured(ll_prior: float, ll_model: float, ll_bayes: float) -> float:
    """``(ll_prior - ll_model) / (ll_prior - ll_bayes)``; NaN when an input is not finite or the
    denominator is <= 0 (the oracle knows no more than the base rates on these rows)."""
    values = (float(ll_prior), float(ll_model), float(ll_bayes))
    if not all(math.isfinite(v) for v in values):
        return math.nan
    den = values[0] - values[2]
    if den <= 0:
        return math.nan
    return (values[0] - values[1]) / den


@dataclass(frozen=True)
class DecisionRule:
    """``argmax(weights * p)``; ``train_macro_f1`` is its macro-F1 on the rows it was fitted on."""

    weights: tuple[float, float, float]
    train_macro_f1: float
    n_fit: int

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """Predicted class codes (float64 0/1/2; NaN where a probability is NaN)."""
        p = as_probs(probs)
        ok = ~np.isnan(p).any(axis=1)
        scores = np.where(ok[:, None], p, 0.0) * np.asarray(self.weights)
        return np.where(ok, scores.argmax(axis=1).astype(np.float64), np.nan)

    def to_dict(self) -> dict[str, Any]:
        return {"weights": list(self.weights), "train_macro_f1": self.train_macro_f1, "n_fit": self.n_fit}


def fit_decision_rule(
    probs: np.ndarray, labels: np.ndarray, grid: tuple[float, ...] = DEFAULT_WEIGHT_GRID
) -> DecisionRule:
    """The class weights (``w_flat = 1``) whose ``argmax(w * p)`` maximises macro-F1 on these
    rows (rows with a NaN drop out). Ties keep the pair closest to plain argmax (1, 1, 1), which
    is always tried; with no usable row the rule is plain argmax and its macro-F1 NaN."""
    y, p, _ = clean_rows(labels, probs)
    g = np.unique(np.append(np.asarray(grid, dtype=np.float64), 1.0))
    if np.any(~np.isfinite(g)) or np.any(g <= 0):
        raise EvaluationError("invalid weight grid: expected positive finite weights")
    if y.shape[0] == 0:
        return DecisionRule((1.0, 1.0, 1.0), math.nan, 0)
    f1 = weighted_argmax_f1_grid(np.ascontiguousarray(p), np.ascontiguousarray(y), g, g)
    best = f1.max()
    distance = np.abs(np.log(g))[:, None] + np.abs(np.log(g))[None, :]
    i, j = np.unravel_index(np.argmin(np.where(f1 >= best - 1e-12, distance, np.inf)), f1.shape)
    return DecisionRule((float(g[i]), 1.0, float(g[j])), float(f1[i, j]), int(y.shape[0]))


def round_trip_cost(costs: CostModel, mid: np.ndarray, spread: np.ndarray, price_tick: float) -> np.ndarray:
    """Cost of one lot in and out per row, in price units: commission on the entry notional,
    slippage ticks and, when crossing the spread, half the spread at entry plus half at exit
    (the entry spread standing in for the exit one)."""
    m = as_vector(mid, "mid")
    s = as_vector(spread, "spread", m.shape[0])
    tick = check_finite(price_tick, "price_tick", positive=True)
    spread_part = s if costs.cross_spread else np.zeros_like(s)
    return costs.commission_bp * 1e-4 * m + costs.slippage_ticks * tick + spread_part


def class_mean_moves(labels: np.ndarray, dmid: np.ndarray) -> np.ndarray:
    """``(3,)`` mean realized move per class on rows with a finite label and move (0 for a
    class without such rows)."""
    y = as_vector(labels, "labels")
    d = as_vector(dmid, "dmid", y.shape[0])
    ok = np.isfinite(y) & np.isfinite(d)
    codes = y[ok].astype(np.int64)
    count = np.bincount(codes, minlength=N_CLASSES).astype(np.float64)
    total = np.bincount(codes, weights=d[ok], minlength=N_CLASSES)
    return np.divide(total, count, out=np.zeros(N_CLASSES), where=count > 0)


@dataclass(frozen=True)
class MoveCurve:
    """The expected move (price units) as a non-decreasing function of the edge ``p_up -
    p_down``: the isotonic regression of the realized move on the edge (pool adjacent
    violators over the fitting rows), interpolated linearly between the centres of its blocks
    (flat beyond the outer ones).

    Three class probabilities cannot say how far an UP move goes; the curve reads it off the
    fitting rows, so a sharp forecast can expect more than the UP class's average move."""

    edges: tuple[float, ...]  # block centres (mean edge per block), increasing
    moves: tuple[float, ...]  # non-decreasing mean move per block

    # the same points as arrays, built once: a live loop calls the curve on every tick
    _x: np.ndarray = field(init=False, repr=False, compare=False)
    _y: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_x", np.asarray(self.edges, dtype=np.float64))
        object.__setattr__(self, "_y", np.asarray(self.moves, dtype=np.float64))

    def __call__(self, probs: np.ndarray) -> np.ndarray:
        s = edge_score(probs)
        out = np.full(s.shape[0], np.nan)
        ok = np.isfinite(s)
        if self.edges:
            out[ok] = np.interp(s[ok], self._x, self._y)
        return out

    def at(self, edge: float) -> float:
        """The curve at one edge, without arrays (the trading loop's per-tick call): the same
        value as ``np.interp`` gives ``__call__``, NaN for a NaN edge or an empty curve."""
        xs, ys = self.edges, self.moves
        if not xs or edge != edge:
            return math.nan
        if edge >= xs[-1]:
            return ys[-1]
        if edge < xs[0]:
            return ys[0]
        j = bisect_right(xs, edge) - 1
        if edge == xs[j]:
            return ys[j]
        # np.interp's formula, with its fallbacks for a NaN from an infinite slope
        slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j])
        out = slope * (edge - xs[j]) + ys[j]
        if out != out:
            out = slope * (edge - xs[j + 1]) + ys[j + 1]
            if out != out and ys[j] == ys[j + 1]:
                out = ys[j]
        return out


def fit_move_curve(probs: np.ndarray, dmid: np.ndarray) -> MoveCurve:
    """:class:`MoveCurve` of these rows: the isotonic regression of the realized move on the edge
    (rows with a NaN drop out; an empty curve without rows)."""
    d = as_vector(dmid, "dmid")
    s = edge_score(as_probs(probs, d.shape[0]))
    ok = np.isfinite(s) & np.isfinite(d)
    s, d = s[ok], d[ok]
    if s.shape[0] == 0:
        return MoveCurve((), ())
    order = np.argsort(s, kind="stable")
    centres, moves, counts = isotonic_blocks(np.ascontiguousarray(s[order]), np.ascontiguousarray(d[order]))
    # blocks of tied edges can share a centre: merge them so the interpolation is well defined
    keep = np.concatenate(([True], np.diff(centres) > 0))
    group = np.cumsum(keep) - 1
    w = np.bincount(group, weights=counts)
    centres = np.bincount(group, weights=centres * counts) / w
    moves = np.bincount(group, weights=moves * counts) / w
    return MoveCurve(tuple(centres.tolist()), tuple(moves.tolist()))


def independent_trade_net(positions: np.ndarray, dmid: np.ndarray, cost: np.ndarray, multiplier: float) -> np.ndarray:
    """Net PnL (currency) of one lot per row with a non-zero position and finite move and cost,
    each row a trade of its own (overlaps allowed): ``(sign(pos) * dmid - cost) * multiplier``."""
    d = as_vector(dmid, "dmid")
    pos = as_vector(positions, "positions", d.shape[0])
    c = as_vector(cost, "cost", d.shape[0])
    mult = check_finite(multiplier, "multiplier", positive=True)
    take = np.isfinite(pos) & (pos != 0) & np.isfinite(d) & np.isfinite(c)
    return (np.sign(pos[take]) * d[take] - c[take]) * mult


@dataclass(frozen=True)
class ExpectedMovePolicy:
    """One lot in the sign of the expected move where ``|E| > threshold`` (price units)."""

    curve: MoveCurve
    threshold: float  # +inf: never trades
    mean_cost: float  # mean round-trip cost (price units) on the fitting rows: the grid's start
    fit_net_pnl: float  # net PnL (currency) of the chosen threshold on the fitting rows
    fit_trades: int
    n_fit: int

    @property
    def trades(self) -> bool:
        """False when no threshold made money on the fitting rows."""
        return math.isfinite(self.threshold)

    def expected_move(self, probs: np.ndarray) -> np.ndarray:
        """The expected move (price units) of each row's probabilities (NaN where unknown)."""
        return self.curve(probs)

    def positions(self, probs: np.ndarray) -> np.ndarray:
        """int8 direction per row (0 where it does not trade or a probability is NaN)."""
        e = self.expected_move(probs)
        out = np.zeros(e.shape[0], dtype=np.int8)
        if not self.trades:
            return out
        with np.errstate(invalid="ignore"):
            go = np.isfinite(e) & (np.abs(e) > self.threshold)
        out[go] = np.sign(e[go]).astype(np.int8)
        return out

    def position(self, p_down: float, p_up: float) -> int:
        """:meth:`positions` of one row from its DOWN and UP probabilities, without arrays (the
        trading loop calls it on every tick; the same direction as the batch method)."""
        if not self.trades:
            return 0
        e = self.curve.at(p_up - p_down)
        if not math.isfinite(e) or abs(e) <= self.threshold:
            return 0
        return 1 if e > 0 else -1

    def to_dict(self) -> dict[str, Any]:
        return {
            "move_curve": {"edge": list(self.curve.edges), "move": list(self.curve.moves)},
            "threshold": self.threshold if self.trades else None,
            "trades": self.trades,
            "mean_cost": self.mean_cost,
            "fit_net_pnl": self.fit_net_pnl,
            "fit_trades": self.fit_trades,
            "n_fit": self.n_fit,
        }


def fit_expected_move_policy(
    probs: np.ndarray,
    dmid: np.ndarray,
    cost: np.ndarray,
    multiplier: float,
    grid: tuple[float, ...] = DEFAULT_POLICY_GRID,
) -> ExpectedMovePolicy:
    """Fit the move curve (:func:`fit_move_curve`) and the threshold (``grid`` x the mean
    round-trip cost) maximising the net PnL of :func:`independent_trade_net` on these fitting
    rows. No grid threshold with positive net PnL, or no usable row: no trades.

    Args:
        probs: ``(n, 3)`` probabilities of the fitting rows; dmid: their realized moves;
        cost: their round-trip cost in price units (:func:`round_trip_cost`).
    """
    d = as_vector(dmid, "dmid")
    p = as_probs(probs, d.shape[0])
    c = as_vector(cost, "cost", d.shape[0])
    mult = check_finite(multiplier, "multiplier", positive=True)
    curve = fit_move_curve(p, d)
    e = curve(p)
    ok = np.isfinite(e) & np.isfinite(d) & np.isfinite(c)
    e, d, c = e[ok], d[ok], c[ok]
    if e.shape[0] == 0:
        return ExpectedMovePolicy(curve, math.inf, math.nan, 0.0, 0, 0)
    mean_cost = float(c.mean())
    # rows sorted by |E| descending: the trades of threshold t are a prefix, their PnL a cumsum
    order = np.argsort(-np.abs(e), kind="stable")
    size = np.abs(e)[order]
    net = (np.sign(e[order]) * d[order] - c[order]) * mult
    cum = np.concatenate(([0.0], np.cumsum(net)))
    thresholds = mean_cost * np.asarray(grid, dtype=np.float64)
    n_taken = np.searchsorted(-size, -thresholds, side="left")  # rows with |E| > t
    pnl = cum[n_taken]
    best = int(np.argmax(pnl))
    if not (pnl[best] > 0 and mean_cost >= 0):
        return ExpectedMovePolicy(curve, math.inf, mean_cost, 0.0, 0, int(e.shape[0]))
    return ExpectedMovePolicy(
        curve, float(thresholds[best]), mean_cost, float(pnl[best]), int(n_taken[best]), int(e.shape[0])
    )
