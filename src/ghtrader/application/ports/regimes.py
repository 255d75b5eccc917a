"""Regime ports: offline model fitting (HMM, PELT, clustering), the regime-state table and
the fitted-model artifacts.

Fitting libraries stay in adapters; they hand back plain domain parameters
(:class:`ghtrader.domain.regimes.GaussianHmmParams`) that the numba filter decodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import numpy as np

from ghtrader.domain.regimes import GaussianHmmParams

DETECTION_METHODS: tuple[str, ...] = ("hmm-filter", "viterbi", "bocpd", "pelt", "vol-bucket", "kmeans", "gmm")


@dataclass(frozen=True)
class HmmFitConfig:
    """How to fit a Gaussian HMM: states, restarts (a deterministic quantile start plus one
    per seed, best log-likelihood kept),
    EM iterations and tolerance, the covariance floor (standardised units)."""

    n_states: int = 3
    seeds: tuple[int, ...] = (0, 1, 2)
    n_iter: int = 50
    tol: float = 1e-3
    min_covar: float = 1e-3

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for hashing and artifacts."""
        return {
            "n_states": self.n_states,
            "seeds": list(self.seeds),
            "n_iter": self.n_iter,
            "tol": self.tol,
            "min_covar": self.min_covar,
        }


@dataclass(frozen=True)
class HmmFit:
    """A fitted HMM and how the fit went."""

    params: GaussianHmmParams
    log_likelihood: float  # of the training rows, best seed
    converged: bool
    n_iter: int  # EM iterations of the best seed
    seed: int  # seed of the kept restart (-1: the deterministic quantile start)


class RegimeModelFitter(Protocol):
    """Offline fitting of a Gaussian HMM on observation rows."""

    def fit_hmm(self, x: np.ndarray, config: HmmFitConfig, feature_names: Sequence[str] = ()) -> HmmFit:
        """Fit on the finite rows of ``x`` (T, D); states come back ordered by ascending mean
        of the ``log_rvol`` feature when named (else the first feature), so ids are stable."""
        ...


class ChangepointSegmenter(Protocol):
    """Offline changepoint detection on a series."""

    def segment(self, x: np.ndarray, penalty: float, min_size: int) -> list[int]:
        """Breakpoints (row indices where a new segment starts, excluding 0) of ``x`` (T,) or
        (T, D); NaN rows are not allowed."""
        ...


class WindowClusterer(Protocol):
    """Offline clustering of observation rows (rolling feature windows)."""

    def fit_predict(
        self, train: np.ndarray, rows: np.ndarray, n_clusters: int, method: str, seed: int, order_column: int = 0
    ) -> np.ndarray:
        """Fit ``method`` (``kmeans`` | ``gmm``) on the finite ``train`` rows and label ``rows``;
        cluster ids ordered by ascending mean of ``order_column`` (0 = calmest)."""
        ...


@dataclass(frozen=True)
class RegimeStates:
    """Decoded regimes of ONE symbol by one method/model: arrays aligned by row.

    ``probabilities`` is (T, K): state probabilities for HMM methods (one-hot for Viterbi),
    ``[P(short run)]`` for BOCPD, ``[1.0]`` for PELT and vol buckets."""

    symbol: str
    detection_method: str
    model_config_hash: str
    datetime_ns: np.ndarray  # int64
    trading_day: np.ndarray  # datetime64[D]
    regime_id: np.ndarray  # int64, -1 where undetermined
    probabilities: np.ndarray  # float64 (T, K)

    def __len__(self) -> int:
        return int(self.datetime_ns.shape[0])


@dataclass(frozen=True)
class RegimeStateSummary:
    """One stored (symbol, method, model) series: rows, time span and rows per regime."""

    symbol: str
    detection_method: str
    model_config_hash: str
    rows: int
    first_ns: int
    last_ns: int
    counts: Mapping[int, int] = field(default_factory=dict)


def summarise_groups(groups: Sequence[tuple[str, str, str, int, int, int, int]]) -> list[RegimeStateSummary]:
    """Summaries from ``(symbol, method, hash, regime_id, rows, first_ns, last_ns)`` groups
    (what a store's GROUP BY gives), in first-seen order."""
    acc: dict[tuple[str, str, str], list[Any]] = {}
    for sym, method, h, rid, count, first, last in groups:
        cur = acc.setdefault((sym, method, h), [0, first, last, {}])
        cur[0] += count
        cur[1] = min(cur[1], first)
        cur[2] = max(cur[2], last)
        cur[3][rid] = cur[3].get(rid, 0) + count
    return [
        RegimeStateSummary(sym, method, h, rows, first, last, dict(sorted(counts.items())))
        for (sym, method, h), (rows, first, last, counts) in acc.items()
    ]


class RegimeStateStore(Protocol):
    """The ``ghtrader_regime_states_v2`` table; rows are identified by
    ``(symbol, datetime_ns, detection_method, model_config_hash)`` and upserted."""

    def write_states(self, states: RegimeStates) -> int:
        """Upsert the rows; returns the number of rows sent. A retry is always safe."""
        ...

    def read_states(
        self,
        symbol: str,
        detection_method: str,
        model_config_hash: str,
        start_day: date,
        end_day: date,
    ) -> RegimeStates:
        """Rows of that series whose trading_day is in [start_day, end_day], by time."""
        ...

    def summaries(self, symbol: str | None = None) -> list[RegimeStateSummary]:
        """One summary per stored series (of one symbol when given)."""
        ...

    def ensure_schema(self) -> list[str]:
        """Create the table if missing; returns the tables ensured."""
        ...


class RegimeModelStore(Protocol):
    """Fitted regime models as JSON artifacts (``artifacts/regimes/``)."""

    def save_model(self, model_id: str, payload: Mapping[str, Any]) -> str:
        """Write ``payload`` (JSON-ready) as ``model_id``; returns where it went."""
        ...

    def load_model(self, model_id: str) -> dict[str, Any]:
        """The payload saved as ``model_id`` (``KeyError`` when missing)."""
        ...

    def model_ids(self) -> list[str]:
        """Saved model ids, oldest first."""
        ...
