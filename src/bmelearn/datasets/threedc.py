"""The 3DC armband dataset (Côté-Allard et al., IEEE TNSRE 27(4), 2019; Front. Bioeng. Biotechnol. 8:158, 2020).

10 bipolar dry-electrode EMG channels at 1000 Hz (raw ADC values), an IMU orientation
quaternion at about 50 Hz, 11 gestures held 5 s, sessions ``train`` and ``test`` of 4
repetitions each. Layout: ``ParticipantN/{train,test}/{EMG,IMU}/3dc_{EMG,IMU}_gesture_{rep}_{class}.txt``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bmelearn.datasets.description import Description, missing_sessions
from bmelearn.errors import ConfigError, DataError
from bmelearn.io import QUATERNION_CHANNELS, read_pattern, read_quaternions
from bmelearn.signals.recording import RecordingSet

CLASSES = [
    "neutral",
    "radial deviation",
    "wrist flexion",
    "ulnar deviation",
    "wrist extension",
    "supination",
    "pronation",
    "power grip",
    "open hand",
    "chuck grip",
    "pinch grip",
]
EMG_FS = 1000.0
#: The IMU has no exact clock: each file is stretched over its EMG file's duration, then resampled to this rate (Hz).
IMU_FS = 50.0
EMG_CHANNELS = tuple(f"EMG{i + 1}" for i in range(10))
PATTERN = "Participant{subject}/{session}/{kind}/3dc_{kind}_gesture_{repetition}_{label}.txt"
SESSIONS = ("train", "test")
RATES = {"emg": EMG_FS, "imu": IMU_FS}
REPETITIONS = 4


def describe(sessions: Sequence[str], modalities: Sequence[str], **_) -> Description:
    """The 3DC recordings of these ``sessions`` and ``modalities`` (see :func:`load_3dc`), before reading them."""
    for key, values, allowed in (("sessions", sessions, SESSIONS), ("modalities", modalities, tuple(RATES))):
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise ConfigError(f"dataset.{key}: {unknown} are not {key} of 3dc; choose from {list(allowed)}.")
    return Description({m: RATES[m] for m in modalities}, sessions=list(sessions), classes=CLASSES,
                       repetitions=REPETITIONS, pattern=PATTERN.replace("{kind}", "EMG"))


def load_3dc(
    path: str | Path,
    subjects: Sequence[int] | None = None,
    sessions: Sequence[str] = SESSIONS,
    modalities: Sequence[str] = ("emg",),
) -> RecordingSet:
    """Load 3DC participants (``subjects``, default all found) and ``modalities`` (``emg``, ``imu``)."""
    describe(sessions, modalities)

    def keep(meta: dict) -> bool:
        return (subjects is None or meta["subject"] in subjects) and meta["session"] in sessions

    emg = read_pattern(
        path,
        PATTERN.replace("{kind}", "EMG"),
        fs=EMG_FS,
        ch_names=EMG_CHANNELS,
        units="ADC",
        classes=CLASSES,
        keep=keep,
    )
    if not emg:
        raise DataError(f"{path}: no 3DC recording for subjects={subjects}, sessions={list(sessions)}.")
    missing_sessions(emg, sessions, path, PATTERN.replace("{kind}", "EMG"))
    recordings = emg if "emg" in modalities else []
    if "imu" in modalities:
        recordings = recordings + _imu_on_emg_clock(path, emg, keep)
    # sessions in the order asked for (train before test), then trial order
    order = {s: i for i, s in enumerate(sessions)}
    recordings.sort(key=lambda r: (r.meta["subject"], order[r.meta["session"]]))
    return RecordingSet(recordings, CLASSES, name="3dc")


def _imu_on_emg_clock(path, emg, keep) -> list:
    """IMU recordings, each stretched over its EMG trial's duration and resampled to IMU_FS."""
    duration = {r.meta["trial"]: r.duration for r in emg}
    imu = read_pattern(
        path,
        PATTERN.replace("{kind}", "IMU"),
        fs=IMU_FS,
        read=read_quaternions,
        ch_names=QUATERNION_CHANNELS,
        ch_type="quat",
        modality="imu",
        classes=CLASSES,
        keep=keep,
    )
    out = []
    for rec in imu:
        seconds = duration.get(rec.meta["trial"])
        if seconds is None:
            raise DataError(f"{rec.where}: no EMG file for this IMU file; both are needed to align them.")
        t_in = np.linspace(0.0, seconds, rec.n_samples, endpoint=False)
        t_out = np.arange(int(np.floor(seconds * IMU_FS))) / IMU_FS
        q = np.stack([np.interp(t_out, t_in, ch) for ch in rec.data])
        out.append(rec.with_data(q / np.linalg.norm(q, axis=0, keepdims=True)))
    return out
