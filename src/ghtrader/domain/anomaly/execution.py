"""Execution detectors over a trading run's journal (orders, fills, rejections, latencies).

- ``slippage``: per fill ``side * (fill_price - arrival_mid) / price_tick - expected`` (ticks
  paid beyond the expected, e.g. half the spread for a marketable order); the score is its
  rolling mean over ``exec_window`` fills.
- ``fill_rate``: share of the last ``exec_window`` finished orders that filled (low is bad).
- ``rejection_burst``: rejections within the trailing ``burst_window_s`` seconds.
- ``latency_spike``: a latency over the robust median of the previous ``window`` latencies.

:func:`journal_events` reads a trading run's journal records straight into the first two.
"""

from __future__ import annotations

import numpy as np

from ghtrader.domain.anomaly import _kernels as k
from ghtrader.domain.anomaly.config import AnomalyConfig
from ghtrader.domain.anomaly.events import AnomalyEvent, episodes

__all__ = [
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
    """``fill_rate`` and ``rejection_burst`` events of a trading run's journal records (the
    ``events.jsonl`` dicts: ``order_done`` with the order's final ``status``, ``risk_refused``),
    per execution symbol. Slippage and latency need the arrival mid and per-order latencies,
    which the journal does not record; :func:`slippage_events` / :func:`latency_events` take them
    as arrays."""
    done: dict[str, tuple[list[int], list[float]]] = {}
    rejected: dict[str, list[int]] = {}
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
    out: list[AnomalyEvent] = []
    for symbol, (ts, filled) in sorted(done.items()):
        out += fill_rate_events(np.asarray(ts, dtype=np.int64), np.asarray(filled), symbol, config)
    for symbol, ts in sorted(rejected.items()):
        out += rejection_burst_events(np.sort(np.asarray(ts, dtype=np.int64)), symbol, config)
    return sorted(out, key=lambda ev: (ev.datetime_ns, ev.anomaly_type))
