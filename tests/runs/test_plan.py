"""The plan's checks of the data once it is read, before any work is done on it: windows that no
trial holds, sessions the files do not have, folds cut to the repetitions and a selection that
keeps every column are errors or notes of the run."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import bmelearn.runs.experiment as experiment
from bmelearn.errors import ConfigError, DataError
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run
from bmelearn.runs.plan import make_plan

PATTERN = "S{subject}/{session}/{label}_{repetition}.csv"


def _files(folder, sessions=("day1", "day2"), repetitions=2, seconds=1.0, fs=100.0):
    """Two subjects of two-channel recordings as text files: class ``b`` has twice the amplitude of ``a``."""
    rng = np.random.default_rng(0)
    for subject in (1, 2):
        for session in sessions:
            for label, gain in (("a", 1.0), ("b", 2.0)):
                for rep in range(repetitions):
                    path = folder / f"S{subject}" / session / f"{label}_{rep}.csv"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    np.savetxt(path, gain * rng.standard_normal((int(seconds * fs), 2)), delimiter=",")
    return [f"dataset={{name: files, path: {folder}, pattern: '{PATTERN}', fs: 100, ch_names: [A, B]}}",
            "preprocessing=[]", "features={emg: [MAV]}", "models=[lda]", "execution={backend: sequential, cache: false}",
            "evaluation.n_boot=20"]


def test_a_window_longer_than_every_trial_is_refused_right_after_loading(tmp_path, monkeypatch):
    def featurize(*args, **kwargs):
        raise AssertionError("features computed before the window was checked")

    monkeypatch.setattr(experiment, "featurize", featurize)
    config = load_config(None, [*_files(tmp_path / "data"), "windows={length: 2.0, step: 0.5}"])
    with pytest.raises(ConfigError, match=r"windows.length: 2 s is longer than every trial of 'files' \(the longest is "
                                          r"1.000 s\); use a shorter window"):
        run(config, tmp_path / "out")


def test_a_session_without_files_names_the_folder_and_the_pattern(tmp_path):
    data = tmp_path / "data"
    settings = [*_files(data, sessions=("test",)), "protocols=[{cross_session: {train: [train], test: [test]}}]"]
    with pytest.raises(DataError, match=rf"^{data}: no file of session\(s\) \['train'\] matches the pattern "
                                        rf"'{PATTERN}' \(sessions found: \['test'\]\)"):
        make_plan(load_config(None, settings)).data.load()


def test_folds_cut_to_the_repetitions_and_a_selection_of_every_column_are_noted_in_the_run(tmp_path):
    settings = [*_files(tmp_path / "data"), "protocols=[{within_session: {n_splits: 3}}]",
                "features={emg: [MAV, RMS], selection: {method: anova, n_features: 1000}}"]
    with pytest.warns(UserWarning, match=r"protocols.within_session: n_splits=3, but a session holds only 2 repetition"):
        make_plan(load_config(None, settings)).data.load()
    notes = json.loads((run(load_config(None, settings), tmp_path / "out").folder / "run.json").read_text())["notes"]
    assert any("protocols.within_session: n_splits=3, but a session holds only 2 repetition(s)" in n for n in notes)
    assert any("features.selection.n_features=1000 is not fewer than the 4 feature columns: anova keeps them all" in n
               for n in notes)


SMALL_SIM = ["dataset.n_subjects=2", "dataset.n_repetitions=1", "dataset.duration=1.0", "models=[lda]",
             "protocols=[cross_session]"]


def test_channels_the_experiment_leaves_out_are_excluded_with_the_flat_ones():
    plan = make_plan(load_config(None, [*SMALL_SIM, "bads={emg: [EMG2, EMG5]}"]))
    raw = plan.data.load()
    signal = plan.signal.fit(raw, {"emg": ["EMG7"]})  # EMG7 found flat
    assert tuple(signal.bads["emg"]) == ("EMG2", "EMG5", "EMG7")
    assert signal.channels("emg") == ("EMG1", "EMG3", "EMG4", "EMG6", "EMG8")
    assert signal.describe()["signals"]["emg"]["excluded"] == ["EMG2", "EMG5", "EMG7"]


@pytest.mark.parametrize("bads, message", [
    ("{emg: [EMG9]}", "bads.emg: EMG9 not among the channels of the data (EMG1, EMG2"),
    ("{eeg: [Fz]}", "bads.eeg: Fz not among the channels of the data (no eeg signal)"),
])
def test_channels_to_leave_out_must_be_in_the_data(bads, message):
    plan = make_plan(load_config(None, [*SMALL_SIM, f"bads={bads}"]))
    with pytest.raises(DataError, match=re.escape(message)):
        plan.signal.fit(plan.data.load(), {})


def test_a_second_run_reads_the_parsed_text_files_from_the_cache(tmp_path, monkeypatch):
    import bmelearn.io.text as text

    _files(tmp_path / "data")
    config = load_config(None, [f"dataset={{name: files, path: {tmp_path / 'data'}, pattern: '{PATTERN}', fs: 100, "
                                "ch_names: [a, b]}", "preprocessing=[]", "windows.length=0.2", "features=[MAV]", "models=[lda]",
                                "protocols=[cross_session]", f"execution.cache={tmp_path / 'cache'}"])
    plan = make_plan(config)
    folder = plan.cache_folder(tmp_path / "run", "recordings")
    assert folder == tmp_path / "cache" / "recordings" and plan.cache_folder(tmp_path / "run", "features").name == "features"
    first = plan.data.load(folder)
    parsed = []
    real = text.parse_bytes
    monkeypatch.setattr(text, "parse_bytes", lambda *a: parsed.append(a[1]) or real(*a))
    second = plan.data.load(folder)
    assert parsed == []  # nothing parsed again
    assert all(np.array_equal(a.data, b.data) for a, b in zip(first, second, strict=True))
    (pack,) = folder.iterdir()  # the files parsed together, kept together
    with np.load(pack) as archive:
        assert len(archive["keys"]) == len(first)  # one entry per file
