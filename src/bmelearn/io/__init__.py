"""Readers, one per file layout; :func:`read` picks one from the path and arguments."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bmelearn.errors import DataError
from bmelearn.io.columns import Columns
from bmelearn.io.continuous import read_continuous
from bmelearn.io.edf import read_edf
from bmelearn.io.formats import described, read_described
from bmelearn.io.isolated import stop_isolated
from bmelearn.io.long_csv import read_long_csv, recordings_from_table
from bmelearn.io.npy import map_npy, npy_file
from bmelearn.io.pattern import match_files, read_array, read_named_files, read_pattern
from bmelearn.io.quaternion import (
    QUATERNION_CHANNELS,
    parse_quaternions,
    read_quaternions,
)
from bmelearn.io.text import parse_matrix, read_matrix
from bmelearn.signals.recording import Recording

__all__ = [
    "QUATERNION_CHANNELS",
    "map_npy",
    "match_files",
    "npy_file",
    "parse_matrix",
    "parse_quaternions",
    "read",
    "read_array",
    "read_continuous",
    "read_described",
    "read_edf",
    "read_file",
    "read_long_csv",
    "read_matrix",
    "read_named_files",
    "read_pattern",
    "read_quaternions",
    "recordings_from_table",
]


def read_file(
    path: str | Path,
    fs: float,
    ch_names: Sequence[str] | None = None,
    ch_type: str = "emg",
    modality: str = "emg",
    meta: dict[str, Any] | None = None,
    columns: Columns | None = None,
) -> Recording:
    """One numeric text file (one sample per line, one column per channel) as a Recording.

    Channel names come from ``ch_names``, else the file's header, else ``CH1``, ``CH2`` ... Given
    ``ch_names``, a header's columns are matched to them by name, as ``columns`` says
    (:class:`~bmelearn.io.columns.Columns`); a file without a header is read by position.
    """
    data, header = read_matrix(path)
    if ch_names:
        data = (columns or Columns()).select(data, header, ch_names, fs, path)
    names = list(ch_names or header or [f"CH{i + 1}" for i in range(data.shape[1])])
    if len(names) != data.shape[1]:
        raise DataError(f"{path}: {data.shape[1]} columns but {len(names)} channel names {names}.")
    meta = {"trial": Path(path).stem} | dict(meta or {}) | {"source": str(path)}
    return Recording(data.T, fs, tuple(names), (ch_type,) * len(names), (), modality, meta)


def read(path: str | Path, pattern: str | None = None, **kwargs: Any) -> list[Recording]:
    """Read recordings from a path.

    - a folder with ``pattern``: one recording per matching file (:func:`read_pattern`; give
      ``fs`` and ``ch_names``, and ``columns`` for a header's other columns): numeric text, or
      ``.npy`` arrays of channels × samples, memory-mapped (read lazily);
    - a file with ``channels`` and ``label``: a long table of samples (:func:`read_long_csv`);
    - a file that names its signals and rates (EDF/EDF+/BDF/BDF+, C3D, XDF, a WFDB header
      ``.hea``, TRC), with no other argument: its signals, one recording per modality
      (:func:`read_described`, which also gives its events; they cut it into trials:
      :func:`bmelearn.signals.events.trials_from_events`);
    - any other numeric text file: one recording (:func:`read_file`; give ``fs``).
    """
    path = Path(path)
    if described(path) and pattern is None and not kwargs:
        try:
            return read_described(path).recordings
        finally:
            stop_isolated()
    if path.is_dir() or pattern is not None:
        if pattern is None:
            raise DataError(f"{path} is a folder: give a file pattern such as 'S{{subject}}/{{session}}/{{label}}.csv'.")
        missing = [k for k in ("fs", "ch_names") if k not in kwargs]
        if missing:
            raise DataError(f"{path}: reading files by pattern needs fs (Hz) and ch_names (one per column); {missing} missing.")
        ch_names = kwargs.pop("ch_names")
        return read_pattern(path, pattern, ch_names=ch_names, **kwargs)
    if "channels" in kwargs:
        return read_long_csv(path, **kwargs)
    if "fs" not in kwargs:
        raise DataError(f"{path}: give its sampling rate, fs (Hz), to read it as one recording.")
    return [read_file(path, **kwargs)]
