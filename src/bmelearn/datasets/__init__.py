"""Named datasets: the built-in simulator and loaders for public datasets (by local path)."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bmelearn.datasets import bids, daphnet, files, myo, myodisco, rps, simulator, tabular, threedc
from bmelearn.datasets.description import Description
from bmelearn.errors import ConfigError, DataError
from bmelearn.io.text import recordings_cache
from bmelearn.registry import Entry, Registry
from bmelearn.signals.recording import RecordingSet

#: The named datasets: ``obj`` loads one, its parameters are the options of ``dataset:`` in an
#: experiment file, ``needs_path`` says whether it is read from a local folder, ``simulated``
#: whether it is simulated rather than recorded from people, ``source``
#: where a public one comes from (what ``path`` is, and what to cite) and
#: ``describe(**arguments)`` gives its :class:`Description` from all the loader's arguments,
#: checked, before anything is read.
DATASETS: Registry[Entry] = Registry("dataset", [
    Entry.of(simulator.simulate, "simulator",
             "Built-in simulated armband: 8 EMG channels at 1000 Hz + 3-axis accelerometer at 50 Hz, "
             "hand gestures, several subjects and sessions; offline and deterministic from a seed.",
             needs_path=False, describe=simulator.describe, simulated=True,
             source="Simulated in bmelearn (datasets/simulator.py); nothing to download."),
    Entry.of(threedc.load_3dc, "3dc",
             "3DC armband (Côté-Allard et al. 2019): 10 EMG channels at 1000 Hz + IMU quaternion, "
             "11 hand/wrist gestures, sessions train/test of 4 repetitions.",
             needs_path=True, describe=threedc.describe,
             source="The public 3DCDataset repository of the LibEMG project (22 participants). path: the folder "
                    "holding Participant1, Participant2, ... (ParticipantN/{train,test}/EMG/3dc_EMG_gesture_{rep}_"
                    "{class}.txt). Cite Côté-Allard et al., IEEE TNSRE 27(4):760-771, 2019 and Frontiers in "
                    "Bioengineering and Biotechnology 8:158, 2020."),
    Entry.of(myo.load_one_subject_myo, "one-subject-myo",
             "Myo armband, one subject (LibEMG): 8 EMG channels at 200 Hz, 5 classes, 6 trials (sessions 1-6).",
             needs_path=True, describe=myo.describe,
             source="The OneSubjectMyoDataset repository of the LibEMG project (MIT licence). path: the folder "
                    "holding trial_1 ... trial_6 (R_{rep}_C_{class}.csv and metadata.json in each). Cite Eddy et "
                    "al., LibEMG: an open source library to facilitate the exploration of myoelectric control, "
                    "IEEE Access 11, 2023."),
    Entry.of(myodisco.load_myodisco, "myodisco",
             "MyoDisCo (LibEMG): Myo armband, 8 EMG channels at 200 Hz, 7 gestures (10 with all_classes), sessions "
             "day1 and day2 (the armband put on again) and position1-4 (other limb positions on day 2); each "
             "repetition cut to its active part as LibEMG's loader does (crop: false keeps it whole).",
             needs_path=True, describe=myodisco.describe,
             source="The public MyoDisCo repository of the LibEMG project. path: the folder holding S1, S2, ... "
                    "(S{n}/day1, S{n}/day2, S{n}/positions/1..4, files R_{rep}_C_{class}_EMG.csv). Cite J. Neural "
                    "Eng. 21, 2024, doi 10.1088/1741-2552/ad4915."),
    Entry.of(rps.load_emg_rps, "emg-rps",
             "Armband EMG, rock/paper/scissors/ok/rest (geomstats): 8 channels resampled to 244 Hz, "
             "subjects mg and rr, sessions s1 and s2.",
             needs_path=True, describe=lambda **_: rps.DESCRIPTION,
             source="The EMG data set shipped inside the geomstats Python package (MIT licence), file emg.csv.gz "
                    "(columns time, c0..c7, label, exp). path: the folder holding emg.csv.gz. Cite Miolane et al., "
                    "Geomstats, JMLR 21(223), 2020."),
    Entry.of(daphnet.load_daphnet, "daphnet",
             "Daphnet freezing of gait (Bächlin et al. 2010): 3 tri-axial accelerometers at 64 Hz on people with "
             "Parkinson's disease, episodes of walking and freezing; the release folder or a TimeEval CSV file.",
             needs_path=True, describe=lambda **_: daphnet.DESCRIPTION,
             source="The Daphnet Freezing of Gait data set of the UCI Machine Learning Repository (CC BY 4.0). "
                    "path: its dataset_fog_release/dataset folder (S01R01.txt ...), or a TimeEval CSV file such "
                    "as the S06R02E0.csv excerpt that aeon ships. Cite Bächlin et al., IEEE Trans. Inf. Technol. "
                    "Biomed. 14(2):436-446, 2010."),
    Entry.of(files.load_files, "files",
             "Your own recordings: one file per trial under path, metadata in the path (pattern, e.g. "
             "'S{subject}/{session}/{label}_{repetition}.npy'), with fs and ch_names (not needed for EDF/BDF, C3D, "
             "XDF, WFDB or TRC files, which name their signals); numeric text, such files, or "
             ".npy (channels × samples) memory-mapped and read lazily, for data larger than memory; or one "
             "continuous recording per file (also MATLAB .mat or HDF5, NinaPro's layout by default) cut into trials by its "
             "events (events: annotations, labels or sidecar).",
             needs_path=True, describe=files.describe,
             source="Your lab's own export. path: the folder of the files; pattern, fs and ch_names describe them."),
    Entry.of(bids.load_bids, "bids",
             "A BIDS folder of EMG recordings (BEP 042): sub-*/[ses-*/]emg/*_emg.edf or .bdf with their channels "
             "and events tables; each recording cut into trials by its events (trial_type), channels typed and "
             "marked bad by the channels table.",
             needs_path=True, describe=bids.describe,
             source="Your lab's BIDS export. path: the dataset's root folder (holding sub-*)."),
    Entry.of(tabular.load_breast_cancer, "breast-cancer",
             "Wisconsin diagnostic breast cancer (scikit-learn): 569 patients, 30 cell-nucleus measurements, "
             "benign or malignant; tabular, one row per patient (use windows: whole, features {clinical: [MEAN]}).",
             needs_path=False, describe=lambda **_: tabular.BREAST_CANCER,
             source="Shipped with scikit-learn (sklearn.datasets.load_breast_cancer); nothing to download. "
                    "Cite Street, Wolberg and Mangasarian, Proc. SPIE 1905:861-870, 1993."),
    Entry.of(tabular.load_table, "table",
             "Your own table: a CSV file of one row per patient, a header line naming its columns; label names the "
             "class column, id the patient's (default: the row number), columns the variables (default: every other "
             "numeric column) (use windows: whole, features {clinical: [MEAN]}).",
             needs_path=True, describe=tabular.describe_table,
             source="Your own CSV table. path: the file; label, id and columns name its columns."),
])


def check_dataset(name: str, options: Mapping[str, Any]) -> Description:
    """What dataset ``name`` holds, as far as its ``options`` (the loader's arguments, e.g. ``path``,
    ``subjects``) tell before it is read, once they are checked; errors name the key (``dataset.KEY``)."""
    entry = DATASETS.get(name, "dataset")
    if entry.metadata["needs_path"] and not options.get("path"):
        raise ConfigError(f"dataset.path: dataset {name!r} is read from a local folder; set dataset.path to it.")
    DATASETS.check_parameters(name, options, "dataset", at="dataset")
    arguments = inspect.signature(entry.obj).bind(**options)
    arguments.apply_defaults()
    return entry.metadata["describe"](**arguments.arguments)


def load_dataset(name: str, *, cache: str | Path | None = None, **params: Any) -> RecordingSet:
    """Load a named dataset; ``params`` are the loader's arguments (e.g. ``path``, ``subjects``). A
    file that exists but cannot be read (permissions, a device error) is a DataError naming it.
    ``cache``: a folder that keeps the numeric text files parsed, so that the next load reads
    them as binary arrays (:func:`bmelearn.io.text.recordings_cache`); None: that of an enclosing
    ``recordings_cache`` block, if any."""
    check_dataset(name, params)
    try:
        with recordings_cache(cache) if cache is not None else contextlib.nullcontext():
            return DATASETS[name].obj(**params)
    except OSError as exc:
        raise DataError(f"{exc.filename or params.get('path')}: cannot be read ({exc.strerror or exc}).") from None


__all__ = ["DATASETS", "Description", "check_dataset", "load_dataset"]
