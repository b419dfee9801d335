"""Your own recordings: one file per trial in a folder, the metadata in the path, or one
continuous recording per file cut into trials by its events.

A pattern such as ``S{subject}/{session}/{label}_{repetition}.npy`` says where the files are
and what each part of the path means (see :mod:`bmelearn.io.pattern`). Files are numeric
text (one sample per line, one column per channel; the columns of a header line are matched
to the channels by name, see :mod:`bmelearn.io.columns`), ``.npy`` arrays of channels ×
samples, or EDF/BDF files (their signals found by label; :mod:`bmelearn.io.edf`); ``.npy``
files are memory-mapped and read only where they are used, so the dataset may be larger than
memory. A trial, or a continuous recording, may also be a MATLAB or HDF5 file of named
variables (:mod:`bmelearn.io.mat`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from bmelearn.datasets.description import Description, missing_sessions
from bmelearn.errors import DataError
from bmelearn.io import read_pattern
from bmelearn.io.columns import Columns
from bmelearn.io.continuous import EventSource, read_continuous
from bmelearn.io.formats import SUFFIXES, described, read_described, require_reader
from bmelearn.io.isolated import stop_isolated
from bmelearn.io.mat import NINAPRO, PRESETS, MatLayout
from bmelearn.io.pattern import match_files, read_named_files
from bmelearn.registry import NonNegativeFloat, PositiveFloat
from bmelearn.signals.events import Straddle
from bmelearn.signals.motion import MAX_GAP_S, without_gaps
from bmelearn.signals.recording import RecordingSet


def describe(pattern: str, fs: float | None, ch_names: Sequence[str] | None, modality: str,
             classes: Sequence[str] | Mapping[Any, str] | None, sessions: Sequence[Any] | None,
             time_column: str | None = None, time_unit: str = "s", ignore_columns: Sequence[str] = (),
             match_channels: str = "name", events: EventSource | None = None, rest: str | None = None,
             variables: str | dict[str, str] | None = None, path: str | Path | None = None,
             max_gap: float = MAX_GAP_S, straddle: Straddle = "drop", **_) -> Description:
    """The recordings :func:`load_files` will read with these arguments, before reading them; a
    DataError naming the key if the pattern, the channels or the columns cannot describe files.
    Files that name their signals, given without ``fs`` and ``ch_names``, are described by
    the first one under ``path`` (its modalities and rates; none without ``path``)."""
    if ch_names is None and fs is None:
        if not described(pattern):
            raise DataError(f"dataset.fs and dataset.ch_names: the files of {pattern!r} do not name their channels and "
                            f"rate; give them (only {', '.join(sorted(SUFFIXES))} files say them themselves).")
        require_reader(pattern, "dataset.pattern")
    elif not ch_names:
        raise DataError("dataset.ch_names: name the channels of the files, one per column (e.g. [EMG1, EMG2]); or, for "
                        "files that name their signals (EDF, C3D, XDF ...), give neither ch_names nor fs.")
    elif fs is None:
        raise DataError("dataset.fs: give the files' sampling rate (Hz) with their ch_names; or, for files that name "
                        "their signals (EDF, C3D, XDF ...), give neither.")
    labelled = "{label}" in pattern or "{class}" in pattern
    if events is None and not labelled:
        raise DataError(f"dataset.pattern: {pattern!r} has no {{label}} field; the class of each file must be in its path, "
                        "or, for continuous recordings, in their events (dataset.events: annotations, labels or sidecar).")
    if events is not None and labelled:
        raise DataError(f"dataset.pattern: {pattern!r} has a {{label}} field, but dataset.events cuts each file into "
                        "trials by its events; remove one of the two.")
    layout = _layout(variables)
    if events == "labels" and layout.labels is None:
        raise DataError("dataset.events: labels takes each sample's class from a variable of the MATLAB or HDF5 files; "
                        "name it in dataset.variables (e.g. variables: {signal: emg, labels: restimulus}, or ninapro).")
    if straddle != "drop" and events is None:
        raise DataError("dataset.straddle: windows straddle two events only in continuous recordings; set dataset.events "
                        "too, or remove dataset.straddle.")
    if rest is not None and events is None:
        raise DataError("dataset.rest: the stretches between events are a class only for continuous recordings; set "
                        "dataset.events too, or remove dataset.rest.")
    if PurePath(pattern).anchor or ".." in PurePath(pattern).parts:
        raise DataError(f"dataset.pattern: {pattern!r} is not a path inside dataset.path; write it relative to that "
                        "folder, e.g. 'S{subject}/{session}/{label}_{repetition}.npy'.")
    _columns(ch_names or [], time_column, time_unit, ignore_columns, match_channels)
    names = _class_names(classes)
    rates = {modality: fs} if ch_names else {} if path is None else _first_file_rates(path, pattern, max_gap)
    return Description(rates, sessions=None if sessions is None else list(sessions),
                       classes=None if names is None else list(dict.fromkeys([*names.values(), *([rest] if rest else [])])),
                       pattern=pattern)


def _first_file_rates(path: str | Path, pattern: str, max_gap: float) -> dict[str, float]:
    """The modalities and rates (Hz) of the first file under ``path`` that matches ``pattern``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its gaps are reported when the dataset is read
        try:
            first = read_described(match_files(path, pattern)[0][0], max_gap=max_gap)
        finally:
            stop_isolated()  # a C3D file is read in a process of its own
    return {rec.modality: rec.fs for rec in first.recordings}


def _columns(ch_names: Sequence[str], time_column: str | None, time_unit: str, ignore_columns: Sequence[str],
             match_channels: str) -> Columns:
    """What the files' header lines hold besides ``ch_names``; a DataError naming the key of an option that
    names a channel."""
    for key, names in (("time_column", [time_column]), ("ignore_columns", ignore_columns)):
        channels = [n for n in names if n in ch_names]
        if channels:
            raise DataError(f"dataset.{key}: {channels} also in dataset.ch_names; a column is a channel or not, "
                            "remove them from one of the two.")
    return Columns(time_column, time_unit, tuple(ignore_columns), match_channels, config="dataset")


def _layout(variables: str | dict[str, str] | None) -> MatLayout:
    """The variables of MATLAB and HDF5 files: a preset's (``ninapro``), those given, or NinaPro's."""
    if variables is None:
        return NINAPRO
    if isinstance(variables, str):
        if variables not in PRESETS:
            raise DataError(f"dataset.variables: {variables!r} is not a known layout; choose from {sorted(PRESETS)}, or "
                            "name the variables: {signal: emg, labels: restimulus}.")
        return PRESETS[variables]
    unknown = sorted(set(variables) - {"signal", "labels"})
    if unknown or "signal" not in variables:
        raise DataError(f"dataset.variables: give signal (and labels) as variable names or HDF5 paths, e.g. {{signal: emg, "
                        f"labels: restimulus}}; {'unknown keys ' + str(unknown) if unknown else 'signal is missing'}.")
    return MatLayout(variables["signal"], variables.get("labels"))


def _class_names(classes: Sequence[str] | Mapping[Any, str] | None) -> dict[Any, str] | None:
    """Class names by the label in a path: a class number or a class name (None: the labels are the names)."""
    if classes is None:
        return None
    names = dict(classes) if isinstance(classes, Mapping) else dict(enumerate(classes))
    return names | {name: name for name in names.values()}


def load_files(
    path: str | Path,
    pattern: str,
    fs: PositiveFloat | None = None,
    ch_names: Sequence[str] | None = None,
    ch_type: str = "emg",
    modality: str = "emg",
    units: str | None = None,
    classes: Sequence[str] | Mapping[Any, str] | None = None,
    subjects: Sequence[int | str] | None = None,
    sessions: Sequence[int | str] | None = None,
    time_column: str | None = None,
    time_unit: str = "s",
    ignore_columns: Sequence[str] = (),
    match_channels: str = "name",
    events: EventSource | None = None,
    rest: str | None = None,
    variables: str | dict[str, str] | None = None,
    max_gap: PositiveFloat = MAX_GAP_S,
    straddle: Straddle = "drop",
    context: NonNegativeFloat = 0.0,
) -> RecordingSet:
    """The files under ``path`` that match ``pattern``, sampled at ``fs`` Hz with one channel per
    name in ``ch_names``. ``classes`` maps label numbers in the paths to class names (a list
    indexed by number, or a mapping) and fixes the class order; ``subjects`` and ``sessions``
    keep only those. A header line's columns are matched to ``ch_names`` by name; it may also hold
    ``time_column`` (in ``time_unit``: s, ms or us; its rate must be ``fs`` within 1 %) and
    ``ignore_columns``. A header that names none of the channels is refused unless
    ``match_channels`` is ``position`` (then read in order); a file without a header is read by position.
    Files may also be EDF/BDF, C3D, XDF, WFDB or TRC (their signals found by label).

    With ``events`` (``annotations``: the file's own: EDF+/BDF+ annotations, C3D events, XDF
    marker streams, WFDB annotations; ``labels``: a per-sample label
    variable of a MATLAB or HDF5 file; ``sidecar``: a table beside each file, see
    :func:`~bmelearn.io.continuous.sidecar`), each file is a continuous recording cut into trials
    by its events, and the pattern has no ``{label}``; ``classes`` then names the event labels
    that are classes, and ``rest`` the class of the stretches between events. Windows are cut
    inside each event (``straddle: drop``), or wherever their centre lies in it (``centre``:
    labelled by their centre; each trial then holds ``context`` seconds around its event, half
    a window, which the experiment sets). ``variables``
    names the signal and label variables of MATLAB and HDF5 files: ``ninapro`` (the default:
    ``emg`` and ``restimulus``) or ``{signal: NAME, labels: NAME}`` (HDF5: dataset paths).

    Files that name their signals and rates (EDF/BDF, C3D, XDF, WFDB, TRC) may be given without
    ``fs`` and ``ch_names``: each gives all its signals, one modality per type and rate (a C3D
    file: its markers, EMG and other analog channels). Marker gaps up to ``max_gap`` s are filled;
    a trial over a longer one is left out, with a warning."""
    describe(pattern, fs, ch_names, modality, classes, sessions, time_column, time_unit, ignore_columns, match_channels,
             events, rest, variables, straddle=straddle)

    def keep(meta: dict[str, Any]) -> bool:
        return (subjects is None or meta.get("subject") in subjects) and (sessions is None or meta.get("session") in sessions)

    names = _class_names(classes)
    columns = _columns(ch_names or [], time_column, time_unit, ignore_columns, match_channels)
    try:
        if events is None and ch_names is None:
            recordings = read_named_files(path, pattern, classes=names, keep=keep, max_gap=max_gap)
        elif events is None:
            recordings = read_pattern(path, pattern, fs=fs, ch_names=list(ch_names), ch_type=ch_type, modality=modality,
                                      units=units, classes=names, keep=keep, columns=columns, variables=_layout(variables))
        else:
            recordings = read_continuous(path, pattern, events=events, fs=fs, ch_names=ch_names and list(ch_names),
                                         ch_type=ch_type, modality=modality, units=units, rest=rest, keep=keep,
                                         columns=columns, variables=_layout(variables), max_gap=max_gap,
                                         context=context if straddle == "centre" else 0.0,
                                         classes=None if names is None else {str(k): v for k, v in names.items()})
    finally:
        stop_isolated()  # the process that read MATLAB, HDF5 or C3D files
    recordings = without_gaps(recordings)
    if not recordings:
        raise DataError(f"{path}: no file of subjects={subjects}, sessions={sessions} matches {pattern!r}.")
    if sessions is not None:
        missing_sessions(recordings, sessions, path, pattern)
    order = list(dict.fromkeys([*names.values(), *([rest] if rest is not None else [])])) if names is not None else None
    return RecordingSet(recordings, order, name=Path(path).name)

