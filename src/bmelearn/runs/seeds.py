"""Seeds: every random step takes one derived from the experiment seed, so a config gives the same numbers.

Each random step of a run draws from a named :class:`Stream`: its seed is derived from the
experiment seed and the stream's key (and, for streams split further, sub-keys), so no two
steps share random numbers. The models get :func:`model_seed`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Self

import numpy as np


def derive_seed(seed: int, *keys: int) -> int:
    """A reproducible 32-bit seed for one random step, derived from the experiment seed."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


class Stream(IntEnum):
    """The random streams of a run, by the key mixed with the experiment seed; ``Stream.X.__doc__``
    says what draws from stream X."""

    def __new__(cls, key: int, doc: str) -> Self:
        member = int.__new__(cls, key)
        member._value_ = key
        member.__doc__ = doc
        return member

    EVALUATION = 5, "Bootstrap intervals of the results and robustness rows (evaluate)."
    SUMMARY = 6, "Bootstrap intervals of the means over subjects in summary.json."
    PERTURBATION = 7, "Random perturbations of the test windows; sub-keys: the test fold's size and first window."
    CONTROL = 8, "Bootstrap intervals of the decision-level control metrics of each subject."
    CONTROL_SUMMARY = 9, "Bootstrap intervals of the control metrics' means over subjects."
    LEARNING_CURVE = 10, "Bootstrap intervals of the learning-curve results; sub-key: the training repetitions per class."
    TRANSFER = 11, "Bootstrap intervals of the transfer-curve results."
    MODELS = 12, "Random state of a model whose index in ``models`` is the key of a stream; sub-key: that index."
    ROBUSTNESS_SUMMARY = 13, "Bootstrap intervals of the robustness curves' means over subjects."
    LEARNING_SUMMARY = 14, "Bootstrap intervals of the learning curve's means over subjects."
    TRANSFER_SUMMARY = 15, "Bootstrap intervals of the transfer curve's means over subjects."
    ROC_PR = 16, "Bootstrap bands of the ROC and precision-recall curves."
    RATERS = 17, "Simulated raters' labels (labels.simulate)."
    RATER_SCORES = 18, "Bootstrap intervals of the scores against each rater and of the agreement with them."
    ORDINAL = 19, "Bootstrap intervals of the ordinal scores (quadratic-weighted kappa, mean absolute error)."
    ADAPTATION = 20, "Bootstrap intervals of the adaptation-curve results."
    ADAPTATION_SUMMARY = 21, "Bootstrap intervals of the adaptation curve's means over subjects."

    def seed(self, seed: int, *keys: int) -> int:
        """This stream's seed in the experiment of seed ``seed`` (of its sub-stream ``keys``)."""
        return derive_seed(seed, int(self), *keys)


def model_seed(seed: int, index: int) -> int:
    """The random state of the model at ``index`` in ``models``: ``derive_seed(seed, index)``,
    unless ``index`` is the key of a stream, then drawn from :attr:`Stream.MODELS`."""
    if index in list(Stream):
        return Stream.MODELS.seed(seed, index)
    return derive_seed(seed, index)
