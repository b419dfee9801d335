"""NumPy ``.npy`` recordings, read lazily: a dataset holds each file as its header only (a
:class:`~bmelearn.signals.recording.MappedFile`); the samples are memory-mapped where they are used,
so a dataset may be larger than memory and hold any number of files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bmelearn.errors import DataError
from bmelearn.signals.recording import MappedFile


def map_npy(path: str | Path) -> np.memmap:
    """A ``.npy`` recording, channels × samples, any float type, mapped read-only."""
    try:
        signal = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc}).") from None
    if signal.ndim != 2 or not np.issubdtype(signal.dtype, np.floating):
        raise DataError(f"{path}: a recording is a 2-D float array (channels × samples); got {signal.dtype} {signal.shape}.")
    return signal


def npy_file(path: str | Path) -> MappedFile:
    """A ``.npy`` recording (channels × samples, float), checked, as a :class:`MappedFile`
    that holds no open file."""
    signal = map_npy(path)
    return MappedFile(str(path), tuple(signal.shape), signal.dtype.str)
