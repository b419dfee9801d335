"""One long table of samples: channel columns plus label / subject / session columns.

Each run of consecutive rows with the same subject, session and label becomes one trial;
a time column that jumps back by more than RESET_SECONDS also starts a new trial. The n-th run of a label within
a (subject, session) is repetition n. Irregular timestamps are resampled onto a uniform
grid by linear interpolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bmelearn.errors import DataError
from bmelearn.signals.recording import Recording

TIME_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
#: A timestamp this many seconds earlier than the previous one starts a new trial (a clock
#: reset); smaller backward steps are jitter, and the samples are put back in time order.
RESET_SECONDS = 1.0


def read_long_csv(path: str | Path, **kwargs) -> list[Recording]:
    """Read a (possibly gzip-compressed) long CSV; see :func:`recordings_from_table` for the options."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Check the dataset path.")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{path}: cannot read it as a CSV table ({exc}). Check the file is a complete CSV.") from exc
    return recordings_from_table(table, source=str(path), **kwargs)


def recordings_from_table(
    table: pd.DataFrame,
    *,
    channels: Sequence[str],
    label: str = "label",
    subject: str | None = "subject",
    session: str | None = "session",
    time: str | None = None,
    time_unit: str = "s",
    fs: float | None = None,
    ch_type: str = "emg",
    units: str | None = None,
    modality: str = "emg",
    source: str = "table",
) -> list[Recording]:
    """Split a long table into one Recording per trial.

    With ``time`` (a column in ``time_unit``: s, ms or us), samples are resampled to ``fs``
    Hz, or to the median rate of the trials when ``fs`` is None. Without it, ``fs`` is required.
    """
    wanted = [*channels, label, *(c for c in (subject, session, time) if c)]
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise DataError(f"{source}: no column(s) {missing}; the columns are {list(table.columns)}.")
    if time is None and fs is None:
        raise DataError(f"{source}: give the sampling rate (fs, Hz) or the name of a time column.")
    if time_unit not in TIME_SCALE:
        raise DataError(f"{source}: time_unit {time_unit!r} is not one of {list(TIME_SCALE)}.")
    values = table[list(channels)]
    for c in [*channels, *([time] if time else [])]:
        if not pd.api.types.is_numeric_dtype(table[c]):
            rows = np.flatnonzero((pd.to_numeric(table[c], errors="coerce").isna() & table[c].notna()).to_numpy())
            example = f", e.g. {table[c].iloc[rows[0]]!r} at data row {rows[0] + 1}" if len(rows) else ""
            raise DataError(f"{source}: column {c!r} holds non-numeric values{example}; fix or drop those rows.")
    data = values.to_numpy(dtype=np.float64)
    nan_rows = np.flatnonzero(~np.isfinite(data).all(axis=1))
    if len(nan_rows):
        names = [c for c, bad in zip(channels, ~np.isfinite(data[nan_rows[0]]), strict=True) if bad]
        raise DataError(
            f"{source}: {len(nan_rows)} row(s) with missing channel values, the first at data row {nan_rows[0] + 1} "
            f"(channel(s) {names}); fill or drop those rows."
        )
    seconds = table[time].to_numpy(dtype=np.float64) * TIME_SCALE[time_unit] if time else None
    if seconds is not None and not np.isfinite(seconds).all():
        raise DataError(
            f"{source}: time column {time!r} has missing values, the first at data row "
            f"{np.flatnonzero(~np.isfinite(seconds))[0] + 1}; fill or drop those rows."
        )
    subj = table[subject].to_numpy() if subject else np.full(len(table), 1)
    sess = table[session].to_numpy() if session else np.full(len(table), "session1")
    labels = table[label].astype(str).to_numpy()

    new_run = np.r_[True, (subj[1:] != subj[:-1]) | (sess[1:] != sess[:-1]) | (labels[1:] != labels[:-1])]
    if seconds is not None:
        new_run |= np.r_[True, np.diff(seconds) < -RESET_SECONDS]
    bounds = np.r_[np.flatnonzero(new_run), len(table)]
    segments = [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b - a >= 2]
    if seconds is not None and fs is None:
        rates = [(b - a - 1) / (seconds[b - 1] - seconds[a]) for a, b in segments if seconds[b - 1] > seconds[a]]
        fs = float(np.round(np.median(rates)))
    counts: dict[tuple, int] = {}
    recordings = []
    for a, b in segments:
        key = (subj[a], sess[a], labels[a])
        rep = counts[key] = counts.get(key, -1) + 1
        x = data[a:b].T
        if seconds is not None:
            x = _resample_uniform(seconds[a:b], x, fs)
        meta = {
            "subject": _plain(subj[a]),
            "session": _plain(sess[a]),
            "repetition": rep,
            "label": labels[a],
            "trial": f"{subj[a]}/{sess[a]}/{labels[a]}/{rep}",
            "source": f"{source} rows {a + 2}-{b + 1}",
        }
        recordings.append(
            Recording(x, fs, tuple(channels), (ch_type,) * len(channels), (units,) * len(channels) if units else (), modality, meta)
        )
    if not recordings:
        raise DataError(f"{source}: no run of two or more samples with one label; check the label column {label!r}.")
    return recordings


def _resample_uniform(t: np.ndarray, x: np.ndarray, fs: float) -> np.ndarray:
    """Linear interpolation of x (channels, samples) taken at times t (s) onto a grid at fs Hz."""
    t, first = np.unique(t, return_index=True)
    x = x[:, first]
    grid = t[0] + np.arange(int(np.floor((t[-1] - t[0]) * fs)) + 1) / fs
    return np.stack([np.interp(grid, t, ch) for ch in x])


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
