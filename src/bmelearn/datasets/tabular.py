"""Tabular clinical data: one row per patient, read as one-sample recordings.

Each row becomes a Recording of modality ``clinical`` with one channel per variable and a
single sample (at a nominal 1 Hz), the patient as its subject and trial. With
``windows: whole`` and the feature MEAN (which of one sample is the value itself), the rows
go through the same experiment, protocols, metrics and report as biosignals; evaluate them
with ``subject_kfold``, which holds out whole patients.

Two tables: scikit-learn's breast-cancer table (``breast-cancer``) and your own CSV file
(``table``), one row per patient with a header line naming its columns.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer as _sklearn_breast_cancer

from bmelearn.datasets.description import Description
from bmelearn.errors import DataError
from bmelearn.signals.recording import Recording, RecordingSet

#: The breast-cancer table, known before reading it: one-sample rows (a nominal 1 Hz), one visit.
BREAST_CANCER = Description({"clinical": 1.0}, sessions=["visit"], classes=["benign", "malignant"])


def table_recordings(values: np.ndarray, labels: np.ndarray, columns: list[str], classes: list[str], name: str,
                     subjects: Sequence[str] | None = None) -> RecordingSet:
    """A RecordingSet of one one-sample Recording per row of ``values`` (n_rows, n_columns); trials
    are numbered by row, and the subjects are ``subjects`` (default: the trials). A patient of
    several rows has them as repetitions 0, 1, ..."""
    trials = [f"{i + 1:04d}" for i in range(len(values))]
    subjects = trials if subjects is None else [str(s) for s in subjects]
    repetitions = pd.Series(subjects).groupby(subjects).cumcount()
    recordings = [
        Recording(
            row[:, None], 1.0, tuple(columns), ("misc",) * len(columns), modality="clinical",
            meta={"subject": subject, "session": "visit", "repetition": int(repetition), "label": str(label),
                  "trial": trial, "source": name},
        )
        for row, label, subject, trial, repetition in zip(values, labels, subjects, trials, repetitions, strict=True)
    ]
    return RecordingSet(recordings, classes, name=name)


def load_breast_cancer() -> RecordingSet:
    """The Wisconsin diagnostic breast-cancer table shipped with scikit-learn (Street et al.,
    1993): 569 patients, 30 measurements of cell nuclei from a fine-needle aspirate, benign or
    malignant (212 malignant)."""
    data = _sklearn_breast_cancer()
    labels = np.asarray(data.target_names)[data.target]
    return table_recordings(data.data, labels, [str(c) for c in data.feature_names], list(BREAST_CANCER.classes),
                            "breast-cancer")


def describe_table(path: str | Path, label: str, id: str | None = None, columns: Sequence[str] | None = None,
                   classes: Sequence[str] | Mapping[Any, str] | None = None) -> Description:
    """What :func:`load_table` will read, from the header line and the label and id columns only:
    the classes and the patients; a DataError naming the file, the column and the line otherwise."""
    _check_names(path, label, id, columns)
    return _description(_read(path, [label] if id is None else [label, id], usecols=True), path, label, id, classes)


def _check_names(path: str | Path, label: str, id: str | None, columns: Sequence[str] | None) -> None:
    """A DataError naming the key of a column that the table lacks or that is given two roles."""
    header = _header(path)
    for key, name in [("label", label), ("id", id), *(("columns", c) for c in columns or ())]:
        if name is not None and name not in header:
            raise DataError(f"dataset.{key}: {path} has no column {name!r}; its columns are {header}.")
    if label == id:
        raise DataError(f"dataset.id: {id!r} is the label column (dataset.label); name the column of the patients.")
    for name, key in ((label, "label"), (id, "id")):
        if name is not None and name in (columns or ()):
            raise DataError(f"dataset.columns: {name!r} is the {key} column (dataset.{key}); a model must not be given it.")


def _description(table: pd.DataFrame, path: str | Path, label: str, id: str | None,
                 classes: Sequence[str] | Mapping[Any, str] | None) -> Description:
    """The Description of ``table`` (at least its label and id columns): its classes and patients."""
    kept = _classes(table, path, label, classes).notna()
    subjects = _row_numbers(table)[kept] if id is None else _patients(table, path, id)[kept]
    return Description({"clinical": 1.0}, sessions=["visit"], classes=_order(table, path, label, classes),
                       subjects=list(dict.fromkeys(subjects)))


def load_table(path: str | Path, label: str, id: str | None = None, columns: Sequence[str] | None = None,
               classes: Sequence[str] | Mapping[Any, str] | None = None) -> RecordingSet:
    """A CSV file of one row per patient (a header line names the columns): ``label`` is the
    column of the class, ``id`` that naming the patient (default: the row number; several rows
    of one patient are kept together by ``subject_kfold``), ``columns`` the variables (default:
    every other column that holds numbers; a column of text only is left out, with a warning).
    ``classes``: the labels to keep, in this order (default: all, numbers by value, else
    alphabetical), or a mapping of the labels to class names (``{0: healthy, 1: infarction}``);
    rows of other labels are left out. Every variable must hold a number in every row."""
    _check_names(path, label, id, columns)
    table = _read(path, [label] if id is None else [label, id])
    described = _description(table, path, label, id, classes)
    names = _classes(table, path, label, classes)
    if columns is None:
        others = [c for c in table.columns if c not in (label, id)]
        columns = [c for c in others if pd.to_numeric(table[c], errors="coerce").notna().any()]
        if text := [c for c in others if c not in columns]:
            warnings.warn(f"{path}: columns {text} hold no numbers; they are left out.", stacklevel=2)
        if not columns:
            raise DataError(f"{path}: no column besides {label!r} holds numbers; name the variables in dataset.columns.")
        if id is None and (counters := [c for c in columns if len(table) > 2 and table[c].is_unique
                                        and pd.to_numeric(table[c], errors="coerce").diff().iloc[1:].eq(1).all()]):
            warnings.warn(f"{path}: column {counters[0]!r} counts the rows (1, 2, 3, ...), like a patient number, and is "
                          "given to the models as a variable; name it in dataset.id if it numbers the patients.", stacklevel=2)
    if dropped := int(names.isna().sum()):
        warnings.warn(f"{path}: {dropped} row(s) whose label is not in dataset.classes are left out.", stacklevel=2)
    kept = table[names.notna()]
    values = np.column_stack([_numbers(kept[c], path, c) for c in columns])
    subjects = _row_numbers(kept) if id is None else _patients(kept, path, id)
    return table_recordings(values, names[names.notna()].to_numpy(), list(columns), list(described.classes),
                            Path(path).stem, subjects.to_list())


def _header(path: str | Path) -> list[str]:
    """The column names of the CSV file at ``path``; a DataError if it is not one, or if a name
    is there twice."""
    if not Path(path).is_file():
        raise DataError(f"dataset.path: {path} is not a file; give the path of the CSV table (one row per patient).")
    names = next(csv.reader(io.StringIO(_first_line(path))), [])
    names = [n.strip() for n in names]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        raise DataError(f"{path}, line 1: columns {twice} are named more than once; give each column its own name.")
    if len(names) == 1 and (separator := next((c for c in ";\t|" if c in names[0]), None)):
        raise DataError(f"{path}: its header {names[0]!r} is one column: the values are separated by "
                        f"{separator!r}, not commas; save the table as comma-separated values (CSV).")
    return [str(c) for c in _read(path, [], nrows=0).columns]


def _first_line(path: str | Path) -> str:
    """The first line of the file that is not blank (its header)."""
    try:
        with open(path, encoding="utf-8-sig") as file:
            return next((line for line in file if line.strip()), "")
    except UnicodeDecodeError:
        return ""  # _read words it


def _read(path: str | Path, text: list[str], usecols: bool = False, nrows: int | None = None) -> pd.DataFrame:
    """The table, its ``text`` columns read as text (only those with ``usecols``); blank lines are skipped."""
    try:
        return pd.read_csv(path, usecols=text if usecols else None, nrows=nrows, encoding="utf-8-sig",
                           skipinitialspace=True, low_memory=False, dtype=dict.fromkeys(text, str),
                           keep_default_na=False, na_values=[""])  # a label "NA" or "None" is a label
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position {exc.start}); "
                        "save the table as UTF-8.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not a CSV table with a header line ({' '.join(str(exc).split())}).") from None


def _at(path: str | Path, row: int, column: str) -> str:
    """Where row ``row`` (from 0) of the table is: the file, its line as a text editor counts it, the column."""
    with open(path, encoding="utf-8-sig") as file:
        lines = [number for number, text in enumerate(file, 1) if text.strip()]  # the header, then the rows
    return f"{path}, line {lines[row + 1]}, column {column!r}"


def _classes(table: pd.DataFrame, path: str | Path, label: str, classes: Sequence[str] | Mapping[Any, str] | None) -> pd.Series:
    """The class name of each row (NaN for a row left out by ``classes``); a DataError at an empty label."""
    labels = table[label].astype("string").str.strip()
    if labels.isna().any():
        raise DataError(f"{_at(path, labels.index[labels.isna()][0], label)}: no label; give each patient's class, or "
                        "leave the row out.")
    if classes is None:
        return labels.astype(object)
    names = {str(k): str(v) for k, v in classes.items()} if isinstance(classes, Mapping) else {str(c): str(c) for c in classes}
    absent = [k for k in names if k not in set(labels)]
    if absent:
        raise DataError(f"dataset.classes: {absent} are not labels in column {label!r} of {path}; its labels are "
                        f"{_sorted(labels.unique())}.")
    return labels.map(names).astype(object)


def _order(table: pd.DataFrame, path: str | Path, label: str, classes: Sequence[str] | Mapping[Any, str] | None) -> list[str]:
    """The class names in order; a DataError for fewer than two."""
    names = (list(dict.fromkeys(str(v) for v in classes.values())) if isinstance(classes, Mapping)
             else [str(c) for c in classes] if classes is not None else _sorted(_classes(table, path, label, None).unique()))
    if len(names) < 2:
        raise DataError(f"{path}: column {label!r} holds {len(names)} class(es) {names}; a classifier needs at least 2.")
    return names


def _sorted(labels: Any) -> list[str]:
    """Labels sorted as numbers when they all are, else as text."""
    labels = [str(v) for v in labels]
    numbers = pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce")
    return sorted(labels, key=float) if numbers.notna().all() else sorted(labels)


def _row_numbers(table: pd.DataFrame) -> pd.Series:
    return pd.Series([f"{i + 1:04d}" for i in table.index], index=table.index)


def _patients(table: pd.DataFrame, path: str | Path, id: str) -> pd.Series:
    """The patient of each row; a DataError at an empty id."""
    patients = table[id].astype("string").str.strip()
    if patients.isna().any():
        raise DataError(f"{_at(path, patients.index[patients.isna()][0], id)}: no patient id; name each row's patient.")
    return patients.astype(object)


def _numbers(column: pd.Series, path: str | Path, name: str) -> np.ndarray:
    """The finite numbers of ``column``; a DataError at the first empty cell or value that is not one."""
    numbers = pd.to_numeric(column, errors="coerce").astype(float)
    bad = ~np.isfinite(numbers)
    if bad.any():
        row = column.index[bad.to_numpy()][0]
        value = column[row]
        problem = "no value" if pd.isna(value) else f"{str(value).strip()!r} is not a number"
        raise DataError(f"{_at(path, row, name)}: {problem}; every variable needs a number in every row (leave the "
                        "row out, or the column out of dataset.columns).")
    return numbers.to_numpy()
