"""Labels from several raters in a run: targets, soft labels as duplicated rows, simulated
raters of known accuracy, and the scores of a model against every rater."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from bmelearn.datasets.simulator import CLASSES, rater_confusion, simulate_ratings
from bmelearn.errors import DataError
from bmelearn.evaluation.evaluate import fit_unit
from bmelearn.evaluation.raters import consensus, dawid_skene, rating_matrix
from bmelearn.evaluation.targets import RECORDED, SOFT, Targets, expand_votes, model_agreement, rater_scores

ACCURACIES = (0.9, 0.8, 0.7, 0.6, 0.55)


def _ratings(items, said, subjects=None):
    """A ratings table (as read_ratings gives it) of raters × items labels ``said``."""
    said = np.asarray(said, dtype=object)
    n_raters, n_items = said.shape
    subjects = items if subjects is None else subjects
    return pd.DataFrame({"item": np.tile(items, n_raters), "subject": np.tile(subjects, n_raters),
                         "rater": np.repeat([f"r{i + 1}" for i in range(n_raters)], n_items), "label": said.ravel()})


def test_soft_labels_are_one_adjacent_copy_per_rater():
    votes = np.array([[3, 0, 0], [1, 2, 0], [0, 0, 3], [2, 0, 1]])
    rows, labels = expand_votes(np.array([3, 1]), votes, ["a", "b", "c"])
    np.testing.assert_array_equal(rows, [3, 3, 3, 1, 1, 1])
    assert list(labels) == ["a", "a", "c", "a", "b", "b"]


def test_a_fit_on_soft_labels_is_the_fit_on_the_copies():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    votes = rng.multinomial(5, [0.5, 0.3, 0.2], size=40)
    train, test = np.arange(30), np.arange(30, 40)
    classes = ["a", "b", "c"]
    unit = fit_unit(LogisticRegression(), X, np.array(classes, dtype=object)[votes.argmax(axis=1)], train, [X[test]],
                    classes, votes)
    rows = np.repeat(np.arange(30)[:, None], 3, axis=1).ravel()
    weights = votes[train].ravel()
    by_hand = LogisticRegression().fit(X[rows[weights > 0]].repeat(weights[weights > 0], axis=0),
                                       np.tile(classes, 30)[weights > 0].repeat(weights[weights > 0]))
    np.testing.assert_allclose(unit.scores[0], by_hand.predict_proba(X[test]), atol=1e-10)
    # the same rows as weights: soft labels are the share of raters per class
    weighted = LogisticRegression().fit(X[rows], np.tile(classes, 30), sample_weight=weights)
    np.testing.assert_allclose(unit.scores[0], weighted.predict_proba(X[test]), atol=1e-4)


def test_simulated_raters_follow_their_confusion_matrix():
    """Simulated: 20,000 items of the simulator's 7 classes."""
    truth = np.random.default_rng(1).choice(CLASSES, 20_000)
    said = simulate_ratings(truth, CLASSES, ACCURACIES, seed=4)
    for accuracy, labels in zip(ACCURACIES, said, strict=True):
        observed = pd.crosstab(pd.Categorical(truth, CLASSES), pd.Categorical(labels, CLASSES), normalize="index",
                               dropna=False).to_numpy()
        np.testing.assert_allclose(observed, rater_confusion(accuracy, len(CLASSES)), atol=0.03)
    np.testing.assert_array_equal(said, simulate_ratings(truth, CLASSES, ACCURACIES, seed=4))
    assert (said != simulate_ratings(truth, CLASSES, ACCURACIES, seed=5)).any()


def test_dawid_skene_recovers_each_simulated_raters_accuracy():
    """Simulated: the trials of 10 subjects × 2 sessions × 5 repetitions of the simulator's 7
    gestures (700), labelled by 5 raters of accuracy 0.9 to 0.55. The accuracy Dawid–Skene
    learns for each rater (its confusion diagonal weighted by the class prior) is within 0.05
    of the truth, and its labels are right more often than the majority's."""
    truth = np.tile(np.repeat(CLASSES, 5), 20)
    said = simulate_ratings(truth, CLASSES, ACCURACIES, seed=0)
    ratings = _ratings(np.arange(len(truth)).astype(str), said)
    _, confusion, prior = dawid_skene(rating_matrix(ratings, CLASSES)[0], len(CLASSES))
    learnt = (np.diagonal(confusion, axis1=1, axis2=2) * prior).sum(axis=1)
    np.testing.assert_allclose(learnt, ACCURACIES, atol=0.05)
    right = {how: (consensus(ratings, how, CLASSES)["label"].to_numpy() == truth).mean()
             for how in ("majority", "dawid-skene")}
    assert right["dawid-skene"] >= right["majority"]


def _trials():
    return pd.DataFrame({"trial": ["t1", "t2", "t3", "t4"], "subject": ["1", "1", "2", "2"],
                         "label": ["a", "b", "a", "b"]})


def test_targets_by_trial_and_by_subject():
    said = [["a", "b", "b"], ["a", "a", "b"], ["b", "b", "b"]]
    targets = Targets.build(_ratings(["t1", "t2", "t3"], said), "trial", _trials(), "majority", ["a", "b"], "nominal")
    assert list(targets.trials.index) == ["t1", "t2", "t3"]  # t4 has no rating: left out
    assert list(targets.trials["label"]) == ["a", "b", "b"]
    assert targets.trials.loc["t2", ["votes:a", "votes:b"]].tolist() == [1, 2]
    assert targets.votes(np.array(["t1"])) is None  # only soft labels train on votes
    soft = Targets.build(_ratings(["t1", "t2", "t3"], said), "trial", _trials(), "soft", ["a", "b"], "nominal")
    np.testing.assert_array_equal(soft.votes(np.array(["t2", "t2", "t1"])), [[1, 2], [1, 2], [2, 1]])
    assert list(soft.trials["label"]) == ["a", "b", "b"]  # scored against the majority
    by_subject = Targets.build(_ratings(["1", "2"], [["b", "a"], ["b", "a"]]), "subject", _trials(), "rater:r1",
                               ["a", "b"], "nominal")
    assert list(by_subject.trials["label"]) == ["b", "b", "a", "a"]
    with pytest.raises(DataError, match="none of the rated trials"):
        Targets.build(_ratings(["x1"], [["a"], ["b"]]), "trial", _trials(), "majority", ["a", "b"], "nominal")


def _scored():
    """Two raters of four trials (one window each, two subjects), a model's predictions and probabilities."""
    said = [["a", "b", "a", "b"], ["a", "a", "b", "b"]]
    targets = Targets.build(_ratings(["t1", "t2", "t3", "t4"], said, ["1", "1", "2", "2"]), "trial", _trials(),
                            "soft", ["a", "b"], "nominal")
    predictions = pd.DataFrame({"pipeline": "m", "protocol": "p", "subject": ["1", "1", "2", "2"],
                                "trial": ["t1", "t2", "t3", "t4"], "predicted": ["a", "b", "b", "a"],
                                "p:a": [0.9, 0.2, 0.4, 0.6], "p:b": [0.1, 0.8, 0.6, 0.4]})
    return targets, predictions


def test_scores_against_each_rater_and_the_soft_labels_by_hand():
    targets, predictions = _scored()
    scores = rater_scores(predictions, targets, n_boot=50, confidence=0.95, seed=0)
    value = scores.set_index(["reference", "metric"])["value"]
    assert value[("r1", "accuracy")] == pytest.approx(0.5)  # t1, t2 right; t3, t4 wrong
    assert value[("r2", "accuracy")] == pytest.approx(0.5)  # t1, t3 right
    share = np.array([[1, 0], [0.5, 0.5], [0.5, 0.5], [0, 1]])
    q = predictions[["p:a", "p:b"]].to_numpy()
    assert value[(SOFT, "expected accuracy")] == pytest.approx((1 + 0.5 + 0.5 + 0) / 4)
    assert value[(SOFT, "cross-entropy")] == pytest.approx(-(share * np.log(q)).sum(axis=1).mean())
    assert value[(SOFT, "Brier score")] == pytest.approx(((q - share) ** 2).sum(axis=1).mean())
    assert value[(RECORDED, "accuracy")] == pytest.approx(0.5)  # recorded a, b, a, b; the majority differs at t2
    assert (scores["ci_low"] <= scores["value"] + 1e-12).all() and (scores["value"] <= scores["ci_high"] + 1e-12).all()


def test_a_model_that_copies_a_rater_agrees_with_it_fully():
    targets, predictions = _scored()
    copying = predictions.assign(predicted=["a", "b", "a", "b"])  # rater r1's labels
    table = model_agreement(copying, targets, n_boot=20, confidence=0.95, seed=0)
    among = table[table["pipeline"] == ""]
    assert set(among["raters"]) >= {"r1 & r2"}
    kappa = table[table["pipeline"] == "m"].set_index("raters")["value"]
    assert kappa["r1 & model: m"] == pytest.approx(1.0)
    assert kappa["r2 & model: m"] == pytest.approx(among.set_index("raters")["value"]["r1 & r2"])
