"""Scoring queue-model fill predictions against the order-level truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghtrader.domain.evaluation._checks import EvaluationError
from ghtrader.domain.evaluation.queue_accuracy import fill_auc, score_queue_model


def test_auc_by_hand_with_ties():
    filled = np.array([True, False, True, False])
    # pairs (pos, neg): (0.9,0.1) win, (0.9,0.5) win, (0.5,0.1) win, (0.5,0.5) tie -> 3.5 / 4
    assert fill_auc(filled, np.array([0.9, 0.1, 0.5, 0.5])) == pytest.approx(0.875)
    assert fill_auc(filled, np.array([0.0, 1.0, 0.0, 1.0])) == 0.0
    assert math.isnan(fill_auc(np.array([True, True]), np.array([0.2, 0.3])))


def test_auc_matches_pairwise_count():
    rng = np.random.default_rng(0)
    y = rng.random(200) < 0.4
    s = np.round(rng.random(200), 1)  # many ties
    pos, neg = s[y], s[~y]
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert fill_auc(y, s) == pytest.approx(pairs / (pos.size * neg.size))


def test_scores_by_distance_bucket():
    true_t = np.array([12.0, np.nan, 20.0, np.nan, 15.0])
    t0 = np.array([10.0, 10.0, 10.0, 10.0, 10.0])
    dist = np.array([0, 0, 1, 5, -1])  # -1: inside the spread, joins bucket 0
    prob = np.array([0.8, 0.2, 0.6, 0.0, 1.0])
    pred_t = np.array([13.0, np.nan, np.nan, np.nan, 15.0])
    scores = {s.distance: s for s in score_queue_model(true_t, t0, dist, prob, pred_t, max_distance=2)}
    assert list(scores) == ["0", "1", "2+", "all"]
    b0 = scores["0"]
    assert b0.n == 3 and b0.true_fill_rate == pytest.approx(2 / 3)
    assert b0.mean_predicted == pytest.approx(2 / 3) and b0.fill_rate_bias == pytest.approx(0.0)  # (0.8+0.2+1)/3 - 2/3
    assert b0.auc == 1.0
    assert b0.brier == pytest.approx((0.2**2 + 0.2**2 + 0.0) / 3)
    assert b0.ttf_mae_s == pytest.approx(0.5) and b0.n_ttf == 2  # |3-2| and |5-5|
    assert math.isnan(scores["1"].auc) and math.isnan(scores["1"].ttf_mae_s)
    assert scores["2+"].n == 1 and scores["2+"].brier == 0.0
    assert scores["all"].n == 5 and scores["all"].to_dict()["distance"] == "all"


def test_rejects_bad_inputs():
    with pytest.raises(EvaluationError):
        score_queue_model([1.0], [0.0], [0], [1.5], [1.0])
    with pytest.raises(EvaluationError):
        score_queue_model([1.0, 2.0], [0.0], [0], [0.5], [1.0])


def test_rank_score_drives_the_auc_and_not_the_brier():
    true_t = np.array([1.0, np.nan, 2.0, np.nan])
    t0 = np.zeros(4)
    prob = np.array([1.0, 1.0, 0.0, 0.0])  # 0/1 prediction: half right
    rank = np.array([0.9, 0.1, 0.8, 0.2])  # ranks both fills above both no-fills
    by_prob = score_queue_model(true_t, t0, np.zeros(4), prob, true_t, max_distance=1)[-1]
    by_rank = score_queue_model(true_t, t0, np.zeros(4), prob, true_t, max_distance=1, rank_score=rank)[-1]
    assert by_prob.auc == pytest.approx(0.5) and by_rank.auc == 1.0
    assert by_prob.brier == by_rank.brier == pytest.approx(0.5)
