"""MATLAB files, written here with the formats' own writers (SciPy for version 5, h5py for the
HDF5 of version 7.3), read back as continuous recordings in NinaPro's layout (``emg``, one
``restimulus`` label per sample, 0 between movements): the trials of the per-trial files,
exactly. Simulated recordings always; 3DC participant 1 when ../shared/data is present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import io as sio

from bmelearn.datasets import load_dataset
from bmelearn.errors import DataError
from bmelearn.io import isolated as isolated_module
from bmelearn.io.mat import events_from_labels
from bmelearn.signals.recording import RecordingSet

#: The MATLAB 7.3 header, in the HDF5 file's 512-byte user block.
MAT73_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Nov 30 09:00:00 2026 HDF5 schema 1.00 ."


def _session(trials, gap: int = 50) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The trials one after the other (samples × channels), ``gap`` samples of zeros after each,
    the label number (1-based class index) of each sample, 0 in the gaps."""
    classes = sorted({r.meta["label"] for r in trials})
    parts, labels = [], []
    for rec in trials:
        parts += [rec.data.T, np.zeros((gap, rec.n_channels))]
        labels += [np.full(rec.n_samples, classes.index(rec.meta["label"]) + 1), np.zeros(gap)]
    return np.concatenate(parts), np.concatenate(labels), classes


def _write_mat(path: Path, emg: np.ndarray, labels: np.ndarray, version: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if version == "5":
        sio.savemat(path, {"emg": emg, "restimulus": labels[:, None].astype(np.uint8), "subject": 1})
        return
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w", userblock_size=512) as file:
        file["emg"] = emg.T  # MATLAB's column-major arrays appear transposed in HDF5
        file["restimulus"] = labels[None, :].astype(np.uint8)
    with open(path, "r+b") as file:
        file.write(MAT73_HEADER.ljust(116) + b"\x00" * 8 + b"\x00\x02IM")


def write_sessions(recordings: RecordingSet, root: Path, version: str) -> list[str]:
    """Each subject's session as ``S{subject}/{session}.mat``, its trials in order of repetition
    and class; returns the class names by label number (1-based)."""
    sessions: dict[tuple, list] = {}
    for rec in recordings:
        if rec.modality == "emg":
            sessions.setdefault((rec.meta["subject"], rec.meta["session"]), []).append(rec)
    for (subject, session), trials in sessions.items():
        emg, labels, classes = _session(sorted(trials, key=lambda r: (r.meta["repetition"], r.meta["label"])))
        _write_mat(root / f"S{subject}" / f"{session}.mat", emg, labels, version)
    return classes


def _by_trial(recordings) -> dict[tuple, np.ndarray]:
    return {(str(r.meta["subject"]), str(r.meta["session"]), r.meta["label"], int(r.meta["repetition"])): r.data
            for r in recordings if r.modality == "emg"}


@pytest.mark.parametrize("version", ["5", "7.3"])
def test_a_ninapro_layout_file_gives_the_trials_exactly(simulated, tmp_path, version):
    classes = write_sessions(simulated, tmp_path, version)
    first = next(r for r in simulated if r.modality == "emg")
    back = load_dataset("files", path=str(tmp_path), pattern="S{subject}/{session}.mat", events="labels", variables="ninapro",
                        fs=first.fs, ch_names=list(first.ch_names), classes={i + 1: c for i, c in enumerate(classes)})
    expected, got = _by_trial(simulated), _by_trial(back)
    assert got.keys() == expected.keys()
    assert all(np.array_equal(got[key], data) for key, data in expected.items())
    assert isolated_module._reader is None  # the reading process stopped once the files were read
    with_rest = load_dataset("files", path=str(tmp_path), pattern="S{subject}/{session}.mat", events="labels",
                             variables={"signal": "emg", "labels": "restimulus"}, fs=first.fs, ch_names=list(first.ch_names),
                             classes={i + 1: c for i, c in enumerate(classes)}, rest="between")
    assert {r.n_samples for r in with_rest if r.meta["label"] == "between"} == {50}


def test_an_hdf5_file_is_read_by_dataset_paths(simulated, tmp_path):
    """An HDF5 file that is no MATLAB file: its arrays as written (samples × channels), the
    variables named by dataset path; a missing path names every dataset the file holds."""
    h5py = pytest.importorskip("h5py")
    first = next(r for r in simulated if r.modality == "emg")
    trials = [r for r in simulated if r.modality == "emg" and r.meta["subject"] == 1 and r.meta["session"] == "session1"]
    emg, labels, classes = _session(trials)
    (tmp_path / "S1").mkdir()
    with h5py.File(tmp_path / "S1" / "session1.h5", "w") as file:
        file["recording/emg"] = emg
        file["recording/gesture"] = labels.astype(np.int16)
    back = load_dataset("files", path=str(tmp_path), pattern="S{subject}/{session}.h5", events="labels", fs=first.fs,
                        ch_names=list(first.ch_names), classes={i + 1: c for i, c in enumerate(classes)},
                        variables={"signal": "recording/emg", "labels": "recording/gesture"})
    expected = {k: v for k, v in _by_trial(simulated).items() if k[:2] == ("1", "session1")}
    got = _by_trial(back)
    assert got.keys() == expected.keys() and all(np.array_equal(got[k], v) for k, v in expected.items())
    with pytest.raises(DataError, match=r"session1\.h5: no variable \['emg', 'restimulus'\]; the file holds "
                                        r"\['recording/emg', 'recording/gesture'\]"):
        load_dataset("files", path=str(tmp_path), pattern="S{subject}/{session}.h5", events="labels", fs=first.fs,
                     ch_names=list(first.ch_names))


def test_a_per_sample_label_becomes_one_event_per_run():
    labels = np.array([0, 0, 3, 3, 3, 0, 1, 1, 2, 0], dtype=float)
    events = events_from_labels(labels, 10.0)
    assert events.to_dict("list") == {"onset": [0.2, 0.6, 0.8], "duration": [0.3, 0.2, 0.1], "label": ["3", "1", "2"]}


def test_bad_mat_files_and_options_name_the_file_and_the_fix(simulated, tmp_path):
    first = next(r for r in simulated if r.modality == "emg")
    common = {"path": str(tmp_path), "pattern": "S{subject}/{session}.mat", "fs": first.fs, "ch_names": list(first.ch_names)}
    (tmp_path / "S1").mkdir()
    sio.savemat(tmp_path / "S1" / "day1.mat", {"EMG": np.zeros((100, 8)), "stimulus": np.zeros((100, 1))})
    with pytest.raises(DataError, match=r"day1\.mat: no variable \['emg', 'restimulus'\]; the file holds \['EMG', "
                                        r"'stimulus'\]\. Set the variable names"):
        load_dataset("files", **common, events="labels")
    sio.savemat(tmp_path / "S1" / "day1.mat", {"emg": np.zeros((100, 6)), "restimulus": np.zeros((100, 1))})
    with pytest.raises(DataError, match=r"day1\.mat: the variable 'emg' has shape \(100, 6\); expected samples × 8"):
        load_dataset("files", **common, events="labels")
    sio.savemat(tmp_path / "S1" / "day1.mat", {"emg": np.zeros((100, 8)), "restimulus": np.zeros((99, 1))})
    with pytest.raises(DataError, match=r"day1\.mat: the variable 'restimulus' holds 99 labels for 100 samples"):
        load_dataset("files", **common, events="labels")
    # damaged headers: a data type that does not exist; a flipped bit in the flags of the first
    # variable, on which SciPy's reader crashes its process (read in a process of its own)
    labels = np.zeros((100, 1))
    labels[10:60] = 1
    sio.savemat(tmp_path / "S1" / "day1.mat", {"emg": np.ones((100, 8)), "restimulus": labels})
    good = (tmp_path / "S1" / "day1.mat").read_bytes()
    for offset, value, message in ((176, 207, r"a damaged MATLAB file \(an element of type 207"),
                                   (145, 221, r"a damaged MATLAB file: its reader stopped on it")):
        damaged = bytearray(good)
        damaged[offset] = value
        (tmp_path / "S1" / "day1.mat").write_bytes(bytes(damaged))
        with pytest.raises(DataError, match=rf"day1\.mat: {message}.*\. Save it again from MATLAB"):
            load_dataset("files", **common, events="labels")
    (tmp_path / "S1" / "day1.mat").write_bytes(good)
    again = load_dataset("files", **common, events="labels", classes={1: "fist"})  # a new reading process
    assert [(r.meta["label"], r.n_samples) for r in again] == [("fist", 50)]
    (tmp_path / "S1" / "day1.mat").write_bytes(b"not a MATLAB file at all" * 10)
    with pytest.raises(DataError, match=r"day1\.mat: not a readable MATLAB file"):
        load_dataset("files", **common, events="labels")
    with pytest.raises(DataError, match=r"dataset\.variables: .ninapr0. is not a known layout; choose from \['ninapro'\]"):
        load_dataset("files", **common, events="labels", variables="ninapr0")
    with pytest.raises(DataError, match=r"dataset\.events: labels takes each sample's class from a variable"):
        load_dataset("files", **common, events="labels", variables={"signal": "emg"})


def test_3dc_participant_1_as_mat_files_gives_its_samples_and_accuracy(shared_data, tmp_path):
    """The issue's round trip: 3DC participant 1's text files as one .mat file per session, of
    version 5 and of version 7.3, read back to the same samples and the same cross-session accuracy."""
    from tests.io.test_edf import cross_session_accuracy

    text = load_dataset("3dc", path=str(shared_data / "3dc"), subjects=[1])
    expected = _by_trial(text)
    accuracy = cross_session_accuracy(f"{{name: 3dc, subjects: [1], path: {shared_data / '3dc'}}}", tmp_path / "text")
    for version in ("5", "7.3"):
        classes = write_sessions(text, tmp_path / version, version)
        back = load_dataset("files", path=str(tmp_path / version), pattern="S{subject}/{session}.mat", events="labels",
                            fs=1000.0, ch_names=[f"EMG{i}" for i in range(1, 11)],
                            classes={i + 1: c for i, c in enumerate(classes)})
        got = _by_trial(back)
        assert got.keys() == expected.keys(), version
        assert all(np.array_equal(got[key], data) for key, data in expected.items()), version
        dataset = (f"{{name: files, path: {tmp_path / version}, pattern: 'S{{subject}}/{{session}}.mat', events: labels, "
                   f"fs: 1000.0, ch_names: [{', '.join(f'EMG{i}' for i in range(1, 11))}], "
                   f"classes: {{{', '.join(f'{i + 1}: {c}' for i, c in enumerate(classes))}}}}}")
        assert abs(cross_session_accuracy(dataset, tmp_path / "runs" / version) - accuracy) <= 0.001, version


def test_one_mat_or_hdf5_file_per_trial_is_read_by_pattern(simulated, tmp_path):
    """The pattern reader takes MATLAB (v5) and HDF5 files of one trial each, their signal
    variable named by dataset.variables, to the same samples."""
    h5py = pytest.importorskip("h5py")
    from scipy import io as sio

    from tests.io.test_edf import _by_trial

    for rec in simulated:
        if rec.modality == "emg":
            meta = rec.meta
            folder = tmp_path / f"S{meta['subject']}" / str(meta["session"])
            folder.mkdir(parents=True, exist_ok=True)
            sio.savemat(folder / f"{meta['label']}_{meta['repetition']}.mat", {"data": rec.data.T})
            with h5py.File(folder / f"{meta['label']}_{meta['repetition']}.h5", "w") as file:
                file["trial/emg"] = rec.data
    first = next(r for r in simulated if r.modality == "emg")
    expected = _by_trial(simulated)
    for suffix, signal in ((".mat", "data"), (".h5", "trial/emg")):
        back = load_dataset("files", path=str(tmp_path), pattern=f"S{{subject}}/{{session}}/{{label}}_{{repetition}}{suffix}",
                            fs=first.fs, ch_names=list(first.ch_names), classes=list(simulated.classes),
                            variables={"signal": signal})
        got = _by_trial(back)
        assert got.keys() == expected.keys(), suffix
        assert all(np.array_equal(got[key], data) for key, data in expected.items()), suffix
