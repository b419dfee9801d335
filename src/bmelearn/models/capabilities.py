"""What an estimator can do, read from its scikit-learn tags rather than guessed from its name.

- ``input``: ``"windows"`` (raw windows, shape (n_windows, n_channels, n_times)) when its
  ``input_tags.three_d_array`` is set, else ``"features"`` (a matrix (n_windows, n_features));
- ``probabilities``: ``"calibrated"`` when ``predict_proba`` was calibrated on held-out
  training data (``CalibratedClassifierCV``, :mod:`bmelearn.models.calibration`);
  ``"uncalibrated"`` when it is a score shaped like a distribution over the classes (softmax,
  class frequencies among neighbours or trees, a likelihood model), which can look more certain
  than the model is (the expected calibration error measures how much); ``"one_hot"`` when it
  only returns the predicted class as 1 and the others as 0; ``"none"`` without ``predict_proba``;
- ``fine_tunable``: a fitted model can go on training on new data (``fine_tune(X, y)``,
  transfer learning, :mod:`bmelearn.evaluation.transfer`);
- ``task``: ``"classification"`` for a classifier, ``"regression"`` for a regressor of a
  continuous target (scikit-learn's ``estimator_type`` tag: ``"classifier"``, ``"regressor"``);
  None for anything else (a transformer). A regressor's probabilities are ``"none"``.

bmelearn's estimators declare ``probabilities`` and ``fine_tunable`` in :class:`BmelearnTags`, their
``__sklearn_tags__``; an estimator without them (scikit-learn's) takes features, has no
fine-tuning and has uncalibrated probabilities if it has ``predict_proba``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import TunedThresholdClassifierCV
from sklearn.pipeline import Pipeline
from sklearn.utils import Tags, get_tags

Input = Literal["features", "windows"]
Probabilities = Literal["calibrated", "uncalibrated", "one_hot", "none"]
Task = Literal["classification", "regression"]
#: scikit-learn's ``estimator_type`` tag → the task.
TASKS: dict[str | None, Task] = {"classifier": "classification", "regressor": "regression"}


@dataclass(slots=True)
class BmelearnTags(Tags):
    """scikit-learn's tags and bmelearn's: ``probabilities`` and ``fine_tunable`` (see the module text)."""

    probabilities: Probabilities = "none"
    fine_tunable: bool = False


def bmelearn_tags(tags: Tags, probabilities: Probabilities, fine_tunable: bool) -> BmelearnTags:
    """``tags`` (an estimator's ``super().__sklearn_tags__()``) with bmelearn's flags added."""
    return BmelearnTags(**{f.name: getattr(tags, f.name) for f in fields(Tags)},
                        probabilities=probabilities, fine_tunable=fine_tunable)


@dataclass(frozen=True)
class Capabilities:
    """The input an estimator takes, what its ``predict_proba`` gives, whether it can be fine-tuned,
    and its task (classification or regression; None for a transformer)."""

    input: Input
    probabilities: Probabilities
    fine_tunable: bool
    task: Task | None


def capabilities(estimator: Any) -> Capabilities:
    """The capabilities of ``estimator`` (fitted or not). A ``Pipeline`` takes the input of its
    first step (a feature selector in front of a model takes features) and has the
    probabilities, fine-tuning and task of its last; a tuned operating point
    (``TunedThresholdClassifierCV``) has its model's input and probabilities and cannot be
    fine-tuned (``fine_tune`` would leave its threshold tuned for the old model); a calibrated
    model (``CalibratedClassifierCV``) has its model's input, calibrated probabilities, and no
    fine-tuning (it would leave the calibration of the old model)."""
    if isinstance(estimator, Pipeline):
        first, last = capabilities(estimator.steps[0][1]), capabilities(estimator.steps[-1][1])
        return Capabilities(first.input, last.probabilities, last.fine_tunable, last.task)
    if isinstance(estimator, TunedThresholdClassifierCV):
        inner = capabilities(estimator.estimator)
        return Capabilities(inner.input, inner.probabilities, fine_tunable=False, task=inner.task)
    if isinstance(estimator, CalibratedClassifierCV):
        return Capabilities(capabilities(estimator.estimator).input, "calibrated", fine_tunable=False, task="classification")
    tags = get_tags(estimator)
    data: Input = "windows" if tags.input_tags.three_d_array else "features"
    task = TASKS.get(tags.estimator_type)
    if isinstance(tags, BmelearnTags):
        return Capabilities(data, tags.probabilities, tags.fine_tunable, task)
    return Capabilities(data, "uncalibrated" if hasattr(estimator, "predict_proba") else "none", fine_tunable=False, task=task)
