"""Continuous recordings cut into trials by their events.

An events table has one row per labelled stretch of the recording: ``onset`` and ``duration``
in seconds from the recording's start, and ``label`` (the class; BIDS names it ``trial_type``,
and ``value`` is read too). It comes from the file itself (EDF+ annotations) or from a
side-car table beside it (:func:`read_events`). Each event of a class becomes a trial with
its repetition number (the events of that class before it, in order of onset); the stretches
between events are a class only when asked (``rest``). Windows are cut inside each event, so
that none straddles two labels, or, with a ``context`` on each side, wherever their centre
lies in the event: labelled by their centre (``dataset.straddle: centre``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from bmelearn.errors import DataError
from bmelearn.signals.recording import Recording, trial_id

#: Names read as the label column, in order of preference.
LABEL_COLUMNS = ("label", "trial_type", "value")
#: The columns of an events table.
EVENT_COLUMNS = ["onset", "duration", "label"]
#: What becomes of windows that would straddle two events: not cut, or labelled by their centre.
Straddle = Literal["drop", "centre"]
#: The metadata keys of a trial's context: the seconds of recording it holds before and after its event.
CONTEXT_BEFORE, CONTEXT_AFTER = "context_before", "context_after"


@dataclass
class Continuous:
    """A continuous recording: one :class:`Recording` per modality (its channels of one type and
    rate, from time 0 of the file) and its events (``onset`` and ``duration`` in s, ``label``)."""

    recordings: list[Recording]
    events: pd.DataFrame


def instants_as_events(instants: Sequence[tuple[float, str]], duration: float) -> pd.DataFrame:
    """Events from labelled instants (onset in s, label), each lasting until the next one's onset
    or the end of the recording (``duration``, s): the markers of an LSL stream, a C3D file's
    events, a WFDB annotation."""
    kept = sorted((float(onset), str(label)) for onset, label in instants if str(label).strip())
    ends = ([onset for onset, _ in kept[1:]] + [float(duration)])[: len(kept)]
    return pd.DataFrame({"onset": [onset for onset, _ in kept],
                         "duration": [max(end - onset, 0.0) for (onset, _), end in zip(kept, ends, strict=True)],
                         "label": [label for _, label in kept]}, columns=EVENT_COLUMNS)


def read_events(path: str | Path) -> pd.DataFrame:
    """An events table (tab-separated ``.tsv``, else comma-separated) as ``onset``, ``duration``
    (s) and ``label``; a DataError naming the file and the missing column or bad value."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: events file not found.")
    try:
        table = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",", dtype={c: str for c in LABEL_COLUMNS},
                            keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read it as an events table ({exc}).") from None
    label = next((c for c in LABEL_COLUMNS if c in table.columns), None)
    missing = [c for c in ("onset", "duration") if c not in table.columns] + ([] if label else ["label"])
    if missing:
        raise DataError(f"{path}: an events table needs the columns onset, duration (s) and label (or trial_type); "
                        f"{missing} missing, the file has {list(table.columns)}.")
    for column in ("onset", "duration"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)) | (values.to_numpy(dtype=float) < 0))
        if bad.size:
            raise DataError(f"{path}, line {bad[0] + 2}: {column} {table[column].iloc[bad[0]]!r} is not a number of "
                            "seconds ≥ 0. Fix that line.")
        table[column] = values.astype(float)
    return pd.DataFrame({"onset": table["onset"], "duration": table["duration"], "label": table[label].str.strip()})


def trials_from_events(streams: Sequence[Recording], events: pd.DataFrame, meta: Mapping[str, Any],
                       classes: Sequence[str] | None = None, rest: str | None = None,
                       where: str | Path = "", context: float = 0.0) -> list[Recording]:
    """The trials of a continuous recording (``streams``: its modalities, each from time 0):
    one per event whose label is among ``classes`` (every labelled event without ``classes``),
    and, with ``rest``, one labelled ``rest`` per stretch between events. Each trial carries
    ``meta`` (subject, session ...) with its label, repetition, onset (s) and trial id; ``where``
    names the recording in messages. An event that runs past the end of a stream is an error.

    With ``context`` (s), each trial also holds up to that much of the recording on each side
    of its event (what the neighbouring stretches hold), said in its ``context_before`` and
    ``context_after`` (s): its windows are then those whose centre lies in the event
    (:func:`bmelearn.signals.windowing.trial_windows`), labelled by their centre."""
    length = min(rec.duration for rec in streams)
    table = events.sort_values("onset", kind="stable").reset_index(drop=True)
    ends = table["onset"] + table["duration"]
    late = np.flatnonzero(ends.to_numpy() > length + 1.0 / max(rec.fs for rec in streams))
    if late.size:
        row = table.iloc[late[0]]
        raise DataError(f"{where}: the event {row['label']!r} at {row['onset']:g} s lasts until {ends.iloc[late[0]]:g} s, "
                        f"past the end of the recording ({length:g} s). Check that the events belong to this file and "
                        "that their times are in seconds from its start.")
    stretches = [(float(o), float(e), str(lab)) for o, e, lab in zip(table["onset"], ends, table["label"], strict=True)
                 if classes is None or str(lab) in classes]
    if rest is not None:
        stretches += [(start, end, rest) for start, end in _gaps(table["onset"].to_numpy(), ends.to_numpy(), length)]
        stretches.sort()
    counts: dict[str, int] = {}
    trials = []
    for onset, end, label in stretches:
        repetition = counts[label] = counts.get(label, -1) + 1
        info = dict(meta) | {"label": label, "repetition": repetition, "onset": onset, "source": str(where)}
        info = {"trial": trial_id(info)} | info
        before, after = min(context, onset), min(context, max(length - end, 0.0))
        if context:
            info |= {CONTEXT_BEFORE: before, CONTEXT_AFTER: after}
        for rec in streams:
            first, last = round((onset - before) * rec.fs), min(round((end + after) * rec.fs), rec.n_samples)
            trials.append(Recording(np.asarray(rec.data[:, first:last]), rec.fs, rec.ch_names, rec.ch_types, rec.units,
                                    rec.modality, info))
    return trials


def _gaps(onsets: np.ndarray, ends: np.ndarray, length: float) -> list[tuple[float, float]]:
    """The stretches of ``[0, length]`` s that no event covers."""
    gaps, covered = [], 0.0
    for onset, end in sorted(zip(onsets, ends, strict=True)):
        if onset > covered:
            gaps.append((covered, float(onset)))
        covered = max(covered, float(end))
    if length > covered:
        gaps.append((covered, length))
    return gaps
