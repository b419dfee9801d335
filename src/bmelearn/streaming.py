"""Features of recordings larger than memory: the signal is read lazily (a memory-mapped
``.npy`` file, :func:`bmelearn.io.map_npy`), cut into windows and turned into
features one chunk of windows at a time, so memory holds one chunk, never the recording.

The windows are those of :func:`bmelearn.windowing.window_starts` (``length`` and ``step``
in seconds), and the features those of :class:`bmelearn.features.FeatureExtractor`: the
result equals extracting the features of all windows at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bmelearn.errors import DataError
from bmelearn.features import FeatureExtractor
from bmelearn.windowing import window_starts

#: Bytes of float64 windows per chunk (the feature kernels need a few times more).
CHUNK_BYTES = 128 * 2**20


def window_chunks(signal: np.ndarray, fs: float, length: float, step: float,
                  chunk_bytes: int = CHUNK_BYTES) -> Iterator[np.ndarray]:
    """Consecutive chunks of windows (k, n_channels, n_times) as float64, in order."""
    n_channels, n_samples = signal.shape
    n_times = int(round(length * fs))
    starts = np.round(window_starts(n_samples / fs, length, step) * fs).astype(int)
    starts = np.minimum(starts, n_samples - n_times)
    per_chunk = max(1, chunk_bytes // (8 * n_channels * n_times))
    for first in range(0, len(starts), per_chunk):
        mine = starts[first:first + per_chunk]
        block = np.asarray(signal[:, mine[0]:mine[-1] + n_times], dtype=np.float64)
        view = sliding_window_view(block, n_times, axis=1)  # (ch, positions, n_times), no copy
        yield np.ascontiguousarray(view[:, mine - mine[0], :].transpose(1, 0, 2))


def stream_features(signal: np.ndarray, fs: float, length: float, step: float, features: Sequence[str],
                    ch_names: Sequence[str] | None = None, params: Mapping[str, Mapping[str, Any]] | None = None,
                    chunk_bytes: int = CHUNK_BYTES) -> tuple[np.ndarray, list[str]]:
    """Feature matrix (n_windows, n_features) of every window of ``signal`` and its column names."""
    n_times = int(round(length * fs))
    if signal.shape[1] < n_times:
        raise DataError(f"recording of {signal.shape[1] / fs:.3f} s is shorter than one {length} s window.")
    chunks = window_chunks(signal, fs, length, step, chunk_bytes)
    first = next(chunks)
    extractor = FeatureExtractor(features, fs=fs, ch_names=ch_names, params=params).fit(first[:1])
    blocks = [extractor.transform(windows) for windows in itertools.chain([first], chunks)]
    return np.concatenate(blocks), list(extractor.get_feature_names_out())
