"""A fitted model adapted to a new condition of use (another day, the armband put on again,
another limb position) from a little data of that condition.

- :func:`adaptive_lda`: with a few labelled calibration windows, LDA's class means and pooled
  covariance are moved toward theirs (covariate-shift adaptation, Vidovic et al., IEEE TNSRE
  24(9), 2016): μ'_c = (1 − a)·μ_c + a·μ_c(cal), Σ' = (1 − b)·Σ + b·Σ(cal).
- :func:`recentred`: with unlabelled windows of the new condition only, each input feature is
  moved by the difference between the training data's mean and theirs (a mean shift: with few
  windows, safer than matching the SD too or the covariance, CORAL, on MyoDisCo); a network
  instead re-estimates its input standardisation and batch-normalisation statistics on them
  (AdaBN: Li et al., Pattern Recognit. 80, 2018).
- :func:`self_trained`: with those windows, the model's own predictions taken as the labels of
  those it has none for, and the model trained again on the training windows and them
  (self-training: the classifier recalibrated on its own decisions, as Zhai et al., Front.
  Neurosci. 11:379, 2017, did for a CNN on EMG).
- :func:`best_rotation`: of candidate un-rotations of an armband, the one under which the
  source model explains the calibration windows best (the highest mean decision margin of their
  labels; the mean log-probability for a model without a decision function, such as a network;
  the accuracy for one without probabilities either).

Networks are fine-tuned by their own :meth:`~bmelearn.models.deep.BaseNeuralNetwork.fine_tune`
(:func:`fine_tuned`: on a copy).
Each function returns a new model and leaves the one it is given unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from bmelearn.models.capabilities import capabilities

#: Shares of the calibration data in the adapted class means (a) and covariance (b) of
#: :func:`adaptive_lda` by default: within 0.5 points of the best of a grid at every k of 1, 2
#: and 4 calibration repetitions on MyoDisCo cross-day (a = 1 loses 13 points at k = 1).
MEANS_SHARE = 0.5
COVARIANCE_SHARE = 0.25


def is_lda(model: BaseEstimator) -> bool:
    """Whether ``model`` is a Pipeline ending in scikit-learn's LinearDiscriminantAnalysis."""
    return isinstance(model, Pipeline) and isinstance(model.steps[-1][1], LinearDiscriminantAnalysis)


def _inputs(model: Pipeline, X: np.ndarray) -> np.ndarray:
    """``X`` as the pipeline's last step sees it."""
    return model[:-1].transform(X) if len(model.steps) > 1 else np.asarray(X, dtype=float)


def _means_and_scatter(Z: np.ndarray, y: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class means (classes × features) and the pooled within-class covariance of ``Z`` (over n,
    as scikit-learn's LDA estimates it)."""
    means = np.stack([Z[y == c].mean(axis=0) for c in classes])
    centred = Z - means[np.searchsorted(classes, y)]
    return means, centred.T @ centred / len(Z)


def adaptive_lda(model: Pipeline, X_source: np.ndarray, y_source: np.ndarray, X_calibration: np.ndarray,
                 y_calibration: np.ndarray, means: float = MEANS_SHARE, covariance: float = COVARIANCE_SHARE) -> Pipeline:
    """A copy of the fitted LDA pipeline ``model`` whose class means and pooled covariance are
    moved toward those of the calibration windows by the shares ``means`` (a) and
    ``covariance`` (b) (see the module text; ``X_source``, ``y_source``: the windows it was fitted
    on, for its covariance, unless the LDA keeps its own, shrunk or not: ``covariance_``). Classes
    without a calibration window keep their means; priors are kept. The discriminant is
    recomputed from μ' and Σ' (least squares, as LDA's ``lsqr``)."""
    check_is_fitted(model)
    lda: LinearDiscriminantAnalysis = model.steps[-1][1]
    classes = lda.classes_
    y_source, y_calibration = np.asarray(y_source), np.asarray(y_calibration)
    source_means, source_scatter = _means_and_scatter(_inputs(model, X_source), y_source, classes)
    source_scatter = getattr(lda, "covariance_", source_scatter)
    Z = _inputs(model, X_calibration)
    present = np.isin(classes, y_calibration)
    new_means = source_means.copy()
    if present.any():
        seen = classes[present]
        keep = np.isin(y_calibration, seen)
        calibration_means, calibration_scatter = _means_and_scatter(Z[keep], y_calibration[keep], seen)
        new_means[present] = (1 - means) * source_means[present] + means * calibration_means
        if covariance > 0 and keep.sum() > len(seen):
            source_scatter = (1 - covariance) * source_scatter + covariance * calibration_scatter
    weights = np.linalg.lstsq(source_scatter, new_means.T, rcond=None)[0].T  # Σ'⁻¹ μ'_c per class
    intercepts = -0.5 * np.einsum("cf,cf->c", new_means, weights) + np.log(lda.priors_)
    adapted = copy.deepcopy(model)
    last = adapted.steps[-1][1]
    last.means_ = new_means
    if hasattr(last, "covariance_"):
        last.covariance_ = source_scatter  # Σ', kept where the solver keeps Σ
    if len(classes) == 2:
        last.coef_, last.intercept_ = (weights[1] - weights[0])[None, :], np.array([intercepts[1] - intercepts[0]])
    else:
        last.coef_, last.intercept_ = weights, intercepts
    return adapted


def fine_tuned(model: Pipeline, X: np.ndarray, y: np.ndarray) -> Pipeline:
    """A copy of the fitted pipeline ``model`` whose network is fine-tuned on ``X`` (passed
    through the steps before it) and ``y``
    (:meth:`~bmelearn.models.deep.BaseNeuralNetwork.fine_tune`)."""
    tuned = copy.deepcopy(model)
    tuned[-1].fine_tune(_inputs(tuned, X), y)
    return tuned


class MeanShift(TransformerMixin, BaseEstimator):
    """Moves each feature by the difference between the training data's mean and the new
    condition's: x' = x − m_new + m_train. ``fit(X_new)`` learns the new condition's mean; the
    training mean is given (``train_mean``)."""

    def __init__(self, train_mean: np.ndarray | None = None):
        self.train_mean = train_mean

    def fit(self, X: np.ndarray, y: object = None) -> MeanShift:
        self.mean_ = np.asarray(X, dtype=float).mean(axis=0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "mean_")
        return np.asarray(X, dtype=float) - self.mean_ + self.train_mean


def recentred(model: BaseEstimator, X_source: np.ndarray, X_new: np.ndarray) -> BaseEstimator:
    """The fitted ``model`` adapted without labels to windows ``X_new`` of the new condition:
    a network's :meth:`~bmelearn.models.deep.BaseNeuralNetwork.adapt_to` (its input
    standardisation and batch-normalisation statistics), any other model preceded by
    :class:`MeanShift` from ``X_new``'s mean to that of ``X_source`` (its training windows)."""
    last = model.steps[-1][1] if isinstance(model, Pipeline) else model
    if hasattr(last, "adapt_to"):
        adapted = copy.deepcopy(model)
        network = adapted.steps[-1][1] if isinstance(adapted, Pipeline) else adapted
        network.adapt_to(_inputs(adapted, X_new) if isinstance(adapted, Pipeline) else X_new)
        return adapted
    shift = MeanShift(np.asarray(X_source, dtype=float).mean(axis=0)).fit(X_new)
    steps = model.steps if isinstance(model, Pipeline) else [("model", model)]
    return Pipeline([("recentre", shift), *steps])


def self_trained(model: BaseEstimator, pipeline: BaseEstimator, X_source: np.ndarray, y_source: np.ndarray,
                 X_new: np.ndarray, labelled: np.ndarray | None = None, y_labelled: np.ndarray | None = None,
                 weight: int = 1) -> Pipeline:
    """``pipeline`` trained again on its own guesses for the windows ``X_new`` of the new condition.
    They are moved to the training windows' mean (:class:`MeanShift`). Those that the mask
    ``labelled`` marks, if any, keep their labels ``y_labelled`` (in their order) and count
    ``weight`` times; a guesser (the fitted ``model``, or ``pipeline`` fitted again with those
    labelled windows) labels the others; a clone of ``pipeline`` is then fitted on the training
    windows (``X_source``, ``y_source``) and all of them, and predicts behind the same shift.
    One round, every guess kept: on MyoDisCo cross-day (HTD + LS9, shrinkage LDA, day 2's first
    four repetitions) 89.7 % without labels against 88.5 % recentred, and with the first
    repetition labelled 91.3 % against 89.9 % retrained; up to three rounds, confidence thresholds
    up to 0.95 and the guessed windows counted up to 5 times gave 89.8-90.3 % without labels."""
    shift = MeanShift(np.asarray(X_source, dtype=float).mean(axis=0)).fit(X_new)
    moved = shift.transform(X_new)
    known = np.zeros(len(moved), dtype=bool) if labelled is None else np.asarray(labelled, dtype=bool)
    X_known = np.concatenate([X_source, *[moved[known]] * weight])
    y_known = np.concatenate([y_source, *[np.asarray(y_labelled)] * weight]) if known.any() else np.asarray(y_source)
    guesser = clone(pipeline).fit(X_known, y_known) if known.any() else model
    refit = guesser if known.all() else clone(pipeline).fit(  # all labelled: nothing left to guess
        np.concatenate([X_known, moved[~known]]), np.concatenate([y_known, guesser.predict(moved[~known])]))
    return Pipeline([("recentre", shift), *(refit.steps if isinstance(refit, Pipeline) else [("model", refit)])])


def best_rotation(model: BaseEstimator, candidates: Mapping[float, np.ndarray], y: np.ndarray) -> float:
    """Of ``candidates`` (an un-rotation in electrodes → the calibration windows un-rotated by
    it), the one under which the fitted ``model`` explains their labels ``y`` best: the highest
    mean margin of the decision function (the true class's score minus the best other's; it
    does not saturate as probabilities do when the classes separate well), else the highest mean
    log-probability of the labels, else the share predicted right; the smallest |rotation| of equals."""
    return max(sorted(candidates, key=abs), key=lambda rotation: fit_to_labels(model, candidates[rotation], y))


def fit_to_labels(model: BaseEstimator, X: np.ndarray, y: np.ndarray) -> float:
    """How well the fitted ``model`` explains labels ``y`` of ``X`` (see :func:`best_rotation`)."""
    y = np.asarray(y).astype(str)
    index = {str(c): i for i, c in enumerate(model.classes_)}
    column = np.array([index[label] for label in y], dtype=int)
    rows = np.arange(len(y))
    if hasattr(model, "decision_function"):
        scores = np.asarray(model.decision_function(X), dtype=float)
        if scores.ndim == 1:  # binary: the score of the second class against the first
            return float(np.mean(np.where(column == 1, scores, -scores)))
        true = scores[rows, column]
        scores[rows, column] = -np.inf
        return float(np.mean(true - scores.max(axis=1)))
    if capabilities(model).probabilities != "none":
        return float(np.mean(np.log(np.clip(model.predict_proba(X)[rows, column], 1e-300, None))))
    return float(np.mean(model.predict(X).astype(str) == y))
