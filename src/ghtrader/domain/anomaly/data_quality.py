"""Data-quality detectors on one symbol's tick batch (:data:`~ghtrader.domain.ticks.TICK_DTYPE`).

All causal and vectorised (the rolling robust scale is a numba kernel):

- ``price_spike``: ``|d mid|`` in ticks over ``max(1.4826 * median |d mid|, floor)`` of the
  previous ``window`` ticks (a robust sigma; a spike never inflates its own yardstick), for the
  1-tick change and the ``flash_rows``-tick change (a flash move); the larger z is the score.
- ``volume_spike``: the lots traded in a tick (cumulative volume's increase) the same way.
- ``tick_gap``: seconds between consecutive ticks inside ONE session window (breaks, lunch and
  the night-day pause are not gaps).
- ``stale_quote``: seconds a run of ticks keeps bid1 / ask1 / their volumes / last / volume
  identical.
- ``crossed_book`` (bid1 >= ask1), ``bad_price`` (last, bid1 or ask1 <= 0, last NaN) and
  ``missing_quote`` (one side of L1 empty): scored by the length of the run of such ticks.
- ``ingestion_lag``: seconds from the exchange stamp to the receipt stamp (when one is kept).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ghtrader.domain.anomaly import _kernels as k
from ghtrader.domain.anomaly.config import AnomalyConfig
from ghtrader.domain.anomaly.events import AnomalyEvent, episodes

__all__ = [
    "crossed_book_mask",
    "bad_price_mask",
    "data_quality_events",
    "ingestion_lag_events",
    "lagged_change",
    "mid_ticks",
    "price_spike_scores",
    "missing_quote_mask",
    "run_length",
    "session_ids",
    "spike_scores",
    "stale_seconds",
    "tick_gaps_s",
    "traded_lots",
]

NS = 1_000_000_000


def mid_ticks(ticks: np.ndarray, price_tick: float) -> np.ndarray:
    """Mid price in ticks (NaN when a side is missing or the book is crossed)."""
    bid, ask = ticks["bid_price1"], ticks["ask_price1"]
    with np.errstate(invalid="ignore"):
        ok = (bid > 0) & (ask > 0) & (ask > bid)
    return np.where(ok, (bid + ask) / (2.0 * price_tick), np.nan)


def traded_lots(ticks: np.ndarray) -> np.ndarray:
    """Lots traded in each tick: the increase of the cumulative volume (0 at a day's reset, NaN
    where volume is missing; the first tick has none)."""
    v = ticks["volume"].astype(np.float64)
    d = np.empty_like(v)
    if v.shape[0]:
        d[0] = np.nan
        d[1:] = np.diff(v)
    return np.where(d < 0, 0.0, d)


def spike_scores(values: np.ndarray, config: AnomalyConfig, floor: float) -> np.ndarray:
    """Robust z of ``values`` against the previous ``config.window`` values (see module docstring)."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    return k.robust_z(x, config.window, float(floor), config.min_periods)


def lagged_change(x: np.ndarray, lag: int) -> np.ndarray:
    """``x[i] - x[i - lag]`` (NaN for the first ``lag`` rows)."""
    out = np.full(x.shape, np.nan)
    if x.shape[0] > lag:
        out[lag:] = x[lag:] - x[:-lag]
    return out


def price_spike_scores(
    ticks: np.ndarray, price_tick: float, config: AnomalyConfig, session: np.ndarray | None = None
) -> np.ndarray:
    """The larger robust z of the 1-tick and the ``flash_rows``-tick mid change; a change across
    two ``session`` ids (a break's opening gap) is not scored."""
    mid = mid_ticks(ticks, price_tick)
    out = []
    for lag in (1, config.flash_rows):
        d = lagged_change(mid, lag)
        if session is not None and d.shape[0] > lag:
            d[lag:] = np.where(session[lag:] == session[:-lag], d[lag:], np.nan)
        out.append(spike_scores(d, config, config.spike_floor_ticks))
    return np.fmax(out[0], out[1])


def session_ids(datetime_ns: np.ndarray, windows: Sequence[tuple[int, int]]) -> np.ndarray:
    """Index of the ``[start, end)`` session window holding each tick (-1 outside every window)."""
    ts = np.asarray(datetime_ns, dtype=np.int64)
    if not len(windows):
        return np.full(ts.shape, -1, dtype=np.int64)
    w = np.asarray(sorted(windows), dtype=np.int64)
    idx = np.searchsorted(w[:, 0], ts, side="right") - 1
    inside = (idx >= 0) & (ts < w[np.clip(idx, 0, None), 1])
    return np.where(inside, idx, -1)


def tick_gaps_s(datetime_ns: np.ndarray, windows: Sequence[tuple[int, int]]) -> np.ndarray:
    """Seconds since the previous tick when both lie in the same session window, else NaN."""
    ts = np.asarray(datetime_ns, dtype=np.int64)
    sid = session_ids(ts, windows)
    out = np.full(ts.shape, np.nan)
    if ts.shape[0] > 1:
        same = (sid[1:] == sid[:-1]) & (sid[1:] >= 0)
        out[1:] = np.where(same, (ts[1:] - ts[:-1]) / NS, np.nan)
    return out


def run_length(mask: np.ndarray) -> np.ndarray:
    """Length so far of the run of True each row ends (0 where False)."""
    m = np.asarray(mask, dtype=bool)
    idx = np.arange(m.shape[0])
    last_false = np.maximum.accumulate(np.where(~m, idx, -1))
    return np.where(m, idx - last_false, 0)


def stale_seconds(ticks: np.ndarray, session: np.ndarray | None = None) -> np.ndarray:
    """Seconds since the L1 quote, last price and volume last changed (0 on a changed tick and
    on the first tick of a new ``session`` id, so a break never counts)."""
    cols = ("bid_price1", "ask_price1", "bid_volume1", "ask_volume1", "last_price", "volume")
    n = ticks.shape[0]
    same = np.zeros(n, dtype=bool)
    if n > 1:
        same[1:] = True
        for c in cols:
            a = ticks[c]
            same[1:] &= (a[1:] == a[:-1]) | (np.isnan(a[1:]) & np.isnan(a[:-1]))
        if session is not None:
            same[1:] &= session[1:] == session[:-1]
    ts = ticks["datetime_ns"].astype(np.int64)
    idx = np.arange(n)
    start = np.maximum.accumulate(np.where(~same, idx, 0))
    return (ts - ts[start]) / NS


def crossed_book_mask(ticks: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.asarray(ticks["bid_price1"] >= ticks["ask_price1"])


def bad_price_mask(ticks: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.asarray(
            np.isnan(ticks["last_price"])
            | (ticks["last_price"] <= 0)
            | (ticks["bid_price1"] <= 0)
            | (ticks["ask_price1"] <= 0)
        )


def missing_quote_mask(ticks: np.ndarray) -> np.ndarray:
    return np.asarray(np.isnan(ticks["bid_price1"]) ^ np.isnan(ticks["ask_price1"]))


def data_quality_events(
    ticks: np.ndarray,
    symbol: str,
    price_tick: float,
    windows: Sequence[tuple[int, int]],
    config: AnomalyConfig,
) -> list[AnomalyEvent]:
    """Every data-quality event of one symbol's ticks, in time order within each type."""
    ts = ticks["datetime_ns"]
    out: list[AnomalyEvent] = []

    def emit(kind: str, score: np.ndarray, method: str, **details: object) -> None:
        t = config.threshold(kind)
        out.extend(episodes(ts, t.grade(score), score, anomaly_type=kind, symbol=symbol, method=method,
                            details=details))  # fmt: skip

    sid = session_ids(ts, windows) if len(windows) else np.zeros(ts.shape, dtype=np.int64)
    emit("price_spike", price_spike_scores(ticks, price_tick, config, sid), "robust_z", window=config.window,
         flash_rows=config.flash_rows)  # fmt: skip
    emit("volume_spike", spike_scores(traded_lots(ticks), config, config.volume_floor), "robust_z",
         window=config.window)  # fmt: skip
    emit("tick_gap", tick_gaps_s(ts, windows), "session_gap")
    emit("stale_quote", np.where(sid >= 0, stale_seconds(ticks, sid), np.nan), "repeat_run")
    emit("crossed_book", run_length(crossed_book_mask(ticks)).astype(np.float64), "schema")
    emit("bad_price", run_length(bad_price_mask(ticks)).astype(np.float64), "schema")
    emit("missing_quote", run_length(missing_quote_mask(ticks)).astype(np.float64), "schema")
    return out


def ingestion_lag_events(
    datetime_ns: np.ndarray, received_ns: np.ndarray, symbol: str, config: AnomalyConfig
) -> list[AnomalyEvent]:
    """``ingestion_lag`` events from the exchange and receipt stamps of the same ticks."""
    lag = (np.asarray(received_ns, dtype=np.int64) - np.asarray(datetime_ns, dtype=np.int64)) / NS
    t = config.threshold("ingestion_lag")
    return episodes(datetime_ns, t.grade(lag), lag, anomaly_type="ingestion_lag", symbol=symbol, method="stamp_diff")
