"""Your own recordings: one file per trial in a folder, the metadata in the path.

A pattern such as ``S{subject}/{session}/{label}_{repetition}.npy`` says where the files are
and what each part of the path means (see :mod:`bmelearn.io.pattern`). Files are numeric
text (one sample per line, one column per channel) or ``.npy`` arrays of channels ×
samples; ``.npy`` files are memory-mapped and read only where they are used, so the dataset
may be larger than memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from bmelearn.datasets.description import Description, missing_sessions
from bmelearn.errors import DataError
from bmelearn.io import read_pattern
from bmelearn.registry import PositiveFloat
from bmelearn.signals.recording import RecordingSet


def describe(pattern: str, fs: float, ch_names: Sequence[str], modality: str,
             classes: Sequence[str] | Mapping[Any, str] | None, sessions: Sequence[Any] | None, **_) -> Description:
    """The recordings :func:`load_files` will read with these arguments, before reading them; a
    DataError naming the key if the pattern or the channels cannot describe files."""
    if not ch_names:
        raise DataError("dataset.ch_names: name the channels of the files, one per column (e.g. [EMG1, EMG2]).")
    if "{label}" not in pattern and "{class}" not in pattern:
        raise DataError(f"dataset.pattern: {pattern!r} has no {{label}} field; the class of each file must be in its path.")
    if PurePath(pattern).anchor or ".." in PurePath(pattern).parts:
        raise DataError(f"dataset.pattern: {pattern!r} is not a path inside dataset.path; write it relative to that "
                        "folder, e.g. 'S{subject}/{session}/{label}_{repetition}.npy'.")
    names = _class_names(classes)
    return Description({modality: fs}, sessions=None if sessions is None else list(sessions),
                       classes=None if names is None else list(dict.fromkeys(names.values())), pattern=pattern)


def _class_names(classes: Sequence[str] | Mapping[Any, str] | None) -> dict[Any, str] | None:
    """Class names by the label in a path: a class number or a class name (None: the labels are the names)."""
    if classes is None:
        return None
    names = dict(classes) if isinstance(classes, Mapping) else dict(enumerate(classes))
    return names | {name: name for name in names.values()}


def load_files(
    path: str | Path,
    pattern: str,
    fs: PositiveFloat,
    ch_names: Sequence[str],
    ch_type: str = "emg",
    modality: str = "emg",
    units: str | None = None,
    classes: Sequence[str] | Mapping[Any, str] | None = None,
    subjects: Sequence[int | str] | None = None,
    sessions: Sequence[int | str] | None = None,
) -> RecordingSet:
    """The files under ``path`` that match ``pattern``, sampled at ``fs`` Hz with one channel per
    name in ``ch_names``. ``classes`` maps label numbers in the paths to class names (a list
    indexed by number, or a mapping) and fixes the class order; ``subjects`` and ``sessions``
    keep only those."""
    describe(pattern, fs, ch_names, modality, classes, sessions)

    def keep(meta: dict[str, Any]) -> bool:
        return (subjects is None or meta.get("subject") in subjects) and (sessions is None or meta.get("session") in sessions)

    names = _class_names(classes)
    recordings = read_pattern(path, pattern, fs=fs, ch_names=list(ch_names), ch_type=ch_type,
                              modality=modality, units=units, classes=names, keep=keep)
    if not recordings:
        raise DataError(f"{path}: no file of subjects={subjects}, sessions={sessions} matches {pattern!r}.")
    if sessions is not None:
        missing_sessions(recordings, sessions, path, pattern)
    order = list(dict.fromkeys(names.values())) if names is not None else None
    return RecordingSet(recordings, order, name=Path(path).name)
