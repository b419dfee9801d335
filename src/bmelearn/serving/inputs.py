"""Recordings for a model from what a user sends: files of numeric text, EDF/BDF, C3D, XDF or TRC (uploads, or
the files given to ``bmelearn predict``), or arrays with their sampling rate and channel names. File
columns are matched to the channels the model's signal pipeline expects, by name when the
file has a header (as in training: :mod:`bmelearn.io.columns`), else by position; every
recording is checked against the pipeline before any work starts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bmelearn.errors import DataError
from bmelearn.io import parse_matrix, parse_quaternions
from bmelearn.io.columns import Columns, time_column
from bmelearn.io.formats import SUFFIXES, described, pick_signals, read_described
from bmelearn.pipeline import MismatchError, SignalPipeline
from bmelearn.signals.recording import Recording

#: File name endings read as numeric text (one sample per line, one column per channel).
TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".dat")
#: Those of files that name their signals and come as one file (a WFDB record is several).
NAMED_SUFFIXES = tuple(suffix for suffix in SUFFIXES if suffix != ".hea")


@dataclass
class Upload:
    """One uploaded file: its bytes (kept in memory), its name as sent (only its extension is
    used), the modality it holds (None: the model's only one) and its sampling rate in Hz
    (None: the model's)."""

    data: bytes
    filename: str
    modality: str | None = None
    fs: float | None = None


def from_uploads(pipeline: SignalPipeline, uploads: Sequence[Upload]) -> dict[str, Recording]:
    """One Recording per modality from the uploaded files, with the channels ``pipeline`` uses
    (``pipeline.check`` says whether they fit it as a whole)."""
    recordings: dict[str, Recording] = {}
    for upload in uploads:
        modality = upload.modality or _only_modality(pipeline, upload.filename)
        if modality in recordings:
            raise MismatchError(f"{upload.filename}: a second {modality} file; send one file per signal.")
        recordings[modality] = read_signal(upload.data, upload.filename, modality, upload.fs, pipeline)
    return recordings


def from_arrays(pipeline: SignalPipeline, signals: Mapping[str, Mapping[str, Any]]) -> dict[str, Recording]:
    """One Recording per modality from ``{modality: {"fs", "channels", "data" (channels × samples)}}``;
    rows named with the pipeline's channels in another order are put in its order."""
    recordings = {}
    for modality, signal in signals.items():
        where = f"signals.{modality}"
        expected = pipeline.signal(modality, where)
        rows = signal["data"]
        if len({len(r) for r in rows}) > 1:
            raise DataError(f"{where}.data: channels of different lengths; send one row of samples per channel.")
        data = np.asarray(rows, dtype=float).reshape(len(rows), -1)
        channels = list(signal["channels"])
        if len(channels) != len(rows):
            raise DataError(f"{where}: {len(rows)} rows of data but {len(channels)} channel names; give one name per row.")
        for order in (list(expected.ch_names), list(pipeline.channels(modality))):
            if sorted(channels) == sorted(order) and len(set(channels)) == len(channels):
                data, channels = data[[channels.index(c) for c in order]], order
        recordings[modality] = Recording(data, signal["fs"], tuple(channels), pipeline.channel_types(modality, channels),
                                         (), modality, {"trial": "upload", "source": where})
    return recordings


def _only_modality(pipeline: SignalPipeline, filename: str) -> str:
    if len(pipeline.inputs) != 1:
        raise MismatchError(f"{filename}: the model takes several signals ({sorted(pipeline.inputs)}); say which one "
                            "this file holds.")
    return next(iter(pipeline.inputs))



def read_signal(data: bytes, filename: str, modality: str, fs: float | None, pipeline: SignalPipeline) -> Recording:
    """One file of ``modality`` as a Recording with the channel names ``pipeline`` uses.

    ``data`` is numeric text (``.txt``, ``.csv``, ``.tsv``, ``.dat``; a header row of channel
    names is optional), for a quaternion modality 3DC's ``(w, x, y, z)`` lines, or a file that
    names its signals (EDF/BDF, C3D, XDF, TRC: :mod:`bmelearn.io.formats`; found by label, at
    the file's rate). ``fs`` is the recording's sampling
    rate in Hz as the user states it (None: the pipeline's; for those files, the file's).
    """
    expected = pipeline.signal(modality, filename)
    channels = list(pipeline.channels(modality))
    suffix = Path(filename).suffix.lower()
    if described(filename):  # the file's own labels and rate
        recording = pick_signals(read_described(filename, data).recordings, channels, filename, "the file's signal labels")
        if fs is not None and fs != recording.fs:
            raise DataError(f"{filename}: the file says {recording.fs:g} Hz, not the {fs:g} Hz given; leave the rate out.")
        return Recording(recording.data, recording.fs, tuple(channels), pipeline.channel_types(modality), recording.units,
                         modality, {"trial": "upload", "source": filename})
    if suffix not in TEXT_SUFFIXES:
        raise DataError(f"{filename}: cannot read {suffix or 'files without an extension'}; "
                        f"upload numeric text ({', '.join(TEXT_SUFFIXES)}), one sample per line, or EDF/BDF, C3D, XDF or TRC.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{filename}: not a text file (it is not UTF-8); upload numeric text, one sample per line.") from None
    if text.lstrip().startswith("("):
        values, header = parse_quaternions(text, filename), None
    else:
        values, header = parse_matrix(text, filename)
    fs = expected.fs if fs is None else fs
    values = _match_channels(values, header, channels, list(expected.ch_names), fs, filename, modality)
    return Recording(values.T, fs, tuple(channels),
                     pipeline.channel_types(modality), (), modality, {"trial": "upload", "source": filename})


def _match_channels(values: np.ndarray, header: list[str] | None, channels: list[str], recorded: list[str],
                    fs: float, filename: str, modality: str) -> np.ndarray:
    """Columns in the order of the model's ``channels``: by name when the file has a header (a time
    column checked against ``fs`` Hz and dropped, see :class:`~bmelearn.io.columns.Columns`), else
    by position (a file with every ``recorded`` channel, excluded ones too, loses those)."""
    if header is not None:
        excluded = tuple(c for c in recorded if c not in channels)
        columns = Columns(time_column(header, recorded), ignore=excluded, config=None)
        return columns.select(values, header, channels, fs, filename)
    if values.shape[1] == len(recorded) != len(channels):
        return values[:, [recorded.index(c) for c in channels]]
    if values.shape[1] != len(channels):
        raise MismatchError(f"{filename}: {values.shape[1]} channels, but the model expects {len(channels)} "
                            f"{modality} channels ({', '.join(channels)}).")
    return values


def from_files(pipeline: SignalPipeline, files: Sequence[str], fs: Sequence[str] = ()) -> dict[str, dict[str, Recording]]:
    """The recordings in ``files`` by name: each file one recording for a model of one signal;
    for a model of several, one recording of ``MODALITY=PATH`` files, one per signal. ``fs``:
    the files' sampling rate in Hz, ``HZ`` for all or ``MODALITY=HZ`` (default: the model's)."""
    rates = _rates(pipeline, fs)
    uploads = []
    for spec in files:
        modality, named, path = spec.partition("=")
        if not named or (modality not in pipeline.inputs and Path(spec).exists()):
            modality, path = "", spec
        elif modality not in pipeline.inputs:
            pipeline.signal(modality, spec)  # names the signals the model takes
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: cannot read the file ({exc.strerror}).") from None
        uploads.append(Upload(data, path, modality or None, rates.get(modality or next(iter(pipeline.inputs)))))
    if len(pipeline.inputs) == 1:
        return {u.filename: from_uploads(pipeline, [u]) for u in uploads}
    unnamed = [u.filename for u in uploads if u.modality is None]
    if unnamed:
        raise MismatchError(f"{unnamed[0]}: the model takes several signals ({sorted(pipeline.inputs)}); give each file "
                            "as MODALITY=PATH.")
    return {" + ".join(u.filename for u in uploads): from_uploads(pipeline, uploads)}


def _rates(pipeline: SignalPipeline, fs: Sequence[str]) -> dict[str, float]:
    """``{modality: Hz}`` from ``HZ`` (every signal) or ``MODALITY=HZ`` items."""
    rates: dict[str, float] = {}
    for item in fs:
        modality, named, value = item.rpartition("=")
        if named:
            pipeline.signal(modality, f"--fs {item}")  # a signal the model takes
        targets = [modality] if named else list(pipeline.inputs)
        try:
            rates |= dict.fromkeys(targets, float(value))
        except ValueError:
            raise DataError(f"--fs {item}: {value!r} is not a number of Hz; give HZ or MODALITY=HZ.") from None
    return rates
