"""Cutting recordings into windows on a common time base.

Windows never straddle two trials: each trial is cut on its own. When a trial has several
modalities at different sampling rates, window ``i`` covers the same seconds
``[start, start + length)`` in every modality, so features from all of them can be joined.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from bmelearn.errors import ConfigError, DataError
from bmelearn.recording import META_KEYS, RecordingSet


@dataclass
class Windows:
    """Windows of every modality, row-aligned with one metadata table.

    ``arrays[m]`` has shape ``(n_windows, n_channels, n_times)`` for modality ``m``;
    ``meta`` has one row per window (subject, session, repetition, label, trial, start in s).
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
        return list(self.arrays)

    @property
    def X(self) -> np.ndarray:
        """The 3-D array of the first modality (the only one, for single-modality data)."""
        return self.arrays[self.modalities[0]]

    @property
    def y(self) -> np.ndarray:
        """Class name of each window."""
        return self.meta["label"].to_numpy()


def window_starts(duration: float, length: float, step: float) -> np.ndarray:
    """Start times (s) of the windows that fit entirely in ``duration`` seconds."""
    n = int(np.floor((duration - length) / step + 1e-9)) + 1
    return np.arange(max(n, 0)) * step


def cut_windows(recordings: RecordingSet, length: float, step: float) -> Windows:
    """Cut every trial into windows of ``length`` seconds every ``step`` seconds.

    Trials shorter than one window are skipped with a warning.
    """
    if length <= 0 or step <= 0:
        raise ConfigError(f"windows: length and step must be positive seconds, got length={length}, step={step}.")
    recordings.check_consistent_channels()
    modalities = recordings.modalities
    first = {m: next(r for r in recordings if r.modality == m) for m in modalities}
    n_times = {m: int(round(length * first[m].fs)) for m in modalities}
    for m, n in n_times.items():
        if n < 2:
            raise ConfigError(
                f"windows.length={length} s gives {n} sample(s) of {m} at {first[m].fs:g} Hz: use a longer window."
            )
    parts: dict[str, list[np.ndarray]] = {m: [] for m in modalities}
    rows: list[pd.DataFrame] = []
    skipped = []
    for trial, streams in recordings.trials().items():
        missing = set(modalities) - set(streams)
        if missing:
            raise DataError(f"trial {trial}: no {sorted(missing)} recording; every trial needs every modality.")
        duration = min(r.duration for r in streams.values())
        starts = window_starts(duration, length, step)
        if len(starts) == 0:
            skipped.append(f"{trial} ({duration:.3f} s)")
            continue
        for m, rec in streams.items():
            idx = np.round(starts * rec.fs).astype(int)
            idx = np.minimum(idx, rec.n_samples - n_times[m])
            view = sliding_window_view(rec.data, n_times[m], axis=1)  # (ch, n_pos, n_times), no copy
            parts[m].append(view[:, idx, :].transpose(1, 0, 2))
        any_rec = next(iter(streams.values()))
        meta = {k: any_rec.meta.get(k) for k in META_KEYS}
        rows.append(pd.DataFrame({**meta, "start": starts, "window": np.arange(len(starts))}))
    if skipped:
        warnings.warn(f"{len(skipped)} trial(s) shorter than one {length} s window were skipped: {', '.join(skipped[:5])}")
    if not rows:
        raise DataError(f"{recordings.name}: no trial is longer than one window of {length} s; use a shorter window.")
    return Windows(
        arrays={m: np.ascontiguousarray(np.concatenate(parts[m])) for m in modalities},
        fs={m: first[m].fs for m in modalities},
        ch_names={m: first[m].ch_names for m in modalities},
        ch_types={m: first[m].ch_types for m in modalities},
        meta=pd.concat(rows, ignore_index=True),
        classes=recordings.classes,
        length=length,
        step=step,
    )


def whole_trials(recordings: RecordingSet) -> Windows:
    """One window per trial, the whole trial: for trials that are already the unit of analysis
    (a table row per patient, a fixed-length epoch). Every trial of a modality must have the
    same number of samples."""
    recordings.check_consistent_channels()
    trials = recordings.trials()
    arrays: dict[str, list[np.ndarray]] = {m: [] for m in recordings.modalities}
    rows = []
    for trial, streams in trials.items():
        for m, rec in streams.items():
            if arrays[m] and arrays[m][0].shape != rec.data.shape:
                raise DataError(
                    f"trial {trial}: {rec.n_samples} {m} samples where the first trial has {arrays[m][0].shape[1]}; "
                    "whole-trial windows need trials of one length: cut windows of a fixed length instead."
                )
            arrays[m].append(rec.data)
        any_rec = next(iter(streams.values()))
        rows.append({**{k: any_rec.meta.get(k) for k in META_KEYS}, "start": 0.0, "window": 0})
    first = {m: next(r for r in recordings if r.modality == m) for m in recordings.modalities}
    length = max(arrays[m][0].shape[1] / first[m].fs for m in arrays)
    return Windows(
        arrays={m: np.ascontiguousarray(np.stack(a)) for m, a in arrays.items()},
        fs={m: first[m].fs for m in arrays},
        ch_names={m: first[m].ch_names for m in arrays},
        ch_types={m: first[m].ch_types for m in arrays},
        meta=pd.DataFrame(rows),
        classes=recordings.classes,
        length=length,
        step=length,
    )
