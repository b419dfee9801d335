"""Named datasets: the built-in simulator and loaders for public datasets (by local path)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bmelearn.datasets.daphnet import load_daphnet
from bmelearn.datasets.files import load_files
from bmelearn.datasets.myo import load_one_subject_myo
from bmelearn.datasets.rps import load_emg_rps
from bmelearn.datasets.simulator import simulate
from bmelearn.datasets.tabular import load_breast_cancer
from bmelearn.datasets.threedc import load_3dc
from bmelearn.errors import ConfigError
from bmelearn.signals.recording import RecordingSet


@dataclass(frozen=True)
class DatasetInfo:
    """A named dataset: how to load it and what it holds."""

    name: str
    description: str
    load: Callable[..., RecordingSet]
    needs_path: bool

    @property
    def parameters(self) -> list[str]:
        return list(inspect.signature(self.load).parameters)


DATASETS = {
    info.name: info
    for info in (
        DatasetInfo(
            "simulator",
            "Built-in simulated armband: 8 EMG channels at 1000 Hz + 3-axis accelerometer at 50 Hz, "
            "hand gestures, several subjects and sessions; offline and deterministic from a seed.",
            simulate,
            needs_path=False,
        ),
        DatasetInfo(
            "3dc",
            "3DC armband (Côté-Allard et al. 2019): 10 EMG channels at 1000 Hz + IMU quaternion, "
            "11 hand/wrist gestures, sessions train/test of 4 repetitions.",
            load_3dc,
            needs_path=True,
        ),
        DatasetInfo(
            "one-subject-myo",
            "Myo armband, one subject (LibEMG): 8 EMG channels at 200 Hz, 5 classes, 6 trials (sessions 1-6).",
            load_one_subject_myo,
            needs_path=True,
        ),
        DatasetInfo(
            "emg-rps",
            "Armband EMG, rock/paper/scissors/ok/rest (geomstats): 8 channels resampled to 244 Hz, "
            "subjects mg and rr, sessions s1 and s2.",
            load_emg_rps,
            needs_path=True,
        ),
        DatasetInfo(
            "daphnet",
            "Daphnet freezing of gait (Bächlin et al. 2010): 3 tri-axial accelerometers at 64 Hz on people with "
            "Parkinson's disease, episodes of walking and freezing; the release folder or a TimeEval CSV file.",
            load_daphnet,
            needs_path=True,
        ),
        DatasetInfo(
            "files",
            "Your own recordings: one file per trial under path, metadata in the path (pattern, e.g. "
            "'S{subject}/{session}/{label}_{repetition}.npy'), with fs and ch_names; numeric text, or .npy "
            "(channels × samples) memory-mapped and read lazily, for data larger than memory.",
            load_files,
            needs_path=True,
        ),
        DatasetInfo(
            "breast-cancer",
            "Wisconsin diagnostic breast cancer (scikit-learn): 569 patients, 30 cell-nucleus measurements, "
            "benign or malignant; tabular, one row per patient (use windows: whole, features {clinical: [MEAN]}).",
            load_breast_cancer,
            needs_path=False,
        ),
    )
}


def load_dataset(name: str, **params: Any) -> RecordingSet:
    """Load a named dataset; ``params`` are the loader's arguments (e.g. ``path``, ``subjects``)."""
    if name not in DATASETS:
        raise ConfigError(f"dataset.name: unknown dataset {name!r}; choose from {sorted(DATASETS)}.")
    info = DATASETS[name]
    unknown = sorted(set(params) - set(info.parameters))
    if unknown:
        raise ConfigError(f"dataset: {unknown} are not options of dataset {name!r}; its options are {info.parameters}.")
    if info.needs_path and params.get("path") is None:
        raise ConfigError(f"dataset.path: dataset {name!r} is read from a local folder; set dataset.path to it.")
    return info.load(**params)


__all__ = ["DATASETS", "DatasetInfo", "load_dataset"]
