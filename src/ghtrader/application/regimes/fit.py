"""``FitRegimeModel``: fit a Gaussian HMM on a symbol's observations and save it as an artifact."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.regimes import HmmFitConfig, RegimeModelFitter, RegimeModelStore
from ghtrader.application.ports.stores import TickStore
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.regimes.data import load_regime_data, select_features
from ghtrader.application.regimes.models import RegimeModel
from ghtrader.domain.regimes import OBSERVATION_NAMES, ObservationConfig

__all__ = ["FitRegimeModel", "FitRequest", "FitResult", "state_table"]


@dataclass(frozen=True)
class FitRequest:
    """What to fit: the symbol's ticks over [start_day, end_day]; ``features`` empty = all
    observations; ``model_id`` empty = ``<symbol>-hmm<K>-<hash>``."""

    symbol: str
    start_day: date
    end_day: date
    n_states: int = 3
    seeds: tuple[int, ...] = (0, 1, 2)
    n_iter: int = 50
    features: tuple[str, ...] = ()
    observation: ObservationConfig = field(default_factory=ObservationConfig)
    model_id: str = ""


@dataclass(frozen=True)
class FitResult:
    """The saved model and how the fit went."""

    model_id: str
    model_config_hash: str
    path: str
    symbol: str
    start_day: str
    end_day: str
    n_states: int
    features: tuple[str, ...]
    rows: int
    rows_used: int
    log_likelihood: float
    converged: bool
    n_iter: int
    seed: int
    fit_seconds: float
    states: list[dict[str, Any]]


def state_table(model: RegimeModel) -> list[dict[str, Any]]:
    """Per state: raw-unit feature means, stationary occupancy and expected dwell in ticks."""
    p = model.params
    raw_means = p.means * p.obs_scale + p.obs_mean
    out = []
    for k in range(p.n_states):
        stay = float(p.transmat[k, k])
        out.append(
            {
                "regime_id": k,
                "occupancy": float(p.startprob[k]),
                "expected_dwell_ticks": float("inf") if stay >= 1.0 else 1.0 / (1.0 - stay),
                "means": {name: float(raw_means[k, j]) for j, name in enumerate(model.features)},
            }
        )
    return out


class FitRegimeModel:
    """Read ticks -> causal observations -> HMM fit (adapter) -> states ordered by volatility ->
    JSON artifact."""

    def __init__(self, *, ticks: TickStore, fitter: RegimeModelFitter, models: RegimeModelStore, clock: Clock) -> None:
        self._ticks = ticks
        self._fitter = fitter
        self._models = models
        self._clock = clock

    def __call__(self, request: FitRequest, progress: ProgressCallback = no_progress) -> FitResult:
        if not 2 <= request.n_states <= 8:
            raise InvalidArgument(f"states must be in 2..8, got {request.n_states}")
        if request.n_iter < 1:
            raise InvalidArgument("n_iter must be >= 1")
        cols = select_features(request.features)
        features = tuple(OBSERVATION_NAMES[j] for j in cols)
        progress(0, 3, f"reading {request.symbol} {request.start_day}..{request.end_day}")
        data = load_regime_data(self._ticks, request.symbol, request.start_day, request.end_day, request.observation)
        x = data.observations[:, cols]
        used = int(np.isfinite(x).all(axis=1).sum())
        progress(1, 3, f"fitting a {request.n_states}-state HMM on {used:,} of {len(data):,} rows")
        t0 = self._clock.monotonic_s()
        cfg = HmmFitConfig(n_states=request.n_states, seeds=request.seeds, n_iter=request.n_iter)
        fit = self._fitter.fit_hmm(x, cfg, features)
        seconds = self._clock.monotonic_s() - t0
        draft = RegimeModel(
            model_id="",
            symbol=request.symbol,
            start_day=request.start_day.isoformat(),
            end_day=request.end_day.isoformat(),
            observation=request.observation,
            features=features,
            params=fit.params,
            fit={
                **cfg.as_dict(),
                "log_likelihood": fit.log_likelihood,
                "converged": fit.converged,
                "iterations": fit.n_iter,
                "seed": fit.seed,
                "rows": len(data),
                "rows_used": used,
                "fit_seconds": seconds,
            },
            created_at_ns=self._clock.now_ns(),
        )
        model_id = request.model_id or f"{request.symbol}-hmm{request.n_states}-{draft.model_config_hash[:8]}"
        model = RegimeModel(**{**draft.__dict__, "model_id": model_id})
        progress(2, 3, f"saving {model_id}")
        path = self._models.save_model(model_id, model.to_payload())
        progress(3, 3, "done")
        return FitResult(
            model_id=model_id,
            model_config_hash=model.model_config_hash,
            path=path,
            symbol=request.symbol,
            start_day=model.start_day,
            end_day=model.end_day,
            n_states=request.n_states,
            features=features,
            rows=len(data),
            rows_used=used,
            log_likelihood=fit.log_likelihood,
            converged=fit.converged,
            n_iter=fit.n_iter,
            seed=fit.seed,
            fit_seconds=seconds,
            states=state_table(model),
        )
