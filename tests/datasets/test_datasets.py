"""The named datasets: what their options tell before any file is read (the description an
experiment is checked against), and errors that name the file, the folder or the key."""

from __future__ import annotations

import numpy as np
import pytest

import bmelearn.datasets.rps as rps
from bmelearn.datasets import check_dataset, load_dataset
from bmelearn.datasets.simulator import simulate
from bmelearn.errors import ConfigError, DataError
from bmelearn.runs.config import load_config

SMALL = {"n_subjects": 2, "n_sessions": 3, "n_repetitions": 2, "duration": 1.0, "fs": 500.0, "acc_fs": 25.0}


def test_the_simulators_description_is_what_it_simulates():
    described = check_dataset("simulator", SMALL)
    data = simulate(**SMALL)
    assert dict(described.rates) == {r.modality: r.fs for r in data.first_of_each().values()}
    assert described.sessions == data.sessions and described.subjects == data.subjects
    assert list(described.classes) == data.classes and described.duration == 1.0
    assert described.repetitions == data.meta.groupby(["subject", "session", "label"])["repetition"].nunique().max()


def test_a_described_dataset_names_its_rates_sessions_and_classes(tmp_path):
    threedc = check_dataset("3dc", {"path": str(tmp_path), "modalities": ["emg", "imu"]})
    assert dict(threedc.rates) == {"emg": 1000.0, "imu": 50.0} and threedc.sessions == ["train", "test"]
    assert check_dataset("emg-rps", {"path": str(tmp_path)}).subjects == ["mg", "rr"]
    files = check_dataset("files", {"path": str(tmp_path), "pattern": "{session}/{label}.npy", "fs": 2000.0,
                                    "ch_names": ["A"], "modality": "imu", "classes": {1: "open", 2: "close"}})
    assert dict(files.rates) == {"imu": 2000.0} and files.classes == ["open", "close"] and files.sessions is None


def test_a_files_pattern_must_be_relative_to_the_dataset_folder(tmp_path):
    options = {"path": str(tmp_path), "pattern": "/etc/{label}", "fs": 1000.0, "ch_names": ["A"]}
    with pytest.raises(DataError, match=r"dataset.pattern: '/etc/\{label\}' is not a path inside dataset.path"):
        check_dataset("files", options)
    with pytest.raises(ConfigError, match=r"dataset.pattern: '/etc/\{label\}' is not a path inside dataset.path"):
        load_config(None, [f"dataset={{name: files, path: {tmp_path}, pattern: '/etc/{{label}}', fs: 1000, "
                           "ch_names: [A]}", "features=[MAV]", "preprocessing=[]"])


def test_the_files_rate_must_be_a_positive_number(tmp_path):
    for fs, problem in (("abc", "input should be a valid number"), ("0", "input should be greater than 0")):
        with pytest.raises(ConfigError, match=rf"dataset.fs: .* is not valid \({problem}\); expected finite number > 0"):
            load_config(None, [f"dataset={{name: files, path: {tmp_path}, pattern: '{{label}}.csv', fs: {fs}, "
                               "ch_names: [A]}", "features=[MAV]", "preprocessing=[]"])


def test_a_data_file_that_cannot_be_read_is_named(tmp_path, monkeypatch):
    file = tmp_path / "emg.csv.gz"
    file.write_bytes(b"")

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(rps.pd, "read_csv", denied)
    with pytest.raises(DataError, match=rf"^{file}: cannot be read \(Permission denied\)\.$"):
        load_dataset("emg-rps", path=str(file))


def test_a_3dc_session_without_files_names_the_folder_and_the_pattern(tmp_path):
    emg = tmp_path / "Participant1" / "test" / "EMG"
    emg.mkdir(parents=True)
    for label in (0, 1):
        np.savetxt(emg / f"3dc_EMG_gesture_0_{label}.txt", np.zeros((50, 10)))
    with pytest.raises(DataError, match=rf"^{tmp_path}: no file of session\(s\) \['train'\] matches the pattern "
                                        r"'Participant\{subject\}/\{session\}/EMG/3dc_EMG_gesture_\{repetition\}_\{label\}"
                                        r"\.txt' \(sessions found: \['test'\]\)"):
        load_dataset("3dc", path=str(tmp_path))
    assert load_dataset("3dc", path=str(tmp_path), sessions=["test"]).sessions == ["test"]
