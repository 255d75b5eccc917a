"""Per-tick decisions: tick -> online factors -> model probabilities -> the fitted cost-aware
policy -> a held target -> flat near the trading day's end.

The same factor engine, Predictor and :class:`~ghtrader.domain.evaluation.ExpectedMovePolicy` as
the backtest (``RunBacktest``); the policy is fitted by :func:`fit_decision_policy` exactly as the
backtest fits it, on the trading days before the run's start. Holding follows
:func:`~ghtrader.application.research.backtest_plan.hold_signals` one tick at a time: the latest
non-zero signal of the last ``hold_rows`` ticks of the same block (trading day and contract). The
flat window is causal: the last ``flat_s`` seconds before the trading day's last session closes
(a live loop cannot know which tick of a day is its last; the backtest's ``flat_rows`` can). A
backtest run with the same ``flat_s`` (``BacktestRequest.flat_s``) gives the same target tick for
tick (tests/unit/application/trading/test_decision_parity.py) wherever its ``flat_rows`` last rows
of a day fall inside that window; on a day whose ticks stop early the backtest still ends flat and
a live loop cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.stores import TickStore
from ghtrader.application.research.policy_fit import (
    fit_policy,
    online_features,
    policy_fit_days,
    stored_probabilities,
    trading_day_close_ns,
)
from ghtrader.application.research.serving import InputsFn, Predictor
from ghtrader.application.trading.latency import CALIBRATOR, FEATURES, INFERENCE, POLICY, StageTimer
from ghtrader.application.trading.online_calibration import OnlineCalibration, check_feature_vector
from ghtrader.application.trading.online_window import OnlineWindow
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.evaluation import CostModel, ExpectedMovePolicy
from ghtrader.domain.factors import OnlineFactorEngine
from ghtrader.domain.instruments import ContractSpec

__all__ = ["Decision", "DecisionPipeline", "FittedPolicy", "fit_decision_policy"]

MAIN_L5 = "main_l5"


@dataclass(frozen=True)
class FittedPolicy:
    """The policy and the days and rows it was fitted on."""

    policy: ExpectedMovePolicy
    fit_days: list[date]
    fit_rows: int


def fit_decision_policy(
    predictor: Predictor,
    ticks: TickStore,
    calendar: TradingCalendar,
    symbol: str,
    spec: ContractSpec,
    start: date,
    n_days: int,
    costs: CostModel,
    inputs: InputsFn | None = None,
) -> FittedPolicy:
    """Fit the cost-aware policy on the stored main_l5 ticks of the ``n_days`` trading days
    before ``start``, as ``RunBacktest`` does (same features, probabilities, moves and costs);
    ``inputs``: the trained model's, for a graph taking normalised windows (the backtest's)."""
    days = policy_fit_days(calendar, start, n_days)
    stored = ticks.read_ticks(symbol, MAIN_L5, days[0], days[-1])
    t = stored.ticks
    if t.shape[0] == 0:
        raise FailedPrecondition(f"no main_l5 ticks of {symbol} on the policy-fit days {days}")
    tday = np.asarray(stored.trading_day, dtype="datetime64[D]")
    seg = (
        np.asarray(stored.segment_id, dtype=np.int64)
        if stored.segment_id is not None
        else np.zeros(t.shape[0], np.int64)
    )
    feats = online_features(t, tday, seg, predictor.feature_names, spec.price_tick, spec.multiplier)
    probs = stored_probabilities(predictor, inputs, feats, t, tday, seg, symbol, spec.price_tick)
    bid, ask = t["bid_price1"].astype(np.float64), t["ask_price1"].astype(np.float64)
    policy = fit_policy(
        probs, (bid + ask) / 2.0, ask - bid, tday, seg, predictor.meta.horizon, costs,
        spec.price_tick, spec.multiplier, days,
    )  # fmt: skip
    return FittedPolicy(policy, days, int(t.shape[0]))


@dataclass(frozen=True)
class Decision:
    """One tick's outcome: the policy's signal, the held target and whether it was forced flat."""

    signal: int
    target: int
    flat: bool
    probs: np.ndarray  # what the policy saw: the online calibrator's when it is on, else the model's
    held: int = 0  # the target before the forced flat
    raw_probs: np.ndarray | None = None  # the model's, when the online calibrator is on
    # an ensemble model's members' probabilities (K, 3) and their disagreement (its uncertainty)
    member_probs: np.ndarray | None = None
    disagreement: float | None = None
    member_names: tuple[str, ...] = ()  # the ensemble's members, in member_probs' order

    def ensemble_fields(self) -> dict[str, Any]:
        """Journal fields of an ensemble's per-member output ({} for a single model)."""
        if self.member_probs is None:
            return {}
        names = self.member_names if len(self.member_names) == self.member_probs.shape[0] else ()
        return {
            "disagreement": None if self.disagreement is None else round(float(self.disagreement), 6),
            "member_probs": {
                (names[i] if names else str(i)): [round(float(p), 6) for p in row]
                for i, row in enumerate(self.member_probs)
            },
        }


class DecisionPipeline:
    """Online factors -> probabilities -> [online calibrator] -> policy -> held target, one tick at
    a time. ``calibration`` None: the model's probabilities go to the policy unchanged.

    ``timer`` (a :class:`StageTimer`, shared with the run) gets a lap after the features, the
    inference, the online calibrator (when there is one) and the policy of each ``on_tick``.

    A model whose graph takes normalised windows needs ``window`` (an :class:`OnlineWindow` of its
    trained model): every tick's features are shifted into it (in the features stage), and until
    it is full the probabilities are NaN, as the backtest's rows without a full window.

    A regime ensemble (``predictor.regime``) keeps its own online regime filter, fed every tick in
    the features stage, and serves its members' outputs voted with ``pi_t @ W`` then calibrated,
    as ``Predictor.predict_frame`` does in batch over the same ticks.
    """

    def __init__(
        self,
        predictor: Predictor,
        policy: ExpectedMovePolicy,
        spec: ContractSpec,
        calendar: TradingCalendar,
        *,
        hold_rows: int | None = None,
        flat_s: float = 5.0,
        calibration: OnlineCalibration | None = None,
        timer: StageTimer | None = None,
        window: OnlineWindow | None = None,
    ) -> None:
        if predictor.window != 1 and window is None:
            raise FailedPrecondition(f"{predictor.meta.model_id} takes windows: the pipeline needs its online window")
        if window is not None and (window.window != predictor.window or window.names != predictor.feature_names):
            raise FailedPrecondition(f"the online window does not fit {predictor.meta.model_id}'s graph")
        self._window = window
        self._predictor = predictor
        self._names = predictor.feature_names
        self._policy = policy
        self._spec = spec
        self._calendar = calendar
        self._engine = OnlineFactorEngine(self._names, spec.price_tick, spec.multiplier)
        if self._engine.plan.needs_extras:
            raise FailedPrecondition("the model uses cross-variety factors; trading runs read one symbol's ticks")
        check_feature_vector(self._engine.names, predictor.meta)
        predictor.check_features(self._names)  # once: the per-tick calls skip it
        self._x32 = np.zeros((1, len(self._names)), dtype=np.float32)  # the raw graph's input row
        # an ensemble graph: its per-member outputs come from the same run, for the journal
        self.member_names = predictor.member_names
        self._detail = bool(self.member_names) and window is None
        # a regime ensemble: its own regime filter, fed every tick (warm-up included) in features()
        self._regime = predictor.regime.online() if predictor.regime is not None else None
        if self._regime is not None and not self._detail:
            raise FailedPrecondition(f"{predictor.meta.model_id}: a regime ensemble needs its member outputs")
        self.calibration: OnlineCalibration | None = None
        self.hold_rows = predictor.meta.horizon if hold_rows is None else int(hold_rows)
        self._flat_ns = int(flat_s * 1e9)
        self._segment = 0
        self._to_learn: tuple[np.void, date, np.ndarray, np.ndarray] | None = None  # on_tick's row, for learn()
        self.timer = timer if timer is not None else StageTimer()  # laps of on_tick's stages
        self.reset()
        self.calibration = calibration  # after reset(): a new calibration is fresh already

    @property
    def regime_probabilities(self) -> np.ndarray | None:
        """A regime ensemble's current ``p(regime | ticks so far)`` (None for any other model)."""
        return None if self._regime is None else self._regime.probabilities

    def reset(self) -> None:
        """Forget the online state (factor engine, held signal, online calibration): a roll starts a
        new series."""
        self._engine.reset()
        if self._window is not None:
            self._window.reset()
        if self.calibration is not None:
            self.calibration.reset()
        self._segment += 1
        self._to_learn = None
        self._row = -1
        self.last_x: np.ndarray | None = None  # the factor vector of the last tick (features())
        self._last_row = -1
        self._last_sig = 0
        self._day: date | None = None
        self._day_end_ns = 0

    def _new_day(self, day: date) -> None:
        self._day = day
        self._day_end_ns = trading_day_close_ns(self._calendar, self._spec, day)
        self._last_row, self._last_sig = -1, 0  # a hold never crosses a trading day

    def features(self, tick: np.void, trading_day: date) -> np.ndarray:
        """Advance the factor engine by ``tick`` (warm-up uses this alone)."""
        if trading_day != self._day:
            self._new_day(trading_day)
        self._row += 1
        x = self._engine.update(tick, trading_day, self._segment)
        self.last_x = x  # the runtime's feature drift reads the served vector (online_drift.py)
        if self._regime is not None:
            self._regime.update(float(tick["bid_price1"]), float(tick["ask_price1"]), (trading_day, self._segment))
        if self._window is not None:
            self._window.push(x)
        return x

    def on_tick(self, tick: np.void, trading_day: date) -> Decision:
        """The decision at ``tick`` (of trading day ``trading_day``)."""
        lap = self.timer.lap
        x = self.features(tick, trading_day)
        lap(FEATURES)
        members: np.ndarray | None = None
        spread: float | None = None
        if self._detail:
            self._x32[0] = x
            probs, detail = self._predictor.predict_checked_detail(self._x32)
            if "member_probabilities" in detail:
                members = np.asarray(detail["member_probabilities"][0], dtype=np.float64)
            if "disagreement" in detail:
                spread = float(detail["disagreement"][0])
            if self._regime is not None and members is not None:
                mixed, spread = self._regime.combine(members)
                probs = mixed[None, :]
        elif self._window is None:
            self._x32[0] = x
            probs = self._predictor.predict_checked(self._x32)
        else:
            w = self._window.input()
            probs = np.full((1, 3), np.nan) if w is None else self._predictor.predict_checked(w)
        lap(INFERENCE)
        raw: np.ndarray | None = None
        if self.calibration is not None:
            raw = probs[0]
            self._to_learn = (tick, trading_day, raw, x)
            probs = self.calibration.serve(raw, x)[None, :]
            lap(CALIBRATOR)
        signal = self._policy.position(float(probs[0, 0]), float(probs[0, 2]))
        if signal != 0:
            self._last_row, self._last_sig = self._row, signal
        held = self._last_sig if self._last_row >= 0 and self._row - self._last_row < max(1, self.hold_rows) else 0
        flat = self._day_end_ns > 0 and int(tick["datetime_ns"]) >= self._day_end_ns - self._flat_ns
        lap(POLICY)
        return Decision(
            signal, 0 if flat else held, bool(flat), probs[0], held, raw, members, spread, self.member_names
        )

    def learn(self) -> tuple[tuple[str, dict[str, Any]], ...]:
        """The online calibrator learns from the last :meth:`on_tick`'s row (call it once the
        tick's orders are out); returns the run events (kind, fields) of its mode changes."""
        pending, self._to_learn = self._to_learn, None
        if pending is None or self.calibration is None:
            return ()
        return self.calibration.learn(*pending)
