"""Adapting a fitted model to a new condition: adaptive LDA, recentring (a mean shift), self-training,
rotation alignment."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from bmelearn.evaluation.robustness import electrode_shift
from bmelearn.models.adaptation import MeanShift, adaptive_lda, best_rotation, is_lda, recentred, self_trained


def blobs(n_classes: int, n: int = 60, n_features: int = 5, seed: int = 0, offset: float = 0.0):
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(0, 2.0, (n_classes, n_features))
    y = np.repeat(np.arange(n_classes), n).astype(str)
    X = centres[y.astype(int)] + rng.normal(0, 1.0, (len(y), n_features)) + offset
    return X, y


@pytest.mark.parametrize("n_classes", [2, 4])
def test_adaptive_lda_with_no_share_of_the_calibration_data_is_the_fitted_lda(n_classes):
    X, y = blobs(n_classes)
    model = Pipeline([("lda", LinearDiscriminantAnalysis())]).fit(X, y)
    X_new, y_new = blobs(n_classes, n=5, seed=1, offset=3.0)
    same = adaptive_lda(model, X, y, X_new, y_new, means=0.0, covariance=0.0)
    centred = (lambda d: d - d.mean(axis=1, keepdims=True)) if n_classes > 2 else (lambda d: d)
    # scikit-learn's svd solver works in the discriminant subspace: the same scores up to a constant per window
    np.testing.assert_allclose(centred(same.decision_function(X_new)), centred(model.decision_function(X_new)),
                               rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(same.predict_proba(X_new), model.predict_proba(X_new), atol=1e-10)
    assert not np.allclose(adaptive_lda(model, X, y, X_new, y_new).decision_function(X_new), model.decision_function(X_new))


def test_adaptive_lda_follows_a_shift_of_every_class_to_the_calibration_means():
    X, y = blobs(3)
    model = Pipeline([("lda", LinearDiscriminantAnalysis())]).fit(X, y)
    shift = np.array([4.0, -3.0, 2.0, 0.0, 5.0])
    X_cal, y_cal = X[::10] + shift, y[::10]
    moved = adaptive_lda(model, X, y, X_cal, y_cal, means=1.0, covariance=0.0)
    # with the means taken wholly from the calibration windows, the new class means are theirs ...
    for i, c in enumerate(moved.classes_):
        np.testing.assert_allclose(moved[-1].means_[i], X_cal[y_cal == c].mean(axis=0))
    # ... and the shifted data is classified nearly as the original was (not as the source model does)
    X_test = X + shift
    assert np.mean(moved.predict(X_test) == model.predict(X)) > 0.95
    assert np.mean(model.predict(X_test) == y) < 0.6


def test_adaptive_lda_works_behind_a_scaler_and_keeps_the_given_model_unchanged():
    X, y = blobs(3)
    model = Pipeline([("scale", StandardScaler()), ("lda", LinearDiscriminantAnalysis())]).fit(X, y)
    before = model[-1].coef_.copy()
    moved = adaptive_lda(model, X, y, X[:30] + 1.0, y[:30])  # only class 0 calibrated
    np.testing.assert_array_equal(model[-1].coef_, before)
    np.testing.assert_allclose(moved[-1].means_[1:], model[-1].means_[1:], atol=1e-10)  # classes without calibration keep theirs
    assert is_lda(model) and not is_lda(Pipeline([("svm", SVC())]))


def test_a_mean_shift_moves_the_new_mean_to_the_training_one():
    rng = np.random.default_rng(0)
    X_new = rng.normal(5.0, 3.0, (500, 4))
    shifted = MeanShift(np.array([1.0, 2.0, 3.0, 4.0])).fit(X_new).transform(X_new)
    np.testing.assert_allclose(shifted.mean(axis=0), [1, 2, 3, 4], atol=1e-10)
    np.testing.assert_allclose(shifted - X_new, np.tile(shifted[0] - X_new[0], (500, 1)))  # the same shift for every window


def test_recentring_recovers_an_offset_of_log_amplitude_features_without_labels():
    X, y = blobs(3, n_features=4)
    model = Pipeline([("lda", LinearDiscriminantAnalysis())]).fit(X, y)
    X_new = X + np.array([2.0, -1.5, 1.0, 3.0])  # log-amplitude features of electrodes put on again: new gains
    assert np.mean(model.predict(X_new) == y) < 0.6
    adapted = recentred(model, X, X_new[::3])  # a third of the new windows, labels unread
    assert np.mean(adapted.predict(X_new) == y) == pytest.approx(np.mean(model.predict(X) == y), abs=0.02)
    assert [name for name, _ in adapted.steps] == ["recentre", "lda"] and [n for n, _ in model.steps] == ["lda"]


def drifting_day(seed: int = 2):
    """Four classes on day 1, and on day 2 every feature offset (new gains) and each class moved its own way."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.5, (4, 5))
    y = np.repeat(np.arange(4), 100).astype(str)
    X = centres[y.astype(int)] + rng.normal(0, 1.0, (400, 5))
    moves = rng.normal(0, 0.8, (4, 5))
    X_new = centres[y.astype(int)] + moves[y.astype(int)] + 2.0 + rng.normal(0, 1.0, (400, 5))
    return X, y, X_new


def test_self_training_is_the_pipeline_fitted_again_on_its_own_guesses_behind_the_shift():
    X, y, X_new = drifting_day()
    pipeline = Pipeline([("scale", StandardScaler()), ("lda", LinearDiscriminantAnalysis())])
    model = pipeline.fit(X, y)
    before = model.predict_proba(X_new)
    first = np.arange(len(X_new)) % 4 == 0  # the new day's first windows, labels unread
    adapted = self_trained(model, Pipeline([("scale", StandardScaler()), ("lda", LinearDiscriminantAnalysis())]),
                           X, y, X_new[first])
    assert [name for name, _ in adapted.steps] == ["recentre", "scale", "lda"]
    moved = X_new[first] - X_new[first].mean(axis=0) + X.mean(axis=0)
    by_hand = Pipeline([("scale", StandardScaler()), ("lda", LinearDiscriminantAnalysis())]).fit(
        np.concatenate([X, moved]), np.concatenate([y, model.predict(moved)]))
    shifted_test = X_new - X_new[first].mean(axis=0) + X.mean(axis=0)
    np.testing.assert_array_equal(adapted.predict(X_new), by_hand.predict(shifted_test))
    np.testing.assert_allclose(adapted.predict_proba(X_new), by_hand.predict_proba(shifted_test), atol=1e-12)
    np.testing.assert_array_equal(model.predict_proba(X_new), before)  # the given model left as it was


def test_self_training_follows_classes_that_moved_each_its_own_way():
    X, y, X_new = drifting_day()
    model = Pipeline([("lda", LinearDiscriminantAnalysis())]).fit(X, y)
    first, test = np.arange(len(X_new)) % 4 == 0, np.arange(len(X_new)) % 4 != 0
    recentred_accuracy = np.mean(recentred(model, X, X_new[first]).predict(X_new[test]) == y[test])
    adapted = self_trained(model, Pipeline([("lda", LinearDiscriminantAnalysis())]), X, y, X_new[first])
    assert np.mean(model.predict(X_new[test]) == y[test]) < 0.5  # the new day unadapted
    assert np.mean(adapted.predict(X_new[test]) == y[test]) > recentred_accuracy + 0.02  # 0.80 against 0.76


def rotating_data(n_channels: int = 8, seed: int = 0):
    """Windows whose class is which electrode is active (a simple armband)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), 40)
    X = rng.normal(0, 0.2, (len(y), n_channels, 50))
    for i, c in enumerate(y):
        X[i, 2 * c] += rng.normal(0, 1.0, 50)
    return X, y.astype(str)


def features(X: np.ndarray) -> np.ndarray:
    return np.log(np.mean(X**2, axis=2))


def test_best_rotation_undoes_a_rotation_of_the_armband_and_keeps_zero_without_one():
    X, y = rotating_data()
    model = Pipeline([("lda", LinearDiscriminantAnalysis())]).fit(features(X), y)
    candidates = np.arange(-4, 4, 0.5)
    for shift in (0, 1, 2, -1):
        worn = electrode_shift(X, shift)
        views = {float(r): features(electrode_shift(worn, r)) for r in candidates}
        assert best_rotation(model, views, y) == -shift
    # a model without probabilities is scored by its accuracy
    svm = Pipeline([("svm", SVC())]).fit(features(X), y)
    worn = electrode_shift(X, 1)
    assert best_rotation(svm, {float(r): features(electrode_shift(worn, r)) for r in candidates}, y) == -1


def test_best_rotation_prefers_the_smallest_of_equal_rotations():
    X, y = blobs(2)
    model = Pipeline([("lda", LinearDiscriminantAnalysis())]).fit(X, y)
    assert best_rotation(model, {-1.0: X, 1.0: X, 0.0: X, 2.0: X}, y) == 0.0


@pytest.mark.parametrize("solver", [{"solver": "lsqr", "shrinkage": "auto"}, {"solver": "eigen"}])
def test_adaptive_lda_keeps_the_covariance_a_solver_estimated(solver):
    X, y = blobs(3)
    model = Pipeline([("lda", LinearDiscriminantAnalysis(**solver))]).fit(X, y)
    same = adaptive_lda(model, X, y, X[::7] + 1.0, y[::7], means=0.0, covariance=0.0)
    np.testing.assert_allclose(same.decision_function(X), model.decision_function(X), rtol=1e-8, atol=1e-8)


def test_the_adapted_covariance_is_the_blend_of_the_training_and_calibration_ones():
    X, y = blobs(3)
    model = Pipeline([("lda", LinearDiscriminantAnalysis(solver="eigen"))]).fit(X, y)
    X_cal, y_cal = X[::6] * 1.5, y[::6]
    moved = adaptive_lda(model, X, y, X_cal, y_cal, means=0.0, covariance=0.5)
    means = {c: X_cal[y_cal == c].mean(axis=0) for c in np.unique(y_cal)}
    centred = X_cal - np.stack([means[c] for c in y_cal])
    by_hand = 0.5 * model[-1].covariance_ + 0.5 * centred.T @ centred / len(X_cal)
    np.testing.assert_allclose(moved[-1].covariance_, by_hand, rtol=1e-12)
    weights = np.linalg.solve(by_hand, model[-1].means_.T).T
    np.testing.assert_allclose(moved[-1].coef_, weights, rtol=1e-8)
