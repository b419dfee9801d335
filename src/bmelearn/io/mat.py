"""MATLAB ``.mat`` files: version 5 (read with SciPy) and version 7.3 (an HDF5 file, read with
h5py: ``pip install 'bmelearn[hdf5]'``); and HDF5 files (``.h5``, ``.hdf5``), their variables
named by dataset path (``emg/data``), read the same way.

A file holds named variables; which one is the signal (samples × channels, or channels ×
samples) and which one, if any, gives the class of each sample is declared (:class:`MatLayout`).
NinaPro's layout is named: ``emg`` and ``restimulus`` (0 between movements; the relabelled
stimulus, aligned on the EMG), one file per subject and exercise. A per-sample label becomes
events (:func:`events_from_labels`): each run of one non-zero label is an event.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bmelearn.errors import DataError
from bmelearn.io.isolated import isolated
from bmelearn.signals.events import EVENT_COLUMNS

#: MATLAB files, and HDF5 files of named datasets read the same way.
SUFFIXES = (".mat", ".h5", ".hdf5")


@dataclass(frozen=True)
class MatLayout:
    """The variables of a ``.mat`` file: ``signal`` (samples × channels, or channels ×
    samples) and ``labels`` (one class number per sample; 0 is no class), if any."""

    signal: str = "emg"
    labels: str | None = None


#: NinaPro's layout (Atzori et al., Sci. Data 1:140053, 2014).
NINAPRO = MatLayout("emg", "restimulus")
#: Layouts by name, for ``dataset.variables``.
PRESETS = {"ninapro": NINAPRO}


def read_mat(path: str | Path, layout: MatLayout, n_channels: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The signal of ``path`` as an array (n_channels, n_samples) and its per-sample labels
    (n_samples,) if the layout has them; a DataError naming the file and the variable when one
    is missing or of another shape."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Check the dataset path and file pattern.")
    names = [layout.signal] + ([layout.labels] if layout.labels else [])
    variables = _variables(path, names)
    signal = np.asarray(variables[layout.signal], dtype=np.float64)
    if signal.ndim != 2 or n_channels not in signal.shape:
        raise DataError(f"{path}: the variable {layout.signal!r} has shape {signal.shape}; expected samples × "
                        f"{n_channels} channels (dataset.ch_names).")
    signal = signal.T if signal.shape[1] == n_channels and signal.shape[0] != n_channels else signal
    labels = None
    if layout.labels:
        labels = np.asarray(variables[layout.labels]).ravel()
        if labels.shape != (signal.shape[1],):
            raise DataError(f"{path}: the variable {layout.labels!r} holds {labels.size} labels for {signal.shape[1]} "
                            "samples; give one label per sample.")
    return signal, labels


def _variables(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    """The variables ``names`` of a .mat file (version 5 or 7.3) or an HDF5 file, read in a
    process of their own (:mod:`bmelearn.io.isolated`)."""
    return isolated(_read_variables, path, names, kind="MATLAB",
                    fix="Save it again from MATLAB (save -v7 or -v7.3).")


def _read_variables(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    """:func:`_variables`, in the reading process."""
    from scipy import io as sio

    if path.suffix.lower() != ".mat":
        return _hdf5_variables(path, names, matlab=False)

    _check_elements(path)
    try:
        found = sio.loadmat(path, variable_names=names)
    except NotImplementedError:  # version 7.3: an HDF5 file
        return _hdf5_variables(path, names, matlab=True)
    except Exception as exc:  # noqa: BLE001 (a damaged file fails anywhere in SciPy's reader; none of it is the user's code)
        raise DataError(f"{path}: not a readable MATLAB file ({type(exc).__name__}: {exc}). Save it again from MATLAB "
                        "(save -v7 or -v7.3).") from None
    missing = [n for n in names if n not in found]
    if missing:
        present = [name for name, _, _ in sio.whosmat(path)]
        raise DataError(f"{path}: no variable {missing}; the file holds {present}. Set the variable names "
                        "(dataset.variables: {signal: ..., labels: ...}).")
    return {n: found[n] for n in names}


#: The data types of a version 5 file's elements (MATLAB's MAT-file format, table 1-1).
_MI_TYPES = {1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 14, 15, 16, 17, 18}
_MI_MATRIX, _MI_COMPRESSED = 14, 15


def _check_elements(path: Path) -> None:
    """A DataError when a version 5 file's elements are not well formed: a data type that does
    not exist, or an element longer than what holds it. SciPy's reader (1.17) crashes the whole
    process on some of these instead of raising; its own checks are left to it."""
    data = path.read_bytes()
    if len(data) < 128 or data[124:126] not in (b"\x00\x01", b"\x01\x00") or data[126:128] not in (b"IM", b"MI"):
        return  # not version 5 (version 4, 7.3, or no MAT file): the readers say so
    order = "<" if data[126:128] == b"IM" else ">"

    def check(block: bytes, where: int) -> None:
        position = 0
        while position + 8 <= len(block):
            kind, size = np.frombuffer(block, dtype=f"{order}u4", count=2, offset=position).tolist()
            if kind >> 16:  # a small element: type and size in one word, 4 bytes of data
                kind, size, length = kind & 0xFFFF, kind >> 16, 8
            else:
                length = 8 + size + (-size % 8 if kind != _MI_COMPRESSED else 0)
            if kind not in _MI_TYPES or position + 8 + size > len(block):
                raise DataError(f"{path}: a damaged MATLAB file (an element of type {kind} and {size} bytes at byte "
                                f"{where + position}). Save it again from MATLAB.")
            body = block[position + 8:position + 8 + size]
            if kind == _MI_COMPRESSED:
                try:
                    check(zlib.decompress(body), where + position)
                except zlib.error as exc:
                    raise DataError(f"{path}: a damaged MATLAB file (compressed data at byte {where + position}: "
                                    f"{exc}). Save it again from MATLAB.") from None
            elif kind == _MI_MATRIX:
                check(body, where + position + 8)
            position += length

    check(data[128:], 128)


def _hdf5_variables(path: Path, names: list[str], matlab: bool) -> dict[str, np.ndarray]:
    """The variables ``names`` (dataset paths) of an HDF5 file: a MATLAB 7.3 file (``matlab``;
    MATLAB stores arrays transposed) or any other."""
    kind = "MATLAB 7.3" if matlab else "HDF5"
    try:
        import h5py
    except ImportError:
        raise DataError(f"{path}: a {kind} file (HDF5); reading it needs h5py: pip install 'bmelearn[hdf5]'.") from None
    try:
        with h5py.File(path, "r") as file:
            missing = [n for n in names if not isinstance(file.get(n), h5py.Dataset)]
            if missing:
                present: list[str] = []
                file.visititems(lambda name, item: present.append(name) if isinstance(item, h5py.Dataset) else None)
                raise DataError(f"{path}: no variable {missing}; the file holds {sorted(present)}. Set the variable "
                                "names (dataset.variables: {signal: ..., labels: ...}).")
            return {n: np.asarray(file[n]).T if matlab else np.asarray(file[n]) for n in names}
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 (a damaged file fails anywhere in HDF5; none of it is the user's code)
        raise DataError(f"{path}: not a readable {kind} file ({type(exc).__name__}: {exc}). Save it again.") from None


def events_from_labels(labels: np.ndarray, fs: float) -> pd.DataFrame:
    """The events of a per-sample label: each run of one non-zero label, with its onset and
    duration (s) and its label as text (``3``, not ``3.0``)."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts, ends = np.r_[0, change], np.r_[change, labels.size]
    runs = [(start, end, labels[start]) for start, end in zip(starts, ends, strict=True) if labels[start] != 0]
    return pd.DataFrame({"onset": [start / fs for start, _, _ in runs], "duration": [(end - start) / fs for start, end, _ in runs],
                         "label": [_text(value) for _, _, value in runs]}, columns=EVENT_COLUMNS)


def _text(value: object) -> str:
    """A label as text: a whole number without its decimals."""
    number = float(value) if isinstance(value, int | float | np.number) else None
    return str(int(number)) if number is not None and number.is_integer() else str(value)
