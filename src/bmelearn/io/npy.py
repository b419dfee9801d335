"""NumPy ``.npy`` recordings, memory-mapped: opening one reads only its header; samples are
read from disk where they are used, so a dataset may be larger than memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bmelearn.errors import DataError


def map_npy(path: str | Path) -> np.memmap:
    """A ``.npy`` recording, channels × samples, any float type, mapped read-only."""
    try:
        signal = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc}).") from None
    if signal.ndim != 2 or not np.issubdtype(signal.dtype, np.floating):
        raise DataError(f"{path}: a recording is a 2-D float array (channels × samples); got {signal.dtype} {signal.shape}.")
    return signal
