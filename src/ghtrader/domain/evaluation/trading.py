"""Cost-adjusted evaluation of a direction signal held for ``h`` ticks.

Trades (one lot each):

- A trade enters at row ``t`` with direction ``d`` in {+1, -1} and exits at row ``t + h``;
  ``dmid[t] = mid[t + h] - mid[t]`` is the realised move (the ``dmid_h{h}`` label).
- A trade never crosses a run: a run is a stretch of consecutive rows with the same segment id
  and trading day, and the exit row ``t + h`` must lie in the entry's run.
- Entry rules: ``"grid"`` considers rows ``run_start, run_start + h, run_start + 2h, ...`` of each
  run and trades where the signal is non-zero (a fixed decision clock, no cherry-picking);
  ``"on_signal"`` trades at the first row with a non-zero signal and, after the exit, looks
  again from the exit row. Both give non-overlapping trades.
- A row can enter only with a finite ``dmid``, a positive finite ``mid`` and a finite,
  non-negative ``spread``, and where ``eligible`` (when given) is True.

PnL, in currency per lot: ``gross = d * dmid * multiplier``. Cost per round trip (always >= 0):

- commission: ``commission_bp * 1e-4 * mid[t] * multiplier`` (bp of the entry notional);
- slippage: ``slippage_ticks * price_tick * multiplier``;
- spread: half the spread at entry plus half the spread at exit, times the multiplier. By
  default the entry spread stands in for the exit spread (``exit_spread="entry"``), i.e. one
  full entry spread per round trip; ``"exit"`` uses the spread at row ``t + h``.

``net = gross - cost``. Statistics (gross and net alike): total, mean and standard deviation
(ddof=1) per trade, Sharpe per trade ``mean / std`` and annualised
``sharpe * sqrt(trades_per_day * days_per_year)`` with ``trades_per_day = n_trades / n_days``
over the distinct trading days of the evaluated rows; max drawdown of the cumulative PnL from a
zero start; win rate (share > 0); profit factor (sum of gains / sum of losses).

Break-even accuracy: with ``W`` the mean gross of winning trades (gross > 0), ``L`` the mean
loss ``-gross`` of the others and ``C`` the mean cost, expected net is
``p W - (1 - p) L - C``; it is zero at ``p* = (L + C) / (W + L)``. The realised hit rate beats
``p*`` exactly when the mean net PnL is positive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np

from ghtrader.domain.evaluation._checks import (
    EvaluationError,
    as_day_codes,
    as_vector,
    check_finite,
    check_positive_int,
    run_bounds,
)
from ghtrader.domain.evaluation._kernels import on_signal_entries
from ghtrader.domain.evaluation.signals import SignalRule, positions_from_probs

__all__ = [
    "DEFAULT_DAYS_PER_YEAR",
    "CostModel",
    "PnlStats",
    "TradeLog",
    "TradingReport",
    "evaluate_positions",
    "evaluate_signal",
    "max_drawdown",
    "pnl_stats",
    "profit_factor",
    "select_entries",
]

DEFAULT_DAYS_PER_YEAR = 252
EntryRule = Literal["grid", "on_signal"]


@dataclass(frozen=True)
class CostModel:
    """Round-trip trading costs of one lot (see the module docstring)."""

    commission_bp: float = 1.0
    slippage_ticks: float = 0.0
    cross_spread: bool = True
    exit_spread: Literal["entry", "exit"] = "entry"

    def __post_init__(self) -> None:
        check_finite(self.commission_bp, "commission_bp", minimum=0.0)
        check_finite(self.slippage_ticks, "slippage_ticks", minimum=0.0)
        if not isinstance(self.cross_spread, bool):
            raise EvaluationError(f"invalid cross_spread={self.cross_spread!r}: expected a bool")
        if self.exit_spread not in ("entry", "exit"):
            raise EvaluationError(f"invalid exit_spread={self.exit_spread!r}: expected 'entry' or 'exit'")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> CostModel:
        """Build from settings; unknown keys are rejected, not ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise EvaluationError(f"unknown cost model fields {unknown}: expected some of {sorted(known)}")
        return cls(**dict(values))

    @classmethod
    def free(cls) -> CostModel:
        """No costs at all (gross = net)."""
        return cls(commission_bp=0.0, slippage_ticks=0.0, cross_spread=False)


@dataclass(frozen=True)
class TradeLog:
    """One row per trade, in time order. Money in currency per lot."""

    entry_index: np.ndarray  # int64 row of the entry
    direction: np.ndarray  # int8 +1 / -1
    day: np.ndarray  # int64 trading-day code of the entry row
    gross: np.ndarray
    commission: np.ndarray
    slippage: np.ndarray
    spread_cost: np.ndarray

    @property
    def cost(self) -> np.ndarray:
        return self.commission + self.slippage + self.spread_cost

    @property
    def net(self) -> np.ndarray:
        return self.gross - self.cost

    def __len__(self) -> int:
        return int(self.entry_index.shape[0])

    def take(self, index: np.ndarray) -> TradeLog:
        """Trades at ``index`` (positions or a boolean mask), order kept."""
        return TradeLog(*(getattr(self, f.name)[index] for f in fields(self)))


@dataclass(frozen=True)
class PnlStats:
    """Statistics of one per-trade PnL series (see the module docstring)."""

    total: float
    mean: float
    std: float
    sharpe_per_trade: float
    sharpe_annualised: float
    max_drawdown: float
    win_rate: float
    profit_factor: float

    def to_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


def max_drawdown(pnl: np.ndarray) -> float:
    """Largest fall of the cumulative PnL from its running peak, the curve starting at 0 (>= 0)."""
    x = as_vector(pnl, "pnl")
    if x.shape[0] == 0:
        return 0.0
    curve = np.concatenate(([0.0], np.cumsum(x)))
    return float(np.max(np.maximum.accumulate(curve) - curve))


def profit_factor(pnl: np.ndarray) -> float:
    """Sum of gains over sum of losses; inf with gains and no loss, NaN with neither."""
    x = as_vector(pnl, "pnl")
    gains = float(x[x > 0].sum())
    losses = float(-x[x < 0].sum())
    if losses > 0:
        return gains / losses
    return math.inf if gains > 0 else math.nan


def pnl_stats(pnl: np.ndarray, trades_per_day: float, days_per_year: int = DEFAULT_DAYS_PER_YEAR) -> PnlStats:
    """:class:`PnlStats` of a per-trade PnL series."""
    x = as_vector(pnl, "pnl")
    n = x.shape[0]
    mean = float(x.mean()) if n else math.nan
    std = float(x.std(ddof=1)) if n >= 2 else math.nan
    sharpe = mean / std if n >= 2 and std > 0 else math.nan
    annual = sharpe * math.sqrt(trades_per_day * days_per_year) if math.isfinite(sharpe) else math.nan
    return PnlStats(
        total=float(x.sum()),
        mean=mean,
        std=std,
        sharpe_per_trade=sharpe,
        sharpe_annualised=annual,
        max_drawdown=max_drawdown(x),
        win_rate=float(np.mean(x > 0)) if n else math.nan,
        profit_factor=profit_factor(x),
    )


def _break_even_accuracy(gross: np.ndarray, cost: np.ndarray) -> float:
    win = gross > 0
    if gross.shape[0] == 0 or not win.any():
        return math.nan
    w = float(gross[win].mean())
    loss = float(-gross[~win].mean()) if (~win).any() else 0.0
    return (loss + float(cost.mean())) / (w + loss)


@dataclass(frozen=True)
class TradingReport:
    """Cost-adjusted result of one signal at one horizon; ``trades`` holds every trade."""

    horizon: int
    n_rows: int
    n_days: int
    days_per_year: int
    costs: CostModel
    trades: TradeLog
    gross: PnlStats
    net: PnlStats
    break_even_accuracy: float

    @property
    def n_trades(self) -> int:
        return len(self.trades)

    @property
    def n_long(self) -> int:
        return int(np.sum(self.trades.direction > 0))

    @property
    def n_short(self) -> int:
        return int(np.sum(self.trades.direction < 0))

    @property
    def trades_per_day(self) -> float:
        return self.n_trades / self.n_days if self.n_days else 0.0

    @property
    def hit_rate(self) -> float:
        """Share of trades whose gross PnL is positive (direction right by more than zero)."""
        return self.gross.win_rate

    @property
    def total_cost(self) -> float:
        return float(self.trades.cost.sum())

    @property
    def cum_gross(self) -> np.ndarray:
        return np.cumsum(self.trades.gross)

    @property
    def cum_net(self) -> np.ndarray:
        return np.cumsum(self.trades.net)

    @property
    def profitable_gross_not_net(self) -> bool:
        """The signal makes money before costs and none (or loses) after them."""
        return self.gross.total > 0 and self.net.total <= 0

    def subset(self, mask: np.ndarray) -> TradingReport:
        """The same evaluation restricted to the trades selected by ``mask`` (per trade); the
        day count stays that of the whole evaluation, so trades per day keep their meaning."""
        return _report(
            self.trades.take(np.asarray(mask, dtype=bool)),
            self.horizon,
            self.n_rows,
            self.n_days,
            self.days_per_year,
            self.costs,
        )

    def by_group(self, row_codes: np.ndarray, names: Mapping[int, str]) -> dict[str, TradingReport]:
        """Reports per group of the entry row (e.g. volatility regime or session codes per row)."""
        codes = as_vector(row_codes, "row_codes", self.n_rows, dtype=np.int64)
        at_entry = codes[self.trades.entry_index]
        return {name: self.subset(at_entry == code) for code, name in names.items()}

    def to_dict(self, *, with_curve: bool = False) -> dict[str, Any]:
        """JSON-friendly summary; ``with_curve`` adds the cumulative gross and net curves."""
        out: dict[str, Any] = {
            "horizon": self.horizon,
            "n_rows": self.n_rows,
            "n_days": self.n_days,
            "n_trades": self.n_trades,
            "n_long": self.n_long,
            "n_short": self.n_short,
            "trades_per_day": self.trades_per_day,
            "hit_rate": self.hit_rate,
            "break_even_accuracy": self.break_even_accuracy,
            "total_cost": self.total_cost,
            "commission_total": float(self.trades.commission.sum()),
            "slippage_total": float(self.trades.slippage.sum()),
            "spread_total": float(self.trades.spread_cost.sum()),
            "profitable_gross_not_net": self.profitable_gross_not_net,
            "gross": self.gross.to_dict(),
            "net": self.net.to_dict(),
            "costs": {f.name: getattr(self.costs, f.name) for f in fields(self.costs)},
        }
        if with_curve:
            out["cum_gross"] = self.cum_gross.tolist()
            out["cum_net"] = self.cum_net.tolist()
        return out


def _report(
    trades: TradeLog, horizon: int, n_rows: int, n_days: int, days_per_year: int, costs: CostModel
) -> TradingReport:
    per_day = len(trades) / n_days if n_days else 0.0
    return TradingReport(
        horizon=horizon,
        n_rows=n_rows,
        n_days=n_days,
        days_per_year=days_per_year,
        costs=costs,
        trades=trades,
        gross=pnl_stats(trades.gross, per_day, days_per_year),
        net=pnl_stats(trades.net, per_day, days_per_year),
        break_even_accuracy=_break_even_accuracy(trades.gross, trades.cost),
    )


def select_entries(
    positions: np.ndarray,
    can_enter: np.ndarray,
    run_start: np.ndarray,
    run_end: np.ndarray,
    horizon: int,
    entry: EntryRule = "grid",
) -> np.ndarray:
    """Entry rows (int64, ascending) of non-overlapping trades held ``horizon`` rows.

    ``can_enter`` marks rows whose data allow a trade; rows with ``positions == 0`` and rows
    whose exit leaves their run are excluded here.
    """
    idx = np.arange(positions.shape[0], dtype=np.int64)
    ok = can_enter & (positions != 0) & (idx + horizon <= run_end)
    if entry == "grid":
        return np.flatnonzero(ok & ((idx - run_start) % horizon == 0)).astype(np.int64)
    if entry == "on_signal":
        return on_signal_entries(np.ascontiguousarray(ok), horizon)
    raise EvaluationError(f"invalid entry rule {entry!r}: expected 'grid' or 'on_signal'")


def evaluate_positions(
    positions: np.ndarray,
    dmid: np.ndarray,
    horizon: int,
    *,
    mid: np.ndarray,
    spread: np.ndarray,
    segment_id: np.ndarray,
    trading_day: np.ndarray,
    multiplier: float,
    price_tick: float,
    costs: CostModel = CostModel(),
    entry: EntryRule = "grid",
    eligible: np.ndarray | None = None,
    days_per_year: int = DEFAULT_DAYS_PER_YEAR,
) -> TradingReport:
    """Trade a per-row direction (+1 / -1 / 0; any value is read as its sign, NaN as 0) for
    ``horizon`` rows.

    Args:
        positions: desired direction per row (e.g. :func:`positions_from_probs`, or the
            -1/0/+1 direction from a reference rule).
        dmid: ``mid[t + horizon] - mid[t]`` per row (price units), NaN where undefined.
        mid, spread: price units per row; segment_id: int per row; trading_day:
            ``datetime64[D]`` (or integer codes) per row; rows in time order.
        multiplier, price_tick: the contract's.
        eligible: optional boolean mask of rows allowed to enter.
    """
    h = check_positive_int(horizon, "horizon")
    d = as_vector(dmid, "dmid")
    n = d.shape[0]
    raw = as_vector(positions, "positions", n)
    pos = np.where(np.isfinite(raw), np.sign(raw), 0.0).astype(np.int8)
    m = as_vector(mid, "mid", n)
    s = as_vector(spread, "spread", n)
    seg = as_vector(segment_id, "segment_id", n, dtype=np.int64)
    days = as_day_codes(trading_day, n)
    mult = check_finite(multiplier, "multiplier", positive=True)
    tick = check_finite(price_tick, "price_tick", positive=True)
    dpy = check_positive_int(days_per_year, "days_per_year")
    if not isinstance(costs, CostModel):
        raise EvaluationError(f"invalid costs {costs!r}: expected a CostModel")

    with np.errstate(invalid="ignore"):
        can_enter = np.isfinite(d) & np.isfinite(m) & (m > 0) & np.isfinite(s) & (s >= 0)
    if eligible is not None:
        can_enter &= as_vector(eligible, "eligible", n, dtype=bool)
    run_start, run_end = run_bounds(seg, days)
    at = select_entries(pos, can_enter, run_start, run_end, h, entry)

    direction = pos[at]
    half_entry = s[at] / 2.0
    if costs.exit_spread == "exit":
        exit_spread = s[at + h]
        with np.errstate(invalid="ignore"):
            usable = np.isfinite(exit_spread) & (exit_spread >= 0)
        half_exit = np.where(usable, exit_spread / 2.0, half_entry)
    else:
        half_exit = half_entry
    k = at.shape[0]
    trades = TradeLog(
        entry_index=at,
        direction=direction,
        day=days[at],
        gross=direction * d[at] * mult,
        commission=costs.commission_bp * 1e-4 * m[at] * mult,
        slippage=np.full(k, costs.slippage_ticks * tick * mult),
        spread_cost=(half_entry + half_exit) * mult if costs.cross_spread else np.zeros(k),
    )
    return _report(trades, h, n, int(np.unique(days).shape[0]), dpy, costs)


def evaluate_signal(
    probs: np.ndarray,
    dmid: np.ndarray,
    horizon: int,
    *,
    rule: SignalRule | None = None,
    mid: np.ndarray,
    spread: np.ndarray,
    segment_id: np.ndarray,
    trading_day: np.ndarray,
    multiplier: float,
    price_tick: float,
    costs: CostModel = CostModel(),
    entry: EntryRule = "grid",
    eligible: np.ndarray | None = None,
    days_per_year: int = DEFAULT_DAYS_PER_YEAR,
) -> TradingReport:
    """:func:`evaluate_positions` of the directions ``rule`` (default: argmax) draws from
    ``(n, 3)`` probabilities."""
    return evaluate_positions(
        positions_from_probs(probs, rule if rule is not None else SignalRule()),
        dmid,
        horizon,
        mid=mid,
        spread=spread,
        segment_id=segment_id,
        trading_day=trading_day,
        multiplier=multiplier,
        price_tick=price_tick,
        costs=costs,
        entry=entry,
        eligible=eligible,
        days_per_year=days_per_year,
    )
