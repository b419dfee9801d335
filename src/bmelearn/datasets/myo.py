"""LibEMG's one-subject Myo armband dataset: 8 EMG channels at 200 Hz, 5 classes, 6 trials.

Layout: ``trial_{session}/R_{repetition}_C_{label}.csv``. Each trial is treated as a session.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bmelearn.datasets.description import Description, missing_sessions
from bmelearn.errors import ConfigError
from bmelearn.io import read_pattern
from bmelearn.signals.recording import RecordingSet

CLASSES = ["hand close", "hand open", "no motion", "wrist extension", "wrist flexion"]
FS = 200.0
CHANNELS = tuple(f"EMG{i + 1}" for i in range(8))
PATTERN = "trial_{session}/R_{repetition}_C_{label}.csv"
SESSIONS = (1, 2, 3, 4, 5, 6)


def describe(sessions: Sequence[int] | None, **_) -> Description:
    """The trials (sessions) of :func:`load_one_subject_myo`, before reading them."""
    unknown = [s for s in sessions or () if s not in SESSIONS]
    if unknown:
        raise ConfigError(f"dataset.sessions: {unknown} are not sessions of one-subject-myo; choose from {list(SESSIONS)}.")
    return Description({"emg": FS}, sessions=list(sessions or SESSIONS), classes=CLASSES, pattern=PATTERN)


def load_one_subject_myo(path: str | Path, sessions: Sequence[int] | None = None) -> RecordingSet:
    """Load the trials (sessions 1–6 by default) of the one-subject Myo dataset."""
    describe(sessions)
    recordings = read_pattern(
        path,
        PATTERN,
        fs=FS,
        ch_names=CHANNELS,
        units="a.u.",
        classes=CLASSES,
        defaults={"subject": 1},
        keep=lambda m: sessions is None or m["session"] in sessions,
    )
    if sessions is not None:
        missing_sessions(recordings, sessions, path, PATTERN)
    return RecordingSet(recordings, CLASSES, name="one-subject-myo")
