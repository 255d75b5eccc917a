"""Classification and calibration metrics against hand computations and independent formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghtrader.domain.evaluation import (
    EvaluationError,
    accuracy,
    brier_score,
    calibration_bins,
    classification_metrics,
    confusion_matrix,
    expected_calibration_error,
    log_loss,
    macro_f1,
    macro_f1_of_classes,
    maximum_calibration_error,
    per_class_scores,
)

# Six rows; argmax predictions are 0, 1, 2, 2, 0, 1 against labels 0, 1, 2, 0, 2, 2.
Y = np.array([0.0, 1.0, 2.0, 0.0, 2.0, 2.0])
P = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.1, 0.6, 0.3],
        [0.2, 0.2, 0.6],
        [0.3, 0.1, 0.6],
        [0.5, 0.1, 0.4],
        [0.2, 0.45, 0.35],
    ]
)


def test_confusion_and_accuracy_by_hand() -> None:
    cm = confusion_matrix(Y, P)
    # true 0 -> pred 0 (row 0), pred 2 (row 3); true 1 -> pred 1; true 2 -> pred 2, 0, 1
    assert cm.tolist() == [[1, 0, 1], [0, 1, 0], [1, 1, 1]]
    assert accuracy(Y, P) == pytest.approx(3 / 6)


def test_precision_recall_f1_match_a_per_class_count_loop() -> None:
    precision, recall, f1 = per_class_scores(Y, P)
    pred = [int(np.argmax(row)) for row in P]
    truth = [int(v) for v in Y]
    for k in range(3):
        tp = sum(1 for t, q in zip(truth, pred, strict=True) if t == k and q == k)
        fp = sum(1 for t, q in zip(truth, pred, strict=True) if t != k and q == k)
        fn = sum(1 for t, q in zip(truth, pred, strict=True) if t == k and q != k)
        p_k = tp / (tp + fp) if tp + fp else 0.0
        r_k = tp / (tp + fn) if tp + fn else 0.0
        # F1 as 2 TP / (2 TP + FP + FN), an equivalent of the harmonic mean
        f_k = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        assert precision[k] == pytest.approx(p_k)
        assert recall[k] == pytest.approx(r_k)
        assert f1[k] == pytest.approx(f_k)
    # by hand: DOWN p=1/2 r=1/2 f=1/2; FLAT p=1/2 r=1 f=2/3; UP p=1/2 r=1/3 f=2/5
    assert macro_f1(Y, P) == pytest.approx((1 / 2 + 2 / 3 + 2 / 5) / 3)


def test_macro_f1_counts_a_class_never_seen_nor_predicted_as_zero() -> None:
    y = np.array([0.0, 0.0, 2.0, 2.0])
    p = np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8]])
    # DOWN: tp 1, fn 1 -> f1 2/3; UP: tp 2, fp 1 -> f1 4/5; FLAT absent from both: f1 0, still averaged
    assert macro_f1(y, p) == pytest.approx((2 / 3 + 4 / 5 + 0.0) / 3)
    m = classification_metrics(y, p)
    assert m.f1.tolist() == pytest.approx([2 / 3, 0.0, 4 / 5])
    assert m.classes_absent == ("FLAT",) and m.to_dict()["classes_absent"] == ["FLAT"]


def test_macro_f1_when_up_never_occurs_but_is_predicted() -> None:
    # labels 0 0 1 1 1, predictions 0 2 1 1 2: UP has 2 false positives and nothing to find
    y = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    p = np.eye(3)[[0, 2, 1, 1, 2]]
    # DOWN: tp 1 fn 1 -> 2/3; FLAT: tp 2 fn 1 -> 4/5; UP: tp 0 -> 0
    assert macro_f1(y, p) == pytest.approx((2 / 3 + 4 / 5 + 0.0) / 3)
    assert classification_metrics(y, p).classes_absent == ("UP",)


def test_a_perfect_predictor_on_a_fold_without_up_is_capped_at_two_thirds() -> None:
    y = np.array([0.0, 1.0, 1.0, 0.0])
    assert macro_f1(y, np.eye(3)[y.astype(int)]) == pytest.approx(2 / 3)


def test_one_stray_prediction_moves_macro_f1_by_little() -> None:
    # 200 rows without UP, predicted perfectly; one row then predicted UP by mistake
    y = np.repeat([0.0, 1.0], 100)
    p = np.eye(3)[y.astype(int)]
    stray = p.copy()
    stray[0] = [0.0, 0.0, 1.0]
    before, after = macro_f1(y, p), macro_f1(y, stray)
    assert before == pytest.approx(2 / 3)
    assert 0 < before - after < 0.01  # not the 1/3 jump of averaging over the classes present


def _reference_macro_f1(truth: list[int], pred: list[int]) -> float:
    scores = []
    for k in range(3):
        tp = sum(1 for t, q in zip(truth, pred, strict=True) if t == k and q == k)
        fp = sum(1 for t, q in zip(truth, pred, strict=True) if t != k and q == k)
        fn = sum(1 for t, q in zip(truth, pred, strict=True) if t == k and q != k)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / 3


@pytest.mark.parametrize("seed", range(6))
def test_macro_f1_matches_a_reference_loop_on_random_folds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for n in (1, 2, 7, 50, 400):
        # skewed class mixes so some folds miss a class in labels, predictions or both
        y = rng.choice(3, n, p=rng.dirichlet([0.3, 0.3, 0.3])).astype(float)
        p = rng.dirichlet([0.2, 0.2, 0.2], n)
        pred = p.argmax(axis=1)
        ref = _reference_macro_f1(y.astype(int).tolist(), pred.tolist())
        assert macro_f1(y, p) == pytest.approx(ref, abs=1e-12)
        assert macro_f1_of_classes(y, pred) == pytest.approx(ref, abs=1e-12)
        assert classification_metrics(y, p).macro_f1 == pytest.approx(ref, abs=1e-12)


def test_macro_f1_of_classes_drops_nan_and_rejects_other_codes() -> None:
    y = np.array([0.0, 1.0, np.nan, 2.0])
    q = np.array([0.0, 1.0, 2.0, np.nan])
    assert macro_f1_of_classes(y, q) == pytest.approx(2 / 3)
    assert math.isnan(macro_f1_of_classes(np.array([np.nan]), np.array([1.0])))
    with pytest.raises(EvaluationError):
        macro_f1_of_classes(np.array([0.0, 1.0]), np.array([0.0, 3.0]))


def test_log_loss_by_hand_with_clipping_and_renormalisation() -> None:
    expected = -(math.log(0.7) + math.log(0.6) + math.log(0.6) + math.log(0.3) + math.log(0.4) + math.log(0.35)) / 6
    assert log_loss(Y, P) == pytest.approx(expected, rel=1e-12)
    # a confident miss is clipped at eps, not infinite
    assert log_loss(np.array([0.0]), np.array([[0.0, 0.0, 1.0]]), eps=1e-6) == pytest.approx(-math.log(1e-6))
    # rows that do not sum to one are renormalised first
    assert log_loss(np.array([0.0]), np.array([[2.0, 1.0, 1.0]])) == pytest.approx(math.log(2.0))
    with pytest.raises(EvaluationError):
        log_loss(Y, P, eps=0.0)


def test_brier_matches_the_expanded_form() -> None:
    # sum_k (p_k - 1[y=k])^2 = 1 - 2 p_y + sum_k p_k^2
    expanded = np.mean([1 - 2 * P[i, int(Y[i])] + float(np.sum(P[i] ** 2)) for i in range(len(Y))])
    assert brier_score(Y, P) == pytest.approx(expanded, rel=1e-12)
    assert brier_score(np.array([0.0]), np.array([[0.0, 0.0, 1.0]])) == pytest.approx(2.0)


def test_ece_and_mce_by_hand_and_by_a_bin_loop() -> None:
    # 2 bins: (0, 0.5] holds confidences 0.45, 0.5 (rows 4: conf 0.5, 5: conf 0.45); (0.5, 1] the rest
    bins = calibration_bins(Y, P, n_bins=2)
    assert bins.count.tolist() == [2, 4]
    conf_hi = np.mean([0.7, 0.6, 0.6, 0.6])
    acc_hi = 3 / 4  # rows 0, 1, 2 right, row 3 wrong
    conf_lo = np.mean([0.5, 0.45])
    acc_lo = 0.0
    assert bins.mean_confidence[1] == pytest.approx(conf_hi)
    assert bins.accuracy[0] == pytest.approx(acc_lo)
    ece = (4 / 6) * abs(acc_hi - conf_hi) + (2 / 6) * abs(acc_lo - conf_lo)
    assert expected_calibration_error(Y, P, n_bins=2) == pytest.approx(ece)
    assert maximum_calibration_error(Y, P, n_bins=2) == pytest.approx(max(abs(acc_hi - conf_hi), abs(acc_lo - conf_lo)))

    rng = np.random.default_rng(3)
    p = rng.dirichlet([1.0, 1.0, 1.0], 500)
    y = rng.integers(0, 3, 500).astype(float)
    conf, right = p.max(axis=1), (p.argmax(axis=1) == y)
    total, worst = 0.0, 0.0
    for b in range(10):
        lo, hi = b / 10, (b + 1) / 10
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            gap = abs(right[sel].mean() - conf[sel].mean())
            total += sel.sum() / 500 * gap
            worst = max(worst, gap)
    assert expected_calibration_error(y, p, n_bins=10) == pytest.approx(total, rel=1e-12)
    assert maximum_calibration_error(y, p, n_bins=10) == pytest.approx(worst, rel=1e-12)


def test_perfect_predictor() -> None:
    y = np.array([0, 1, 2, 2, 1, 0], dtype=float)
    p = np.eye(3)[y.astype(int)]
    m = classification_metrics(y, p)
    assert m.accuracy == 1.0 and m.macro_f1 == 1.0
    assert m.brier == 0.0 and m.ece == 0.0 and m.mce == 0.0
    assert m.log_loss == pytest.approx(0.0, abs=1e-12)
    assert m.confusion.tolist() == np.diag([2, 2, 2]).tolist()


def test_uninformative_predictors() -> None:
    rng = np.random.default_rng(11)
    n = 30_000
    y = rng.integers(0, 3, n).astype(float)
    uniform = np.full((n, 3), 1 / 3)
    assert log_loss(y, uniform) == pytest.approx(math.log(3.0), rel=1e-9)
    assert brier_score(y, uniform) == pytest.approx(2 / 3, rel=1e-9)
    random_probs = rng.dirichlet([1.0, 1.0, 1.0], n)
    m = classification_metrics(y, random_probs)
    assert m.accuracy == pytest.approx(1 / 3, abs=0.015)
    assert m.macro_f1 == pytest.approx(1 / 3, abs=0.015)
    assert m.log_loss > math.log(3.0)  # worse than knowing nothing: confident and random


def test_a_calibrated_predictor_has_ece_near_zero_and_an_overconfident_one_does_not() -> None:
    rng = np.random.default_rng(5)
    n = 100_000
    p = rng.dirichlet([2.0, 2.0, 2.0], n)
    u = rng.random(n)
    y = (u[:, None] > np.cumsum(p, axis=1)).sum(axis=1).astype(float)  # y ~ Categorical(p)
    assert expected_calibration_error(y, p) < 0.01
    sharp = p**4 / np.sum(p**4, axis=1, keepdims=True)
    assert expected_calibration_error(y, sharp) > 0.05


def test_nan_rows_are_dropped_and_counted() -> None:
    y = np.append(Y, [np.nan, 1.0])
    p = np.vstack([P, [0.2, 0.3, 0.5], [np.nan, 0.5, 0.5]])
    m = classification_metrics(y, p)
    clean = classification_metrics(Y, P)
    assert (m.n, m.n_dropped) == (6, 2)
    assert m.accuracy == clean.accuracy and m.log_loss == clean.log_loss and m.ece == clean.ece
    empty = classification_metrics(np.array([np.nan]), np.array([[0.2, 0.3, 0.5]]))
    assert empty.n == 0 and math.isnan(empty.accuracy) and math.isnan(empty.log_loss) and math.isnan(empty.ece)
    d = m.to_dict()
    assert d["per_class"]["FLAT"]["support"] == 1 and d["n_dropped"] == 2


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(EvaluationError):
        accuracy(np.array([3.0]), np.array([[0.2, 0.3, 0.5]]))
    with pytest.raises(EvaluationError):
        accuracy(np.array([0.0, 1.0]), np.array([[0.2, 0.3, 0.5]]))
    with pytest.raises(EvaluationError):
        accuracy(np.array([0.0]), np.array([[0.5, 0.5]]))
    with pytest.raises(EvaluationError):
        calibration_bins(Y, P, n_bins=0)
