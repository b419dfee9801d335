"""ROC AUC and average precision over bootstrap replicates (issue 18, "Intervals"): the compiled
pass along the scores sorted once gives exactly the numbers of the implementation it replaced
(tests/evaluation/reference_auc.py), on every replicate the bootstrap makes, and the point
estimate is scikit-learn's."""

import numpy as np
import pytest
from sklearn import metrics as skm

from bmelearn.evaluation import metrics
from bmelearn.evaluation.bootstrap import replicate_weights
from bmelearn.evaluation.evaluate import score_rows
from bmelearn.evaluation.metrics import _auc_and_ap, metric_replicates
from tests.evaluation.reference_auc import reference_auc_and_ap


def _participant(rng, n_classes, trials_per_class, windows_per_trial, decimals=None):
    """Labels, predictions, class probabilities and trial ids of one simulated participant; with
    ``decimals`` the probabilities are rounded, which makes many tied scores."""
    classes = [f"g{i}" for i in range(n_classes)]
    label = np.repeat(np.arange(n_classes), trials_per_class * windows_per_trial)
    trial = np.repeat(np.arange(n_classes * trials_per_class), windows_per_trial)
    logits = rng.normal(size=(len(label), n_classes)) + 1.5 * np.eye(n_classes)[label]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if decimals is not None:
        scores = scores.round(decimals)
    names = np.array(classes)
    return names[label], names[scores.argmax(axis=1)], scores, trial.astype(str), classes


def _reference(score, positive, weights, clusters=None):
    """The reference in place of ``_auc_and_ap``: it reads every window's weight, so it needs no clusters."""
    return reference_auc_and_ap(score, positive, weights)


def _codes(clusters):
    return np.unique(clusters, return_inverse=True)[1].ravel()


def _assert_same(score, positive, weights, clusters=None):
    want, got = reference_auc_and_ap(score, positive, weights), _auc_and_ap(score, positive, weights, clusters)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(g, w)  # bit for bit, NaN where the reference has NaN


@pytest.mark.parametrize("n_classes", [2, 11])
@pytest.mark.parametrize("decimals", [None, 2, 1])
@pytest.mark.parametrize("pooled", [False, True])
def test_every_bootstrap_replicate_equals_the_reference(n_classes, decimals, pooled):
    rng = np.random.default_rng(n_classes * 100 + (decimals or 0) * 10 + pooled)
    truth, _, scores, trial, classes = _participant(rng, n_classes, 3, 7, decimals)
    if pooled:  # resample "subjects" of two trials each, without strata: classes absent from some replicates
        clusters, strata = (trial.astype(int) // 2).astype(str), np.zeros(len(truth))
    else:  # trials within each class, then the jackknife: leaving out a class's trial
        clusters, strata = trial, truth
    weights = replicate_weights(clusters, strata, 200, rng)
    absent = 0
    for i, c in enumerate(classes):
        positive = truth == c
        absent += np.sum(weights[:, positive].sum(axis=1) == 0)
        _assert_same(scores[:, i], positive, weights)
        _assert_same(scores[:, i], positive, weights, _codes(clusters))  # one weight read per cluster
    assert not pooled or absent > 0  # the case of a class absent from a replicate did occur


def test_one_hot_votes_constant_scores_and_no_window_equal_the_reference():
    rng = np.random.default_rng(3)
    truth, _, scores, trial, classes = _participant(rng, 4, 4, 5)
    weights = replicate_weights(trial, truth, 100, rng)
    votes = (scores == scores.max(axis=1, keepdims=True)).astype(float)  # two levels, as ROCKET's 0/1 votes
    for i, c in enumerate(classes):
        _assert_same(votes[:, i], truth == c, weights)
        _assert_same(np.full(len(truth), 0.5), truth == c, weights)  # one level: AUC ½
    _assert_same(np.zeros(0), np.zeros(0, dtype=bool), np.ones((3, 0)))  # no window: NaN


def test_chunks_of_replicates_and_long_rows_equal_the_reference(monkeypatch):
    """Many small chunks of rows, and rows longer than NumPy's reduction buffer (8192 levels)."""
    rng = np.random.default_rng(4)
    n = 20_000
    score = rng.random(n).round(5)  # mostly distinct, some ties
    positive = rng.random(n) < 0.2
    weights = rng.multinomial(n, np.full(n, 1 / n), size=12).astype(np.float64)
    weights[3, positive] = 0.0  # no positive window in one replicate
    _assert_same(score, positive, weights)
    monkeypatch.setattr(metrics, "_AP_BUFFER_BYTES", 8 * n * 5)  # five rows at a time
    _assert_same(score, positive, weights)
    monkeypatch.setattr(metrics, "_AP_BUFFER_BYTES", 1)  # one row at a time
    _assert_same(score, positive, weights[:4])


def test_fractional_weights_agree_with_the_reference_to_rounding():
    rng = np.random.default_rng(5)
    score, positive = rng.random(500).round(2), rng.random(500) < 0.3
    weights = rng.random((20, 500))
    for w, g in zip(reference_auc_and_ap(score, positive, weights), _auc_and_ap(score, positive, weights), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=0)


def test_metrics_and_intervals_of_a_participant_are_unchanged(monkeypatch):
    """Everything a run writes to results.csv for one participant (value and BCa interval of every
    metric), with the new AUC and with the reference, from the same seed."""
    rng = np.random.default_rng(6)
    truth, predicted, scores, trial, classes = _participant(rng, 11, 4, 6, decimals=3)
    new = score_rows(truth, predicted, scores, trial, truth, classes, 300, 0.95, np.random.default_rng(7))
    monkeypatch.setattr(metrics, "_auc_and_ap", _reference)
    old = score_rows(truth, predicted, scores, trial, truth, classes, 300, 0.95, np.random.default_rng(7))
    assert new == old
    assert {metric for metric, *_ in new} >= {"roc_auc", "pr_auc"}


def test_auc_and_average_precision_by_hand_and_as_scikit_learn():
    # positives at 0.9, 0.8, 0.4; negatives at 0.8, 0.4, 0.1: two ties across the classes
    score = np.array([0.9, 0.8, 0.8, 0.4, 0.4, 0.1])
    positive = np.array([True, False, True, True, False, False])
    auc, ap = _auc_and_ap(score, positive, np.ones((1, 6)))
    # pairs (positive, negative): 0.9 beats all 3; 0.8 ties 0.8 (½) and beats 2; 0.4 ties 0.4 (½) and beats 1
    assert auc[0] == pytest.approx((3 + 2.5 + 1.5) / 9)
    # thresholds from the top: recall steps of ⅓ at precisions 1/1, 2/3 (0.8 holds a positive and a negative), 3/5
    assert ap[0] == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    assert auc[0] == pytest.approx(skm.roc_auc_score(positive, score), abs=1e-15)
    assert ap[0] == pytest.approx(skm.average_precision_score(positive, score), abs=1e-15)
    # a bootstrap replicate is the original windows with multiplicities: the same as scikit-learn on
    # the windows repeated (and as scikit-learn with those counts as sample weights)
    counts = np.array([[2, 0, 1, 3, 1, 0], [0, 1, 2, 0, 1, 2]], dtype=np.float64)
    auc, ap = _auc_and_ap(score, positive, counts)
    for b, c in enumerate(counts):
        drawn = np.repeat(np.arange(6), c.astype(int))
        assert auc[b] == pytest.approx(skm.roc_auc_score(positive[drawn], score[drawn]), abs=1e-15)
        assert ap[b] == pytest.approx(skm.average_precision_score(positive[drawn], score[drawn]), abs=1e-15)


def test_a_class_absent_from_a_replicate_has_no_auc_nor_average_precision():
    # Where it differs from scikit-learn on purpose: with no negative window the ROC AUC is NaN (as
    # scikit-learn's, which warns, or raised before 1.6), and with no positive window the average
    # precision is NaN too, where scikit-learn sets the recall to 1 and returns 0. An undefined
    # replicate is left out of the interval rather than counted as a zero.
    score, positive = np.array([0.2, 0.7, 0.9]), np.array([False, True, True])
    auc, ap = _auc_and_ap(score, positive, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0], [1.0, 1.0, 0.0]]))
    assert np.isnan(auc[:2]).all() and auc[2] == 1.0
    assert np.isnan(ap[0]) and ap[1] == 1.0 and ap[2] == 1.0


def test_metric_replicates_with_every_class_present_or_not_equals_the_reference(monkeypatch):
    rng = np.random.default_rng(8)
    truth, predicted, scores, _, classes = _participant(rng, 11, 2, 5, decimals=2)
    clusters = (np.arange(len(truth)) % 4).astype(str)  # pooled: 4 units, classes come and go
    weights = replicate_weights(clusters, np.zeros(len(truth)), 150, rng)
    new = metric_replicates(truth, predicted, classes, weights, scores, _codes(clusters))
    monkeypatch.setattr(metrics, "_auc_and_ap", _reference)
    old = metric_replicates(truth, predicted, classes, weights, scores)
    assert new.keys() == old.keys()
    for key in new:
        np.testing.assert_array_equal(new[key], old[key])
