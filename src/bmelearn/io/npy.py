"""NumPy ``.npy`` recordings, read lazily: a dataset holds each file as its header only (a
:class:`~bmelearn.signals.recording.MappedFile`); the samples are memory-mapped where they are used,
so a dataset may be larger than memory and hold any number of files."""

from __future__ import annotations

from pathlib import Path
from tokenize import TokenError

import numpy as np

from bmelearn.errors import DataError
from bmelearn.signals.recording import MappedFile

#: What ``np.load`` raises for a damaged ``.npy`` file (a truncated, corrupted or odd header).
_DAMAGED = (OSError, ValueError, EOFError, TypeError, OverflowError, SyntaxError, TokenError)
_SAVE = "Save each recording with numpy.save(path, array) as a 2-D float array (channels × samples)."


def map_npy(path: str | Path) -> np.memmap:
    """A ``.npy`` recording, channels × samples, any float type, mapped read-only (never unpickled)."""
    _check_magic(Path(path))
    try:
        signal = np.load(path, mmap_mode="r", allow_pickle=False)
    except _DAMAGED as exc:
        reason = f"{exc}; it may be cut short or damaged, or hold Python objects"
        raise DataError(f"{path}: not a readable .npy array ({reason}). {_SAVE}") from None
    if signal.ndim != 2 or not np.issubdtype(signal.dtype, np.floating):
        raise DataError(f"{path}: a recording is a 2-D float array (channels × samples); got {signal.dtype} {signal.shape}.")
    return signal


def npy_file(path: str | Path) -> MappedFile:
    """A ``.npy`` recording (channels × samples, float), checked, as a :class:`MappedFile`
    that holds no open file."""
    signal = map_npy(path)
    return MappedFile(str(path), tuple(signal.shape), signal.dtype.str)


def _check_magic(path: Path) -> None:
    """An error unless the file starts as a ``.npy`` file does (``np.load`` would take a zip as ``.npz``)."""
    try:
        with path.open("rb") as file:
            start = file.read(len(np.lib.format.MAGIC_PREFIX))
    except OSError as exc:
        raise DataError(f"{path}: cannot open it ({exc.strerror}). Check the dataset path and file pattern.") from None
    if not start:
        raise DataError(f"{path}: the file is empty. Remove it or save the recording again.")
    if start != np.lib.format.MAGIC_PREFIX:
        kind = "it is a .npz archive" if start.startswith(b"PK") else "it does not start with NumPy's .npy header"
        raise DataError(f"{path}: not a .npy file; {kind}. {_SAVE}")
