"""Arrays as NumPy ``.npz`` files, written atomically and read without unpickling (models are
saved by :mod:`bmelearn.serving.model`)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np


def save_arrays(path: str | Path, **arrays: Any) -> None:
    """Write ``arrays`` to the ``.npz`` file ``path`` under a temporary name, then rename it: a
    reader (another process, another machine on shared storage) sees the whole file or none."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.npz")
    np.savez(temporary, **arrays)
    os.replace(temporary, path)


def load_arrays(path: str | Path) -> dict[str, np.ndarray] | None:
    """The arrays of the ``.npz`` file ``path`` (never unpickled), or None if there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as arrays:
        return dict(arrays)
