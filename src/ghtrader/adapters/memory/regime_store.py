"""``InMemoryRegimeStateStore``: the RegimeStateStore port in a dict (unit tests, no database)."""

from __future__ import annotations

import threading
from datetime import date

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.regimes import RegimeStates, RegimeStateSummary, summarise_groups

__all__ = ["InMemoryRegimeStateStore"]

_Key = tuple[str, str, str]


class InMemoryRegimeStateStore:
    """Rows kept per (symbol, method, hash) series, keyed by ``datetime_ns`` (upsert)."""

    def __init__(self) -> None:
        self._series: dict[_Key, dict[int, tuple[np.datetime64, int, np.ndarray]]] = {}
        self._lock = threading.Lock()

    def ensure_schema(self) -> list[str]:
        return []

    def write_states(self, states: RegimeStates) -> int:
        n = len(states)
        probs = np.asarray(states.probabilities, dtype=np.float64)
        if n and (probs.ndim != 2 or probs.shape[0] != n or probs.shape[1] < 1):
            raise InvalidArgument("probabilities must be (rows, K) with K >= 1")
        days = np.asarray(states.trading_day, dtype="datetime64[D]")
        with self._lock:
            rows = self._series.setdefault((states.symbol, states.detection_method, states.model_config_hash), {})
            for i in range(n):
                rows[int(states.datetime_ns[i])] = (days[i], int(states.regime_id[i]), probs[i].copy())
        return n

    def read_states(
        self, symbol: str, detection_method: str, model_config_hash: str, start_day: date, end_day: date
    ) -> RegimeStates:
        lo, hi = np.datetime64(start_day, "D"), np.datetime64(end_day, "D")
        with self._lock:
            rows = self._series.get((symbol, detection_method, model_config_hash), {})
            picked = sorted((t, r) for t, r in rows.items() if lo <= r[0] <= hi)
        k = picked[0][1][2].shape[0] if picked else 0
        return RegimeStates(
            symbol=symbol,
            detection_method=detection_method,
            model_config_hash=model_config_hash,
            datetime_ns=np.array([t for t, _ in picked], dtype=np.int64),
            trading_day=np.array([r[0] for _, r in picked], dtype="datetime64[D]"),
            regime_id=np.array([r[1] for _, r in picked], dtype=np.int64),
            probabilities=np.array([r[2] for _, r in picked], dtype=np.float64).reshape(len(picked), k),
        )

    def summaries(self, symbol: str | None = None) -> list[RegimeStateSummary]:
        groups: list[tuple[str, str, str, int, int, int, int]] = []
        with self._lock:
            for key in sorted(self._series):
                if symbol and key[0] != symbol:
                    continue
                rows = self._series[key]
                by_id: dict[int, list[int]] = {}
                for t, (_, rid, _) in rows.items():
                    by_id.setdefault(rid, []).append(t)
                for rid in sorted(by_id):
                    ts = by_id[rid]
                    groups.append((*key, rid, len(ts), min(ts), max(ts)))
        return summarise_groups(groups)
