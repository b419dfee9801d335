"""Folders of continuous recordings, one file per session (or run), cut into trials by events.

The pattern (see :mod:`bmelearn.io.pattern`) names the files, e.g. ``S{subject}/{session}.edf``,
without a ``{label}``: the labels come from the events, either the file's own (``events:
annotations``: EDF+/BDF+ annotations, a C3D file's events, an XDF file's marker streams, a WFDB
record's annotations), a per-sample label variable (MATLAB and HDF5 files,
e.g. NinaPro's ``restimulus``: ``events: labels``; see :mod:`bmelearn.io.mat`) or a side-car
table beside each file (``events: sidecar``; see :func:`sidecar`). See
:mod:`bmelearn.signals.events` for how events become trials.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bmelearn.errors import DataError
from bmelearn.io.columns import Columns
from bmelearn.io.formats import described, read_channels, read_described
from bmelearn.io.isolated import stop_isolated
from bmelearn.io.mat import NINAPRO, MatLayout, events_from_labels, read_mat
from bmelearn.io.mat import SUFFIXES as VARIABLE_SUFFIXES
from bmelearn.io.pattern import match_files, read_array
from bmelearn.signals.events import read_events, trials_from_events
from bmelearn.signals.motion import MAX_GAP_S
from bmelearn.signals.recording import Recording

EventSource = Literal["annotations", "sidecar", "labels"]
#: How the name of a side-car events table ends, before its extension.
EVENTS_SUFFIX = "_events"


def sidecar(path: Path) -> Path:
    """The events table of the recording at ``path``: ``NAME_events.tsv`` (or ``.csv``) beside
    ``NAME.ext``, or, for a BIDS name ``..._emg.edf``, ``..._events.tsv``; a DataError listing
    the names looked for when none exists."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    candidates = [path.with_name(f"{stem}{EVENTS_SUFFIX}{ext}") for ext in (".tsv", ".csv")]
    if "_" in stem:
        candidates.append(path.with_name(f"{stem.rsplit('_', 1)[0]}{EVENTS_SUFFIX}.tsv"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DataError(f"{path}: no events table beside it; looked for {[c.name for c in candidates]}. Write one "
                    "(columns onset, duration, label), or use the file's annotations (dataset.events: annotations).")


def read_continuous(root: str | Path, pattern: str, *, events: EventSource, fs: float | None = None,
                    ch_names: Sequence[str] | None = None,
                    ch_type: str = "emg", modality: str = "emg", units: str | None = None,
                    classes: Mapping[str, str] | None = None, rest: str | None = None,
                    keep: Callable[[dict[str, Any]], bool] | None = None, columns: Columns | None = None,
                    variables: MatLayout | None = None, max_gap: float = MAX_GAP_S,
                    context: float = 0.0) -> list[Recording]:
    """The trials of every continuous recording matching ``pattern`` under ``root``: the
    channels ``ch_names`` at ``fs`` Hz (found by name in a file that names them, EDF, C3D ..., by its header or
    position in other files), cut at the ``events`` of each file. ``classes`` maps event labels
    to class names (events of other labels are not trials; without it every label is a class);
    ``rest`` names the class of the stretches between events (none by default). ``variables``
    names those of MATLAB and HDF5 files (default: NinaPro's). Without ``ch_names`` (and ``fs``),
    files that name their signals give them all, as they are, marker gaps up to ``max_gap`` s filled.
    ``context``: seconds of recording each trial keeps around its event
    (:func:`~bmelearn.signals.events.trials_from_events`)."""
    try:
        return _read_all(root, pattern, events, fs, ch_names, ch_type, modality, units, classes, rest, keep,
                         columns or Columns(), variables or NINAPRO, max_gap, context)
    finally:
        stop_isolated()


def _read_all(root: str | Path, pattern: str, events: EventSource, fs: float | None, ch_names: Sequence[str] | None,
              ch_type: str,
              modality: str, units: str | None, classes: Mapping[str, str] | None, rest: str | None,
              keep: Callable[[dict[str, Any]], bool] | None, columns: Columns, layout: MatLayout,
              max_gap: float, context: float) -> list[Recording]:
    """:func:`read_continuous`, its options resolved."""

    def declared(data: np.ndarray, path: Path) -> Recording:
        """The channels × samples of the file at ``path``, which does not name its channels' types and units."""
        return Recording(np.asarray(data), fs, tuple(ch_names), (ch_type,) * len(ch_names),
                         (units,) * len(ch_names) if units else (), modality, {"source": str(path)})

    trials = []
    for path, fields in match_files(root, pattern):
        if (keep is not None and not keep(fields)) or path.stem.endswith(EVENTS_SUFFIX):
            continue  # a side-car table matches a pattern such as S{subject}/{session}.csv too
        if described(path):
            if events == "labels":
                raise DataError(f"{path}: an {path.suffix[1:].upper()} file has no label variable; take the events from its "
                                "annotations (dataset.events: annotations) or from a table beside it (dataset.events: sidecar).")
            if ch_names:
                stream, annotations = read_channels(path, ch_names, fs, max_gap)
                columns.order(list(stream.ch_names), ch_names, path)  # every channel there (read in ch_names' order)
                streams = [replace(stream, ch_types=(ch_type,) * len(ch_names), modality=modality,
                                   units=(units,) * len(ch_names) if units else stream.units)]
            else:  # every signal, as the file has them
                found = read_described(path, max_gap=max_gap)
                streams, annotations = found.recordings, found.events
            table = annotations if events == "annotations" else read_events(sidecar(path))
        elif path.suffix.lower() in VARIABLE_SUFFIXES:
            if events == "annotations":
                raise DataError(f"{path}: a MATLAB or HDF5 file has no annotations; take the events from its label variable "
                                "(dataset.events: labels) or from a table beside it (dataset.events: sidecar).")
            data, labels = read_mat(path, layout if events == "labels" else MatLayout(layout.signal), len(ch_names))
            streams = [declared(data, path)]
            table = events_from_labels(labels, fs) if events == "labels" else read_events(sidecar(path))
        else:
            if events in ("annotations", "labels"):
                raise DataError(f"{path}: only EDF+/BDF+, C3D, XDF and WFDB files carry their events, and MATLAB and HDF5 "
                                "files a label variable; give the events beside it (dataset.events: sidecar).")
            values, header = read_array(path, fs)
            streams = [declared(columns.select(np.asarray(values), header, ch_names, fs, path).T, path)]
            table = read_events(sidecar(path))
        named = table if classes is None else table.assign(label=table["label"].map(lambda label: classes.get(label, label)))
        found = trials_from_events(streams, named, fields, None if classes is None else set(classes.values()), rest, path,
                                   context)
        if not found:
            raise DataError(f"{path}: no event of the classes {sorted(set((classes or {}).values()))} "
                            f"(its events: {sorted(set(table['label']))}). Check dataset.classes.")
        trials += found
    return trials
