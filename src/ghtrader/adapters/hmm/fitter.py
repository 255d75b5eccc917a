"""Fit a full-covariance Gaussian HMM with hmmlearn and return plain domain parameters.

Rows with a non-finite value are dropped; the rest are standardised (mean / std per feature,
stored in the parameters) before EM. One restart per seed, the best training log-likelihood
wins; the first restart is deterministic, started from the volatility quantiles (state k's
means = the mean of the rows in the k-th quantile bin of the ordering feature, sticky
transitions), which avoids the merged-state local optima random k-means starts often hit.
The start distribution is replaced by the stationary distribution of the fitted
transition matrix: a single long training sequence pins ``startprob_`` to one state, which
would be wrong for decoding a window that starts elsewhere. States are renumbered by
ascending mean volatility so regime 0 is always the calmest.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.regimes import HmmFit, HmmFitConfig
from ghtrader.domain.regimes import GaussianHmmParams

__all__ = ["HmmlearnRegimeFitter", "stationary_distribution"]

_ORDER_FEATURE = "log_rvol"


def stationary_distribution(trans: np.ndarray) -> np.ndarray:
    """Left eigenvector of ``trans`` for eigenvalue 1, normalised (uniform if degenerate)."""
    vals, vecs = np.linalg.eig(trans.T)
    v = np.abs(np.real(vecs[:, int(np.argmin(np.abs(vals - 1.0)))]))
    total = v.sum()
    if not np.isfinite(total) or total <= 0:
        return np.full(trans.shape[0], 1.0 / trans.shape[0])
    return v / total


class HmmlearnRegimeFitter:
    """:class:`ghtrader.application.ports.regimes.RegimeModelFitter` on hmmlearn."""

    def fit_hmm(self, x: np.ndarray, config: HmmFitConfig, feature_names: Sequence[str] = ()) -> HmmFit:
        from hmmlearn.hmm import GaussianHMM  # type: ignore[import-untyped]  # slow import: on first fit only

        a = np.asarray(x, dtype=np.float64)
        if a.ndim != 2:
            raise InvalidArgument("observations must be a (T, D) matrix")
        rows = a[np.isfinite(a).all(axis=1)]
        k = config.n_states
        if k < 2:
            raise InvalidArgument("an HMM needs at least 2 states")
        if rows.shape[0] < 10 * k * (1 + a.shape[1]):
            raise InvalidArgument(f"too few complete observation rows to fit {k} states: {rows.shape[0]}")
        mean = rows.mean(axis=0)
        scale = rows.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        z = (rows - mean) / scale
        names = tuple(feature_names)
        order_col = names.index(_ORDER_FEATURE) if _ORDER_FEATURE in names else 0
        best: tuple[float, Any, int] | None = None
        _quiet_hmmlearn()
        for seed in (-1, *config.seeds):
            model = GaussianHMM(
                n_components=k,
                covariance_type="full",
                n_iter=config.n_iter,
                tol=config.tol,
                min_covar=config.min_covar,
                random_state=max(int(seed), 0),
                init_params="" if seed < 0 else "stmc",
            )
            if seed < 0:
                _quantile_start(model, z, k, order_col)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(z)
                score = float(model.score(z))
            if np.isfinite(score) and (best is None or score > best[0]):
                best = (score, model, int(seed))
        if best is None:
            raise InvalidArgument("HMM fit failed for every seed")
        score, model, seed = best
        trans = np.asarray(model.transmat_, dtype=np.float64)
        trans = trans / trans.sum(axis=1, keepdims=True)
        params = GaussianHmmParams(
            means=np.asarray(model.means_, dtype=np.float64),
            covars=np.asarray(model.covars_, dtype=np.float64),
            transmat=trans,
            startprob=stationary_distribution(trans),
            obs_mean=mean,
            obs_scale=scale,
            feature_names=names,
        )
        params = params.ordered_by_feature(order_col)
        hist = list(model.monitor_.history)
        return HmmFit(
            params=params,
            log_likelihood=score,
            converged=len(hist) >= 2 and abs(hist[-1] - hist[-2]) < config.tol,
            n_iter=int(model.monitor_.iter),
            seed=seed,
        )


def _quantile_start(model: Any, z: np.ndarray, k: int, col: int) -> None:
    edges = np.quantile(z[:, col], np.arange(1, k) / k)
    bins = np.searchsorted(edges, z[:, col])
    cov = np.cov(z, rowvar=False).reshape(z.shape[1], z.shape[1]) + 1e-3 * np.eye(z.shape[1])
    model.means_ = np.array([z[bins == i].mean(axis=0) if np.any(bins == i) else z.mean(axis=0) for i in range(k)])
    model.covars_ = np.tile(cov, (k, 1, 1))
    model.transmat_ = np.full((k, k), 0.05 / (k - 1)) + np.eye(k) * (0.95 - 0.05 / (k - 1))
    model.startprob_ = np.full(k, 1.0 / k)


def _quiet_hmmlearn() -> None:
    logging.getLogger("hmmlearn").setLevel(logging.ERROR)
