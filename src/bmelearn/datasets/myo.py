"""LibEMG's one-subject Myo armband dataset: 8 EMG channels at 200 Hz, 5 classes, 6 trials.

Layout: ``trial_{session}/R_{repetition}_C_{label}.csv``. Each trial is treated as a session.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bmelearn.io import read_pattern
from bmelearn.signals.recording import RecordingSet

CLASSES = ["hand close", "hand open", "no motion", "wrist extension", "wrist flexion"]
FS = 200.0
CHANNELS = tuple(f"EMG{i + 1}" for i in range(8))


def load_one_subject_myo(path: str | Path, sessions: Sequence[int] | None = None) -> RecordingSet:
    """Load the trials (sessions 1–6 by default) of the one-subject Myo dataset."""
    recordings = read_pattern(
        path,
        "trial_{session}/R_{repetition}_C_{label}.csv",
        fs=FS,
        ch_names=CHANNELS,
        units="a.u.",
        classes=CLASSES,
        defaults={"subject": 1},
        keep=lambda m: sessions is None or m["session"] in sessions,
    )
    return RecordingSet(recordings, CLASSES, name="one-subject-myo")
