"""Domain ensembles: voting, disagreement, diversity, stacking without leakage, dynamic weights."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ghtrader.domain.ensembles import (
    EnsembleError,
    MetaLearner,
    disagreement,
    disagreement_rate,
    dynamic_weights,
    fit_meta_learner,
    fit_regime_weights,
    holdout_split,
    oof_splits,
    prediction_correlation,
    regime_row_weights,
    regime_vote,
    sharpe_weights,
    soft_vote,
)


def _probs(raw: np.ndarray) -> np.ndarray:
    e = np.exp(raw)
    return e / e.sum(axis=-1, keepdims=True)


logits = st.integers(1, 30).flatmap(
    lambda n: st.integers(1, 4).flatmap(
        lambda k: arrays(np.float64, (n, k, 3), elements=st.floats(-8, 8, allow_nan=False))
    )
)


@settings(max_examples=60, deadline=None)
@given(raw=logits, data=st.data())
def test_votes_are_probability_vectors_and_disagreement_is_bounded(raw: np.ndarray, data: st.DataObject) -> None:
    p = _probs(raw)
    k = p.shape[1]
    w = np.asarray(data.draw(st.lists(st.floats(0.01, 10), min_size=k, max_size=k)))
    for weights in (None, w):
        vote = soft_vote(p, weights)
        assert vote.shape == (p.shape[0], 3)
        assert (vote >= 0).all() and np.allclose(vote.sum(axis=1), 1.0)
        d = disagreement(p, weights)
        assert (d >= -1e-12).all() and (d <= 1 + 1e-12).all()


@settings(max_examples=40, deadline=None)
@given(raw=arrays(np.float64, (12, 3), elements=st.floats(-8, 8)), k=st.integers(1, 5))
def test_identical_members_with_equal_weights_are_the_member(raw: np.ndarray, k: int) -> None:
    member = _probs(raw)
    same = np.repeat(member[:, None, :], k, axis=1)
    np.testing.assert_allclose(soft_vote(same), member, atol=1e-12)
    np.testing.assert_allclose(disagreement(same), 0.0, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(raw=logits)
def test_stacked_probabilities_are_probability_vectors(raw: np.ndarray) -> None:
    p = _probs(raw)
    k = p.shape[1]
    rng = np.random.default_rng(0)
    meta = MetaLearner(rng.normal(size=(3 * k, 3)), rng.normal(size=3))
    out = meta.apply(p)
    assert (out >= 0).all() and np.allclose(out.sum(axis=1), 1.0)


def test_weights_pick_and_reject() -> None:
    a = np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    np.testing.assert_allclose(soft_vote(a, np.array([3.0, 1.0])), [[0.75, 0.0, 0.25]])
    assert disagreement(a)[0] == pytest.approx(0.5)  # each member is TV 0.5 from the 50/50 vote
    with pytest.raises(EnsembleError):
        soft_vote(a, np.array([1.0, -1.0]))
    with pytest.raises(EnsembleError):
        soft_vote(a[:, :, :2])


def test_nan_member_row_is_nan() -> None:
    p = np.full((2, 2, 3), 1 / 3)
    p[0, 1] = np.nan
    out = soft_vote(p)
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()


def test_diversity_metrics() -> None:
    rng = np.random.default_rng(1)
    base = _probs(rng.normal(size=(500, 3)))
    opposite = base[:, ::-1]  # swaps DOWN and UP: the signal p_up - p_down flips sign
    p = np.stack([base, base, opposite], axis=1)
    corr = prediction_correlation(p)
    np.testing.assert_allclose(np.diag(corr), 1.0)
    assert corr[0, 1] == pytest.approx(1.0) and corr[0, 2] == pytest.approx(-1.0)
    rate = disagreement_rate(p)
    assert rate[0, 1] == 0.0 and np.diag(rate).max() == 0.0
    top = base.argmax(axis=1)
    assert rate[0, 2] == pytest.approx(float(np.mean(top != 2 - top)))


def test_oof_splits_are_purged_and_forward() -> None:
    splits = oof_splits(1000, 4, gap=25)
    assert len(splits) == 4
    predicted = np.concatenate([test for _, test in splits])
    assert np.unique(predicted).shape[0] == predicted.shape[0]  # each row predicted at most once
    for train, test in splits:
        assert train[0] == 0 and train[-1] + 25 < test[0]  # every training row ends a purge gap before
    with pytest.raises(EnsembleError):
        oof_splits(20, 4, gap=10)
    head, tail = holdout_split(100, 0.3, gap=5)
    assert tail[0] == 70 and head[-1] == 64


def _stacking_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    y = np.where(signal > 0.5, 2, np.where(signal < -0.5, 0, 1)).astype(np.float64)
    noisy = signal + rng.normal(scale=1.0, size=n)  # what an honest member sees
    return y, noisy


def _honest(noisy: np.ndarray) -> np.ndarray:
    return _probs(np.stack([-2 * noisy, np.zeros_like(noisy), 2 * noisy], axis=1))


def _memoriser(y: np.ndarray, train: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Perfect on the rows it was fitted on, a coin toss elsewhere (pure overfitting)."""
    out = np.full((rows.shape[0], 3), 1 / 3)
    seen = np.isin(rows, train)
    out[seen] = np.eye(3)[y[rows[seen]].astype(np.int64)] * 0.98 + 0.02 / 3
    return out


def test_stacking_on_out_of_fold_predictions_does_not_trust_an_overfitted_member() -> None:
    n = 3000
    y, noisy = _stacking_data(n, 3)
    honest = _honest(noisy)
    # leaky: both members predict the rows they were fitted on (all rows)
    everything = np.arange(n)
    leaky = np.stack([honest, _memoriser(y, everything, everything)], axis=1)
    # out-of-fold: every prediction from a member fitted on earlier, purged rows only
    splits = oof_splits(n, 4, gap=10)
    oof = np.full((n, 2, 3), np.nan)
    for train, test in splits:
        oof[test, 0] = honest[test]
        oof[test, 1] = _memoriser(y, train, test)
    leaky_meta = fit_meta_learner(leaky, y)
    oof_meta = fit_meta_learner(oof, y)
    assert oof_meta.rows == sum(t.shape[0] for _, t in splits)

    def member_norms(meta: MetaLearner) -> np.ndarray:
        return np.abs(meta.weights).reshape(2, 3, 3).sum(axis=(1, 2))

    assert member_norms(leaky_meta)[1] > member_norms(leaky_meta)[0]  # leakage trusts the memoriser
    assert member_norms(oof_meta)[0] > 5 * member_norms(oof_meta)[1]  # OOF sees it is worthless
    # on fresh rows the OOF stacker scores better than the leaky one
    y2, noisy2 = _stacking_data(n, 4)
    fresh = np.stack([_honest(noisy2), np.full((n, 3), 1 / 3)], axis=1)
    idx = y2.astype(np.int64)

    def loss(meta: MetaLearner) -> float:
        return float(-np.log(meta.apply(fresh)[np.arange(n), idx]).mean())

    assert loss(oof_meta) < loss(leaky_meta)
    restored = MetaLearner.from_dict(oof_meta.to_dict())
    np.testing.assert_allclose(restored.apply(fresh), oof_meta.apply(fresh))


def test_meta_learner_beats_either_member_when_they_hold_different_information() -> None:
    rng = np.random.default_rng(5)
    n = 4000
    a, b = rng.normal(size=n), rng.normal(size=n)
    s = a + b
    y = np.where(s > 0.7, 2, np.where(s < -0.7, 0, 1)).astype(np.float64)
    p = np.stack([_honest(a), _honest(b)], axis=1)
    meta = fit_meta_learner(p, y)
    idx = y.astype(np.int64)
    member_losses = [-np.log(p[np.arange(n), k, idx]).mean() for k in range(2)]
    assert meta.log_loss < min(member_losses)


def test_dynamic_weights_are_causal_and_follow_recent_loss() -> None:
    rng = np.random.default_rng(7)
    n, h = 400, 5
    y = rng.integers(0, 3, size=n).astype(np.float64)
    good = np.eye(3)[y.astype(np.int64)] * 0.8 + 0.2 / 3
    bad = np.full((n, 3), 1 / 3)
    # member 0 is good in the first half, member 1 in the second
    m0 = np.where(np.arange(n)[:, None] < n // 2, good, bad)
    m1 = np.where(np.arange(n)[:, None] < n // 2, bad, good)
    p = np.stack([m0, m1], axis=1)
    w = dynamic_weights(p, y, h, half_life=10)
    assert np.allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w[:h], 0.5)  # no label realised yet: the prior (equal)
    assert w[n // 2 - 1, 0] > 0.6 and w[-1, 1] > 0.6
    # causality: changing labels at rows >= t - h + 1 leaves rows <= t unchanged
    t = 250
    y2 = y.copy()
    y2[t - h + 1 :] = (y2[t - h + 1 :] + 1) % 3
    w2 = dynamic_weights(p, y2, h, half_life=10)
    np.testing.assert_array_equal(w2[: t + 1], w[: t + 1])
    assert not np.array_equal(w2[t + 1 :], w[t + 1 :])


def _sharpe_world(n: int, h: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Member 0 foresees the mid move over h rows in the first half, member 1 in the second."""
    rng = np.random.default_rng(seed)
    mid = 1000.0 + np.cumsum(rng.standard_normal(n + h))
    up = (mid[h:] - mid[:-h]) > 0  # the realised direction of row s's horizon
    know = np.where(up[:, None], [0.05, 0.05, 0.9], [0.9, 0.05, 0.05])
    blind = np.full((n, 3), 1 / 3)
    first = np.arange(n)[:, None] < n // 2
    p = np.stack([np.where(first, know, blind), np.where(first, blind, know)], axis=1)
    return p, mid[:n], np.zeros(n, dtype=np.int64)


def test_sharpe_weights_are_causal_and_follow_recent_sharpe() -> None:
    n, h = 600, 4
    p, mid, seg = _sharpe_world(n, h, 11)
    w = sharpe_weights(p, mid, seg, h, half_life=20, eta=1.0, cost=0.0)
    assert w.shape == (n, 2) and np.allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w[:h], 0.5)  # nothing realised yet
    assert w[n // 2 - 1, 0] > 0.9 and w[-1, 1] > 0.9
    # causality: rows <= t depend on mid up to t and signals up to t - h only
    t = 350
    p2, mid2 = p.copy(), mid.copy()
    p2[t - h + 1 :] = p2[t - h + 1 :, ::-1]  # later predictions swapped between the members
    mid2[t + 1 :] += 50.0 * np.sin(np.arange(n - t - 1))  # later prices changed
    w2 = sharpe_weights(p2, mid2, seg, h, half_life=20, eta=1.0, cost=0.0)
    np.testing.assert_array_equal(w2[: t + 1], w[: t + 1])
    assert not np.array_equal(w2[t + 1 :], w[t + 1 :])


def test_sharpe_weights_charge_turnover_and_skip_segment_changes() -> None:
    n, h = 400, 3
    rng = np.random.default_rng(5)
    mid = 1000.0 + np.cumsum(rng.standard_normal(n))
    # two members with the same average exposure to noise; member 1 flips its position every row
    steady = np.tile([0.2, 0.2, 0.6], (n, 1))
    flip = np.where((np.arange(n) % 2 == 0)[:, None], [0.0, 0.4, 0.6], [0.6, 0.4, 0.0])
    p = np.stack([steady, flip], axis=1)
    seg = np.zeros(n, dtype=np.int64)
    costly = sharpe_weights(p, mid, seg, h, half_life=50, cost=2.0)
    assert costly[-1, 0] > 0.9  # flipping costs 2 per unit change: its Sharpe is far below
    # a horizon that crosses a segment is not a realised return: one segment per row = nothing learnt
    np.testing.assert_allclose(sharpe_weights(p, mid, np.arange(n), h, half_life=50, cost=2.0), 0.5)
    with pytest.raises(EnsembleError):
        sharpe_weights(p, mid[:-1], seg, h)


def test_regime_weights_favour_each_regimes_better_member_and_mix_by_regime_probability() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    y = rng.integers(0, 3, size=n).astype(np.float64)
    regime = (np.arange(n) // 500) % 2  # alternating blocks: member 0 is good in regime 0, member 1 in 1
    good = np.eye(3)[y.astype(np.int64)] * 0.7 + 0.1
    blind = np.full((n, 3), 1 / 3)
    p = np.stack([np.where(regime[:, None] == 0, good, blind), np.where(regime[:, None] == 1, good, blind)], axis=1)
    pi = np.eye(2)[regime] * 0.9 + 0.05  # a filter's soft regime probabilities
    w = fit_regime_weights(p, y, pi, eta=2.0, prior_rows=50)
    assert w.shape == (2, 2) and np.allclose(w.sum(axis=1), 1.0)
    assert w[0, 0] > 0.7 and w[1, 1] > 0.7
    # serving mixes the regime weight vectors by each row's regime probabilities
    rows = regime_row_weights(pi, w)
    np.testing.assert_allclose(rows, pi @ w / pi.sum(axis=1, keepdims=True))
    vote = regime_vote(p, pi, w)
    np.testing.assert_allclose(vote.sum(axis=1), 1.0)
    y_idx = y.astype(np.int64)
    ll = -np.log(vote[np.arange(n), y_idx]).mean()
    ll_equal = -np.log(soft_vote(p)[np.arange(n), y_idx]).mean()
    assert ll < ll_equal - 0.05  # regime weights beat one global (equal) weight vector here
    # row t's vote uses row t's regime probabilities and member predictions only
    pi2, p2 = pi.copy(), p.copy()
    pi2[2000:], p2[2000:] = pi2[2000:, ::-1], p2[2000:, ::-1]
    np.testing.assert_array_equal(regime_vote(p2, pi2, w)[:2000], vote[:2000])
    # a regime never seen keeps the global weights (the shrinkage prior), not NaN
    w3 = fit_regime_weights(p, y, np.c_[pi, np.zeros(n)], eta=2.0, prior_rows=50)
    overall = -np.log(p[np.arange(n), :, y_idx]).mean(axis=0)
    np.testing.assert_allclose(
        w3[2], np.exp(-2.0 * (overall - overall.min())) / np.exp(-2.0 * (overall - overall.min())).sum()
    )
    with pytest.raises(EnsembleError):
        fit_regime_weights(p, y, pi[:-1])
