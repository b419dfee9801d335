"""Calibrated probabilities (bmelearn.models.calibration): lower calibration error than the model's
own scores, folds that keep trials together, the capability that says so, and model files."""

import numpy as np
import pytest

from bmelearn.errors import ConfigError
from bmelearn.evaluation.metrics import metric_replicates
from bmelearn.evaluation.operating_point import with_operating_point
from bmelearn.features.selection import with_selection
from bmelearn.models import Capabilities, capabilities, make_model, trained_network, with_calibration
from bmelearn.models.calibration import inner_folds
from bmelearn.serving import load_model, save_model

CLASSES = ["a", "b", "c"]


def _overfit(n_per_class, seed, d=30):
    """Three classes in ``d`` dimensions, two of them shifted along one axis each: with 40
    training windows per class, LDA's posteriors are far too sure of themselves."""
    rng = np.random.default_rng(seed)
    y = np.repeat(CLASSES, n_per_class)
    means = np.zeros((3, d))
    means[1, 0] = means[2, 1] = 1.5
    return rng.normal(size=(len(y), d)) + means[np.searchsorted(CLASSES, y)], y


def _ece(model, X, y):
    return metric_replicates(y, model.predict(X), CLASSES, np.ones((1, len(y))), model.predict_proba(X))[("ece", "")][0]


@pytest.mark.parametrize("method", ["sigmoid", "isotonic", "temperature"])
def test_calibration_lowers_the_calibration_error_of_an_overconfident_model(method):
    (X, y), (X_test, y_test) = _overfit(40, 2), _overfit(1000, 3)
    raw = make_model("lda").fit(X, y)
    calibrated = with_calibration(make_model("lda"), method).fit(X, y)
    before, after = _ece(raw, X_test, y_test), _ece(calibrated, X_test, y_test)
    assert before > 0.2 and after < before / 4  # 0.25 before; 0.05 (sigmoid), 0.02 (isotonic, temperature) after
    np.testing.assert_allclose(calibrated.predict_proba(X_test).sum(axis=1), 1)
    if method == "temperature":  # one temperature for all classes keeps every decision
        np.testing.assert_array_equal(calibrated.predict(X_test), raw.predict(X_test))


def test_the_capability_says_whether_probabilities_are_calibrated_through_every_wrapper():
    calibrated = with_calibration(make_model("svm"), "sigmoid")  # Platt scaling of the SVM's decision function
    assert capabilities(make_model("lda")) == Capabilities("features", "uncalibrated", fine_tunable=False, task="classification")
    assert capabilities(calibrated) == Capabilities("features", "calibrated", fine_tunable=False, task="classification")
    selected = with_selection(calibrated, "anova", n_features=2, groups=["MAV", "MAV", "RMS", "RMS"])
    assert capabilities(selected) == capabilities(with_operating_point(selected, "b", "youden")) == capabilities(calibrated)


def test_calibration_folds_keep_the_windows_of_a_trial_together():
    """Windows come trial by trial (here 5 trials of 10 windows per class): the inner folds,
    stratified and not shuffled, test whole trials, one of each class per fold."""
    y = np.repeat(CLASSES, 50)
    trial = np.arange(150) // 10
    for _, test in inner_folds().split(np.zeros((150, 1)), y):
        held_out = set(trial[test])
        assert len(held_out) == 3 and sorted(set(y[test])) == CLASSES
        assert all(np.isin(np.flatnonzero(trial == t), test).all() for t in held_out)  # whole trials


def test_a_method_scikit_learn_lacks_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"models\.1\.calibrate: 'platt' is not a calibration method .* choose sigmoid"):
        with_calibration(make_model("lda"), "platt", "models.1.calibrate")


def test_one_hot_votes_are_not_calibrated():
    pytest.importorskip("aeon")
    with pytest.raises(ConfigError, match=r"models\.0\.calibrate: minirocket gives one-hot votes, not scores"):
        with_calibration(make_model("minirocket"), "sigmoid", "models.0.calibrate")


@pytest.mark.parametrize("method", ["sigmoid", "isotonic", "temperature"])
@pytest.mark.parametrize("name", ["lda", "svm", "rf", "knn", "logreg", "mlp"])
def test_a_calibrated_model_is_saved_loaded_and_says_so_on_its_card(name, method, deployable, tmp_path):
    if name == "mlp":
        pytest.importorskip("torch", reason="the networks need PyTorch")
    X, y = _overfit(40, 0, d=3)  # the deployable signal pipeline gives 3 features (MAV of 3 channels)
    params = {"max_epochs": 2} if name == "mlp" else {}
    for label, estimator, calibrated in (("raw", make_model(name, 0, **params), False),
                                         ("calibrated", with_calibration(make_model(name, 0, **params), method), True)):
        model = deployable(estimator.fit(X, y), CLASSES)
        save_model(model, tmp_path / f"{label}.skops")
        back = load_model(tmp_path / f"{label}.skops")
        np.testing.assert_array_equal(back.estimator.predict(X), estimator.predict(X))
        assert back.calibrated is calibrated and back.card()["calibrated"] is calibrated
        assert (trained_network(back.estimator) is not None) == (name == "mlp")  # also inside the calibration
