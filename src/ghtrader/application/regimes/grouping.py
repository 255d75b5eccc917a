"""HMM regimes as a report grouping: fit on training rows only, decode causally.

Reports (benchmark folds, backtests) have mid and spread per row but not always volume or L1
sizes, so this grouping uses the observations those give: the rolling drift, the log
realised volatility and the relative spread (:data:`GROUPING_FEATURES`). For each split the
HMM is fitted on the training rows only (the newest ``max_fit_rows`` of them), then the
forward filter runs over every row up to the last scored one, so a scored row's regime uses
rows at or before it only. Regime ``k`` is named ``hmm_k``; 0 is the calmest. Results are
cached per (observations, split), so families compared on identical folds share one fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.regimes import HmmFitConfig, RegimeModelFitter
from ghtrader.application.regimes.data import run_codes, select_features
from ghtrader.domain.regimes import ObservationConfig, build_observations, forward_filter
from ghtrader.domain.ticks import TICK_DTYPE

__all__ = ["GROUPING_FEATURES", "HmmGrouping", "RegimeGrouping"]

GROUPING_FEATURES: tuple[str, ...] = ("ret", "log_rvol", "spread_bps")


@dataclass(frozen=True)
class RegimeGrouping:
    """Codes for the scored rows (``-1`` where undetermined), their names, the fitted means."""

    codes: np.ndarray
    names: Mapping[int, str]
    state_means: list[dict[str, float]]


class HmmGrouping:
    """Per-split causal HMM regimes (module docstring)."""

    def __init__(
        self,
        fitter: RegimeModelFitter,
        *,
        n_states: int = 3,
        n_iter: int = 25,
        max_fit_rows: int = 50_000,
        observation: ObservationConfig | None = None,
    ) -> None:
        self._fitter = fitter
        self._config = HmmFitConfig(n_states=n_states, seeds=(), n_iter=n_iter)
        self._max_fit_rows = max_fit_rows
        self._observation = observation or ObservationConfig()
        self._cols = select_features(GROUPING_FEATURES)
        self.names: Mapping[int, str] = {i: f"hmm_{i}" for i in range(n_states)}
        self._cache: dict[tuple[object, ...], RegimeGrouping | None] = {}

    def observations(
        self, mid: np.ndarray, spread: np.ndarray, segment_id: np.ndarray | None, trading_day: np.ndarray
    ) -> np.ndarray:
        """Observation rows (T, 3) from per-row mid and spread (price units)."""
        n = np.asarray(mid).shape[0]
        t = np.zeros(n, dtype=TICK_DTYPE)
        half = 0.5 * np.asarray(spread, dtype=np.float64)
        t["bid_price1"] = np.asarray(mid, dtype=np.float64) - half
        t["ask_price1"] = np.asarray(mid, dtype=np.float64) + half
        for name in ("volume", "bid_volume1", "ask_volume1"):
            t[name] = np.nan
        obs = build_observations(t, run_codes(trading_day, segment_id), self._observation)
        return np.ascontiguousarray(obs[:, self._cols])

    def codes(self, obs: np.ndarray, train_index: np.ndarray, rows: np.ndarray) -> RegimeGrouping | None:
        """Regimes of ``rows`` (sorted positions) from an HMM fitted on ``train_index``; None
        when the training rows cannot support a fit."""
        train = np.asarray(train_index, dtype=np.int64)[-self._max_fit_rows :]
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return None
        key = (
            obs.shape, float(np.nansum(obs)), train.size, int(train[0]) if train.size else -1,
            int(train[-1]) if train.size else -1, rows.size, int(rows[0]), int(rows[-1]),
        )  # fmt: skip
        if key not in self._cache:
            if len(self._cache) >= 64:
                self._cache.clear()
            self._cache[key] = self._decode(obs, train, rows)
        return self._cache[key]

    def _decode(self, obs: np.ndarray, train: np.ndarray, rows: np.ndarray) -> RegimeGrouping | None:
        try:
            fit = self._fitter.fit_hmm(obs[train], self._config, GROUPING_FEATURES)
        except InvalidArgument:
            return None
        probs, _ = forward_filter(fit.params, obs[: int(rows.max()) + 1])
        codes = probs[rows].argmax(axis=1).astype(np.int64)
        p = fit.params
        raw = p.means * p.obs_scale + p.obs_mean
        k = p.n_states
        return RegimeGrouping(
            codes=codes,
            names=self.names,
            state_means=[{f: float(raw[i, j]) for j, f in enumerate(GROUPING_FEATURES)} for i in range(k)],
        )
