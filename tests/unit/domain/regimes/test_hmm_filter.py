"""Gaussian-HMM filter and Viterbi: reference checks, online/batch parity and causality."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

from ghtrader.domain.regimes import (
    GaussianHmmParams,
    HmmFilter,
    RegimeError,
    forward_filter,
    log_likelihoods,
    viterbi_path,
)


def _params(n_states: int = 3, dim: int = 2, seed: int = 0) -> GaussianHmmParams:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n_states, dim, dim))
    covars = a @ a.transpose(0, 2, 1) + 0.5 * np.eye(dim)
    trans = rng.uniform(0.05, 1.0, size=(n_states, n_states)) + 5 * np.eye(n_states)
    trans /= trans.sum(axis=1, keepdims=True)
    start = rng.uniform(0.1, 1.0, size=n_states)
    return GaussianHmmParams(
        means=rng.normal(scale=2.0, size=(n_states, dim)),
        covars=covars,
        transmat=trans,
        startprob=start / start.sum(),
        obs_mean=rng.normal(size=dim),
        obs_scale=rng.uniform(0.5, 2.0, size=dim),
        feature_names=tuple(f"f{i}" for i in range(dim)),
    )


def _sample(p: GaussianHmmParams, n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    states = np.empty(n, dtype=np.int64)
    x = np.empty((n, p.n_features))
    s = rng.choice(p.n_states, p=p.startprob)
    for t in range(n):
        if t:
            s = rng.choice(p.n_states, p=p.transmat[s])
        states[t] = s
        z = rng.multivariate_normal(p.means[s], p.covars[s])
        x[t] = z * p.obs_scale + p.obs_mean
    return x, states


def test_log_likelihoods_match_scipy_in_standardised_units():
    p = _params()
    x, _ = _sample(p, 50)
    z = (x - p.obs_mean) / p.obs_scale
    ref = np.column_stack([multivariate_normal(p.means[k], p.covars[k]).logpdf(z) for k in range(3)])
    np.testing.assert_allclose(log_likelihoods(p, x), ref, rtol=1e-10, atol=1e-10)


def test_forward_filter_matches_probability_space_reference():
    p = _params()
    x, _ = _sample(p, 80)
    lik = np.exp(log_likelihoods(p, x))
    alpha = p.startprob * lik[0]
    ref = [alpha / alpha.sum()]
    total = np.log(alpha.sum())
    for t in range(1, len(x)):
        alpha = (ref[-1] @ p.transmat) * lik[t]
        total += np.log(alpha.sum())
        ref.append(alpha / alpha.sum())
    probs, ll = forward_filter(p, x)
    np.testing.assert_allclose(probs, np.array(ref), atol=1e-10)
    assert ll == pytest.approx(total, rel=1e-10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)


def test_online_filter_equals_batch_tick_by_tick():
    p = _params(4, 3, seed=3)
    x, _ = _sample(p, 300, seed=4)
    x[[5, 17, 18]] = np.nan  # rows without information are propagated, not dropped
    batch, _ = forward_filter(p, x)
    f = HmmFilter(p)
    online = np.array([f.update(row) for row in x])
    np.testing.assert_allclose(online, batch, rtol=0, atol=1e-9)
    assert f.state() == int(np.argmax(batch[-1]))


@settings(max_examples=25, deadline=None)
@given(
    cut=st.integers(min_value=1, max_value=59),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_changing_future_rows_never_changes_past_probabilities(cut, seed):
    p = _params(3, 2, seed=7)
    x, _ = _sample(p, 60, seed=8)
    y = x.copy()
    y[cut:] = np.random.default_rng(seed).normal(scale=5.0, size=y[cut:].shape)
    a, _ = forward_filter(p, x)
    b, _ = forward_filter(p, y)
    np.testing.assert_array_equal(a[:cut], b[:cut])


def test_nan_row_only_propagates_the_transition():
    p = _params()
    x, _ = _sample(p, 10)
    x[4, 1] = np.nan
    probs, _ = forward_filter(p, x)
    np.testing.assert_allclose(probs[4], probs[3] @ p.transmat, atol=1e-12)


def test_viterbi_matches_brute_force_on_short_series():
    p = _params(3, 2, seed=11)
    x, _ = _sample(p, 6, seed=12)
    ll = log_likelihoods(p, x)
    best, arg = -np.inf, None
    for path in itertools.product(range(3), repeat=6):
        score = np.log(p.startprob[path[0]]) + ll[0, path[0]]
        for t in range(1, 6):
            score += np.log(p.transmat[path[t - 1], path[t]]) + ll[t, path[t]]
        if score > best:
            best, arg = score, path
    assert viterbi_path(p, x).tolist() == list(arg)


def test_viterbi_recovers_well_separated_states():
    p = GaussianHmmParams(
        means=np.array([[-4.0], [0.0], [4.0]]),
        covars=np.tile(np.eye(1), (3, 1, 1)) * 0.25,
        transmat=np.full((3, 3), 0.01) + np.eye(3) * 0.97,
        startprob=np.full(3, 1 / 3),
        obs_mean=np.zeros(1),
        obs_scale=np.ones(1),
    )
    x, states = _sample(p, 400, seed=2)
    assert (viterbi_path(p, x) == states).mean() > 0.99


def test_reorder_by_feature_and_dict_round_trip():
    p = _params(3, 2, seed=5)
    q = p.ordered_by_feature("f1")
    assert np.all(np.diff(q.means[:, 1]) >= 0)
    x, _ = _sample(p, 40)
    order = np.argsort(p.means[:, 1], kind="stable")
    np.testing.assert_allclose(forward_filter(q, x)[0], forward_filter(p, x)[0][:, order], atol=1e-12)
    r = GaussianHmmParams.from_dict(q.to_dict())
    assert r.config_hash() == q.config_hash() != p.config_hash()


def test_invalid_parameters_are_rejected():
    p = _params()
    d = p.to_dict()
    d["transmat"] = (np.asarray(d["transmat"]) * 2).tolist()
    with pytest.raises(RegimeError):
        GaussianHmmParams.from_dict(d)
    d = p.to_dict()
    d["covars"][0] = (-np.eye(2)).tolist()
    with pytest.raises(RegimeError):
        GaussianHmmParams.from_dict(d)
    with pytest.raises(RegimeError):
        HmmFilter(p).update(np.zeros(3))
