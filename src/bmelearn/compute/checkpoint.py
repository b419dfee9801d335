"""Completed units of an evaluation on disk, so that a run interrupted at any point (even
killed) resumes from them when the same command is run again.

One unit is one pipeline fitted on one fold and its predictions on that fold's test windows
(clean and perturbed). Each is a NumPy ``.npz`` file (no pickle) named by a hash of
everything that determines it: the data, the unfitted pipeline, the protocol, the fold's
training and test windows, the classes. A unit written by another configuration can never be
taken for this one's. Files are written under a temporary name and renamed, so a unit is
either complete or absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np

from bmelearn.compute.arrays import load_arrays, save_arrays


@dataclass
class UnitResult:
    """A fitted unit: fit time (s), decision threshold (NaN without a tuned operating point),
    and per test variant the predicted classes and the class probabilities (None if the model
    gives none)."""

    fit_seconds: float
    threshold: float
    predicted: list[np.ndarray]
    scores: list[np.ndarray | None]


def unit_key(*parts: object) -> str:
    """A stable hash of the unit's inputs (arrays by content, estimators by their parameters)."""
    return joblib.hash(parts)


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
            arrays[f"predicted_{i}"] = np.asarray(predicted, dtype=str)
            if scores is not None:
                arrays[f"scores_{i}"] = scores
        save_arrays(self.folder / f"{key}.npz", **arrays)
