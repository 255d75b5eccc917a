"""Steps the backtest and the trading runner share: the policy-fit days, online features over
stored ticks and the cost-aware expected-move policy fitted on them."""

from __future__ import annotations

from datetime import date

import numpy as np

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.models import FeatureFrame
from ghtrader.application.research.backtest_plan import realized_move
from ghtrader.application.research.serving import InputsFn, Predictor
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.evaluation import (
    CostModel,
    EvaluationError,
    ExpectedMovePolicy,
    fit_expected_move_policy,
    round_trip_cost,
)
from ghtrader.domain.factors import OnlineFactorEngine
from ghtrader.domain.instruments import ContractSpec

__all__ = [
    "day_close_ns",
    "fit_policy",
    "online_features",
    "policy_fit_days",
    "stored_probabilities",
    "trading_day_close_ns",
]


def policy_fit_days(calendar: TradingCalendar, start: date, n: int) -> list[date]:
    """The ``n`` trading days before ``start``, oldest first."""
    days: list[date] = []
    d = start
    for _ in range(n):
        d = calendar.previous_trading_day(d)
        days.insert(0, d)
    return days


def trading_day_close_ns(calendar: TradingCalendar, spec: ContractSpec, day: date) -> int:
    """Epoch ns at which the last session of trading day ``day`` closes (0: not a trading day)."""
    return max((hi for _, hi in calendar.session_windows_ns(day, spec)), default=0)


def day_close_ns(calendar: TradingCalendar, spec: ContractSpec, trading_day: np.ndarray) -> np.ndarray:
    """:func:`trading_day_close_ns` per row of a ``datetime64[D]`` trading-day column."""
    days = np.asarray(trading_day, dtype="datetime64[D]")
    out = np.zeros(days.shape[0], dtype=np.int64)
    for d in np.unique(days):
        out[days == d] = trading_day_close_ns(calendar, spec, d.astype(object))
    return out


def online_features(
    ticks: np.ndarray,
    trading_day: np.ndarray,
    segment: np.ndarray,
    names: tuple[str, ...],
    tick: float,
    multiplier: float,
    engine: OnlineFactorEngine | None = None,
) -> np.ndarray:
    """``(n, len(names))`` float32 features from one OnlineFactorEngine fed the ticks in order, one
    ``update_many`` per trading day (the kernels and state a live engine fed tick by tick uses)."""
    engine = engine if engine is not None else OnlineFactorEngine(names, tick, multiplier)
    if engine.plan.needs_extras:
        raise FailedPrecondition("the model uses cross-variety factors; other varieties' ticks are not read")
    out = np.empty((ticks.shape[0], len(names)), dtype=np.float32)
    bounds = np.r_[0, np.flatnonzero(trading_day[1:] != trading_day[:-1]) + 1, ticks.shape[0]]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if hi > lo:
            out[lo:hi] = engine.update_many(ticks[lo:hi], trading_day[lo:hi], segment[lo:hi])
    return out


def stored_probabilities(
    predictor: Predictor,
    inputs: InputsFn | None,
    features: np.ndarray,
    ticks: np.ndarray,
    trading_day: np.ndarray,
    segment: np.ndarray,
    symbol: str,
    price_tick: float,
) -> np.ndarray:
    """(n, 3) probabilities of stored ticks' feature rows: ``predict_frame`` over them, with the
    windows of ``inputs`` (the trained model's, for a windowed graph; NaN rows without a full
    window inside their segment) or the raw rows (``inputs`` None)."""
    n = ticks.shape[0]
    bid, ask = ticks["bid_price1"].astype(np.float64), ticks["ask_price1"].astype(np.float64)
    frame = FeatureFrame(
        features=features, feature_names=predictor.feature_names, labels=np.full(n, np.nan), segment_id=segment,
        datetime_ns=ticks["datetime_ns"].astype(np.int64), trading_day=trading_day, mid=(bid + ask) / 2.0,
        spread=ask - bid, symbol=symbol, horizon=predictor.meta.horizon, price_tick=price_tick,
    )  # fmt: skip
    return predictor.predict_frame(frame, inputs)


def fit_policy(
    probs: np.ndarray,
    mid: np.ndarray,
    spread: np.ndarray,
    trading_day: np.ndarray,
    segment: np.ndarray,
    horizon: int,
    costs: CostModel,
    price_tick: float,
    multiplier: float,
    fit_days: list[date],
) -> ExpectedMovePolicy:
    """The expected-move policy fitted on these rows (realized moves at ``horizon`` within a day and
    segment, round-trip cost of ``costs``); FailedPrecondition when it cannot be fitted."""
    dmid = realized_move(mid, trading_day, segment, horizon)
    try:
        cost = round_trip_cost(costs, mid, spread, price_tick)
        return fit_expected_move_policy(probs, dmid, cost, multiplier)
    except EvaluationError as exc:
        raise FailedPrecondition(f"cannot fit the policy on {fit_days}: {exc}") from exc
