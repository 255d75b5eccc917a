"""The queue-model study: L3 truth vs the micro-sim's queue models on the same orders."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghtrader.domain.evaluation.queue_study import StudyOrders, best_queue_model, score_study, study_day
from ghtrader.domain.market_sim.l3_book import BID, l3_preset, snapshot_truth
from ghtrader.domain.microsim import SimConfig, fee_table

HORIZON = 60.0


@pytest.fixture(scope="module")
def day() -> StudyOrders:
    return study_day(l3_preset("default"), 3, 2400, horizon_s=HORIZON)


def _with_model(o: StudyOrders, t: np.ndarray, kind: np.ndarray) -> StudyOrders:
    return StudyOrders(o.inject_t, o.distance, o.queue_ahead, o.true_t, o.true_kind, {"m": t}, {"m": kind}, o.horizon_s)


def _rows(o: StudyOrders) -> dict[tuple[str, str], object]:
    return {(r.kind, r.score.distance): r.score for r in score_study(o)}


def test_truth_lies_on_the_snapshot_grid_within_the_horizon(day: StudyOrders) -> None:
    slot = l3_preset("default").slot_s()
    filled = np.isfinite(day.true_t)
    ttf = day.true_t[filled] - day.inject_t[filled]
    assert 0.2 < filled.mean() < 0.9
    assert np.all(ttf > 0) and np.all(ttf <= HORIZON)
    assert np.allclose(ttf / slot, np.round(ttf / slot))
    assert set(np.unique(day.true_kind[filled])) <= {1, 2} and np.all(day.true_kind[~filled] == 0)
    assert set(np.unique(day.distance)) == {0, 1, 2}


def test_both_sides_start_from_the_displayed_queue() -> None:
    # the L3 truth's queue ahead is what the snapshot shows at the price, the micro-sim's start
    cfg = l3_preset("default")
    run, snap = snapshot_truth(cfg, 3, np.arange(400, dtype=np.int64) * 500_000_000)
    inj = run.injected
    for j in range(inj.size):
        side = "bid" if inj["side"][j] == BID else "ask"
        prices = np.array([run.ticks[f"{side}_price{lvl}"][snap[j]] for lvl in range(1, 6)])
        vols = np.array([run.ticks[f"{side}_volume{lvl}"][snap[j]] for lvl in range(1, 6)])
        shown = vols[prices == inj["price"][j]].sum()
        assert inj["queue_ahead"][j] == shown, j
    assert np.allclose(inj["t_s"], (snap + 1) * cfg.slot_s())


def test_each_model_predicts_on_the_grid_with_a_kind(day: StudyOrders) -> None:
    assert list(day.pred_t) == ["risk_averse", "prob_power", "prob_log"]
    for model, t in day.pred_t.items():
        hit = np.isfinite(t)
        assert np.array_equal(hit, day.pred_kind[model] > 0), model
        ttf = t[hit] - day.inject_t[hit]
        assert np.all(ttf > 0) and np.all(ttf <= HORIZON), model


def test_a_model_that_predicts_the_truth_scores_perfectly(day: StudyOrders) -> None:
    rows = _rows(_with_model(day, day.true_t, day.true_kind))
    for kind in ("any", "queue", "cross"):
        s = rows[(kind, "all")]
        assert s.brier == 0.0 and s.fill_rate_bias == 0.0, kind
        assert s.ttf_mae_s == 0.0 or (kind == "cross" and s.n_ttf == 0), kind
    assert rows[("any", "all")].auc == 1.0 and rows[("queue", "all")].auc == 1.0


def test_kinds_are_scored_apart() -> None:
    # right fill times, but order 0 is called a cross fill where the truth exhausted its queue
    base = StudyOrders(
        inject_t=np.zeros(4),
        distance=np.array([0, 0, 1, 1]),
        queue_ahead=np.array([5, 5, 9, 9]),
        true_t=np.array([10.0, 20.0, np.nan, 30.0]),
        true_kind=np.array([1, 2, 0, 1]),
        pred_t={},
        pred_kind={},
        horizon_s=HORIZON,
    )
    rows = _rows(_with_model(base, np.array([10.0, 20.0, np.nan, 31.0]), np.array([2, 2, 0, 1])))
    assert rows[("any", "all")].brier == 0.0 and rows[("any", "all")].auc == 1.0
    assert rows[("any", "all")].ttf_mae_s == pytest.approx(1 / 3)  # |31 - 30|, 0 and 0 over the 3 fills
    queue, cross = rows[("queue", "all")], rows[("cross", "all")]
    assert queue.brier == pytest.approx(0.25) and queue.fill_rate_bias == pytest.approx(-0.25)
    assert queue.n_ttf == 1 and queue.ttf_mae_s == pytest.approx(1.0)
    assert cross.brier == pytest.approx(0.25) and cross.fill_rate_bias == pytest.approx(0.25)
    assert cross.n_ttf == 1 and cross.ttf_mae_s == 0.0
    assert math.isnan(rows[("cross", "1")].auc)  # bucket 1 has no cross fill in the truth


def test_default_queue_model_is_the_one_the_study_supports(day: StudyOrders) -> None:
    default = SimConfig(tick=10.0, multiplier=5.0, fees=fee_table("cu")).queue_model
    assert default == "prob_log"
    assert best_queue_model(score_study(day)) == default
