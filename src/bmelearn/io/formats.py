"""Files that carry their own sampling rates and channel names (and types and units, where the
format has them), read by extension with no other argument.

========  ==========================  ==========================================================
suffix    reader                      holds
========  ==========================  ==========================================================
.edf/.bdf :mod:`bmelearn.io.edf`      signals and EDF+/BDF+ annotations (edfio)
.c3d      :mod:`bmelearn.io.c3d`      marker trajectories, analog channels (EMG, force), events (ezc3d)
.xdf      :mod:`bmelearn.io.xdf`      Lab Streaming Layer streams on one time base, marker streams (pyxdf)
.hea      :mod:`bmelearn.io.wfdb`     a PhysioNet WFDB record (header, signal files, annotations)
.trc      :mod:`bmelearn.io.trc`      marker trajectories as text
========  ==========================  ==========================================================

Each reader returns a :class:`~bmelearn.signals.events.Continuous`: the file's signals, one
recording per modality (its channels of one type and rate, :func:`group_signals`), and its
events. Marker trajectories come in mm, one channel per axis (``RELB_x``, ``RELB_y``,
``RELB_z``); their gaps up to ``max_gap`` seconds are filled and longer ones reported
(:func:`bmelearn.signals.motion.fill_gaps`).
"""

from __future__ import annotations

import importlib
import importlib.util
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bmelearn.errors import ConfigError, DataError
from bmelearn.signals.events import Continuous
from bmelearn.signals.motion import MARKERS, MAX_GAP_S, fill_gaps
from bmelearn.signals.recording import Recording

#: The reader module of each suffix (lower case).
SUFFIXES = {".edf": "edf", ".bdf": "edf", ".c3d": "c3d", ".xdf": "xdf", ".xdfz": "xdf", ".hea": "wfdb", ".trc": "trc"}
#: What each reader needs installed beyond the core: (module, extra of bmelearn).
EXTRAS = {"c3d": ("ezc3d", "c3d"), "xdf": ("pyxdf", "xdf"), "wfdb": ("wfdb", "wfdb")}
#: Label or transducer prefixes (lower case) of each channel type; the first that matches wins.
_TYPE_PREFIXES = (("emg", "emg"), ("acc", "acc"), ("gyr", "gyro"))


def described(path: str | Path) -> bool:
    """Whether the file at ``path`` is of a format that names its channels and rates."""
    return Path(path).suffix.lower() in SUFFIXES


def require_reader(path: str | Path, where: str = "") -> None:
    """A ConfigError with the install command when the library that reads files like ``path``
    is not installed (``where``: the config key that named them)."""
    kind = SUFFIXES.get(Path(path).suffix.lower())
    if kind in EXTRAS and importlib.util.find_spec(EXTRAS[kind][0]) is None:
        module, extra = EXTRAS[kind]
        raise ConfigError(f"{where + ': ' if where else ''}reading {Path(path).suffix} files needs {module}: "
                          f"pip install 'bmelearn[{extra}]'.")


def clean_text(value: object) -> str:
    """A name or label read from a file as text: stripped of spaces and NULs, and bytes that are not
    UTF-8 (which a library hands over as lone surrogates) shown as U+FFFD instead of failing later."""
    return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace").strip("\x00 \t\r\n")


def channel_type(label: str, kind: str = "") -> str:
    """``emg``, ``acc``, ``gyro`` or ``misc``, from a signal's label or its declared type
    (an EDF transducer, an XDF or BIDS channel type)."""
    for text in (kind.strip().lower(), label.strip().lower()):
        for prefix, name in _TYPE_PREFIXES:
            if text.startswith(prefix):
                return name
    return "misc"


def group_signals(signals: Sequence[tuple[str, str, float, np.ndarray, str]], source: str | Path) -> list[Recording]:
    """Signals ``(label, type, rate in Hz, samples, unit)`` as one recording per type and rate:
    the modality is the type (``emg``), or, when one type comes at several rates, the type and
    rate (``emg_2000hz``). Signals of one group are cut to the shortest."""
    groups: dict[tuple[str, float], list] = {}
    for label, kind, fs, samples, unit in signals:
        groups.setdefault((kind, fs), []).append((label, samples, unit))
    kinds = [kind for kind, _ in groups]
    recordings = []
    for (kind, fs), members in groups.items():
        modality = kind if kinds.count(kind) == 1 else f"{kind}_{fs:g}hz"
        n = min(len(samples) for _, samples, _ in members)
        recordings.append(Recording(np.stack([np.asarray(samples[:n], dtype=np.float64) for _, samples, _ in members]),
                                    fs, tuple(label for label, _, _ in members), (kind,) * len(members),
                                    tuple(unit or "a.u." for _, _, unit in members), modality, {"source": str(source)}))
    return recordings


def read_described(path: str | Path, data: bytes | None = None, max_gap: float = MAX_GAP_S) -> Continuous:
    """The signals and events of the file at ``path`` (or its bytes ``data``, ``path`` giving
    its name: an upload), read by its extension; marker gaps up to ``max_gap`` s filled."""
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: {path.suffix or 'a file without an extension'} does not say its rate and channels; "
                        f"bmelearn reads those of {', '.join(sorted(SUFFIXES))} by themselves.")
    require_reader(path)
    reader = getattr(importlib.import_module(f"bmelearn.io.{kind}"), f"read_{kind}")
    if data is not None and kind == "wfdb":
        raise DataError(f"{path}: a WFDB record is its header and the signal files it names; give the header's path "
                        "(bmelearn run, bmelearn.io.read), or convert the record to EDF to upload it.")
    if data is not None and kind != "edf":  # the libraries read files: the upload goes to one, removed after
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / path.name
            copy.write_bytes(data)
            continuous = reader(copy)
        for rec in continuous.recordings:
            rec.meta["source"] = str(path)
    elif data is not None:
        continuous = reader(path, data)
    else:
        if not path.is_file():
            raise DataError(f"{path}: file not found. Check the dataset path and file pattern.")
        continuous = reader(path)
    continuous.recordings = [_filled(rec, max_gap, path) if rec.modality == MARKERS else rec
                             for rec in continuous.recordings]
    return continuous


def _filled(rec: Recording, max_gap: float, path: Path) -> Recording:
    """Markers with their gaps up to ``max_gap`` s filled; a warning names each longer one."""
    data, long = fill_gaps(rec.data, rec.fs, max_gap)
    for channel, start, seconds in long:
        if rec.ch_names[channel].endswith("_x"):  # one line per marker, not per axis
            warnings.warn(f"{path}: marker {rec.ch_names[channel][:-2]} is missing for {seconds:.3g} s from {start:.3f} s, "
                          f"longer than the {max_gap:g} s filled (dataset.max_gap); not invented: the "
                          "trials over it are left out.", stacklevel=2)
    return rec.with_data(data)


def read_channels(path: str | Path, ch_names: Sequence[str] | None = None, fs: float | None = None,
                  max_gap: float = MAX_GAP_S) -> tuple[Recording, pd.DataFrame]:
    """The signals of a file labelled in ``ch_names`` (those it has, in that order; all of its
    first modality without ``ch_names``) as one recording, and its events; a DataError naming the
    file when they are not sampled at ``fs`` Hz (when given). The caller says which of ``ch_names`` are missing."""
    continuous = read_described(path, max_gap=max_gap)
    labels = [name for rec in continuous.recordings for name in rec.ch_names]
    wanted = [n for n in ch_names if n in labels] if ch_names else list(continuous.recordings[0].ch_names)
    if ch_names and not wanted:
        pick_signals(continuous.recordings, ch_names, path)  # says what the file holds
    recording = pick_signals(continuous.recordings, wanted, path)
    if fs is not None and not np.isclose(recording.fs, fs):
        raise DataError(f"{path}: sampled at {recording.fs:g} Hz, not the {fs:g} Hz of dataset.fs; set fs to "
                        f"{recording.fs:g} or resample the file.")
    return recording, continuous.events


def pick_signals(streams: Sequence[Recording], ch_names: Sequence[str], source: object,
                 owner: str = "dataset.ch_names") -> Recording:
    """The signals labelled ``ch_names`` among ``streams`` (a file's modalities), in that order,
    as one recording (of the first one's modality); a DataError naming ``source`` when a label
    is missing or the signals have different rates."""
    where = {name: (rec, i) for rec in streams for i, name in enumerate(rec.ch_names)}
    missing = [name for name in ch_names if name not in where]
    if missing:
        if streams and all(rec.modality == MARKERS for rec in streams):
            raise DataError(f"{source}: holds marker trajectories only, no analog channel such as {missing[0]!r}. Export "
                            "the analog channels (EMG, force) with the markers, or take the markers' modality.")
        raise DataError(f"{source}: no signal labelled {missing}; its signals are {list(where)}. Fix {owner}.")
    rates = sorted({where[name][0].fs for name in ch_names})
    if len(rates) > 1:
        raise DataError(f"{source}: the signals {list(ch_names)} are sampled at different rates {rates} Hz.")
    n = min(where[name][0].n_samples for name in ch_names)
    first = where[ch_names[0]][0]
    return Recording(np.stack([where[name][0].data[where[name][1], :n] for name in ch_names]), rates[0], tuple(ch_names),
                     tuple(where[name][0].ch_types[where[name][1]] for name in ch_names),
                     tuple(where[name][0].units[where[name][1]] for name in ch_names), first.modality, first.meta)


def unreadable(path: Path, kind: str, exc: BaseException, fix: str) -> DataError:
    """The error for a file its format's library cannot read, naming the file, the library's
    complaint and the ``fix``."""
    return DataError(f"{path}: not a readable {kind} file ({type(exc).__name__}: {exc}). {fix}")
