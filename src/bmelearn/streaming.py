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
from bmelearn.windowing import window_positions, window_starts

#: Bytes of float64 windows per chunk (the feature kernels need a few times more).
CHUNK_BYTES = 128 * 2**20


def window_chunks(signal: np.ndarray, fs: float, length: float, step: float,
                  chunk_bytes: int = CHUNK_BYTES) -> Iterator[np.ndarray]:
    """Consecutive chunks of windows (k, n_channels, n_times) as float64, in order; each chunk
    reads only its own samples."""
    n_channels, n_samples = signal.shape
    n_times = round(length * fs)
    positions = window_positions(window_starts(n_samples / fs, length, step), fs, n_samples, n_times)
    view = sliding_window_view(signal, n_times, axis=1)  # (ch, positions, n_times), nothing read
    per_chunk = max(1, chunk_bytes // (8 * n_channels * n_times))
    for first in range(0, len(positions), per_chunk):
        yield np.ascontiguousarray(view[:, positions[first:first + per_chunk]].transpose(1, 0, 2), dtype=np.float64)


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
