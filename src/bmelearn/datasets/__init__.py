"""Named datasets: the built-in simulator and loaders for public datasets (by local path)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bmelearn.datasets.daphnet import load_daphnet
from bmelearn.datasets.files import load_files
from bmelearn.datasets.myo import load_one_subject_myo
from bmelearn.datasets.rps import load_emg_rps
from bmelearn.datasets.simulator import simulate
from bmelearn.datasets.tabular import load_breast_cancer
from bmelearn.datasets.threedc import load_3dc
from bmelearn.errors import ConfigError
from bmelearn.registry import Entry, Registry
from bmelearn.signals.recording import RecordingSet

#: The named datasets: ``obj`` loads one, its parameters are the options of ``dataset:`` in an
#: experiment file, and ``needs_path`` says whether it is read from a local folder.
DATASETS: Registry[Entry] = Registry("dataset", [
    Entry.of(simulate, "simulator",
             "Built-in simulated armband: 8 EMG channels at 1000 Hz + 3-axis accelerometer at 50 Hz, "
             "hand gestures, several subjects and sessions; offline and deterministic from a seed.",
             needs_path=False),
    Entry.of(load_3dc, "3dc",
             "3DC armband (Côté-Allard et al. 2019): 10 EMG channels at 1000 Hz + IMU quaternion, "
             "11 hand/wrist gestures, sessions train/test of 4 repetitions.",
             needs_path=True),
    Entry.of(load_one_subject_myo, "one-subject-myo",
             "Myo armband, one subject (LibEMG): 8 EMG channels at 200 Hz, 5 classes, 6 trials (sessions 1-6).",
             needs_path=True),
    Entry.of(load_emg_rps, "emg-rps",
             "Armband EMG, rock/paper/scissors/ok/rest (geomstats): 8 channels resampled to 244 Hz, "
             "subjects mg and rr, sessions s1 and s2.",
             needs_path=True),
    Entry.of(load_daphnet, "daphnet",
             "Daphnet freezing of gait (Bächlin et al. 2010): 3 tri-axial accelerometers at 64 Hz on people with "
             "Parkinson's disease, episodes of walking and freezing; the release folder or a TimeEval CSV file.",
             needs_path=True),
    Entry.of(load_files, "files",
             "Your own recordings: one file per trial under path, metadata in the path (pattern, e.g. "
             "'S{subject}/{session}/{label}_{repetition}.npy'), with fs and ch_names; numeric text, or .npy "
             "(channels × samples) memory-mapped and read lazily, for data larger than memory.",
             needs_path=True),
    Entry.of(load_breast_cancer, "breast-cancer",
             "Wisconsin diagnostic breast cancer (scikit-learn): 569 patients, 30 cell-nucleus measurements, "
             "benign or malignant; tabular, one row per patient (use windows: whole, features {clinical: [MEAN]}).",
             needs_path=False),
])


def check_dataset(name: str, options: Mapping[str, Any]) -> Entry:
    """The entry of dataset ``name`` once its ``options`` (the loader's arguments, e.g. ``path``,
    ``subjects``) are checked; errors name the key ``dataset``."""
    if DATASETS.get(name, "dataset").metadata["needs_path"] and not options.get("path"):
        raise ConfigError(f"dataset.path: dataset {name!r} is read from a local folder; set dataset.path to it.")
    return DATASETS.check_parameters(name, options, "dataset")


def load_dataset(name: str, **params: Any) -> RecordingSet:
    """Load a named dataset; ``params`` are the loader's arguments (e.g. ``path``, ``subjects``)."""
    return check_dataset(name, params).obj(**params)


__all__ = ["DATASETS", "check_dataset", "load_dataset"]
