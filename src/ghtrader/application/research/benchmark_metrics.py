"""Scoring one set of predictions on rows of a frame: classification and calibration, cost-
adjusted trading, alpha decay, breakdowns by volatility regime and session, and the
expected-move rule (a threshold on the generator's expected mid move: a reference, no ceiling;
the ceiling is the Bayes oracle of :mod:`ghtrader.application.research.benchmark_ceiling`).

Everything here is arithmetic over the domain's evaluation functions; the benchmark use case
decides which rows (a fold's test block, or every fold's test rows pooled).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ghtrader.application.ports.models import FeatureFrame
from ghtrader.domain.evaluation import (
    SESSION_NAMES,
    VOL_REGIME_NAMES,
    ClassificationMetrics,
    CostModel,
    DecayReport,
    EntryRule,
    SignalRule,
    TradingReport,
    alpha_decay,
    classification_metrics,
    edge_score,
    evaluate_positions,
    macro_f1_of_classes,
    positions_from_probs,
)
from ghtrader.domain.labels import direction_labels

__all__ = [
    "ExpectedMoveRuleFit",
    "FrameContext",
    "RowsScore",
    "expected_move_rule_codes",
    "fit_expected_move_threshold",
    "realized_moves",
    "score_rows",
    "trade_rows",
]

#: Expected-move rule thresholds tried when fitting one on training rows, in ticks.
EXPECTED_MOVE_THRESHOLD_GRID_TICKS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(41))


@dataclass(frozen=True)
class FrameContext:
    """Per-frame inputs shared by every fold (computed once, causal where they feed features)."""

    frame: FeatureFrame
    moves: Mapping[int, np.ndarray]  # horizon -> realized mid move per row (NaN undefined)
    vol: np.ndarray  # causal rolling realized volatility per row
    session: np.ndarray  # int8 session code per row
    multiplier: float


@dataclass(frozen=True)
class ExpectedMoveRuleFit:
    """How the expected-move rule's classes were obtained: from the frame's ``oracle_dmid``
    (the generator's expected move) with a threshold fitted on the fold's training rows, or as
    given in ``oracle_direction``. It ignores volatility and how the book is built, so it is no
    upper bound: a model may beat it."""

    source: str  # "oracle_dmid (threshold fitted on train)" | "oracle_direction"
    threshold: float | None  # price units (fitted), None when given
    train_macro_f1: float | None


@dataclass(frozen=True)
class RowsScore:
    """The scores of one prediction set on some rows."""

    classification: ClassificationMetrics
    trading: TradingReport
    decay: DecayReport
    by_regime: dict[str, dict[str, Any]]
    by_session: dict[str, dict[str, Any]]
    expected_move_rule: dict[str, Any] | None
    entry_time_days: np.ndarray  # elapsed days from the first row to each trade's entry

    def flat(self) -> dict[str, float]:
        """Scalar metrics keyed for tables and fold statistics."""
        c, t = self.classification, self.trading
        out: dict[str, float] = {
            "accuracy": c.accuracy,
            "macro_f1": c.macro_f1,
            "log_loss": c.log_loss,
            "brier": c.brier,
            "ece": c.ece,
            "mce": c.mce,
            "n_trades": float(t.n_trades),
            "hit_rate": t.hit_rate,
            "break_even_accuracy": t.break_even_accuracy,
            "gross_pnl": t.gross.total,
            "net_pnl": t.net.total,
            "net_sharpe": t.net.sharpe_annualised,
            "net_max_drawdown": t.net.max_drawdown,
            "net_win_rate": t.net.win_rate,
            "net_profit_factor": t.net.profit_factor,
            "profitable_gross_not_net": float(t.profitable_gross_not_net),
        }
        for h, ic in zip(self.decay.horizons, self.decay.ic, strict=True):
            out[f"ic_h{h}"] = ic
        out["half_life"] = math.nan if self.decay.half_life is None else float(self.decay.half_life)
        rule = self.expected_move_rule
        if rule is not None:
            out["expected_move_rule_accuracy"] = rule["accuracy"]
            out["expected_move_rule_macro_f1"] = rule["macro_f1"]
            out["expected_move_rule_net_pnl"] = rule["trading"]["net"]["total"]
            out["model_expected_move_rule_f1_ratio"] = rule["model_f1_ratio"]
        return out


def realized_moves(frame: FeatureFrame, horizons: Sequence[int]) -> dict[int, np.ndarray]:
    """``mid[t + h] - mid[t]`` within a segment per horizon: the frame's ``dmid_h{h}`` extra
    where present, else computed from ``mid`` (same definition as the labels)."""
    out: dict[int, np.ndarray] = {}
    missing: list[int] = []
    for h in sorted({int(h) for h in horizons}):
        extra = frame.extras.get(f"dmid_h{h}")
        if extra is not None:
            out[h] = np.asarray(extra, dtype=np.float64)
        else:
            missing.append(h)
    if missing and len(frame):
        computed = direction_labels(frame.mid, frame.mid, frame.segment_id, missing, frame.price_tick)
        for h in missing:
            out[h] = computed[f"dmid_h{h}"]
    elif missing:
        out.update({h: np.zeros(0) for h in missing})
    return out


def fit_expected_move_threshold(
    expected_move: np.ndarray, labels: np.ndarray, price_tick: float
) -> tuple[float, float]:
    """``(threshold, macro_f1)``: the threshold (price units) on the generator's expected move that
    maximizes macro-F1 against ``labels`` on these (training) rows, from a grid of 0..2 ticks.

    A label needs a realized move of ``k`` ticks, but the realized move is the expectation plus
    noise, so the best classifier of the expectation fires at a smaller threshold than ``k``.
    """
    ok = np.isfinite(expected_move) & np.isfinite(labels)
    e, y = expected_move[ok], labels[ok].astype(np.int64)
    if y.shape[0] == 0:
        return math.nan, math.nan
    best = (math.nan, -1.0)
    for t_ticks in EXPECTED_MOVE_THRESHOLD_GRID_TICKS:
        t = t_ticks * price_tick
        pred = np.where(e > t, 2, np.where(e < -t, 0, 1))
        f1 = macro_f1_of_classes(y, pred)
        if f1 > best[1] + 1e-12:
            best = (t, f1)
    return best


def expected_move_rule_codes(
    frame: FeatureFrame, train_rows: np.ndarray
) -> tuple[np.ndarray | None, ExpectedMoveRuleFit | None]:
    """The expected-move rule's class per frame row (float codes, NaN unknown) for one fold, or
    None when the frame carries neither ``oracle_dmid`` nor ``oracle_direction``."""
    move = frame.extras.get("oracle_dmid")
    if move is not None:
        move = np.asarray(move, dtype=np.float64)
        threshold, f1 = fit_expected_move_threshold(move[train_rows], frame.labels[train_rows], frame.price_tick)
        if math.isfinite(threshold):
            codes = np.where(move > threshold, 2.0, np.where(move < -threshold, 0.0, 1.0))
            codes[np.isnan(move)] = np.nan
            return codes, ExpectedMoveRuleFit("oracle_dmid (threshold fitted on train)", threshold, f1)
    given = frame.extras.get("oracle_direction")
    if given is not None:
        return np.asarray(given, dtype=np.float64), ExpectedMoveRuleFit("oracle_direction", None, None)
    return None, None


def _one_hot(codes: np.ndarray) -> np.ndarray:
    out = np.full((codes.shape[0], 3), np.nan)
    ok = np.isfinite(codes)
    out[ok] = 0.0
    out[np.flatnonzero(ok), codes[ok].astype(np.int64)] = 1.0
    return out


def trade_rows(
    ctx: FrameContext, rows: np.ndarray, positions: np.ndarray, horizon: int, costs: CostModel, entry: EntryRule
) -> TradingReport:
    """:func:`evaluate_positions` of per-row ``positions`` on ``rows`` of the frame."""
    f = ctx.frame
    return evaluate_positions(
        positions,
        ctx.moves[horizon][rows],
        horizon,
        mid=f.mid[rows],
        spread=f.spread[rows],
        segment_id=f.segment_id[rows],
        trading_day=f.trading_day[rows],
        multiplier=ctx.multiplier,
        price_tick=f.price_tick,
        costs=costs,
        entry=entry,
    )


def _group_scores(
    labels: np.ndarray,
    probs: np.ndarray,
    trading: TradingReport,
    codes: np.ndarray,
    names: Mapping[int, str],
    n_bins: int,
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    trades = trading.by_group(codes.astype(np.int64), names)
    for code, name in names.items():
        mask = codes == code
        cm = classification_metrics(labels[mask], probs[mask], n_bins=n_bins)
        t = trades[name]
        out[name] = {
            "rows": int(mask.sum()),
            "n": cm.n,
            "accuracy": cm.accuracy,
            "macro_f1": cm.macro_f1,
            "log_loss": cm.log_loss,
            "ece": cm.ece,
            "n_trades": t.n_trades,
            "net_pnl": t.net.total,
            "gross_pnl": t.gross.total,
            "net_sharpe": t.net.sharpe_annualised,
            "net_win_rate": t.net.win_rate,
        }
    return out


def score_rows(
    ctx: FrameContext,
    rows: np.ndarray,
    probs: np.ndarray,
    *,
    horizon: int,
    decay_horizons: Sequence[int],
    regime_codes: np.ndarray,
    expected_move_rule: np.ndarray | None,
    costs: CostModel,
    signal: SignalRule,
    entry: EntryRule,
    n_bins: int,
) -> RowsScore:
    """Score ``probs`` (aligned with ``rows``, time-ordered frame positions).

    ``regime_codes`` are the volatility regime codes of ``rows`` (fitted on training data by
    the caller); ``expected_move_rule`` the expected-move rule's class codes of ``rows`` (or None).
    """
    f = ctx.frame
    labels = f.labels[rows]
    cls = classification_metrics(labels, probs, n_bins=n_bins)
    positions = positions_from_probs(probs, signal)
    trading = trade_rows(ctx, rows, positions, horizon, costs, entry)
    score = edge_score(probs)
    decay = alpha_decay(score, {h: ctx.moves[h][rows] for h in decay_horizons}, horizons=list(decay_horizons))
    by_regime = _group_scores(labels, probs, trading, regime_codes, VOL_REGIME_NAMES, n_bins)
    by_session = _group_scores(labels, probs, trading, ctx.session[rows], SESSION_NAMES, n_bins)
    t0 = int(f.datetime_ns[rows[0]]) if rows.shape[0] else 0
    entry_days = (f.datetime_ns[rows][trading.trades.entry_index] - t0) / 86_400e9

    rule_block = None
    if expected_move_rule is not None:
        rule = expected_move_rule
        common = np.isfinite(labels) & np.isfinite(rule) & np.isfinite(probs).all(axis=1)
        o = classification_metrics(labels[common], _one_hot(rule[common]), n_bins=n_bins)
        m = classification_metrics(labels[common], probs[common], n_bins=n_bins)
        o_pos = np.where(np.isfinite(rule), rule - 1.0, 0.0)
        o_trading = trade_rows(ctx, rows, o_pos, horizon, costs, entry)
        ratio = m.macro_f1 / o.macro_f1 if o.macro_f1 and math.isfinite(o.macro_f1) else math.nan
        rule_block = {
            "n": o.n,
            "accuracy": o.accuracy,
            "macro_f1": o.macro_f1,
            "model_accuracy_same_rows": m.accuracy,
            "model_macro_f1_same_rows": m.macro_f1,
            "model_f1_ratio": ratio,
            "confusion": o.confusion.tolist(),
            "trading": o_trading.to_dict(),
        }
    return RowsScore(cls, trading, decay, by_regime, by_session, rule_block, entry_days)
