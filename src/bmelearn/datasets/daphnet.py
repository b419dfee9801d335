"""Daphnet Freezing of Gait (Bächlin et al., IEEE Trans. Inf. Technol. Biomed. 14(2), 2010):
three tri-axial accelerometers (ankle, thigh, trunk) at 64 Hz on people with Parkinson's
disease walking in the lab, with a per-sample freezing-of-gait flag.

Reads the original release (a folder of ``S<ss>R<rr>.txt``, one line per sample: time in
ms, the nine accelerations in mg, and the annotation 0 = outside the experiment, 1 = walking
without freezing, 2 = freezing) or a file of the TimeEval CSV format (``timestamp``, the
nine channels, ``is_anomaly``), such as the excerpt ``S06R02E0.csv`` that aeon ships. Each
contiguous stretch of one label is one trial, an episode of class ``walk`` or ``freeze``;
samples outside the experiment are dropped. Subject and run come from the file name; a run
is a session.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bmelearn.datasets.description import Description
from bmelearn.errors import DataError
from bmelearn.signals.recording import Recording, RecordingSet

CHANNELS = ("ankle_fwd", "ankle_vert", "ankle_lat", "thigh_fwd", "thigh_vert", "thigh_lat",
            "trunk_fwd", "trunk_vert", "trunk_lat")
CLASSES = ["walk", "freeze"]
FS = 64.0
OUTSIDE, WALK, FREEZE = 0, 1, 2
#: What the files hold, known before reading them (runs and subjects are read from the file names).
DESCRIPTION = Description({"acc": FS}, classes=CLASSES)


def _read(file: Path) -> tuple[np.ndarray, np.ndarray]:
    """Accelerations (n, 9) in mg and annotations (n,) in {0, 1, 2} of one file."""
    if file.suffix == ".csv":
        table = pd.read_csv(file)
        if table.shape[1] != 11 or "is_anomaly" not in table.columns:
            raise DataError(f"{file}: expected the TimeEval columns timestamp, 9 channels, is_anomaly; got {list(table.columns)}.")
        return table.iloc[:, 1:10].to_numpy(dtype=float), WALK + table["is_anomaly"].to_numpy(dtype=int)
    try:
        table = np.loadtxt(file, ndmin=2)
    except ValueError as exc:
        raise DataError(f"{file}: not a Daphnet text file of numbers ({exc}).") from None
    if table.shape[1] != 11:
        raise DataError(f"{file}: {table.shape[1]} columns; a Daphnet file has 11 (time, 9 accelerations, annotation).")
    return table[:, 1:10], table[:, 10].astype(int)


def _episodes(values: np.ndarray, labels: np.ndarray, subject: int, run: int, file: Path) -> list[Recording]:
    """One Recording per contiguous stretch of walking or freezing."""
    unknown = sorted(set(np.unique(labels)) - {OUTSIDE, WALK, FREEZE})
    if unknown:
        raise DataError(f"{file}: annotations {unknown}; Daphnet uses 0 (outside), 1 (walk) and 2 (freeze).")
    edges = np.flatnonzero(np.diff(labels)) + 1
    counts = {WALK: 0, FREEZE: 0}
    out = []
    for segment in np.split(np.arange(len(labels)), edges):
        label = int(labels[segment[0]])
        if label == OUTSIDE:
            continue
        name = CLASSES[label - 1]
        out.append(Recording(
            values[segment].T, FS, CHANNELS, ("acc",) * len(CHANNELS), ("mg",) * len(CHANNELS), modality="acc",
            meta={"subject": subject, "session": f"R{run:02d}", "repetition": counts[label], "label": name,
                  "trial": f"S{subject:02d}R{run:02d}/{segment[0]}", "source": str(file)},
        ))
        counts[label] += 1
    return out


def load_daphnet(path: str | Path, subjects: Sequence[int] | None = None) -> RecordingSet:
    """Episodes of walking and freezing from a Daphnet folder or file (see the module text)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: not found; give the folder of the Daphnet release (S01R01.txt …) or one of its files.")
    files = sorted([*path.glob("S*R*.txt"), *path.glob("S*R*.csv")]) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path}: no Daphnet file (S<subject>R<run>.txt or .csv) in this folder.")
    recordings = []
    for file in files:
        match = re.match(r"S(\d+)R(\d+)", file.stem)
        if match is None:
            raise DataError(f"{file}: not a Daphnet file name (S<subject>R<run>.txt, e.g. S01R02.txt).")
        subject, run = int(match[1]), int(match[2])
        if subjects is None or subject in subjects:
            recordings += _episodes(*_read(file), subject, run, file)
    if not recordings:
        raise DataError(f"{path}: no walking or freezing sample for subjects {subjects}.")
    return RecordingSet(recordings, CLASSES, name="daphnet")
