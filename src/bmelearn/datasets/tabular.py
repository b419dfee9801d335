"""Tabular clinical data: one row per patient, read as one-sample recordings.

Each row becomes a Recording of modality ``clinical`` with one channel per variable and a
single sample (at a nominal 1 Hz), the patient as its subject and trial. With
``windows: whole`` and the feature MEAN (which of one sample is the value itself), the rows
go through the same experiment, protocols, metrics and report as biosignals; evaluate them
with ``subject_kfold``, which holds out whole patients.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer as _sklearn_breast_cancer

from bmelearn.datasets.description import Description
from bmelearn.signals.recording import Recording, RecordingSet

#: The breast-cancer table, known before reading it: one-sample rows (a nominal 1 Hz), one visit.
BREAST_CANCER = Description({"clinical": 1.0}, sessions=["visit"], classes=["benign", "malignant"])


def table_recordings(values: np.ndarray, labels: np.ndarray, columns: list[str], classes: list[str], name: str) -> RecordingSet:
    """A RecordingSet of one one-sample Recording per row of ``values`` (n_rows, n_columns)."""
    recordings = [
        Recording(
            row[:, None], 1.0, tuple(columns), ("misc",) * len(columns), modality="clinical",
            meta={"subject": f"{i + 1:04d}", "session": "visit", "repetition": 0, "label": str(label),
                  "trial": f"{i + 1:04d}", "source": name},
        )
        for i, (row, label) in enumerate(zip(values, labels, strict=True))
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
