"""The feature catalogue: one module per family, a registry, named groups and the transformer."""

from bmelearn.features import (  # noqa: F401  (each module registers its features)
    autoregressive,
    entropy,
    groups,
    motion,
    phasor,
    spectral,
    tdpsd,
    time_domain,
    wavelet,
)
from bmelearn.features.extractor import FeatureExtractor
from bmelearn.features.registry import FEATURES, GROUPS, Feature, FeatureContext, register, register_group, resolve

__all__ = ["FEATURES", "GROUPS", "Feature", "FeatureContext", "FeatureExtractor", "register", "register_group", "resolve"]
