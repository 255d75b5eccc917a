"""Execution detectors over a trading run's journal (orders, fills, rejections, latencies).

- ``slippage``: per fill ``side * (fill_price - arrival_mid) / price_tick - expected`` (ticks
  paid beyond the expected, e.g. half the spread for a marketable order); the score is its
  rolling mean over ``exec_window`` fills.
- ``fill_rate``: share of the last ``exec_window`` finished orders that filled (low is bad).
- ``rejection_burst``: rejections within the trailing ``burst_window_s`` seconds.
- ``latency_spike``: a latency over the robust median of the previous ``window`` latencies.

:func:`journal_events` reads a trading run's journal records (the runtime journals arrival mids,
slippage and latencies: application/trading/execution_watch.py) into all four.

The step forms (:class:`SlippageStep`, :class:`FillRateStep`, :class:`RejectionStep`,
:class:`LatencyStep`) score one fill / finished order / rejection / latency at a time as the
trading loop sees them, with the batch detectors' windows and kernels (parity in the unit tests).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ghtrader.domain.anomaly import _kernels as k
from ghtrader.domain.anomaly.config import AnomalyConfig
from ghtrader.domain.anomaly.events import AnomalyEvent, episodes

__all__ = [
    "FillRateStep",
    "LatencyStep",
    "RejectionStep",
    "SlippageStep",
    "fill_rate_events",
    "journal_events",
    "latency_events",
    "rejection_burst_events",
    "slippage_events",
    "slippage_ticks",
]


def _rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    c = np.concatenate(([0.0], np.cumsum(x)))
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] >= window:
        out[window - 1 :] = (c[window:] - c[:-window]) / window
    return out


def slippage_ticks(
    side: np.ndarray, fill_price: np.ndarray, arrival_mid: np.ndarray, price_tick: float, expected: np.ndarray | float
) -> np.ndarray:
    """Ticks paid beyond ``expected`` per fill (``side`` +1 buy / -1 sell; positive is worse)."""
    paid = np.asarray(side, float) * (np.asarray(fill_price, float) - np.asarray(arrival_mid, float)) / price_tick
    return paid - np.asarray(expected, float)


def slippage_events(ts: np.ndarray, excess_ticks: np.ndarray, symbol: str, config: AnomalyConfig) -> list[AnomalyEvent]:
    x = np.nan_to_num(np.asarray(excess_ticks, float))
    score = _rolling_mean(x, min(config.exec_window, max(x.shape[0], 1)))
    t = config.threshold("slippage")
    return episodes(ts, t.grade(score), score, anomaly_type="slippage", symbol=symbol, method="rolling_mean",
                    details={"window": config.exec_window})  # fmt: skip


def fill_rate_events(ts: np.ndarray, filled: np.ndarray, symbol: str, config: AnomalyConfig) -> list[AnomalyEvent]:
    """``filled``: one 0/1 per finished order, in time order."""
    rate = _rolling_mean(np.asarray(filled, float), config.exec_window)
    t = config.threshold("fill_rate")
    return episodes(ts, t.grade(rate), rate, anomaly_type="fill_rate", symbol=symbol, method="rolling_fill_share",
                    details={"window": config.exec_window}, worst="min")  # fmt: skip


def rejection_burst_events(ts: np.ndarray, symbol: str, config: AnomalyConfig) -> list[AnomalyEvent]:
    """``ts``: the time of each rejection, sorted."""
    t_ns = np.asarray(ts, dtype=np.int64)
    span = int(config.burst_window_s * 1e9)
    count = (np.arange(t_ns.shape[0]) - np.searchsorted(t_ns, t_ns - span, side="right") + 1).astype(float)
    t = config.threshold("rejection_burst")
    return episodes(t_ns, t.grade(count), count, anomaly_type="rejection_burst", symbol=symbol,
                    method="trailing_count", details={"window_s": config.burst_window_s})  # fmt: skip


def latency_events(ts: np.ndarray, latency: np.ndarray, symbol: str, config: AnomalyConfig) -> list[AnomalyEvent]:
    x = np.ascontiguousarray(latency, dtype=np.float64)
    base = k.rolling_median_causal(x, config.window, min(config.min_periods, 20))
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(base > 0, x / base, np.nan)
    t = config.threshold("latency_spike")
    return episodes(ts, t.grade(score), score, anomaly_type="latency_spike", symbol=symbol,
                    method="rolling_median_ratio", details={"window": config.window})  # fmt: skip


def journal_events(events: list[dict], config: AnomalyConfig, default_symbol: str = "") -> list[AnomalyEvent]:
    """Execution events of a trading run's journal records (the ``events.jsonl`` dicts), per
    execution symbol: ``fill_rate`` and ``rejection_burst`` from ``order_done`` (the order's final
    ``status``) and ``risk_refused``; ``slippage`` and ``latency_spike`` from the
    ``slippage_ticks`` / ``latency_ms`` the trading loop journals on ``trade_fill`` and
    ``order_update`` (application/trading/execution_watch.py; older journals have none)."""
    done: dict[str, tuple[list[int], list[float]]] = {}
    rejected: dict[str, list[int]] = {}
    slipped: dict[str, tuple[list[int], list[float]]] = {}
    latency: dict[str, tuple[list[int], list[float]]] = {}
    for e in events:
        kind, ns = e.get("kind"), int(e.get("time_ns", 0))
        order = e.get("order") or {}
        symbol = str(order.get("symbol") or default_symbol)
        if kind == "order_done":
            status = order.get("status")
            ts, filled = done.setdefault(symbol, ([], []))
            ts.append(ns)
            filled.append(1.0 if status == "FILLED" or float(order.get("filled_qty") or 0) > 0 else 0.0)
            if status == "REJECTED":
                rejected.setdefault(symbol, []).append(ns)
        elif kind == "risk_refused":
            rejected.setdefault(symbol, []).append(ns)
        if kind == "trade_fill" and e.get("slippage_ticks") is not None:
            ts, xs = slipped.setdefault(symbol, ([], []))
            ts.append(ns)
            xs.append(float(e["slippage_ticks"]))
        if kind in ("trade_fill", "order_update") and e.get("latency_ms") is not None:
            ts, xs = latency.setdefault(symbol, ([], []))
            ts.append(ns)
            xs.append(float(e["latency_ms"]))
    out: list[AnomalyEvent] = []
    for symbol, (ts, filled) in sorted(done.items()):
        out += fill_rate_events(np.asarray(ts, dtype=np.int64), np.asarray(filled), symbol, config)
    for symbol, ts in sorted(rejected.items()):
        out += rejection_burst_events(np.sort(np.asarray(ts, dtype=np.int64)), symbol, config)
    for symbol, (ts, xs) in sorted(slipped.items()):
        out += slippage_events(np.asarray(ts, dtype=np.int64), np.asarray(xs), symbol, config)
    for symbol, (ts, xs) in sorted(latency.items()):
        out += latency_events(np.asarray(ts, dtype=np.int64), np.asarray(xs), symbol, config)
    return sorted(out, key=lambda ev: (ev.datetime_ns, ev.anomaly_type))


class _MeanStep:
    """Mean of the last ``window`` values (NaN until the window is full)."""

    def __init__(self, window: int) -> None:
        self._values: deque[float] = deque(maxlen=window)

    def step(self, x: float) -> float:
        self._values.append(float(x))
        n = self._values.maxlen
        return float(np.mean(self._values)) if len(self._values) == n else float("nan")


class SlippageStep(_MeanStep):
    """``slippage`` score of one more fill's excess ticks (:func:`slippage_events`, full windows)."""

    def __init__(self, config: AnomalyConfig) -> None:
        super().__init__(config.exec_window)

    def step(self, excess_ticks: float) -> float:
        return super().step(float(np.nan_to_num(excess_ticks)))


class FillRateStep(_MeanStep):
    """``fill_rate`` score of one more finished order (1 filled, 0 not; :func:`fill_rate_events`)."""

    def __init__(self, config: AnomalyConfig) -> None:
        super().__init__(config.exec_window)


class RejectionStep:
    """``rejection_burst`` score of one more rejection at ``ns``: rejections in the trailing
    ``burst_window_s`` (:func:`rejection_burst_events`)."""

    def __init__(self, config: AnomalyConfig) -> None:
        self._span = int(config.burst_window_s * 1e9)
        self._times: deque[int] = deque()

    def step(self, ns: int) -> float:
        ns = int(ns)
        while self._times and self._times[0] <= ns - self._span:
            self._times.popleft()
        self._times.append(ns)
        return float(len(self._times))


class LatencyStep:
    """``latency_spike`` score of one more latency: it over the median of the previous
    ``window`` latencies (:func:`latency_events`, the same median kernel)."""

    def __init__(self, config: AnomalyConfig) -> None:
        w = config.window
        self._ring, self._ordered = np.zeros(w), np.zeros(w)
        self._st = np.zeros(2, dtype=np.int64)
        self._min = min(config.min_periods, 20)

    def step(self, latency: float) -> float:
        have = int(self._st[0])
        base = k.median_step(self._ring, self._ordered, self._st, float(latency))
        if have < self._min or not base > 0:
            return float("nan")
        return float(latency) / base
