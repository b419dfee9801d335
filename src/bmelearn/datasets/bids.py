"""A BIDS folder of EMG recordings (the Brain Imaging Data Structure; its EMG extension,
BEP 042): ``sub-<label>/[ses-<label>/]emg/sub-<label>[_ses-<label>]_task-<label>[_run-<n>]_emg.edf``
(or ``.bdf``), each with a ``..._channels.tsv`` (name, type, units, status) and an
``..._events.tsv`` (onset, duration, trial_type) beside it.

Each recording is continuous and cut into trials by its events (:mod:`bmelearn.signals.events`);
the subject and session come from the file name, and a run, when there are several, is part of
the session (``train/run-2``). The channels table gives each channel's type (``EMG``, ``ACCEL``,
``GYRO``, ``MISC``) and unit; a channel marked ``bad`` in its status column is left out, with a
warning. The file's own labels must match the table's names, in any order.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bmelearn.datasets.description import Description, missing_sessions
from bmelearn.errors import DataError
from bmelearn.io.formats import channel_type, group_signals, read_described
from bmelearn.registry import NonNegativeFloat
from bmelearn.signals.events import Straddle, read_events, trials_from_events
from bmelearn.signals.recording import RecordingSet

#: A BIDS EMG file name, its entities as groups.
_NAME = re.compile(r"^sub-(?P<subject>[A-Za-z0-9]+)(?:_ses-(?P<session>[A-Za-z0-9]+))?_task-(?P<task>[A-Za-z0-9]+)"
                   r"(?:_acq-[A-Za-z0-9]+)?(?:_run-(?P<run>\d+))?_emg\.(?:edf|bdf)$", re.IGNORECASE)


def _recordings(root: Path, task: str | None) -> list[tuple[Path, dict[str, Any]]]:
    """The EMG files under ``root`` (of ``task`` only, when given) and their entities."""
    if not root.is_dir():
        raise DataError(f"{root}: folder not found. Give the BIDS dataset's root folder (the one holding sub-*).")
    found = []
    for path in sorted(root.glob("sub-*/**/emg/*_emg.*")):
        match = _NAME.match(path.name)
        if match and (task is None or match["task"] == task):
            found.append((path, match.groupdict()))
    if not found:
        some = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())[:5]
        raise DataError(f"{root}: no BIDS EMG recording (sub-*/[ses-*/]emg/sub-*_task-*_emg.edf or .bdf"
                        f"{f' of task {task!r}' if task else ''}); files there look like {some or 'nothing'}.")
    per_session = Counter((e["subject"], e["session"]) for _, e in found)
    for _, entities in found:
        session = entities["session"] or "1"
        several = per_session[(entities["subject"], entities["session"])] > 1
        entities["session"] = f"{session}/run-{int(entities['run'])}" if entities["run"] and several else session
        entities["subject"] = int(entities["subject"]) if entities["subject"].isdecimal() else entities["subject"]
    return found


def _beside(path: Path, suffix: str) -> Path:
    """The side-car file of a BIDS recording: ``..._emg.edf`` → ``..._channels.tsv``."""
    return path.with_name(path.name[: path.name.lower().rindex("_emg.")] + suffix)


def describe(path: str | Path | None = None, task: str | None = None, classes: Sequence[str] | None = None,
             sessions: Sequence[Any] | None = None, rest: str | None = None, **_) -> Description:
    """The dataset's modalities and rates, from its first recording and channels table."""
    rates = {}
    if path is not None:
        first, _ = _recordings(Path(path), task)[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its bad channels are reported when the dataset is read
            rates = {rec.modality: rec.fs for rec in _signals(first)}
    names = None if classes is None else list(dict.fromkeys([*classes, *([rest] if rest else [])]))
    return Description(rates, sessions=None if sessions is None else list(sessions), classes=names)


def _signals(path: Path) -> list:
    """The recording at ``path`` with the types, units and status of its channels table: one
    recording per type and rate, bad channels left out."""
    table_path = _beside(path, "_channels.tsv")
    if not table_path.is_file():
        raise DataError(f"{path}: no {table_path.name} beside it; BIDS describes each recording's channels (name, type, "
                        "units) in one. Write it, or read the files with dataset: files.")
    table = pd.read_csv(table_path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in ("name", "type", "units") if c not in table.columns]
    if missing:
        raise DataError(f"{table_path}: the columns {missing} are missing; a BIDS channels table has name, type and units.")
    recorded = {name: (rec, i) for rec in read_described(path).recordings for i, name in enumerate(rec.ch_names)}
    unknown = sorted(set(table["name"]) - set(recorded))
    if unknown:
        raise DataError(f"{table_path}: channels {unknown} are not in {path.name}, whose signals are {sorted(recorded)}. "
                        "Make the table's names those of the file's signals.")
    status = table["status"].str.lower() if "status" in table.columns else pd.Series("good", index=table.index)
    bad = table.loc[status == "bad", "name"].tolist()
    if bad:
        warnings.warn(f"{table_path}: channels {bad} are marked bad; they are left out.", stacklevel=3)
    signals = [(row["name"], channel_type(row["name"], row["type"]), recorded[row["name"]][0].fs,
                recorded[row["name"]][0].data[recorded[row["name"]][1]], row["units"])
               for _, row in table[status != "bad"].iterrows()]
    return group_signals(signals, path)


def load_bids(path: str | Path, task: str | None = None, classes: Sequence[str] | None = None,
              subjects: Sequence[int | str] | None = None, sessions: Sequence[int | str] | None = None,
              rest: str | None = None, straddle: Straddle = "drop", context: NonNegativeFloat = 0.0) -> RecordingSet:
    """The EMG recordings of the BIDS folder ``path`` (of ``task`` only, when given), cut into
    trials by their events tables: ``classes`` names the event types that are classes and fixes
    their order (every type without it), ``rest`` the class of the stretches between events;
    ``subjects`` and ``sessions`` keep only those; ``straddle`` and ``context`` as for the files
    dataset (:func:`bmelearn.datasets.files.load_files`)."""
    trials = []
    for file, entities in _recordings(Path(path), task):
        if (subjects is not None and entities["subject"] not in subjects) or (
                sessions is not None and entities["session"] not in [str(s) for s in sessions]):
            continue
        events_path = _beside(file, "_events.tsv")
        if not events_path.is_file():
            raise DataError(f"{file}: no {events_path.name} beside it; write the events (onset, duration, trial_type).")
        meta = {"subject": entities["subject"], "session": entities["session"]}
        trials += trials_from_events(_signals(file), read_events(events_path), meta, classes, rest, file,
                                     context if straddle == "centre" else 0.0)
    if not trials:
        raise DataError(f"{path}: no recording of subjects={subjects}, sessions={sessions}.")
    if sessions is not None:
        missing_sessions(trials, sessions, path, "sub-*/[ses-*/]emg/*_emg.edf")
    order = list(dict.fromkeys([*classes, *([rest] if rest else [])])) if classes is not None else None
    return RecordingSet(trials, order, name=Path(path).name)


__all__ = ["describe", "load_bids"]
