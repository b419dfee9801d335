"""The operating point of a binary classifier: its decision threshold, chosen on training data.

A screening test is run at a target sensitivity (few missed patients), a confirmatory one at
a target specificity; Youden's J = sensitivity + specificity − 1 balances the two. The
threshold on the positive class's probability is tuned by scikit-learn's
``TunedThresholdClassifierCV`` over inner cross-validation folds of the training data only
(:func:`bmelearn.models.calibration.inner_folds`, as for calibration: stratified, not shuffled,
so windows of one trial mostly stay together), then the model is refit on all the training
data. Test metrics are therefore reported at a threshold that never saw the test set.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import make_scorer
from sklearn.model_selection import TunedThresholdClassifierCV

from bmelearn.models.calibration import inner_folds


def _sensitivity_specificity(y_true: np.ndarray, y_pred: np.ndarray, pos_label: str) -> tuple[float, float]:
    positive, called = y_true == pos_label, y_pred == pos_label
    sensitivity = (positive & called).sum() / max(1, positive.sum())
    specificity = (~positive & ~called).sum() / max(1, (~positive).sum())
    return float(sensitivity), float(specificity)


def constrained_score(y_true: np.ndarray, y_pred: np.ndarray, *, pos_label: str, target: str, value: float | None) -> float:
    """What the threshold search maximizes: the other rate while ``target`` ≥ ``value`` (below it,
    a negative score that rises towards the constraint), or Youden's J."""
    sensitivity, specificity = _sensitivity_specificity(np.asarray(y_true), np.asarray(y_pred), pos_label)
    if target == "youden":
        return sensitivity + specificity - 1
    reached, other = (sensitivity, specificity) if target == "sensitivity" else (specificity, sensitivity)
    return other if reached >= value else reached - 1


def with_operating_point(model: BaseEstimator, positive: str, target: str, value: float | None = None) -> TunedThresholdClassifierCV:
    """``model`` whose threshold on P(``positive``) is tuned on its training data for ``target``
    (``sensitivity`` or ``specificity`` at ``value``, or ``youden``); ``best_threshold_`` after fit."""
    scorer = make_scorer(constrained_score, pos_label=positive, target=target, value=value)
    return TunedThresholdClassifierCV(model, scoring=scorer, cv=inner_folds(), refit=True)
