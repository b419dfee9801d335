"""Feature matrices cached on disk, one entry per trial, so that a run that changes only the
models (or the protocols, or the scoring) does not compute the features again.

An entry is one ``.npz`` file of arrays (no pickle) named by a key that hashes the trial's signals and
everything that shapes its features: the preprocessing, the windows, the excluded channels,
the features and their parameters, and the bmelearn version. A signal held in memory is
hashed by value; a signal not yet read (:class:`~bmelearn.signals.recording.LazySignal`), which may be
larger than memory, by its fingerprint (a file's path, size and modification time). Entries are written under a temporary name and renamed, so several
processes, or the machines of a cluster sharing the folder, can use one cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from bmelearn import __version__
from bmelearn.compute.arrays import load_arrays, save_arrays
from bmelearn.signals.recording import LazySignal, Recording


def trial_key(streams: Mapping[str, Recording], recipe: Any) -> str:
    """The cache key of one trial's features: its signals and the ``recipe`` (any hashable
    description of the preprocessing, windows, channels and features)."""
    return joblib.hash(([_fingerprint(r) for r in streams.values()], recipe, __version__))


def load_entry(folder: Path, key: str) -> dict[str, np.ndarray] | None:
    """The arrays cached under ``key``, or None."""
    return load_arrays(folder / f"{key}.npz")


def store_entry(folder: Path, key: str, **arrays: np.ndarray) -> None:
    """Write ``arrays`` under ``key``, atomically."""
    save_arrays(folder / f"{key}.npz", **arrays)


def _fingerprint(rec: Recording) -> tuple:
    signal = rec.data.fingerprint() if isinstance(rec.data, LazySignal) else rec.data
    return rec.modality, rec.fs, rec.ch_names, signal
