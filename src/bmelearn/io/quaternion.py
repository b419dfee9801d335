"""Orientation quaternions written one per line as ``(w, x, y, z)`` (the 3DC IMU files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bmelearn.errors import DataError
from bmelearn.io.text import parse_matrix, read_text

QUATERNION_CHANNELS = ("QW", "QX", "QY", "QZ")


def read_quaternions(path: str | Path) -> np.ndarray:
    """Read a file of ``(w, x, y, z)`` lines (:func:`parse_quaternions`)."""
    return parse_quaternions(read_text(path), path)


def parse_quaternions(text: str, path: str | Path) -> np.ndarray:
    """``(w, x, y, z)`` lines as an array (n_samples, 4) of unit quaternions; ``path`` names
    the source in messages.

    Samples of zero norm (``(0, 0, 0, 0)``, which IMUs write before their first estimate)
    or not finite (NaN, infinity, or too large for a norm) are missing values: they are filled
    by linear interpolation from the valid neighbours.
    """
    q, _ = parse_matrix(text.replace("(", "").replace(")", ""), path)
    if q.shape[1] != 4:
        raise DataError(f"{path}: {q.shape[1]} values per line; a quaternion line holds 4: (w, x, y, z).")
    with np.errstate(over="ignore", invalid="ignore"):
        norm = np.linalg.norm(q, axis=1)
    valid = np.isfinite(norm) & (norm > 1e-6)
    if not valid.any():
        raise DataError(f"{path}: every quaternion is zero or not finite; the IMU recorded no orientation. Exclude this file.")
    q = q / np.where(valid, norm, 1.0)[:, None]
    if not valid.all():
        t = np.arange(len(q))
        q = np.column_stack([np.interp(t, t[valid], q[valid, k]) for k in range(4)])
        q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q
