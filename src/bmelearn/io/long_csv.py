"""One long table of samples: channel columns plus label / subject / session columns.

Each run of consecutive rows with the same subject, session and label becomes one trial;
a time column that jumps back by more than RESET_SECONDS also starts a new trial. The n-th run of a label within
a (subject, session) is repetition n. Irregular timestamps are resampled onto a uniform
grid by linear interpolation; a grid much longer than the trial (an outlier time, a long gap
or a wrong time unit) is refused rather than filled.
"""

from __future__ import annotations

import zlib
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
#: Resampling may make a trial at most this many times as many samples as it has rows.
MAX_STRETCH = 10


def read_long_csv(path: str | Path, **kwargs) -> list[Recording]:
    """Read a (possibly gzip-compressed) long CSV; see :func:`recordings_from_table` for the options."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Check the dataset path.")
    try:
        table = pd.read_csv(path, compression="gzip" if path.suffix == ".gz" else None)
    except (ValueError, OverflowError, OSError, EOFError, zlib.error) as exc:  # parser (an integer over 1e308), text or gzip
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
    if fs is not None and not (np.isfinite(fs) and fs > 0):
        raise DataError(f"{source}: fs must be a positive number of Hz, got {fs!r}.")
    numbers = pd.DataFrame({c: _numbers(table[c], source) for c in dict.fromkeys([*channels, *([time] if time else [])])})
    data = numbers[list(channels)].to_numpy()
    nan_rows = np.flatnonzero(~np.isfinite(data).all(axis=1))
    if len(nan_rows):
        names = [c for c, bad in zip(channels, ~np.isfinite(data[nan_rows[0]]), strict=True) if bad]
        raise DataError(
            f"{source}: {len(nan_rows)} row(s) with missing channel values, the first at data row {nan_rows[0] + 1} "
            f"(channel(s) {names}); fill or drop those rows."
        )
    seconds = numbers[time].to_numpy() * TIME_SCALE[time_unit] if time else None
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
    if seconds is not None and segments:
        written = table[time].to_numpy()  # for messages
        for a, b in segments:
            if seconds[a:b].min() == seconds[a:b].max():
                raise DataError(
                    f"{source}: data rows {a + 1}-{b} all have the time {_plain(written[a])!r} in column {time!r}; a trial "
                    "needs increasing times. Fix that column, or leave it out and give fs."
                )
        if fs is None:
            rates = [
                (b - a - 1) / (float(seconds[b - 1]) - float(seconds[a])) for a, b in segments if seconds[b - 1] > seconds[a]
            ]
            rate = float(np.median(rates)) if rates else 0.0
            if rate < 0.5:
                raise DataError(
                    f"{source}: the times in column {time!r} give a sampling rate of {rate:.3g} Hz; check time_unit "
                    f"({time_unit!r}) and look for an outlier time, or give fs."
                )
            fs = float(np.round(rate))
    counts: dict[tuple, int] = {}
    recordings = []
    for a, b in segments:
        key = (subj[a], sess[a], labels[a])
        rep = counts[key] = counts.get(key, -1) + 1
        x = data[a:b].T
        if seconds is not None:
            _check_span(seconds, written, a, b, fs, source, time_unit)
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


def _numbers(column: pd.Series, source: str) -> pd.Series:
    """The column as floats (an integer too large for one is infinite); an error naming its first
    value that is not a number."""
    if pd.api.types.is_numeric_dtype(column):
        return column.astype(np.float64)
    numbers = pd.to_numeric(column.astype(str), errors="coerce")  # as text: pandas cannot convert huge Python ints
    rows = np.flatnonzero((numbers.isna() & column.notna()).to_numpy())
    if len(rows):
        raise DataError(
            f"{source}: column {column.name!r} holds non-numeric values, e.g. {column.iloc[rows[0]]!r} at data row "
            f"{rows[0] + 1}; fix or drop those rows."
        )
    return numbers.astype(np.float64)


def _check_span(seconds: np.ndarray, written: np.ndarray, a: int, b: int, fs: float, source: str, time_unit: str) -> None:
    """An error, before anything is allocated, when resampling rows a:b to fs Hz would make more
    than MAX_STRETCH times as many samples: it names the largest gap in their times."""
    t = seconds[a:b]
    span = float(t.max()) - float(t.min())
    length = span * fs + 1
    if length > MAX_STRETCH * (b - a):
        i = a + 1 + int(np.argmax(np.abs(np.diff(t))))
        raise DataError(
            f"{source}: resampling data rows {a + 1}-{b} ({b - a} samples) to {fs:g} Hz would make {length:.3g}: their times "
            f"span {span:.4g} s, with the largest gap at data row {i + 1} (time {_plain(written[i])!r}, after "
            f"{_plain(written[i - 1])!r}). Fix or drop that row, or check time_unit ({time_unit!r}) and fs."
        )


def _resample_uniform(t: np.ndarray, x: np.ndarray, fs: float) -> np.ndarray:
    """Linear interpolation of x (channels, samples) taken at times t (s) onto a grid at fs Hz."""
    t, first = np.unique(t, return_index=True)
    x = x[:, first]
    grid = t[0] + np.arange(int(np.floor((t[-1] - t[0]) * fs)) + 1) / fs
    return np.stack([np.interp(grid, t, ch) for ch in x])


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
