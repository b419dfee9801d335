"""Feature matrices cached on disk under a key made of the windows' content and the feature
parameters, so that a run that changes only the models (or the protocols, or the scoring)
does not compute the features again.

Each entry is one ``.npz`` file (no pickle): the matrix and its column names. The key hashes
the windows of every modality (values, sampling rates, channel names), the features and
their parameters, and the bmelearn version. Entries are written under a temporary name and
renamed, so several processes, or the machines of a cluster sharing the folder, can use one
cache.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from bmelearn import __version__
from bmelearn.features.extractor import FeatureExtractor, extract_modalities


def cached_features(folder: str | Path | None, arrays: Mapping[str, np.ndarray], fs: Mapping[str, float],
                    ch_names: Mapping[str, Sequence[str]], per_modality: Mapping[str, Sequence[str]],
                    params: Mapping[str, Mapping[str, Any]] | None = None,
                    ) -> tuple[np.ndarray, list[str], dict[str, FeatureExtractor], bool]:
    """:func:`extract_modalities` through the cache in ``folder`` (None: no cache). The last
    value says whether the matrix came from the cache."""
    if folder is None:
        return (*extract_modalities(arrays, fs, ch_names, per_modality, params), False)
    key = joblib.hash(({m: arrays[m] for m in per_modality}, dict(fs), {m: list(c) for m, c in ch_names.items()},
                       {m: list(f) for m, f in per_modality.items()}, dict(params or {}), __version__))
    path = Path(folder) / f"{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as entry:
            X, names = entry["X"], [str(n) for n in entry["names"]]
        first = {m: a[:1] for m, a in arrays.items()}  # the extractors only need the shapes to be fitted
        extractors = extract_modalities(first, fs, ch_names, per_modality, params)[2]
        return X, names, extractors, True
    X, names, extractors = extract_modalities(arrays, fs, ch_names, per_modality, params)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{key}.{uuid.uuid4().hex}.npz")
    np.savez(temporary, X=X, names=np.asarray(names, dtype=str))
    os.replace(temporary, path)
    return X, names, extractors, False
