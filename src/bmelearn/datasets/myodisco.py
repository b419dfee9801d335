"""MyoDisCo: the Myo armband on two days and in four limb positions (J. Neural Eng. 21, 2024,
doi 10.1088/1741-2552/ad4915, as LibEMG's loader cites it).

8 EMG channels at 200 Hz (raw integer values), 10 gestures, of which the published protocol
uses 7 (classes 1, 2, 3, 4, 5, 8 and 9, rest). Sessions: ``day1`` and ``day2`` (20 repetitions
of each class; the armband taken off and put on again between the days) and, on day 2,
``position1`` … ``position4`` (5 repetitions each, the arm held in four other positions).
Layout: ``S{subject}/{day1,day2}/R_{rep}_C_{class}_EMG.csv`` and
``S{subject}/positions/{1..4}/R_{rep}_C_{class}_EMG.csv``.

Each file holds one repetition of about 2 s: a gesture of about 0.5 s with rest around it.
With ``crop`` (the default, as LibEMG's loader does), a gesture is cut to the 0.5 s (100
samples) centred on the end of the 0.1 s window (20 samples, stepped by 10) of largest MAV
averaged over the channels, moved inside the file where it would overrun; rest is cut to
samples 100-200. Published protocols: cross-day (train ``day1``, test ``day2``;
``examples/myodisco.yaml``) and limb position (train ``day2``, test the positions;
``examples/myodisco-positions.yaml``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from bmelearn.datasets.description import Description, missing_sessions
from bmelearn.errors import ConfigError, DataError
from bmelearn.io import read_pattern
from bmelearn.signals.recording import Recording, RecordingSet, trial_id

FS = 200.0
CHANNELS = tuple(f"EMG{i + 1}" for i in range(8))
#: Every class by its number in the file names.
ALL_CLASSES = {0: "double tap", 1: "extension", 2: "finger gun", 3: "flexion", 4: "hand close", 5: "hand open",
               6: "point", 7: "snap", 8: "thumbs up", 9: "rest"}
#: The classes of the published protocol.
PUBLISHED = ("extension", "finger gun", "flexion", "hand close", "hand open", "thumbs up", "rest")
DAYS = ("day1", "day2")
POSITIONS = ("position1", "position2", "position3", "position4")
SESSIONS = DAYS + POSITIONS
DAY_PATTERN = "S{subject}/{session}/R_{repetition}_C_{label}_EMG.csv"
POSITION_PATTERN = "S{subject}/positions/{position}/R_{repetition}_C_{label}_EMG.csv"
#: The crop of LibEMG's loader, in samples at 200 Hz: MAV windows and their step, the length kept, rest's stretch.
MAV_WINDOW, MAV_STEP, KEPT, REST = 20, 10, 100, (100, 200)


def describe(sessions: Sequence[str] = SESSIONS, all_classes: bool = False, **_) -> Description:
    """The recordings :func:`load_myodisco` reads with these arguments, before reading them."""
    unknown = [s for s in sessions if s not in SESSIONS]
    if unknown:
        raise ConfigError(f"dataset.sessions: {unknown} are not sessions of myodisco; choose from {list(SESSIONS)}.")
    classes = list(ALL_CLASSES.values()) if all_classes else list(PUBLISHED)
    return Description({"emg": FS}, sessions=list(sessions), classes=classes, pattern=DAY_PATTERN)


def load_myodisco(path: str | Path, subjects: Sequence[int] | None = None, sessions: Sequence[str] = SESSIONS,
                  crop: bool = True, all_classes: bool = False) -> RecordingSet:
    """MyoDisCo's ``subjects`` (default: all found) and ``sessions``, the published protocol's 7
    classes (``all_classes``: the 10), each repetition cut to its active part unless ``crop`` is
    false."""
    classes = describe(sessions, all_classes).classes

    def keep(meta: dict) -> bool:
        return (subjects is None or meta["subject"] in subjects) and meta["label"] in classes

    common = {"fs": FS, "ch_names": CHANNELS, "units": "a.u.", "classes": ALL_CLASSES}
    recordings = []
    days = [s for s in sessions if s in DAYS]
    if days:
        recordings += read_pattern(path, DAY_PATTERN, keep=lambda m: keep(m) and m["session"] in days, **common)
    positions = [s for s in sessions if s in POSITIONS]
    if positions:
        found = read_pattern(path, POSITION_PATTERN, keep=lambda m: keep(m) and f"position{m['position']}" in positions,
                             **common)
        recordings += [_as_session(rec, f"position{rec.meta['position']}") for rec in found]
    if not recordings:
        raise DataError(f"{path}: no MyoDisCo recording of subjects={subjects}, sessions={list(sessions)}. path is the "
                        "folder holding S1, S2, ...")
    missing_sessions(recordings, sessions, path, DAY_PATTERN)
    if crop:
        recordings = [active_part(rec) for rec in recordings]
    order = {s: i for i, s in enumerate(sessions)}
    recordings.sort(key=lambda r: (r.meta["subject"], order[r.meta["session"]]))
    return RecordingSet(recordings, classes, name="myodisco")


def _as_session(rec: Recording, session: str) -> Recording:
    """``rec`` as a recording of ``session`` (its trial id made with it)."""
    meta = rec.meta | {"session": session}
    return replace(rec, meta=meta | {"trial": trial_id(meta)})


def active_part(rec: Recording) -> Recording:
    """The repetition's active part (see the module text): rest's samples 100-200, a gesture's
    100 samples around its peak of MAV."""
    if rec.meta["label"] == "rest":
        first = REST[0]
    else:
        n = rec.n_samples
        if n < KEPT:
            raise DataError(f"{rec.where}: {n} samples, fewer than the {KEPT} of a gesture's active part; set "
                            "dataset.crop: false to keep whole repetitions.")
        starts = np.arange(0, n - MAV_WINDOW + 1, MAV_STEP)
        mav = np.stack([np.abs(rec.data[:, s:s + MAV_WINDOW]).mean(axis=1) for s in starts])
        peak = int(starts[np.argmax(mav.mean(axis=1))]) + MAV_WINDOW
        first = min(max(peak - KEPT // 2, 0), n - KEPT)
    return rec.with_data(rec.data[:, first:first + KEPT])
