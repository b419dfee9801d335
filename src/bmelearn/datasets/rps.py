"""Armband EMG of rock / paper / scissors / ok / rest (the data set shipped inside geomstats).

One gzip CSV: ``time`` (ms, irregular, ~244 Hz), ``c0``…``c7`` (8-bit values centred on
128), ``label`` and ``exp`` (``<subject>_<session>``, e.g. ``mg_s1``). Samples are
resampled to a uniform grid; each run of one label is a trial, and the n-th run of a label
within a session is repetition n.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bmelearn.datasets.description import Description
from bmelearn.errors import DataError
from bmelearn.io import recordings_from_table
from bmelearn.signals.recording import RecordingSet

CLASSES = ["rest", "rock", "paper", "scissors", "ok"]
CHANNELS = tuple(f"c{i}" for i in range(8))
#: Uniform rate the irregular samples are interpolated to (Hz); the median raw rate is ~243 Hz.
FS = 244.0
#: What the file holds, known before reading it.
DESCRIPTION = Description({"emg": FS}, sessions=["s1", "s2"], classes=CLASSES, subjects=["mg", "rr"])


def load_emg_rps(path: str | Path) -> RecordingSet:
    """Load the whole file; subjects ``mg`` and ``rr``, sessions ``s1`` and ``s2``."""
    path = Path(path)
    if path.is_dir():
        path = path / "emg.csv.gz"
    if not path.is_file():
        raise DataError(f"{path}: file not found. Give the path of emg.csv.gz (or its folder).")
    table = pd.read_csv(path)
    if "exp" not in table.columns:
        raise DataError(f"{path}: no 'exp' column (subject_session); is this the emg-rps file?")
    parts = table["exp"].astype(str).str.split("_", n=1, expand=True)
    table["subject"], table["session"] = parts[0], parts[1]
    recordings = recordings_from_table(
        table,
        channels=CHANNELS,
        label="label",
        subject="subject",
        session="session",
        time="time",
        time_unit="ms",
        fs=FS,
        units="a.u.",
        source=str(path),
    )
    return RecordingSet(recordings, CLASSES, name="emg-rps")
