"""Folders of per-trial files whose metadata lives in the path.

A pattern such as ``Participant{subject}/{session}/EMG/3dc_EMG_gesture_{repetition}_{label}.txt``
describes where the files are and what each part of the path means: it is relative to the
dataset folder, the fixed text is matched as written (no wildcards) and each ``{name}`` (letters,
digits, _) matches the part that varies. ``{rep}`` is accepted for ``{repetition}``. Numeric
fields become integers; ``{label}`` is mapped to a class name through ``classes`` (a list
indexed by the label number, or a dict).
"""

from __future__ import annotations

import glob
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

import numpy as np

from bmelearn.errors import DataError
from bmelearn.io.columns import Columns
from bmelearn.io.formats import described, read_channels, read_described
from bmelearn.io.isolated import stop_isolated
from bmelearn.io.mat import NINAPRO, MatLayout, read_mat
from bmelearn.io.mat import SUFFIXES as VARIABLE_SUFFIXES
from bmelearn.io.npy import npy_file
from bmelearn.io.text import read_matrices
from bmelearn.signals.motion import MAX_GAP_S
from bmelearn.signals.recording import MappedFile, Recording, trial_id

FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
ALIASES = {"rep": "repetition", "class": "label", "participant": "subject"}
EXAMPLE = "S{subject}/{session}/{label}_{repetition}.csv"


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A regex that matches a relative path against the pattern, one named group per field."""
    out, pos, seen = [], 0, set()
    for m in FIELD.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        name = m.group(1)
        out.append(f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+?)")
        seen.add(name)
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("".join(out) + "$")


def match_files(root: str | Path, pattern: str) -> list[tuple[Path, dict[str, Any]]]:
    """Files under ``root`` matching ``pattern``, each with its path fields, in a natural order."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: folder not found. Give the dataset's folder (e.g. --set dataset.path=...).")
    plain = _check_pattern(pattern, root)
    regex = pattern_regex(plain)
    found = []
    for path in root.glob(_glob(plain)):
        m = regex.match(path.relative_to(root).as_posix())
        if m and path.is_file():
            fields = {ALIASES.get(k, k): _number(v) for k, v in m.groupdict().items()}
            found.append((path, fields))
    if not found:
        some = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())[:5]
        raise DataError(
            f"{root}: no file matches the pattern {pattern!r}. Files there look like {some or 'nothing (empty folder)'}; "
            "fix the pattern or the path."
        )
    return sorted(found, key=lambda item: _natural_key(item[0].relative_to(root).as_posix()))


def read_array(path: Path, fs: float | None = None) -> tuple[np.ndarray | MappedFile, list[str] | None]:
    """One file's samples × columns and its header names, if any: a ``.npy`` file (stored
    channels × samples, no header) left unread (:func:`~bmelearn.io.npy.npy_file`), a file
    that names its signals (EDF, BDF, C3D, XDF, WFDB, TRC: :mod:`bmelearn.io.formats`; their
    labels as the header; its rate must be ``fs`` Hz when given), or numeric text."""
    values, header, _ = _read_arrays([path], fs)[0]
    return values, header


def _read_arrays(paths: Sequence[Path], fs: float | None, ch_names: Sequence[str] | None = None,
                 variables: MatLayout | None = None,
                 ) -> list[tuple[np.ndarray | MappedFile, list[str] | None, list[str] | None]]:
    """:func:`read_array` of every path, in order (text files parsed on a thread per core:
    :func:`~bmelearn.io.text.read_matrices`), with the units of each file's columns where the file holds them (EDF,
    C3D ...: only its signals labelled in ``ch_names``, when given; others are left aside); a
    MATLAB or HDF5 file gives its ``variables.signal`` (of ``len(ch_names)`` channels)."""
    def binary(path: Path) -> tuple[np.ndarray | MappedFile, list[str] | None, list[str] | None] | None:
        if path.suffix == ".npy":
            return npy_file(path).T, None, None
        if described(path):
            return _described_array(path, fs, ch_names)
        if path.suffix.lower() in VARIABLE_SUFFIXES:
            return read_mat(path, MatLayout((variables or NINAPRO).signal), len(ch_names or ()))[0].T, None, None
        return None  # numeric text, parsed below on a thread per core

    try:
        read = [binary(path) for path in paths]
    finally:
        stop_isolated()
    parsed = iter(read_matrices([path for path, got in zip(paths, read, strict=True) if got is None]))
    return [got if got is not None else (*next(parsed), None) for got in read]


def _described_array(path: Path, fs: float | None, ch_names: Sequence[str] | None) -> tuple[np.ndarray, list[str], list[str]]:
    """A file of one trial that names its signals as samples × signals, their labels and units, at ``fs`` Hz."""
    recording, _ = read_channels(path, ch_names, fs)
    return recording.data.T, list(recording.ch_names), list(recording.units)


def read_pattern(
    root: str | Path,
    pattern: str,
    *,
    fs: float,
    ch_names: Sequence[str],
    read: Callable[[Path], np.ndarray | MappedFile] | None = None,
    ch_type: str = "emg",
    modality: str = "emg",
    units: str | None = None,
    classes: Sequence[str] | Mapping[Any, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    keep: Callable[[dict[str, Any]], bool] | None = None,
    columns: Columns | None = None,
    variables: MatLayout | None = None,
) -> list[Recording]:
    """Read every file matching ``pattern`` into one Recording each.

    By default files are read by :func:`read_array` (numeric text, or ``.npy`` left unread); the
    columns of a header line are matched to ``ch_names`` by name, as ``columns`` says (a time
    column checked against ``fs`` and dropped, others ignored), a file without one by position.
    ``read(path)`` instead gives an array (n_samples, n_channels) of a layout without a header.
    ``defaults`` fills metadata the path does not hold (e.g. ``{"subject": 1}``); ``keep(fields)``
    filters files by their path fields before they are read. MATLAB and HDF5 files give their
    ``variables.signal`` (NinaPro's ``emg`` by default). The trial id is the path without the
    modality folder.
    """
    columns = columns or Columns()
    chosen = []
    for path, fields in match_files(root, pattern):
        meta = dict(defaults or {}) | fields
        if "label" in meta and classes is not None:
            meta["label"] = _class_name(meta["label"], classes, path)
        if keep is None or keep(meta):
            chosen.append((path, meta))
    paths = [path for path, _ in chosen]
    arrays = _read_arrays(paths, fs, ch_names, variables) if read is None else [(read(path), None, None) for path in paths]
    recordings = []
    for (path, meta), (data, header, file_units) in zip(chosen, arrays, strict=True):
        if file_units is not None and not units:  # the file's units of the channels, in their order
            file_units = [file_units[i] for i in columns.order(header, ch_names, path)]
        data = columns.select(data, header, ch_names, fs, path)
        if data.ndim != 2 or data.shape[1] != len(ch_names):
            raise DataError(
                f"{path}: {data.shape[-1]} channel columns, expected {len(ch_names)} ({', '.join(ch_names)}). "
                "Check that the file belongs to this dataset, or remove it."
            )
        meta = {"trial": trial_id(meta)} | meta | {"source": str(path)}
        recordings.append(
            Recording(
                data.T,
                fs,
                ch_names=tuple(ch_names),
                ch_types=(ch_type,) * len(ch_names),
                units=(units,) * len(ch_names) if units else tuple(file_units or ()),
                modality=modality,
                meta=meta,
            )
        )
    return recordings


def read_named_files(root: str | Path, pattern: str, *, classes: Sequence[str] | Mapping[Any, str] | None = None,
                     keep: Callable[[dict[str, Any]], bool] | None = None, max_gap: float = MAX_GAP_S) -> list[Recording]:
    """Every file matching ``pattern`` that names its signals and rates (EDF, C3D, XDF, WFDB, TRC:
    :mod:`bmelearn.io.formats`), each a trial: all its modalities, as the file has them, with
    the path's fields as metadata (``classes`` and ``keep`` as in :func:`read_pattern`)."""
    recordings = []
    for path, fields in match_files(root, pattern):
        if "label" in fields and classes is not None:
            fields["label"] = _class_name(fields["label"], classes, path)
        if keep is None or keep(fields):
            meta = {"trial": trial_id(fields)} | fields | {"source": str(path)}
            recordings += [replace(rec, meta=dict(meta)) for rec in read_described(path, max_gap=max_gap).recordings]
    return recordings


def _class_name(label: Any, classes: Sequence[str] | Mapping[Any, str], path: Path) -> str:
    """The class name of a path's label: by number (a list's index, or a mapping's key, as a
    number or as text: a mapping read back from JSON has text keys) or by name."""
    if isinstance(classes, Mapping) and label not in classes and str(label) in classes:
        label = str(label)
    try:
        return classes[label]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        known = list(classes.items()) if isinstance(classes, Mapping) else list(enumerate(classes))
        raise DataError(f"{path}: label {label!r} is not a known class; known: {known}.") from None


def _number(value: str) -> Any:
    return int(value) if value.isdecimal() else value


def _natural_key(text: str) -> list:
    return [int(t) if t.isdecimal() else t for t in re.split(r"(\d+)", text)]


def _check_pattern(pattern: str, root: Path) -> str:
    """``pattern`` in its plain form (``./`` and doubled ``/`` dropped), or an error saying what
    to write instead when it cannot describe files under ``root``."""
    parts = PurePath(pattern).parts
    if not pattern.strip() or not parts:
        raise DataError(
            f"file pattern {pattern!r} is empty: describe the files under {root}, e.g. {EXAMPLE!r} "
            "(a name in braces for each part of the path that varies)."
        )
    if PurePath(pattern).anchor:
        start = max(1, next((i for i, part in enumerate(parts) if "{" in part), len(parts) - 1))
        folder, below = PurePath(*parts[:start]), PurePosixPath(*parts[start:]).as_posix()
        raise DataError(
            f"file pattern {pattern!r} is absolute; a pattern is relative to the dataset folder: "
            f"give path {str(folder)!r} and pattern {below!r}."
        )
    if ".." in parts:
        raise DataError(
            f"file pattern {pattern!r} reaches outside the folder {root} ('..'): give the folder that "
            "holds every file as the path, and the pattern below it."
        )
    fixed = FIELD.sub("", pattern)
    wildcard = next((c for c in "*?" if c in fixed), None)
    if wildcard:
        raise DataError(
            f"file pattern {pattern!r}: {wildcard!r} is not a wildcard here. Write the fixed part of the "
            f"file names and put each part that varies in braces, as {{name}}, e.g. {EXAMPLE!r}."
        )
    brace = next((c for c in "{}" if c in fixed), None)
    if brace:
        raise DataError(
            f"file pattern {pattern!r}: a {brace!r} that is not part of a placeholder; a placeholder is "
            "a name of letters, digits and _ in braces, e.g. {subject}."
        )
    return PurePosixPath(pattern).as_posix()


def _glob(pattern: str) -> str:
    """The glob of the files ``pattern`` may match: its fixed text escaped, one ``*`` per run of fields."""
    fixed = FIELD.split(pattern)[::2]
    return re.sub(r"\*\*+", "*", "*".join(glob.escape(text) for text in fixed))
