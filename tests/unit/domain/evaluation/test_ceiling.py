"""The ceiling set by true class probabilities: prior log-loss, information captured, the Bayes
decision rule for macro-F1 and the cost-aware expected-move policy, on labels drawn from known
probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghtrader.domain.evaluation import (
    CostModel,
    ExpectedMovePolicy,
    MoveCurve,
    class_frequencies,
    class_mean_moves,
    fit_decision_rule,
    fit_expected_move_policy,
    fit_move_curve,
    independent_trade_net,
    information_captured,
    log_loss,
    macro_f1,
    macro_f1_of_classes,
    prior_log_loss,
    round_trip_cost,
)
from ghtrader.domain.evaluation._kernels import weighted_argmax_f1_grid


def _probs(n: int, rng: np.random.Generator, scale: float = 1.5, flat_bias: float = 0.0) -> np.ndarray:
    logits = rng.normal(0.0, scale, size=(n, 3))
    logits[:, 1] += flat_bias
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _draw(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(p.shape[0])[:, None]
    return (u > np.cumsum(p, axis=1)).sum(axis=1).clip(0, 2).astype(np.float64)


def test_prior_log_loss_is_the_smoothed_training_frequencies() -> None:
    train = np.array([0, 1, 1, 1, 2, 2, np.nan])
    freq = class_frequencies(train)
    np.testing.assert_allclose(freq, np.array([2, 4, 3]) / 9)
    labels = np.array([0.0, 1.0, 2.0, 1.0])
    expected = -np.mean(np.log(freq[[0, 1, 2, 1]]))
    assert prior_log_loss(train, labels) == pytest.approx(expected)
    # a class never seen in training still gets a finite log-loss
    assert math.isfinite(prior_log_loss(np.array([1.0, 1.0]), np.array([0.0])))


def test_information_captured_formula_and_undefined_cases() -> None:
    assert information_captured(1.0, 0.8, 0.6) == pytest.approx(0.5)
    assert information_captured(1.0, 1.1, 0.6) == pytest.approx(-0.25)
    assert math.isnan(information_captured(1.0, 0.8, 1.0))
    assert math.isnan(information_captured(1.0, 0.8, 1.2))
    assert math.isnan(information_captured(math.nan, 0.8, 0.6))


def test_true_probabilities_capture_everything_and_base_rates_nothing() -> None:
    rng = np.random.default_rng(7)
    n = 60_000
    p = _probs(n, rng)
    train_labels = _draw(p, rng)
    y = _draw(p, rng)  # evaluated labels
    ll_bayes = log_loss(y, p)
    ll_prior = prior_log_loss(train_labels, y)
    # the oracle's log-loss measured on an independent draw: a model with the true probabilities
    ll_truth_elsewhere = log_loss(_draw(p, rng), p)
    info_truth = information_captured(ll_prior, ll_truth_elsewhere, ll_bayes)
    # sampling error of a mean log-loss difference over n rows: ~ sd(log p) * sqrt(2 / n)
    se = np.std(np.log(p[np.arange(n), y.astype(int)])) * math.sqrt(2.0 / n) / (ll_prior - ll_bayes)
    assert abs(info_truth - 1.0) < 4 * se + 1e-3
    base = np.tile(class_frequencies(train_labels), (n, 1))
    assert abs(information_captured(ll_prior, log_loss(y, base), ll_bayes)) < 1e-9
    # half the signal: strictly between
    half = 0.5 * p + 0.5 * base
    info_half = information_captured(ll_prior, log_loss(y, half), ll_bayes)
    assert 0.3 < info_half < 0.95


def test_the_grid_kernel_scores_macro_f1_as_the_shared_definition() -> None:
    rng = np.random.default_rng(3)
    p = _probs(2_000, rng, flat_bias=1.0)
    y = _draw(p, rng).astype(np.int64)
    grid = np.array([0.5, 1.0, 3.0])
    f1 = weighted_argmax_f1_grid(p, y, grid, grid)
    for i, wd in enumerate(grid):
        for j, wu in enumerate(grid):
            pred = (p * np.array([wd, 1.0, wu])).argmax(axis=1)
            assert f1[i, j] == pytest.approx(macro_f1_of_classes(y.astype(float), pred.astype(float)))
    # a class absent from the labels scores 0, as in the shared definition
    y_no_up = np.where(y == 2, 1, y)
    got = weighted_argmax_f1_grid(p, y_no_up, np.array([1.0]), np.array([1.0]))[0, 0]
    assert got == pytest.approx(macro_f1(y_no_up.astype(float), p))


def test_decision_rule_beats_argmax_on_imbalanced_classes() -> None:
    rng = np.random.default_rng(11)
    p_train = _probs(40_000, rng, scale=1.0, flat_bias=2.0)
    p_test = _probs(40_000, rng, scale=1.0, flat_bias=2.0)
    y_train, y_test = _draw(p_train, rng), _draw(p_test, rng)
    assert np.mean(y_train == 1) > 0.6
    rule = fit_decision_rule(p_train, y_train)
    assert rule.weights[0] > 1.0 and rule.weights[2] > 1.0 and rule.weights[1] == 1.0
    argmax_f1 = macro_f1(y_test, p_test)
    rule_f1 = macro_f1_of_classes(y_test, rule.apply(p_test))
    assert rule_f1 > argmax_f1 + 0.03
    assert rule.train_macro_f1 == pytest.approx(macro_f1_of_classes(y_train, rule.apply(p_train)))
    # NaN probabilities give NaN classes; balanced classes keep argmax
    with_nan = p_test[:3].copy()
    with_nan[1, 0] = np.nan
    assert np.isnan(rule.apply(with_nan)[1]) and not np.isnan(rule.apply(with_nan)[0])
    assert math.isnan(fit_decision_rule(np.full((2, 3), np.nan), np.array([0.0, 1.0])).train_macro_f1)


def _moves(y: np.ndarray, rng: np.random.Generator, tick: float) -> np.ndarray:
    return (y - 1.0) * 2.0 * tick + rng.normal(0.0, 0.3 * tick, y.shape[0])


def test_class_mean_moves() -> None:
    y = np.array([0.0, 0.0, 1.0, 2.0, np.nan])
    d = np.array([-2.0, -4.0, 0.5, 3.0, 9.0])
    np.testing.assert_allclose(class_mean_moves(y, d), [-3.0, 0.5, 3.0])
    np.testing.assert_allclose(class_mean_moves(np.array([1.0]), np.array([1.0])), [0.0, 1.0, 0.0])


def test_move_curve_is_monotone_and_reads_moves_beyond_the_class_means() -> None:
    rng = np.random.default_rng(3)
    n = 40_000
    s = rng.uniform(-1.0, 1.0, n)
    # the realized move grows faster than linearly with the edge, plus noise and a kink
    d = 5.0 * s**3 + rng.normal(0.0, 1.0, n)
    p = np.column_stack([(1 - s) / 2 * 0.9, np.full(n, 0.1), (1 + s) / 2 * 0.9])
    curve = fit_move_curve(p, d)
    assert len(curve.edges) > 20
    assert np.all(np.diff(curve.moves) >= 0) and np.all(np.diff(curve.edges) > 0)
    grid = np.linspace(-0.9, 0.9, 19)
    probe = np.column_stack([(1 - grid) / 2 * 0.9, np.full(19, 0.1), (1 + grid) / 2 * 0.9])
    np.testing.assert_allclose(curve(probe), 5.0 * grid**3, atol=0.25)
    # a sharp forecast expects more than the UP class's average move
    up = d[s > 0].mean()
    assert curve(probe[-1:])[0] > 1.5 * up
    assert np.isnan(curve(np.array([[np.nan, 0.5, 0.5]])))[0]
    assert fit_move_curve(np.full((2, 3), np.nan), np.array([1.0, 2.0])).edges == ()
    # a decreasing relation is pooled flat, never inverted
    flat = fit_move_curve(p, -d)
    assert np.ptp(flat.moves) == pytest.approx(0.0, abs=1e-9)


def test_isotonic_blocks_pool_violators_to_weighted_means() -> None:
    from ghtrader.domain.evaluation._kernels import isotonic_blocks

    x = np.arange(6, dtype=np.float64)
    y = np.array([1.0, 3.0, 2.0, 2.0, 0.0, 5.0])
    centres, fitted, counts = isotonic_blocks(x, y)
    # 3, 2, 2, 0 pool to their mean 7 / 4; the 1 before it and the 5 after stay
    np.testing.assert_allclose(fitted, [1.0, 1.75, 5.0])
    np.testing.assert_allclose(centres, [0.0, 2.5, 5.0])
    np.testing.assert_allclose(counts, [1, 4, 1])
    # against brute force: no monotone step function of these blocks fits better
    rng = np.random.default_rng(1)
    yy = rng.normal(size=200).cumsum() * 0.1 + rng.normal(size=200)
    c, f, n = isotonic_blocks(np.arange(200.0), yy)
    full = np.repeat(f, n.astype(np.int64))
    assert np.all(np.diff(f) > 0) and full.shape == yy.shape
    assert np.sum((full - yy) ** 2) <= np.sum((np.maximum.accumulate(yy) - yy) ** 2) + 1e-9


def test_policy_never_trades_when_costs_exceed_every_edge() -> None:
    rng = np.random.default_rng(5)
    tick, n = 10.0, 20_000
    p = _probs(n, rng, scale=0.3)  # weak edges: |E| well under a tick
    y = _draw(p, rng)
    d = _moves(y, rng, tick)
    mid = np.full(n, 70_000.0)
    spread = np.full(n, 5 * tick)  # a wide spread: 50 per round trip against moves of ~20
    cost = round_trip_cost(CostModel(), mid, spread, tick)
    assert cost[0] == pytest.approx(1e-4 * 70_000 + 50)
    policy = fit_expected_move_policy(p, d, cost, multiplier=5.0)
    assert not policy.trades and policy.fit_trades == 0 and math.isinf(policy.threshold)
    assert not policy.positions(p).any()
    assert policy.to_dict()["threshold"] is None


def test_policy_trades_and_wins_when_the_edge_is_large() -> None:
    rng = np.random.default_rng(6)
    tick, n = 10.0, 20_000
    p_fit, p_new = _probs(n, rng, scale=3.0), _probs(n, rng, scale=3.0)
    y_fit, y_new = _draw(p_fit, rng), _draw(p_new, rng)
    d_fit, d_new = _moves(y_fit, rng, tick), _moves(y_new, rng, tick)
    cost = round_trip_cost(CostModel(), np.full(n, 70_000.0), np.full(n, tick), tick)
    policy = fit_expected_move_policy(p_fit, d_fit, cost, multiplier=5.0)
    assert policy.trades and policy.threshold >= policy.mean_cost > 0 and policy.fit_net_pnl > 0
    pos = policy.positions(p_new)
    e = policy.expected_move(p_new)
    assert np.all(np.abs(e[pos != 0]) > policy.threshold)
    assert np.all(np.sign(e[pos != 0]) == pos[pos != 0])
    net = independent_trade_net(pos, d_new, cost, 5.0)
    assert net.shape[0] == int((pos != 0).sum()) > 1_000
    assert net.mean() > 0
    # the chosen threshold is the best of the grid on the fitting rows
    fit_pos = policy.positions(p_fit)
    assert independent_trade_net(fit_pos, d_fit, cost, 5.0).sum() == pytest.approx(policy.fit_net_pnl)


# --- the per-tick scalar path equals the batch one -------------------------------------------------
_edge = st.floats(-1.0, 1.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    centres=st.lists(_edge, min_size=0, max_size=12, unique=True),
    steps=st.lists(st.floats(0.0, 50.0, allow_nan=False), min_size=12, max_size=12),
    start=st.floats(-30.0, 30.0, allow_nan=False),
    threshold=st.one_of(st.just(math.inf), st.floats(0.0, 20.0, allow_nan=False)),
    rows=st.lists(
        st.tuples(st.one_of(st.floats(0.0, 1.0), st.just(math.nan)), st.one_of(st.floats(0.0, 1.0), st.just(math.nan))),
        min_size=1,
        max_size=40,
    ),
)
def test_policy_position_equals_positions(
    centres: list[float], steps: list[float], start: float, threshold: float, rows: list[tuple[float, float]]
) -> None:
    """``ExpectedMovePolicy.position`` (one row, no arrays) gives the batch ``positions`` of every
    row, and ``MoveCurve.at`` np.interp's value bit for bit, on edges at, between and beyond the
    curve's points (and NaN)."""
    xs = sorted(centres)
    ys = list(np.cumsum([start, *steps])[: len(xs)])
    curve = MoveCurve(tuple(xs), tuple(float(y) for y in ys))
    policy = ExpectedMovePolicy(curve, threshold, 1.0, 0.0, 0, 0)
    edges = [up - down for down, up in rows] + xs + [x + 1e-12 for x in xs] + [-2.0, 2.0]
    probe = np.array([[max(-e, 0.0), 0.0, max(e, 0.0)] if e == e else [math.nan, 0.0, math.nan] for e in edges])
    batch = curve(probe)
    for i, e in enumerate(edges):
        one = curve.at(float(probe[i, 2] - probe[i, 0]))
        assert (one == batch[i]) or (math.isnan(one) and math.isnan(batch[i])), (e, one, batch[i])
    probs = np.array([[d, 0.0, u] for d, u in rows])
    want = policy.positions(probs)
    got = [policy.position(d, u) for d, u in rows]
    assert got == want.tolist()
