"""The readers on the real recordings (through ``shared_data``) and on small synthetic files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bmelearn.datasets.threedc import CLASSES as THREEDC_CLASSES
from bmelearn.errors import DataError
from bmelearn.io import match_files, read, read_file, read_long_csv, read_matrix, read_pattern, recordings_from_table
from bmelearn.io.columns import Columns

THREEDC_PATTERN = "Participant{subject}/{session}/EMG/3dc_EMG_gesture_{rep}_{label}.txt"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------
# 3DC: folders of per-trial text files


def test_match_files_3dc_pattern(shared_data):
    found = match_files(shared_data / "3dc", THREEDC_PATTERN)
    fields = [f for _, f in found]
    per_subject = pd.Series([f["subject"] for f in fields]).value_counts().to_dict()
    assert per_subject == {1: 88, 2: 88, 3: 88, 4: 88}
    for path, f in found:
        assert set(f) == {"subject", "session", "repetition", "label"}  # {rep} is read as repetition
        assert all(isinstance(f[k], int) for k in ("subject", "repetition", "label"))
        assert f["session"] in ("train", "test")
        assert path.name == f"3dc_EMG_gesture_{f['repetition']}_{f['label']}.txt"
        assert path.parent.parent.name == f["session"]
    # natural order: numbers compare as numbers (label 2 before 10), sessions by name
    keys = [(f["subject"], f["session"], f["repetition"], f["label"]) for f in fields]
    assert keys == sorted(keys)
    first = [f["label"] for f in fields[:11]]
    assert first == list(range(11))


def test_read_pattern_3dc_one_session(shared_data):
    recordings = read_pattern(
        shared_data / "3dc",
        THREEDC_PATTERN,
        fs=1000.0,
        read=lambda p: read_matrix(p)[0],
        ch_names=[f"EMG{i + 1}" for i in range(10)],
        ch_type="emg",
        modality="emg",
        classes=THREEDC_CLASSES,
        keep=lambda m: m["subject"] == 2 and m["session"] == "test" and m["repetition"] == 1,
    )
    assert len(recordings) == 11
    assert [r.meta["label"] for r in recordings] == THREEDC_CLASSES
    assert {r.meta["session"] for r in recordings} == {"test"}
    assert all(r.n_channels == 10 and r.fs == 1000.0 for r in recordings)


def test_load_3dc_subject1(shared_data, threedc_subject1):
    rs = threedc_subject1
    trials = rs.trials()
    assert len(trials) == 88
    assert all(set(t) == {"emg", "imu"} for t in trials.values())
    assert rs.classes == THREEDC_CLASSES
    assert rs.sessions == ["train", "test"]
    assert rs.subjects == [1]
    meta = rs.meta
    assert (meta.groupby(["session", "modality"]).size() == 44).all()
    # train recordings all come before test recordings
    sessions = list(meta["session"])
    assert sessions == sorted(sessions, key=["train", "test"].index)
    # each (session, repetition, label) once per modality
    assert not meta.duplicated(["session", "repetition", "label", "modality"]).any()
    assert sorted(meta["repetition"].unique()) == [0, 1, 2, 3]

    emg = rs.select(modalities="emg")
    assert all(r.n_channels == 10 and r.fs == 1000.0 and r.ch_types == ("emg",) * 10 for r in emg)
    imu = rs.select(modalities="imu")
    for r in imu:
        assert r.fs == 50.0 and r.n_channels == 4 and r.ch_types == ("quat",) * 4
        assert np.isfinite(r.data).all()
        np.testing.assert_allclose(np.linalg.norm(r.data, axis=0), 1.0, atol=1e-9)
    for trial, pair in trials.items():
        assert abs(pair["imu"].duration - pair["emg"].duration) <= 1 / 50, trial


def test_load_3dc_samples_equal_the_text_file(shared_data, threedc_subject1):
    path = shared_data / "3dc" / "Participant1" / "train" / "EMG" / "3dc_EMG_gesture_1_5.txt"
    (recording,) = [r for r in threedc_subject1 if r.modality == "emg" and Path(r.meta["source"]) == path]
    assert recording.meta["session"] == "train"
    assert recording.meta["repetition"] == 1
    assert recording.meta["label"] == "supination"
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    first = [float(v) for v in lines[0].split(",")]
    last = [float(v) for v in lines[-1].split(",")]
    assert len(first) == 10
    assert recording.n_samples == len(lines)
    np.testing.assert_array_equal(recording.data[:, 0], first)
    np.testing.assert_array_equal(recording.data[:, -1], last)


# ---------------------------------------------------------------------------------------
# one-subject Myo dataset


def test_load_one_subject_myo(shared_data):
    from bmelearn.datasets.myo import load_one_subject_myo

    rs = load_one_subject_myo(shared_data / "one-subject-myo")
    assert len(rs) == 60
    assert rs.classes == ["hand close", "hand open", "no motion", "wrist extension", "wrist flexion"]
    assert rs.sessions == [1, 2, 3, 4, 5, 6]
    assert rs.subjects == [1]
    assert all(r.n_channels == 8 and r.fs == 200.0 for r in rs)
    meta = rs.meta
    counts = meta.groupby(["session", "label"]).size()
    assert len(counts) == 30 and (counts == 2).all()
    reps = meta.groupby(["session", "label"])["repetition"].apply(lambda s: sorted(s))
    assert all(r == [0, 1] for r in reps)
    # the first sample of one file is its first line
    path = shared_data / "one-subject-myo" / "trial_3" / "R_1_C_2.csv"
    (recording,) = [r for r in rs if Path(r.meta["source"]) == path]
    assert recording.meta["label"] == "no motion" and recording.meta["session"] == 3
    first = [float(v) for v in path.read_text().splitlines()[0].split(",")]
    np.testing.assert_array_equal(recording.data[:, 0], first)


# ---------------------------------------------------------------------------------------
# EMG rock-paper-scissors: one long irregularly-timed table


@pytest.fixture(scope="module")
def rps(shared_data):
    from bmelearn.datasets.rps import load_emg_rps

    return load_emg_rps(shared_data / "emg-rps")


def test_load_emg_rps(rps):
    assert rps.subjects == ["mg", "rr"]
    assert rps.sessions == ["s1", "s2"]
    assert rps.classes == ["rest", "rock", "paper", "scissors", "ok"]
    meta = rps.meta
    counts = meta.groupby(["subject", "session", "label"]).size()
    assert len(counts) == 2 * 2 * 5 and (counts == 6).all()
    assert (meta.groupby(["subject", "session", "label"])["repetition"].apply(sorted).map(tuple) == tuple(range(6))).all()
    assert set(meta["fs"]) == {244.0}
    assert all(r.n_channels == 8 and r.ch_names == tuple(f"c{i}" for i in range(8)) for r in rps)
    assert np.allclose(meta["duration"], 25.0, atol=0.25)
    # 8-bit values centred on 128 survive the resampling
    data = np.hstack([r.data for r in rps.recordings[:10]])
    assert data.min() >= 0 and data.max() <= 255 and abs(np.median(data) - 128) < 5


def irregular_table(seed: int = 0, n: int = 1500, f: float = 3.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Samples of sin(2π f t) and a ramp at jittered times (ms), with two pairs of rows swapped."""
    rng = np.random.default_rng(seed)
    t = 1000.0 + np.cumsum(rng.uniform(2.5, 5.5, size=n))  # ms, ~250 Hz on average, not starting at 0
    table = pd.DataFrame({"time": t, "sine": np.sin(2 * np.pi * f * t / 1000), "ramp": 2.0 * t / 1000 + 1.0, "label": "rock"})
    order = np.arange(n)
    for i in (100, 900):  # out-of-order timestamps: a row written after its successor
        order[[i, i + 1]] = order[[i + 1, i]]
    return table.iloc[order].reset_index(drop=True), t


def test_resampling_recovers_a_sine_on_a_uniform_grid():
    table, t = irregular_table()
    (recording,) = recordings_from_table(
        table, channels=["sine", "ramp"], subject=None, session=None, time="time", time_unit="ms", fs=200.0
    )
    assert recording.fs == 200.0
    grid = t[0] / 1000 + recording.times  # the grid starts at the first (earliest) sample
    assert grid[-1] <= t[-1] / 1000 < grid[-1] + 1 / 200
    np.testing.assert_allclose(recording.data[0], np.sin(2 * np.pi * 3.0 * grid), atol=3e-3)
    np.testing.assert_allclose(recording.data[1], 2.0 * grid + 1.0, rtol=0, atol=1e-9)  # linear: exact


def test_resampling_infers_the_rate_from_the_time_column():
    table, t = irregular_table(seed=1)
    (recording,) = recordings_from_table(table, channels=["sine"], subject=None, session=None, time="time", time_unit="ms")
    expected = round((len(t) - 1) / ((t[-1] - t[0]) / 1000))
    assert recording.fs == expected
    grid = t[0] / 1000 + recording.times
    np.testing.assert_allclose(recording.data[0], np.sin(2 * np.pi * 3.0 * grid), atol=3e-3)


def test_long_table_runs_become_trials_and_repetitions():
    labels = ["rest"] * 5 + ["fist"] * 4 + ["rest"] * 3 + ["fist"] * 6
    table = pd.DataFrame({"c0": np.arange(len(labels), dtype=float), "label": labels, "subject": "s", "session": "a"})
    recordings = recordings_from_table(table, channels=["c0"], fs=100.0)
    assert [(r.meta["label"], r.meta["repetition"], r.n_samples) for r in recordings] == [
        ("rest", 0, 5),
        ("fist", 0, 4),
        ("rest", 1, 3),
        ("fist", 1, 6),
    ]
    np.testing.assert_array_equal(recordings[2].data[0], [9.0, 10.0, 11.0])
    assert recordings[1].meta["source"] == "table rows 7-10"  # file lines, after a header


# ---------------------------------------------------------------------------------------
# single text files


def test_read_file_with_header(tmp_path):
    path = write(tmp_path, "with_header.csv", "flexor, extensor ,ref\n1,2,3\n4,5,6\n")
    recording = read_file(path, fs=500.0, meta={"label": "fist"})
    assert recording.ch_names == ("flexor", "extensor", "ref")
    np.testing.assert_array_equal(recording.data, [[1, 4], [2, 5], [3, 6]])
    assert recording.fs == 500.0 and recording.n_samples == 2
    assert recording.meta["source"] == str(path) and recording.meta["label"] == "fist"
    assert recording.meta["trial"] == "with_header"
    # given names are matched to the header's by name, not put in their place
    named = read_file(path, fs=500.0, ch_names=["ref", "flexor", "extensor"])
    assert named.ch_names == ("ref", "flexor", "extensor")
    np.testing.assert_array_equal(named.data, [[3, 6], [1, 4], [2, 5]])
    with pytest.raises(DataError, match=r"with_header.csv: the header \['flexor', 'extensor', 'ref'\] names none of the "
                                        r"channels \['a', 'b', 'c'\] that the dataset expects; rename the columns, or set "
                                        r"match_channels: position"):
        read_file(path, fs=500.0, ch_names=["a", "b", "c"])
    by_position = read_file(path, fs=500.0, ch_names=["a", "b", "c"], columns=Columns(match="position"))
    assert by_position.ch_names == ("a", "b", "c") and by_position.data[2, 1] == 6


def test_read_file_without_header(tmp_path):
    path = write(tmp_path, "plain.csv", "1,2,3\n4,5,6\n7,8,9\n")
    recording = read_file(path, fs=100.0, ch_type="acc", modality="imu")
    assert recording.ch_names == ("CH1", "CH2", "CH3")
    assert recording.ch_types == ("acc",) * 3 and recording.units == ("g",) * 3
    assert recording.modality == "imu"
    np.testing.assert_array_equal(recording.data[:, 0], [1, 2, 3])  # the first line is a sample, not a header
    assert recording.n_samples == 3


@pytest.mark.parametrize(
    "sep",
    [",", ";", "\t", " ", "   ", ", "],
    ids=["comma", "semicolon", "tab", "space", "spaces", "comma-space"],
)
@pytest.mark.parametrize("header", [False, True], ids=["no-header", "header"])
def test_delimiter_detection(tmp_path, sep, header):
    rows = [["-17", "2.5", "1e3"], ["4", "-0.25", "6"], ["7", ".5", "+9"]]
    lines = ([sep.join(["x", "y", "z"])] if header else []) + [sep.join(r) for r in rows]
    path = write(tmp_path, "delim.txt", "\n".join(lines) + "\n")
    data, names = read_matrix(path)
    np.testing.assert_array_equal(data, [[-17, 2.5, 1000], [4, -0.25, 6], [7, 0.5, 9]])
    assert names == (["x", "y", "z"] if header else None)


def test_whitespace_file_with_mixed_spaces_and_tabs(tmp_path):
    path = write(tmp_path, "ws.txt", "  1 2\t3\n4\t\t5  6  \n\n7 8 9\n")
    data, names = read_matrix(path)
    assert names is None
    np.testing.assert_array_equal(data, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])


def test_literal_nan_is_read_as_a_missing_value(tmp_path):
    # the reader keeps a written "nan"; the quality checks report it by channel
    path = write(tmp_path, "nan.csv", "1,NaN,3\n4,5,nan\n")
    data, _ = read_matrix(path)
    assert np.isnan(data[0, 1]) and np.isnan(data[1, 2]) and data[1, 1] == 5


# ---------------------------------------------------------------------------------------
# read(): picks the reader from the path and arguments


def test_read_folder_with_pattern(tmp_path):
    for subject in (1, 2, 10):
        for rep in (0, 1):
            for label in (0, 1):
                write(tmp_path, f"S{subject}/rep{rep}/g{label}.csv", f"{subject},{rep}\n{label},{label}\n{subject},{subject}\n")
    write(tmp_path, "S1/notes.txt", "not a recording\n")
    recordings = read(tmp_path, "S{subject}/rep{rep}/g{label}.csv", fs=100.0, ch_names=["a", "b"], modality="emg")
    assert len(recordings) == 12
    keys = [(r.meta["subject"], r.meta["repetition"], r.meta["label"]) for r in recordings]
    assert keys[0] == (1, 0, 0) and keys[-1] == (10, 1, 1)
    assert keys == sorted(keys)  # natural order: S2 before S10
    for r in recordings:
        np.testing.assert_array_equal(r.data[:, 0], [r.meta["subject"], r.meta["repetition"]])
        assert r.ch_names == ("a", "b") and r.fs == 100.0
        assert r.meta["source"].endswith(f"S{r.meta['subject']}/rep{r.meta['repetition']}/g{r.meta['label']}.csv")


def test_read_long_csv_with_channels(tmp_path):
    rows = ["t,c0,c1,gesture,who,day"]
    rows += [f"{i * 4},{i},{-i},rest,p1,d1" for i in range(10)]
    rows += [f"{40 + i * 4},{100 + i},{i},fist,p1,d1" for i in range(10)]
    path = write(tmp_path, "long.csv", "\n".join(rows) + "\n")
    recordings = read(path, channels=["c0", "c1"], label="gesture", subject="who", session="day", time="t", time_unit="ms", fs=250.0)
    assert [r.meta["label"] for r in recordings] == ["rest", "fist"]
    assert all(r.meta["subject"] == "p1" and r.meta["session"] == "d1" for r in recordings)
    assert all(r.fs == 250.0 and r.n_samples == 10 for r in recordings)
    np.testing.assert_allclose(recordings[1].data[0], np.arange(100, 110))
    # gzip-compressed tables are read the same way
    gz = tmp_path / "long.csv.gz"
    pd.read_csv(path).to_csv(gz, index=False)
    again = read_long_csv(gz, channels=["c0", "c1"], label="gesture", subject="who", session="day", time="t", time_unit="ms", fs=250.0)
    np.testing.assert_allclose(again[0].data, recordings[0].data)


def test_read_single_file(tmp_path):
    path = write(tmp_path, "one.tsv", "EMG1\tEMG2\n0.5\t-0.5\n1.5\t-1.5\n2.5\t-2.5\n")
    (recording,) = read(path, fs=1000.0)
    assert recording.ch_names == ("EMG1", "EMG2")
    assert recording.duration == pytest.approx(0.003)
    np.testing.assert_array_equal(recording.data[1], [-0.5, -1.5, -2.5])


def test_tab_separated_header_names_may_hold_spaces(tmp_path):
    path = write(tmp_path, "names.tsv", "flexor left\tEMG 2\n1\t2\n3\t4\n")
    data, names = read_matrix(path)
    assert names == ["flexor left", "EMG 2"]
    np.testing.assert_array_equal(data, [[1, 2], [3, 4]])


# ---------------------------------------------------------------------------------------
# header columns (bmelearn.io.columns): the same rules for every reader of files by pattern


def test_a_channel_named_twice_in_a_header_is_refused(tmp_path):
    write(tmp_path, "S1/trial_0_0.csv", "x,y,x\n1,2,3\n")
    with pytest.raises(DataError, match=r"trial_0_0.csv: the header names \['x'\] more than once; give each column its own"):
        read_pattern(tmp_path, "S{subject}/trial_{rep}_{label}.csv", fs=100.0, ch_names=["x", "y"])


def test_read_by_position_the_time_and_ignored_columns_are_dropped_by_name(tmp_path):
    write(tmp_path, "S1/trial_0_0.csv", "a,time_ms,b,sync\n1,0,2,9\n3,10,4,9\n5,20,6,9\n")
    columns = Columns(time="time_ms", time_unit="ms", ignore=("sync",), match="position")
    (recording,) = read_pattern(tmp_path, "S{subject}/trial_{rep}_{label}.csv", fs=100.0, ch_names=["x", "y"],
                                columns=columns)
    np.testing.assert_array_equal(recording.data, [[1, 3, 5], [2, 4, 6]])
    with pytest.raises(DataError, match=r"trial_0_0.csv: the times in column 'time_ms' \(in ms\) give a sampling rate "
                                        r"of 100 Hz, not 200 Hz"):
        read_pattern(tmp_path, "S{subject}/trial_{rep}_{label}.csv", fs=200.0, ch_names=["x", "y"], columns=columns)
