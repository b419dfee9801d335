"""The scikit-learn transformer that turns 3-D windows into a named feature matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from bmelearn.errors import ConfigError, DataError
from bmelearn.features.registry import FEATURES, FeatureContext, resolve, safe_log


class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Compute features from windows ``X`` of shape (n_windows, n_channels, n_times).

    Parameters
    ----------
    features : list of str
        Feature and group names (``["HTD"]``, ``["MAV", "RMS"]``).
    fs : float
        Sampling rate in Hz of the windows.
    ch_names : list of str, optional
        Channel names, used in output column names (``MAV_EMG3``); default ``ch1``, ``ch2`` ...
    params : dict, optional
        Per-feature parameters, e.g. ``{"ZC": {"threshold": 0.01}}``.
    prefix : str
        Prepended to every column name (e.g. the modality) to keep names unique.
    log : list of str
        Features (groups expand to their members) whose columns hold their natural log, for
        features that are never negative: the log of an amplitude (MAV, WL, RMS) turns a
        channel's gain into an offset. Floored at the smallest positive double, so that 0 gives
        ≈ −708, not −∞; the columns keep the feature's names.

    Columns are ordered feature-major: all channels of the first feature, then the next; a
    feature with several values per channel (AR coefficients, bands, wavelet levels) gives all
    channels of its first value, then of the next (``AR_a1_EMG1, AR_a1_EMG2, …, AR_a2_EMG1``).
    """

    def __init__(
        self,
        features: Sequence[str] = ("HTD",),
        fs: float | None = None,
        ch_names: Sequence[str] | None = None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        prefix: str = "",
        log: Sequence[str] = (),
    ):
        self.features = features
        self.fs = fs
        self.ch_names = ch_names
        self.params = params
        self.prefix = prefix
        self.log = log

    def fit(self, X: np.ndarray, y: Any = None) -> FeatureExtractor:
        self.features_ = resolve(list(self.features))
        X = self._check(X)
        unknown = sorted(set(self.params or {}) - set(self.features_))
        if unknown:
            raise ConfigError(f"features.params: {unknown} are not among the selected features {self.features_}.")
        self.log_ = resolve(list(self.log))
        unlisted = [f for f in self.log_ if f not in self.features_]
        if unlisted:
            raise ConfigError(f"features.log: {unlisted} are not among the selected features {self.features_}.")
        n_channels = X.shape[1]
        names = list(self.ch_names) if self.ch_names is not None else [f"ch{i + 1}" for i in range(n_channels)]
        if len(names) != n_channels:
            raise DataError(f"FeatureExtractor: {len(names)} channel names for {n_channels} channels.")
        self.n_channels_ = n_channels
        params = self.params or {}
        fs = float(self.fs) if self.fs is not None else float("nan")
        columns = {f: FEATURES[f].column_names(names, dict(params.get(f, {})), fs, X.shape[-1]) for f in self.features_}
        self.n_columns_ = {f: len(c) for f, c in columns.items()}
        self.feature_names_out_ = np.array([self.prefix + c for f in self.features_ for c in columns[f]], dtype=object)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "features_")
        X = self._check(X)
        if X.shape[1] != self.n_channels_:
            raise DataError(f"FeatureExtractor was fitted on {self.n_channels_} channels, got windows with {X.shape[1]}.")
        ctx = FeatureContext(X, self.fs if self.fs is not None else float("nan"))
        params = self.params or {}
        out = np.hstack([self._values(f, ctx, params.get(f, {})) for f in self.features_])
        if out.shape[1] != len(self.feature_names_out_):
            raise DataError(
                f"FeatureExtractor: windows of {X.shape[-1]} samples give {out.shape[1]} columns, but it was fitted "
                f"for {len(self.feature_names_out_)}; fit and transform windows of the same length."
            )
        return out

    def _values(self, feature: str, ctx: FeatureContext, params: Mapping[str, Any]) -> np.ndarray:
        """The columns of ``feature``, logged when :attr:`log` names it."""
        values = FEATURES[feature](ctx, **params)
        if feature not in self.logged:
            return values
        if (values < 0).any():
            raise ConfigError(f"features.log: {feature} takes negative values, which have no logarithm; log only "
                              "features that are never negative, such as MAV, WL or RMS.")
        return safe_log(values)

    @property
    def logged(self) -> list[str]:
        """The features whose natural log is taken (none for an extractor saved before ``log`` existed)."""
        return getattr(self, "log_", [])

    def n_columns(self, feature: str) -> int:
        """How many columns ``feature`` gives (channels × values per channel)."""
        check_is_fitted(self, "n_columns_")
        return self.n_columns_[feature]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_

    def __sklearn_tags__(self) -> Tags:
        """Input: windows (n_windows, n_channels, n_times), never a 2-D matrix."""
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags

    def _check(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3:
            raise DataError(f"FeatureExtractor expects windows of shape (n_windows, n_channels, n_times), got {X.shape}.")
        needed = max(FEATURES[f].min_samples for f in self.features_)
        if X.shape[-1] < needed:
            short = [f for f in self.features_ if FEATURES[f].min_samples > X.shape[-1]]
            raise DataError(f"FeatureExtractor: windows of {X.shape[-1]} samples are too short for {short}; "
                            f"they need at least {needed}: use longer windows.")
        return X


def modality_extractors(fs: Mapping[str, float], ch_names: Mapping[str, Sequence[str]],
                        per_modality: Mapping[str, Sequence[str]], params: Mapping[str, Mapping[str, Any]] | None = None,
                        log: Sequence[str] = ()) -> dict[str, FeatureExtractor]:
    """One unfitted extractor per modality of ``per_modality`` (its features or groups), with
    the ``params`` of the features it uses and the features of ``log`` it uses logged; column
    names are prefixed ``modality:`` when there is more than one modality."""
    logged = resolve(log)
    prefix = len(per_modality) > 1
    extractors = {}
    for modality, features in per_modality.items():
        used = resolve(features)
        extractors[modality] = FeatureExtractor(
            features,
            fs=fs[modality],
            ch_names=ch_names[modality],
            params={k: v for k, v in (params or {}).items() if k in used} or None,
            prefix=f"{modality}:" if prefix else "",
            log=[f for f in logged if f in used],
        )
    return extractors


def extract_modalities(arrays: Mapping[str, np.ndarray], fs: Mapping[str, float], ch_names: Mapping[str, Sequence[str]],
                       per_modality: Mapping[str, Sequence[str]], params: Mapping[str, Mapping[str, Any]] | None = None,
                       ) -> tuple[np.ndarray, list[str], dict[str, FeatureExtractor]]:
    """Features of several modalities side by side (:func:`modality_extractors`): the matrix,
    its column names and the fitted extractors."""
    extractors = modality_extractors(fs, ch_names, per_modality, params)
    blocks = [e.fit_transform(arrays[m]) for m, e in extractors.items()]
    names = [n for e in extractors.values() for n in e.get_feature_names_out()]
    return np.hstack(blocks), names, extractors
