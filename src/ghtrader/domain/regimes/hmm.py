"""Gaussian hidden Markov model: parameters, online forward filter and offline Viterbi.

Fitting happens in an adapter (``adapters/hmm``); this module takes the fitted parameters as
plain arrays. Observations are standardised with the stored ``obs_mean`` / ``obs_scale``
before the state densities are evaluated. A row with a non-finite value carries no
information (likelihood 1 in every state): the filter only propagates the transition there.

:class:`HmmFilter` (one row at a time) and :func:`forward_filter` (a batch) call the same
numba step, so they agree exactly on the same rows; state ``t`` only depends on rows ``<= t``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ghtrader.domain.regimes import _kernels as k
from ghtrader.domain.regimes.errors import RegimeError

__all__ = ["GaussianHmmParams", "HmmFilter", "forward_filter", "log_likelihoods", "viterbi_path"]

_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class GaussianHmmParams:
    """Fitted Gaussian-HMM parameters (full covariances), ``K`` states over ``D`` features."""

    means: np.ndarray  # (K, D), standardised units
    covars: np.ndarray  # (K, D, D), standardised units
    transmat: np.ndarray  # (K, K), rows sum to 1
    startprob: np.ndarray  # (K,)
    obs_mean: np.ndarray  # (D,) mean subtracted from raw observations
    obs_scale: np.ndarray  # (D,) scale dividing raw observations
    feature_names: tuple[str, ...] = ()
    _chol_inv: np.ndarray = field(init=False, repr=False)
    _log_det: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        means = np.ascontiguousarray(self.means, dtype=np.float64)
        if means.ndim != 2 or means.shape[0] < 1:
            raise RegimeError("means must be (K, D)")
        n_states, dim = means.shape
        covars = np.ascontiguousarray(self.covars, dtype=np.float64)
        trans = np.ascontiguousarray(self.transmat, dtype=np.float64)
        start = np.ascontiguousarray(self.startprob, dtype=np.float64)
        mean = np.ascontiguousarray(self.obs_mean, dtype=np.float64)
        scale = np.ascontiguousarray(self.obs_scale, dtype=np.float64)
        if covars.shape != (n_states, dim, dim):
            raise RegimeError(f"covars must be {(n_states, dim, dim)}, got {covars.shape}")
        if trans.shape != (n_states, n_states) or start.shape != (n_states,):
            raise RegimeError("transmat must be (K, K) and startprob (K,)")
        if mean.shape != (dim,) or scale.shape != (dim,) or np.any(scale <= 0):
            raise RegimeError("obs_mean / obs_scale must be (D,), scale > 0")
        if np.any(trans < 0) or not np.allclose(trans.sum(axis=1), 1.0, atol=_TOL):
            raise RegimeError("transmat rows must be probability vectors")
        if np.any(start < 0) or abs(start.sum() - 1.0) > _TOL:
            raise RegimeError("startprob must be a probability vector")
        if self.feature_names and len(self.feature_names) != dim:
            raise RegimeError("feature_names must name every feature")
        try:
            chol = np.linalg.cholesky(covars)
        except np.linalg.LinAlgError as exc:
            raise RegimeError("covariances must be positive definite") from exc
        chol_inv = np.ascontiguousarray(np.linalg.inv(chol))
        log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        for name, value in (
            ("means", means),
            ("covars", covars),
            ("transmat", trans),
            ("startprob", start),
            ("obs_mean", mean),
            ("obs_scale", scale),
            ("_chol_inv", chol_inv),
            ("_log_det", np.ascontiguousarray(log_det)),
        ):
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "feature_names", tuple(self.feature_names))

    @property
    def n_states(self) -> int:
        """Number of hidden states."""
        return int(self.means.shape[0])

    @property
    def n_features(self) -> int:
        """Observation dimension."""
        return int(self.means.shape[1])

    def standardise(self, x: np.ndarray) -> np.ndarray:
        """Raw observations (T, D) or (D,) -> the model's standardised units."""
        return (np.asarray(x, dtype=np.float64) - self.obs_mean) / self.obs_scale

    def reorder(self, order: Sequence[int]) -> GaussianHmmParams:
        """The same model with state ``i`` renamed to the position of ``i`` in ``order``."""
        o = np.asarray(order, dtype=np.int64)
        if sorted(o.tolist()) != list(range(self.n_states)):
            raise RegimeError("order must be a permutation of the states")
        return GaussianHmmParams(
            means=self.means[o],
            covars=self.covars[o],
            transmat=self.transmat[np.ix_(o, o)],
            startprob=self.startprob[o],
            obs_mean=self.obs_mean,
            obs_scale=self.obs_scale,
            feature_names=self.feature_names,
        )

    def ordered_by_feature(self, feature: int | str) -> GaussianHmmParams:
        """States renumbered by ascending mean of one feature (e.g. volatility), so that state
        ids mean the same thing across refits."""
        j = self.feature_names.index(feature) if isinstance(feature, str) else int(feature)
        return self.reorder([int(i) for i in np.argsort(self.means[:, j], kind="stable")])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return {
            "means": self.means.tolist(),
            "covars": self.covars.tolist(),
            "transmat": self.transmat.tolist(),
            "startprob": self.startprob.tolist(),
            "obs_mean": self.obs_mean.tolist(),
            "obs_scale": self.obs_scale.tolist(),
            "feature_names": list(self.feature_names),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GaussianHmmParams:
        """Inverse of :meth:`to_dict`; unknown keys are rejected."""
        known = {"means", "covars", "transmat", "startprob", "obs_mean", "obs_scale", "feature_names"}
        extra = set(data) - known
        if extra:
            raise RegimeError(f"unknown HMM parameter keys: {sorted(extra)}")
        return cls(
            means=np.asarray(data["means"], dtype=np.float64),
            covars=np.asarray(data["covars"], dtype=np.float64),
            transmat=np.asarray(data["transmat"], dtype=np.float64),
            startprob=np.asarray(data["startprob"], dtype=np.float64),
            obs_mean=np.asarray(data["obs_mean"], dtype=np.float64),
            obs_scale=np.asarray(data["obs_scale"], dtype=np.float64),
            feature_names=tuple(data.get("feature_names", ())),
        )

    def config_hash(self) -> str:
        """Short stable hash of the parameters (identifies the model in stored states)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def log_start(self) -> np.ndarray:
        """``log(startprob)`` (``-inf`` for zero)."""
        with np.errstate(divide="ignore"):
            return np.log(self.startprob)

    def log_trans(self) -> np.ndarray:
        """``log(transmat)`` (``-inf`` for zero)."""
        with np.errstate(divide="ignore"):
            return np.ascontiguousarray(np.log(self.transmat))


def log_likelihoods(params: GaussianHmmParams, x: np.ndarray) -> np.ndarray:
    """Per-row, per-state log densities (T, K) of raw observations ``x`` (T, D)."""
    z = np.ascontiguousarray(params.standardise(_as_matrix(x, params.n_features)))
    return k.gaussian_loglik(z, params.means, params._chol_inv, params._log_det)


def forward_filter(params: GaussianHmmParams, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Filtered state probabilities ``p(s_t | x_1..t)`` (T, K) and the log-likelihood."""
    ll = log_likelihoods(params, x)
    log_post, total = k.hmm_filter_batch(ll, params.log_start(), params.log_trans())
    return np.exp(log_post), float(total)


def viterbi_path(params: GaussianHmmParams, x: np.ndarray) -> np.ndarray:
    """Most likely state sequence (T,) int64 over all rows (offline: uses the whole series)."""
    ll = log_likelihoods(params, x)
    return k.viterbi(ll, params.log_start(), params.log_trans())


class HmmFilter:
    """Online forward filter: :meth:`update` one raw observation row, get ``p(s_t | x_1..t)``."""

    def __init__(self, params: GaussianHmmParams) -> None:
        self._p = params
        self._log_start = params.log_start()
        self._log_trans = params.log_trans()
        self._ll = np.empty(params.n_states)
        self._post = np.zeros(params.n_states)
        self._next = np.empty(params.n_states)
        self._first = True
        self.n_seen = 0

    @property
    def params(self) -> GaussianHmmParams:
        """The model being filtered."""
        return self._p

    def update(self, row: np.ndarray) -> np.ndarray:
        """Feed one observation row (D,); returns a copy of the state probabilities."""
        p = self._p
        z = np.ascontiguousarray(p.standardise(_as_row(row, p.n_features)))
        k.gaussian_loglik_row(z, p.means, p._chol_inv, p._log_det, self._ll)
        k.hmm_filter_step(self._post, self._first, self._log_start, self._log_trans, self._ll, self._next)
        self._post, self._next = self._next, self._post
        self._first = False
        self.n_seen += 1
        return np.exp(self._post)

    def state(self) -> int:
        """Most probable state now (``-1`` before the first row)."""
        return -1 if self._first else int(np.argmax(self._post))


def _as_matrix(x: np.ndarray, dim: int) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != dim:
        raise RegimeError(f"observations must be (T, {dim}), got {a.shape}")
    return a


def _as_row(x: np.ndarray, dim: int) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.shape != (dim,):
        raise RegimeError(f"an observation row must be ({dim},), got {a.shape}")
    return a
