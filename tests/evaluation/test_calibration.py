"""The expected calibration error (a metric of every run with class probabilities, with its
interval), the reliability curves of multiclass runs, and which protocol sums a run up."""

import numpy as np
import pandas as pd
import pytest

from bmelearn.evaluation.curves import calibration, roc_pr_bands
from bmelearn.evaluation.evaluate import score_rows
from bmelearn.evaluation.metrics import calibration_error, metric_replicates
from bmelearn.evaluation.protocols import headline_protocol, protocol_title
from bmelearn.evaluation.summaries import reliability_curves


def test_expected_calibration_error_by_hand():
    # predicted class at 0.95 four times (3 right), at 0.55 twice (both right), at 0.35 (wrong)
    classes = ["a", "b", "c"]
    y_pred = np.array(["a", "a", "a", "a", "b", "b", "c"])
    y_true = np.array(["a", "a", "a", "b", "b", "b", "a"])
    scores = np.array([[0.95, 0.03, 0.02]] * 4 + [[0.25, 0.55, 0.2]] * 2 + [[0.33, 0.32, 0.35]])
    got = metric_replicates(y_true, y_pred, classes, np.ones((1, 7)), scores)[("ece", "")][0]
    # bins [0.9, 1): |0.75 − 0.95|, 4 windows; [0.5, 0.6): |1 − 0.55|, 2; [0.3, 0.4): |0 − 0.35|, 1
    assert got == pytest.approx((4 * 0.2 + 2 * 0.45 + 1 * 0.35) / 7)
    assert metric_replicates(y_true, y_pred, classes, np.ones((1, 7))).get(("ece", "")) is None  # no probabilities


def test_expected_calibration_error_of_every_bootstrap_replicate_is_that_of_the_resampled_windows():
    rng = np.random.default_rng(0)
    probability, hit = rng.random(200), rng.random(200) < 0.6
    weights = rng.integers(0, 3, (5, 200)).astype(float)
    got = calibration_error(probability, hit, weights)
    for b, w in enumerate(weights):
        resampled = np.repeat(np.arange(200), w.astype(int))
        bins = np.minimum((probability[resampled] * 10).astype(int), 9)
        expected = sum(abs(np.sum(hit[resampled][bins == k] - probability[resampled][bins == k])) for k in range(10))
        assert got[b] == pytest.approx(expected / len(resampled))


def test_the_calibration_error_of_a_subject_has_an_interval():
    rng = np.random.default_rng(1)
    classes = ["a", "b"]
    y_true = rng.choice(classes, 120)
    p_a = np.clip(np.where(y_true == "a", 0.9, 0.3) + rng.normal(0, 0.05, 120), 0, 1)  # overconfident
    rows = {(m, c): (v, lo, hi) for m, c, v, lo, hi in score_rows(
        y_true, np.where(p_a > 0.5, "a", "b"), np.column_stack([p_a, 1 - p_a]), np.arange(120) // 6,
        np.zeros(120), classes, 200, 0.95, rng)}
    value, low, high = rows[("ece", "")]
    assert 0 < low < value < high < 1


def _predictions():
    """Out-of-fold predictions of three classes: lda with probabilities, svm without (NaN)."""
    lda = pd.DataFrame({"pipeline": "lda", "protocol": "loso", "true": ["a", "b", "c", "a"],
                        "predicted": ["a", "b", "a", "a"], "p:a": [0.9, 0.1, 0.8, 0.6], "p:b": [0.05, 0.7, 0.1, 0.3],
                        "p:c": [0.05, 0.2, 0.1, 0.1]})
    svm = lda.assign(pipeline="svm", **{"p:a": np.nan, "p:b": np.nan, "p:c": np.nan})
    return pd.concat([lda, svm], ignore_index=True)


def test_multiclass_reliability_curves_of_the_predicted_class_leave_out_models_without_probabilities():
    curve, errors = calibration(_predictions(), ["a", "b", "c"], None)
    assert set(curve["pipeline"]) == set(errors["pipeline"]) == {"lda"}
    # the predicted class's probability: 0.9 (right), 0.7 (right), 0.8 (wrong), 0.6 (right)
    assert curve[["predicted", "observed", "n"]].to_numpy().tolist() == [[0.6, 1, 1], [0.7, 1, 1], [0.8, 0, 1],
                                                                          [0.9, 1, 1]]
    assert errors["ece"].iloc[0] == pytest.approx((0.4 + 0.3 + 0.8 + 0.1) / 4)
    table = reliability_curves(_predictions(), ["a", "b", "c"], None)
    assert (table["ece"] == errors["ece"].iloc[0]).all()
    assert reliability_curves(_predictions().drop(columns=["p:a", "p:b", "p:c"]), ["a", "b", "c"], None) is None


def test_binary_curves_leave_out_a_model_without_probabilities():
    binary = _predictions().query("true != 'c'").assign(subject="1", trial=["t1", "t2", "t3"] * 2)
    assert set(roc_pr_bands(binary, "b", 20, 0.9)["pipeline"]) == {"lda", "treat all"}  # svm's NaN scores once stopped the run
    assert set(calibration(binary, ["a", "b", "c"], "b")[1]["pipeline"]) == {"lda"}


@pytest.mark.parametrize("names, primary, expected", [
    (["within_session", "cross_session", "loso"], None, "loso"),
    (["within_session", "loso"], None, "loso"),
    (["within_session", "cross_session"], None, "cross_session"),
    (["subject_kfold", "loso"], None, "subject_kfold"),  # equally hard: the first configured
    (["my_splitter", "within_session"], None, "within_session"),  # one bmelearn does not know counts as the easiest
    (["within_session", "loso"], "within_session", "within_session"),  # evaluation.primary
    (["within_session", "loso"], "cross_session", "loso"),  # a primary the run lacks: the hardest
    ([], None, None),
])
def test_a_run_is_summed_up_by_its_primary_protocol_else_its_hardest(names, primary, expected):
    assert headline_protocol(names, primary) == expected


def test_a_protocol_is_named_with_the_question_it_answers():
    assert protocol_title("loso") == "Leave-one-subject-out: a new patient"
    assert protocol_title("cross_session") == "Cross-session: another day"
    assert protocol_title("within_session") == "Within-session: the same session"
    assert protocol_title("my_splitter") == "my_splitter"


def test_net_benefit_by_hand_and_against_its_definition():
    """Ten cases, three positive. Acting at a 25 % threshold acts on the six scored 0.3 or more:
    3 true and 3 false positives, net benefit 3/10 - 3/10 * (0.25/0.75) = 0.2; at 20 % (a score
    exactly at the threshold counts): 3 and 5, 0.3 - 0.5/4 = 0.175; at 50 %: 2 and 2, 0. Treat
    all at 25 %: 0.3 - 0.7/3. A weight counts a case that many times."""
    from bmelearn.evaluation.curves import net_benefit

    truth = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.2, 0.1, 0.05])
    thresholds = np.array([0.2, 0.25, 0.5])
    benefit, treat_all = net_benefit(truth, score, thresholds=thresholds)
    np.testing.assert_allclose(benefit, [0.175, 0.2, 0.0])
    assert treat_all[1] == pytest.approx(0.3 - 0.7 / 3)
    weight = np.arange(1, 11, dtype=float)
    weighted, _ = net_benefit(truth, score, weight, thresholds)
    repeated, _ = net_benefit(np.repeat(truth, weight.astype(int)), np.repeat(score, weight.astype(int)), thresholds=thresholds)
    np.testing.assert_allclose(weighted, repeated)
    rng = np.random.default_rng(0)  # the definition, threshold by threshold, on 500 random cases
    truth, score = rng.random(500) < 0.3, rng.random(500)
    benefit, _ = net_benefit(truth, score)
    from bmelearn.evaluation.curves import THRESHOLDS

    acted = score[None, :] >= THRESHOLDS[:, None]
    expected = (acted & truth).sum(1) / 500 - (acted & ~truth).sum(1) / 500 * THRESHOLDS / (1 - THRESHOLDS)
    np.testing.assert_allclose(benefit, expected, atol=1e-12)


def test_calibration_intercept_and_slope_recover_a_known_miscalibration():
    """Outcomes drawn from known probabilities: predicting them gives intercept 0 and slope 1;
    log-odds doubled (too extreme) give a slope of 1/2; log-odds lowered by 1 (too low) give an
    intercept of +1 and a slope of 1."""
    from scipy import special

    from bmelearn.evaluation.curves import calibration_line

    rng = np.random.default_rng(0)
    log_odds = rng.normal(0, 1.5, 40_000)
    outcome = rng.random(40_000) < special.expit(log_odds)
    intercept, slope = calibration_line(special.expit(log_odds), outcome)
    assert abs(intercept) < 0.05 and slope == pytest.approx(1, abs=0.05)
    assert calibration_line(special.expit(2 * log_odds), outcome)[1] == pytest.approx(0.5, abs=0.03)
    intercept, slope = calibration_line(special.expit(log_odds - 1), outcome)
    assert intercept == pytest.approx(1, abs=0.05) and slope == pytest.approx(1, abs=0.05)
    assert np.isnan(calibration_line(np.full(5, 0.3), np.zeros(5))).all()
