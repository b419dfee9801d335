"""Cutting recordings into windows on a common time base.

Windows never straddle two trials: each trial is cut on its own. When a trial has several
modalities at different sampling rates, window ``i`` covers the same seconds
``[start, start + length)`` in every modality, so features from all of them can be joined.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from bmelearn.errors import ConfigError, DataError
from bmelearn.signals.events import CONTEXT_AFTER, CONTEXT_BEFORE
from bmelearn.signals.recording import META_KEYS, Recording, RecordingSet


@dataclass
class Windows:
    """Windows of every modality, row-aligned with one metadata table.

    ``arrays[m]`` has shape ``(n_windows, n_channels, n_times)`` for modality ``m`` (empty
    when only the features of the windows were kept); ``meta`` has one row per window (subject, session, repetition, label, trial, start in s).
    """

    arrays: dict[str, np.ndarray]
    fs: dict[str, float]
    ch_names: dict[str, tuple[str, ...]]
    ch_types: dict[str, tuple[str, ...]]
    meta: pd.DataFrame
    classes: list[str]
    length: float
    step: float

    def __len__(self) -> int:
        return len(self.meta)

    @property
    def modalities(self) -> list[str]:
        return list(self.fs)

    @property
    def X(self) -> np.ndarray:
        """The 3-D array of the first modality (the only one, for single-modality data)."""
        if not self.arrays:
            raise DataError("these windows hold only their metadata: their samples were not kept.")
        return self.arrays[self.modalities[0]]

    @property
    def y(self) -> np.ndarray:
        """Class name of each window."""
        return self.meta["label"].to_numpy()


def window_starts(duration: float, length: float, step: float) -> np.ndarray:
    """Start times (s) of the windows that fit entirely in ``duration`` seconds."""
    n = int(np.floor((duration - length) / step + 1e-9)) + 1
    return np.arange(max(n, 0)) * step


def window_samples(fs: Mapping[str, float], length: float) -> dict[str, int]:
    """Samples per window of ``length`` s for each modality at its rate ``fs`` (Hz); at least two."""
    n_times = {m: round(length * rate) for m, rate in fs.items()}
    for m, n in n_times.items():
        if n < 2:
            raise ConfigError(f"windows.length={length} s gives {n} sample(s) of {m} at {fs[m]:g} Hz: use a longer window.")
    return n_times


def trial_windows(trial: Any, streams: Mapping[str, Recording], length: float, step: float,
                  n_times: Mapping[str, int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The windows of one trial, ``{modality: (n_windows, n_channels, n_times)}`` (views of the
    recordings, no copy), and their start times in s from its event; no window when the trial
    is too short. A trial with context around its event (:func:`bmelearn.signals.events.trials_from_events`)
    gives the windows centred in the event (:func:`centred_starts`), the others those inside it."""
    missing = set(n_times) - set(streams)
    if missing:
        raise DataError(f"trial {trial}: no {sorted(missing)} recording; every trial needs every modality.")
    duration = min(r.duration for r in streams.values())
    meta = next(iter(streams.values())).meta
    before = meta.get(CONTEXT_BEFORE, 0.0)
    starts = window_starts(duration, length, step) if CONTEXT_BEFORE not in meta else centred_starts(
        duration, before, meta[CONTEXT_AFTER], length, step)
    if len(starts) == 0:
        return {}, starts
    arrays = {}
    for m, rec in streams.items():
        idx = window_positions(starts, rec.fs, rec.n_samples, n_times[m])
        view = sliding_window_view(rec.data, n_times[m], axis=1)  # (ch, n_pos, n_times), no copy
        stride = idx[1] - idx[0] if len(idx) > 1 else 1
        if stride > 0 and np.all(np.diff(idx) == stride):  # evenly spaced: still a view, nothing read
            arrays[m] = view[:, idx[0]:idx[-1] + 1:stride].transpose(1, 0, 2)
        else:
            arrays[m] = view[:, idx, :].transpose(1, 0, 2)
    return arrays, starts - before


def centred_starts(duration: float, before: float, after: float, length: float, step: float) -> np.ndarray:
    """Start times (s) of the windows of a trial that holds ``before`` and ``after`` seconds of
    context around its event (``duration`` s in all) whose centres lie in the event, one every
    ``step`` from its first sample, and which fit in the trial."""
    centres = before + np.arange(int(np.ceil((duration - before - after) / step - 1e-9))) * step
    starts = centres - length / 2
    return starts[(starts >= -1e-9) & (starts + length <= duration + 1e-9)].clip(0.0)


def straddling(recordings: RecordingSet, length: float, step: float) -> tuple[int, bool]:
    """How many windows of the trials cut from continuous recordings straddle two events, and
    whether they are labelled by their centre (trials with context, see :func:`centred_starts`)
    or were not cut (trials cut at their events: the windows whose centre lies in the event but
    an edge outside it, one every ``step``)."""
    count, centred = 0, False
    for streams in recordings.trials().values():
        meta = next(iter(streams.values())).meta
        if "onset" not in meta:
            continue  # a file per trial: nothing beside it to straddle
        duration = min(r.duration for r in streams.values())
        if CONTEXT_BEFORE in meta:
            centred, before, after = True, meta[CONTEXT_BEFORE], meta[CONTEXT_AFTER]
            starts = centred_starts(duration, before, after, length, step)
            count += int(((starts < before - 1e-9) | (starts + length > duration - after + 1e-9)).sum())
        else:
            count += max(int(np.ceil(duration / step - 1e-9)) - len(window_starts(duration, length, step)), 0)
    return count, centred


def window_positions(starts: np.ndarray, fs: float, n_samples: int, n_times: int) -> np.ndarray:
    """The first sample of each window of ``n_times`` samples starting at ``starts`` (s), in a
    signal of ``n_samples`` at ``fs`` Hz (rounding never pushes a window past the end)."""
    return np.minimum(np.round(starts * fs).astype(int), n_samples - n_times)


def window_meta(trials: Sequence[tuple[Mapping[str, Recording], np.ndarray]]) -> pd.DataFrame:
    """The metadata of the windows of ``trials`` (a trial's streams and its windows' starts, s):
    each window's trial keys (:data:`META_KEYS`), start (s) and number within its trial. Built
    column by column for all trials at once; a key's column has the type pandas gives its
    values (text, integers), or ``object`` when the trials' values differ in type."""
    starts = [np.asarray(s, dtype=np.float64) for _, s in trials]
    counts = np.array([len(s) for s in starts], dtype=np.int64)
    metas = [next(iter(streams.values())).meta for streams, _ in trials]
    columns = {k: _repeated([meta.get(k) for meta in metas], counts) for k in META_KEYS}
    first = np.cumsum(counts) - counts
    return pd.DataFrame({**columns, "start": np.concatenate(starts) if starts else np.zeros(0),
                         "window": np.arange(counts.sum()) - np.repeat(first, counts)})


def _repeated(values: list, counts: np.ndarray) -> pd.Series:
    """``values[i]`` repeated ``counts[i]`` times, typed as pandas types one value (the same
    type for every value), or ``object``."""
    kinds = {type(v): v for v in values}
    dtypes = {pd.Series([v]).dtype for v in kinds.values()}
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return pd.Series(np.repeat(column, counts), dtype=dtypes.pop() if len(dtypes) == 1 else object)


def warn_short(skipped: Sequence[str], length: float) -> None:
    """Say which trials were too short for one window (``skipped``: "trial (duration s)")."""
    if skipped:
        warnings.warn(f"{len(skipped)} trial(s) shorter than one {length} s window were skipped: {', '.join(skipped[:5])}")


def cut_windows(recordings: RecordingSet, length: float, step: float) -> Windows:
    """Cut every trial into windows of ``length`` seconds every ``step`` seconds.

    Trials shorter than one window are skipped with a warning.
    """
    check_window(length, step)
    recordings.check_consistent_channels()
    first = recordings.first_of_each()
    n_times = window_samples({m: r.fs for m, r in first.items()}, length)
    parts: dict[str, list[np.ndarray]] = {m: [] for m in first}
    rows: list[tuple[Mapping[str, Recording], np.ndarray]] = []
    skipped = []
    for trial, streams in recordings.trials().items():
        arrays, starts = trial_windows(trial, streams, length, step, n_times)
        if len(starts) == 0:
            skipped.append(f"{trial} ({min(r.duration for r in streams.values()):.3f} s)")
            continue
        for m, a in arrays.items():
            parts[m].append(a)
        rows.append((streams, starts))
    warn_short(skipped, length)
    if not rows:
        raise DataError(f"{recordings.name}: no trial is longer than one window of {length} s; use a shorter window.")
    return Windows(
        arrays={m: np.ascontiguousarray(np.concatenate(parts[m])) for m in first},
        fs={m: r.fs for m, r in first.items()},
        ch_names={m: r.ch_names for m, r in first.items()},
        ch_types={m: r.ch_types for m, r in first.items()},
        meta=window_meta(rows),
        classes=recordings.classes,
        length=length,
        step=step,
    )


def check_window(length: float, step: float) -> None:
    if length <= 0 or step <= 0:
        raise ConfigError(f"windows: length and step must be positive seconds, got length={length}, step={step}.")


def whole_trials(recordings: RecordingSet) -> Windows:
    """One window per trial, the whole trial: for trials that are already the unit of analysis
    (a table row per patient, a fixed-length epoch). Every trial of a modality must have the
    same number of samples."""
    recordings.check_consistent_channels()
    first = recordings.first_of_each()
    arrays: dict[str, list[np.ndarray]] = {m: [] for m in first}
    rows = []
    n_samples = {m: r.n_samples for m, r in first.items()}
    for trial, streams in recordings.trials().items():
        for m, window in whole_trial(trial, streams, n_samples).items():
            arrays[m].append(window[0])
        rows.append((streams, np.zeros(1)))
    return Windows(
        arrays={m: np.ascontiguousarray(np.stack(a)) for m, a in arrays.items()},
        fs={m: r.fs for m, r in first.items()},
        ch_names={m: r.ch_names for m, r in first.items()},
        ch_types={m: r.ch_types for m, r in first.items()},
        meta=window_meta(rows),
        classes=recordings.classes,
        length=whole_length(first),
        step=whole_length(first),
    )


def whole_trial(trial: Any, streams: Mapping[str, Recording], n_samples: Mapping[str, int]) -> dict[str, np.ndarray]:
    """A trial as one window per modality, ``(1, n_channels, n_samples)``; each modality must
    have ``n_samples[modality]`` samples (those of the first trial)."""
    missing = set(n_samples) - set(streams)
    if missing:
        raise DataError(f"trial {trial}: no {sorted(missing)} recording; every trial needs every modality.")
    for m, rec in streams.items():
        if rec.n_samples != n_samples[m]:
            raise DataError(
                f"trial {trial}: {rec.n_samples} {m} samples where the first trial has {n_samples[m]}; "
                "whole-trial windows need trials of one length: cut windows of a fixed length instead."
            )
    return {m: rec.data[None] for m, rec in streams.items()}


def whole_length(first: Mapping[str, Recording]) -> float:
    """The length in s of a whole-trial window: that of the longest modality."""
    return max(r.duration for r in first.values())
