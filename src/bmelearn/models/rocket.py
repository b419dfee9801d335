"""ROCKET-family classifiers on raw windows (n_windows, n_channels, n_times), from aeon:
random convolutional kernels turned into pooled features, then a ridge classifier with
cross-validated regularization.

- ``minirocket``: MiniRocket (Dempster et al. 2021, KDD), 10,000 kernels with PPV pooling;
- ``multirocket``: MultiRocket (Tan et al. 2022, DMKD), the same kernels on the signal and on
  its first difference, with four pooling operators (PPV, MPV, MIPV, LSPV).

The ridge classifier gives no class probabilities, so aeon reports one-hot ones: metrics that
need scores (AUC, Brier, rejection) are not meaningful for these models.
"""

from __future__ import annotations

from sklearn.pipeline import Pipeline

from bmelearn.errors import ConfigError

ROCKETS = {
    "minirocket": "MiniRocket on the raw windows (aeon): 10,000 random convolutional kernels, ridge classifier",
    "multirocket": "MultiRocket on the raw windows (aeon): MiniRocket kernels on the signal and its derivative, four poolings",
}


def make_rocket(name: str, random_state: int | None = None) -> Pipeline:
    """The named aeon classifier, using every core, as a one-step Pipeline."""
    try:
        from aeon.classification.convolution_based import (
            MiniRocketClassifier,
            MultiRocketClassifier,
        )
    except ImportError:
        raise ConfigError(f"models: {name} needs aeon: pip install \"bmelearn[rocket]\".") from None
    kind = {"minirocket": MiniRocketClassifier, "multirocket": MultiRocketClassifier}[name]
    return Pipeline([(name, kind(n_jobs=-1, random_state=random_state))])
