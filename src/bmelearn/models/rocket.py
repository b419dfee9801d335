"""ROCKET-family classifiers on raw windows (n_windows, n_channels, n_times), from aeon:
random convolutional kernels turned into pooled features, then a ridge classifier with
cross-validated regularization.

- ``minirocket``: MiniRocket (Dempster et al. 2021, KDD), 10,000 kernels with PPV pooling,
  about ``n_kernels`` features per window;
- ``multirocket``: MultiRocket (Tan et al. 2022, DMKD), the same kernels on the signal and on
  its first difference, with four pooling operators (PPV, MPV, MIPV, LSPV): about
  5 × ``n_kernels`` features per window.

The features are held in memory as float64, and the scaler and the ridge solver copy them:
a fit that would need more than the machine's memory is refused before it starts, with the
``n_kernels`` that would fit. The ridge classifier gives no class probabilities, so aeon
reports one-hot ones: metrics that need scores (AUC, Brier, rejection) are not meaningful
for these models.
"""

from __future__ import annotations

import os
from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from bmelearn.errors import ConfigError
from bmelearn.models.capabilities import BmelearnTags, bmelearn_tags

ROCKETS = {
    "minirocket": "MiniRocket on the raw windows (aeon): 10,000 random convolutional kernels, ridge classifier",
    "multirocket": "MultiRocket on the raw windows (aeon): MiniRocket kernels on the signal and its derivative, four poolings",
}
FEATURES_PER_KERNEL = {"minirocket": 1, "multirocket": 5}
COPIES = 4  # features, standardized copy, ridge solver's; a 17,387 × 50,000 fit was killed at 24 GB


class Rocket(ClassifierMixin, BaseEstimator):
    """aeon's MiniRocket or MultiRocket classifier (``kind``), refusing a fit that would not
    fit in memory. After ``fit``: ``classes_`` and the fitted aeon classifier ``model_``."""

    #: What each parameter may be (scikit-learn's parameter validation, also at config time).
    _parameter_constraints: ClassVar[dict] = {
        "kind": [StrOptions(set(ROCKETS))],
        "n_kernels": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral],
        "random_state": ["random_state"],
    }

    def __init__(self, kind: str = "minirocket", n_kernels: int = 10_000, n_jobs: int = -1,
                 random_state: int | None = None):
        self.kind = kind
        self.n_kernels = n_kernels
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> Rocket:
        try:
            from aeon.classification.convolution_based import (
                MiniRocketClassifier,
                MultiRocketClassifier,
            )
        except ImportError:
            raise ConfigError(f"models: {self.kind} needs aeon: pip install \"bmelearn[rocket]\".") from None
        self._validate_params()
        check_memory(self.kind, len(X), self.n_kernels)
        kind = {"minirocket": MiniRocketClassifier, "multirocket": MultiRocketClassifier}[self.kind]
        self.model_ = kind(n_kernels=self.n_kernels, n_jobs=self.n_jobs, random_state=self.random_state).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict(X)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(X)

    def __sklearn_tags__(self) -> BmelearnTags:
        """Raw windows (3-D; aeon would read a 2-D feature matrix as one-channel series), one-hot
        probabilities, no fine-tuning."""
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        # aeon 1.6's MiniRocket/MultiRocketClassifier end in a RidgeClassifierCV, which has no
        # predict_proba: their _predict_proba then returns 1 for the predicted class, 0 elsewhere
        return bmelearn_tags(tags, probabilities="one_hot", fine_tunable=False)


def make_rocket(name: str, random_state: int | None = None) -> Pipeline:
    """The named ROCKET classifier, using every core, as a one-step Pipeline (its entry of
    ``bmelearn.models.MODELS`` requires aeon, so an experiment file without it is refused at once)."""
    return Pipeline([(name, Rocket(name, random_state=random_state))])


def check_memory(name: str, n_windows: int, n_kernels: int, total_bytes: int | None = None) -> None:
    """Refuse a fit whose features would not fit in ``total_bytes`` (default: this machine's memory)."""
    total = total_bytes or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    per_kernel = COPIES * 8 * n_windows * FEATURES_PER_KERNEL[name]
    if per_kernel * n_kernels > 0.8 * total:
        fits = int(np.floor(0.8 * total / per_kernel / 84)) * 84
        raise ConfigError(
            f"models.{name}: {n_windows} windows × {FEATURES_PER_KERNEL[name] * n_kernels} features would need about "
            f"{per_kernel * n_kernels / 1e9:.0f} GB, more than this machine's {total / 1e9:.0f} GB; set n_kernels to "
            f"{fits} or fewer, use minirocket, or train on fewer windows (a longer window step).")
