"""Completed units of an evaluation on disk, so that a run interrupted at any point (even
killed) resumes from them when the same command is run again, and a later run that repeats a
unit (the same study again, one model added, only the report changed) reads it instead of
computing it: with the cache on, the folder is ``.cache/fits`` beside the run folders.

A fit unit is one pipeline fitted on one fold and its predictions on that fold's test windows
(clean and perturbed); a scoring unit is one subject's metrics with their bootstrap intervals.
Each is a NumPy ``.npz`` file (no pickle) named by a hash of everything that determines it:
the data, the unfitted pipeline, the protocol, the fold's training and test windows, the
classes (a scoring unit: its predictions, resampling units, resamples and seed), and the
versions of bmelearn and of the libraries that compute it. A unit written by another
configuration or version can never be taken for this one's. Files are written under a
temporary name and renamed, so a unit is either complete or absent. The recorded fit times
are those of the run that fitted the unit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import joblib
import numpy as np

from bmelearn import __version__
from bmelearn.compute.arrays import load_arrays, save_arrays
from bmelearn.compute.backends import run_units

#: The libraries whose version is part of every unit's key: they compute its numbers.
KEYED_LIBRARIES = ("numpy", "scipy", "scikit-learn", "torch", "skorch", "numba", "aeon")


@dataclass
class UnitResult:
    """A fitted unit: fit time (s), decision threshold (NaN without a tuned operating point),
    and per test variant the predicted classes (or a regression's values) and the class
    probabilities (None if the model gives none)."""

    fit_seconds: float
    threshold: float
    predicted: list[np.ndarray]
    scores: list[np.ndarray | None]


def unit_key(*parts: object) -> str:
    """A stable hash of the unit's inputs (arrays by content, estimators by their parameters) and
    of the versions that compute it (:func:`versions`)."""
    return joblib.hash((tuple(_by_content(p) for p in parts), versions()))


def _by_content(part: object) -> object:
    """``part``, with an array of Python strings (labels, trial ids: object dtype, which joblib
    pickles one string at a time, 1.4 s for a 22-participant run's scoring) as a fixed-width
    string array, hashed as one buffer; tuples and lists element by element."""
    if isinstance(part, tuple | list):
        return type(part)(_by_content(p) for p in part)
    if isinstance(part, np.ndarray) and part.dtype == object and part.size and all(type(v) is str for v in part.flat):
        return np.asarray(part, dtype=str)
    return part


@functools.cache
def versions() -> tuple[tuple[str, str | None], ...]:
    """bmelearn's version and those of :data:`KEYED_LIBRARIES` (None: not installed), read from
    the installed packages' metadata, without importing them."""
    def installed(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return (("bmelearn", __version__), *((name, installed(name)) for name in KEYED_LIBRARIES))


class Checkpoint:
    """The completed units under ``folder``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def get(self, key: str) -> UnitResult | None:
        f = load_arrays(self.folder / f"{key}.npz")
        if f is None:
            return None
        n = int(f["n_variants"])
        return UnitResult(float(f["fit_seconds"]), float(f["threshold"]), [f[f"predicted_{i}"] for i in range(n)],
                          [f.get(f"scores_{i}") for i in range(n)])

    def put(self, key: str, result: UnitResult) -> None:
        arrays = {"fit_seconds": result.fit_seconds, "threshold": result.threshold, "n_variants": len(result.predicted)}
        for i, (predicted, scores) in enumerate(zip(result.predicted, result.scores, strict=True)):
            predicted = np.asarray(predicted)  # classes as text (no pickle), a regression's values as numbers
            arrays[f"predicted_{i}"] = predicted if np.issubdtype(predicted.dtype, np.number) else predicted.astype(str)
            if scores is not None:
                arrays[f"scores_{i}"] = scores
        save_arrays(self.folder / f"{key}.npz", **arrays)

    def get_rows(self, key: str) -> list[tuple[str, str, float, float, float]] | None:
        """A scoring unit's rows (metric, class, value, interval low, interval high), or None."""
        f = load_arrays(self.folder / f"{key}.npz")
        if f is None or "numbers" not in f:
            return None
        return [(str(m), str(c), *map(float, row)) for m, c, row in zip(f["metric"], f["class"], f["numbers"], strict=True)]

    def put_rows(self, key: str, rows: list[tuple[str, str, float, float, float]]) -> None:
        save_arrays(self.folder / f"{key}.npz", metric=np.array([r[0] for r in rows], dtype=str),
                    **{"class": np.array([r[1] for r in rows], dtype=str)},
                    numbers=np.array([r[2:] for r in rows], dtype=np.float64).reshape(len(rows), 3))


def run_kept(func: Callable[..., UnitResult], units: Sequence[tuple], keys: Sequence[str | None],
             described: Sequence[str], checkpoint: Checkpoint | None, on_fit: Callable[[str], None] | None,
             cost: Sequence[float]) -> list[UnitResult]:
    """``func(*unit)`` for every unit, in their order: read from ``checkpoint`` where it holds the
    unit's key, else run on the current execution backend
    (:func:`~bmelearn.compute.backends.run_units`, the costliest first) and written to it as it
    finishes; ``on_fit`` is told each unit's description as it is done (``(done before)`` for
    those read back)."""
    results = [checkpoint.get(k) if checkpoint is not None else None for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    if on_fit is not None:
        for i in sorted(set(range(len(units))) - set(todo)):
            on_fit(f"{described[i]} (done before)")

    def finished(j: int, result: UnitResult) -> None:
        if checkpoint is not None:
            checkpoint.put(keys[todo[j]], result)
        if on_fit is not None:
            on_fit(described[todo[j]])

    fresh = run_units(func, [units[i] for i in todo], finished, cost=[cost[i] for i in todo])
    for i, result in zip(todo, fresh, strict=True):
        results[i] = result
    return results
