"""Calibrated class probabilities: a model wrapped in scikit-learn's ``CalibratedClassifierCV``.

A classifier's ``predict_proba`` (LDA's posterior, a forest's votes, a network's softmax) is a
score: 98 % need not mean right 98 times in 100, least of all on new data. Calibration learns a
map from the model's scores to probabilities on held-out parts of the training data (Platt's
``sigmoid``, ``isotonic`` regression, or one ``temperature`` for all classes, which keeps every
decision), then refits the model on all of it. The inner folds are those of the operating point
(:func:`inner_folds`): stratified and not shuffled, so the windows of one trial mostly stay
on one side. Whether a model is calibrated is its ``probabilities`` capability.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from bmelearn.errors import ConfigError
from bmelearn.models.capabilities import capabilities

#: Folds of the inner cross-validation on training data (calibration and the operating point).
INNER_FOLDS = 5
#: The calibration methods (``CalibratedClassifierCV``'s ``method``; temperature needs scikit-learn 1.8).
METHODS = ("sigmoid", "isotonic", "temperature")


def inner_folds() -> StratifiedKFold:
    """The inner cross-validation of a training set: INNER_FOLDS stratified folds, not shuffled
    (consecutive windows, hence mostly whole trials, stay together)."""
    return StratifiedKFold(INNER_FOLDS)


def with_calibration(model: BaseEstimator, method: str, where: str = "calibrate") -> Pipeline:
    """``model`` (a pipeline, its scaling included) inside ``CalibratedClassifierCV`` with ``method``,
    calibrated on :func:`inner_folds` and refit on all the training data; a ConfigError naming
    ``where`` for a method the installed scikit-learn lacks or a model with only one-hot votes."""
    if capabilities(model).probabilities == "one_hot":
        raise ConfigError(f"{where}: {model.steps[-1][0] if isinstance(model, Pipeline) else type(model).__name__} "
                          "gives one-hot votes, not scores, so there is nothing to calibrate; remove calibrate.")
    calibrated = CalibratedClassifierCV(model, method=method, cv=inner_folds(), ensemble=False)
    try:
        clone(calibrated)._validate_params()
    except InvalidParameterError:
        raise ConfigError(f"{where}: {method!r} is not a calibration method of the installed scikit-learn; "
                          "choose sigmoid or isotonic (temperature needs scikit-learn 1.8 or later).") from None
    return Pipeline([("calibrated", calibrated)])
