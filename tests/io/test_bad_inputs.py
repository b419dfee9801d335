"""Bad input gives a clear bmelearn error naming the file, line or channel at fault (or a
warning and the channel excluded) — never a bare traceback from NumPy or pandas.

Every test writes its own small files to ``tmp_path``; no real recordings are needed.
"""

from __future__ import annotations

import io
import re
import tracemalloc
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bmelearn.errors import BmeError, DataError
from bmelearn.io import (
    match_files,
    npy_file,
    read,
    read_file,
    read_long_csv,
    read_matrix,
    read_pattern,
    read_quaternions,
    recordings_from_table,
)
from bmelearn.signals.quality import check_finite, clipped_channels, exclude_bad_channels
from bmelearn.signals.recording import Recording, RecordingSet

NAMES3 = ("EMG1", "EMG2", "EMG3")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def rec(data, source: str, *, fs: float = 100.0, names=NAMES3, modality: str = "emg", label: str = "rest") -> Recording:
    data = np.asarray(data, dtype=float)
    return Recording(
        data, fs, tuple(names), (modality if modality == "emg" else "quat",) * len(names), modality=modality,
        meta={"source": source, "trial": source, "label": label},
    )


def noise(n_channels: int = 3, n_samples: int = 500, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n_channels, n_samples))


# ---------------------------------------------------------------------------------------
# missing, empty and unreadable text files


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "trial_3.csv"
    with pytest.raises(DataError, match=r"trial_3\.csv: file not found"):
        read_file(path, fs=100)
    with pytest.raises(DataError, match=r"trial_3\.csv: file not found"):
        read(path, fs=100)


@pytest.mark.parametrize("text", ["", "   \n\t\n  \n", "\ufeff"], ids=["empty", "whitespace", "byte-order-mark"])
def test_empty_or_blank_file(tmp_path, text):
    path = write(tmp_path, "blank.csv", text)
    with pytest.raises(DataError, match=r"blank\.csv: the file is empty"):
        read_file(path, fs=100)


def test_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("EMG1,EMG2\n1,2\n".encode("utf-8-sig"))
    assert read_file(path, fs=100).ch_names == ("EMG1", "EMG2")


def test_one_channel_per_line_is_too_wide(tmp_path):
    path = write(tmp_path, "transposed.csv", ",".join(["1"] * 5000) + "\n" + ",".join(["2"] * 5000) + "\n")
    with pytest.raises(DataError, match=r"transposed\.csv, line 1: 5000 values, more than the 4096 .*transpose the file"):
        read_file(path, fs=100)


def test_header_without_samples(tmp_path):
    path = write(tmp_path, "header_only.csv", "EMG1,EMG2\n")
    with pytest.raises(DataError, match=r"header_only\.csv: only a header line, no samples"):
        read_matrix(path)


@pytest.mark.parametrize(
    ("text", "line", "value"),
    [
        ("1,2,3\n4,x,6\n7,8,9\n", 2, "'x'"),
        ("a,b,c\n1,2,3\n4,5,6\n7,oops,9\n", 4, "'oops'"),  # after a header line
        ("\n\n1,2,3\n4,x,6\n", 4, "'x'"),  # blank lines before the first sample still count
        ("1 2 3\n4 5 6\n7 8 y\n", 3, "'y'"),  # whitespace-separated
        ("1;2;3\n4;;6\n", 2, "an empty value"),
        ("1,2,3\n4,\uff15,6\n", 2, "'\uff15'"),  # a full-width digit: pandas reads ASCII digits only
    ],
    ids=["comma", "header", "leading-blank-lines", "whitespace", "empty-value", "full-width-digit"],
)
def test_unparsable_line_names_file_line_and_value(tmp_path, text, line, value):
    path = write(tmp_path, "bad_sample.csv", text)
    with pytest.raises(DataError) as info:
        read_file(path, fs=100)
    message = str(info.value)
    assert "bad_sample.csv" in message
    assert f"line {line}:" in message
    assert value in message
    assert "Fix or delete that line" in message


def test_unparsable_first_line_is_not_taken_for_a_header(tmp_path):
    # a first line mixing numbers and words is a broken sample, not channel names
    path = write(tmp_path, "first.csv", "1,x,3\n4,5,6\n7,8,9\n")
    with pytest.raises(DataError, match=r"first\.csv, line 1: .*'x' is not a number"):
        read_file(path, fs=100)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("1,2,3\n4,5\n7,8,9\n", 2),  # a short line would otherwise become a silent NaN
        ("1,2,3\n4,5,6,7\n7,8,9\n", 4),
        ("1 2 3\n4 5\n", 2),
    ],
    ids=["short", "long", "short-whitespace"],
)
def test_ragged_line(tmp_path, text, found):
    path = write(tmp_path, "ragged.csv", text)
    with pytest.raises(DataError, match=rf"ragged\.csv, line 2: .*\({found} values where the first line has 3\)"):
        read_file(path, fs=100)


def test_header_shorter_than_the_samples(tmp_path):
    # pandas would silently use the first column as an index here
    path = write(tmp_path, "short_header.csv", "EMG1,EMG2\n1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match=r"short_header\.csv, line 2: .*3 values where the first line has 2"):
        read_file(path, fs=100)


def test_channel_name_count_does_not_match_columns(tmp_path):
    path = write(tmp_path, "three.csv", "1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match=r"three\.csv: 3 columns but 2 channel names"):
        read_file(path, fs=100, ch_names=["EMG1", "EMG2"])


# ---------------------------------------------------------------------------------------
# quality: NaN, flat and clipped channels


def test_nan_in_a_channel_names_channel_and_file(tmp_path):
    path = write(tmp_path, "with_nan.csv", "1,2,3\n4,nan,6\n7,8,9\n10,11,12\n")
    recording = read_file(path, fs=100, ch_names=NAMES3, meta={"label": "rest"})
    with pytest.raises(DataError, match=r"with_nan\.csv: channel EMG2 has 1 missing or infinite value\(s\), the first at sample 1"):
        check_finite(recording)
    healthy = rec(noise(), "healthy.csv")
    with pytest.raises(DataError, match=r"with_nan\.csv: channel EMG2 .*missing"):
        exclude_bad_channels(RecordingSet([healthy, recording]))


def test_infinite_value_is_reported(tmp_path):
    data = noise()
    data[2, 10] = np.inf
    with pytest.raises(DataError, match=r"inf\.csv: channel EMG3 has 1 missing or infinite value\(s\), the first at sample 10 \(0\.100 s\)"):
        check_finite(rec(data, "inf.csv"))


def test_flat_channel_is_excluded_from_every_recording_of_its_modality():
    good, dead = noise(seed=1), noise(seed=2)
    dead[1] = 512.0  # a disconnected electrode
    imu = rec(noise(4, 50, seed=3), "imu.txt", names=("QW", "QX", "QY", "QZ"), modality="imu")
    recordings = RecordingSet([rec(good, "good.csv"), rec(dead, "dead.csv"), imu])
    with pytest.warns(UserWarning, match=r"channel EMG2 \(emg\) is flat in dead\.csv; it was excluded from every emg recording"):
        cleaned, notes = exclude_bad_channels(recordings)
    assert any("EMG2" in note and "dead.csv" in note for note in notes)
    emg = [r for r in cleaned if r.modality == "emg"]
    assert [r.ch_names for r in emg] == [("EMG1", "EMG3")] * 2
    np.testing.assert_array_equal(emg[0].data, good[[0, 2]])
    np.testing.assert_array_equal(emg[1].data, dead[[0, 2]])
    # the other modality keeps all its channels
    (imu_clean,) = [r for r in cleaned if r.modality == "imu"]
    assert imu_clean.ch_names == ("QW", "QX", "QY", "QZ")


def test_recording_with_every_channel_flat_is_an_error():
    flat = np.full((3, 500), 7.0)
    # the healthy recording comes first: the error must name the flat one
    recordings = RecordingSet([rec(noise(), "healthy.csv"), rec(flat, "all_flat.csv")])
    with pytest.raises(DataError) as info:
        exclude_bad_channels(recordings)
    message = str(info.value)
    assert "all_flat.csv" in message and "every emg channel" in message and "flat" in message
    assert "healthy.csv" not in message


def test_every_channel_flat_somewhere_is_an_error_naming_where():
    recs = []
    for i in range(3):
        data = noise(seed=i)
        data[i] = 0.0
        recs.append(rec(data, f"f{i}.csv"))
    with pytest.raises(DataError, match=r"no emg channel is left.*EMG1 in f0\.csv; EMG2 in f1\.csv; EMG3 in f2\.csv"):
        exclude_bad_channels(RecordingSet(recs))


def test_clipped_channel_is_reported_and_kept():
    t = np.arange(2000) / 200.0
    data = noise(n_samples=2000)
    data[2] = np.clip(np.sin(2 * np.pi * 1.0 * t), -0.5, 0.5)  # long plateaus at ±0.5
    recordings = RecordingSet([rec(data, "saturated.csv", fs=200.0)])
    with pytest.warns(UserWarning, match=r"saturated\.csv: channel EMG3 looks clipped"):
        cleaned, notes = exclude_bad_channels(recordings)
    assert len(notes) == 1 and "EMG3" in notes[0] and "clipped" in notes[0]
    assert cleaned[0].ch_names == NAMES3
    np.testing.assert_array_equal(cleaned[0].data, data)


def test_a_channel_clipped_in_many_recordings_of_a_session_is_one_note():
    """Saturation repeats over a session (a strong gesture on an 8-bit armband): one note per
    channel and session, counting its recordings, not one per file."""
    t = np.arange(2000) / 200.0
    recordings = []
    for i in range(5):
        data = noise(n_samples=2000, seed=i)
        if i < 3:
            data[2] = np.clip(np.sin(2 * np.pi * 1.0 * t), -0.5 + 0.1 * i, 0.5)  # plateaus at the limits
        one = rec(data, f"r{i}.csv", fs=200.0)
        recordings.append(replace(one, meta=one.meta | {"subject": 4, "session": "day2"}))
    with pytest.warns(UserWarning):
        _, notes = exclude_bad_channels(RecordingSet(recordings))
    assert notes == ["channel EMG3 (emg) looks clipped in 3 of the 5 recordings of subject 4, session day2 (up to "
                     "72% of samples at its limits, in r2.csv)."]


def test_a_signal_of_a_few_adc_levels_is_not_taken_for_clipping():
    """Rest on an 8-bit armband spans a few ADC steps and sits at its extremes by nature (one
    MyoDisCo rest repetition: -3 to 2, 6 values); the same at the converter's rail, with a
    signal of many levels, is saturation."""
    rng = np.random.default_rng(0)
    quiet = np.round(rng.normal(0, 1.2, (3, 100))).clip(-3, 2)  # 6 levels, runs at -3 and 2
    assert not clipped_channels(rec(quiet, "rest.csv", fs=200.0))
    loud = np.round(rng.normal(0, 60, (3, 100))).clip(-128, 127)
    loud[1, 40:45] = 127  # a gesture driving one channel into the rail
    assert set(clipped_channels(rec(loud, "fist.csv", fs=200.0))) == {1}


def test_clean_recordings_give_no_notes():
    t = np.arange(1000) / 200.0
    data = np.vstack([noise(2, 1000), np.sin(2 * np.pi * 1.3 * t)])  # an unclipped sine is not clipping
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cleaned, notes = exclude_bad_channels(RecordingSet([rec(data, "clean.csv")]))
    assert notes == [] and cleaned[0].ch_names == NAMES3


# ---------------------------------------------------------------------------------------
# folders of files read by a pattern

PATTERN = "S{subject}/trial_{rep}_{label}.csv"


def test_channel_count_differs_between_files_of_a_pattern(tmp_path):
    write(tmp_path, "S1/trial_0_0.csv", "1,2,3\n4,5,6\n")
    write(tmp_path, "S1/trial_1_0.csv", "1,2,3,4\n5,6,7,8\n")
    with pytest.raises(DataError) as info:
        read_pattern(tmp_path, PATTERN, fs=100, read=lambda p: read_matrix(p)[0], ch_names=NAMES3, ch_type="emg", modality="emg")
    message = str(info.value)
    assert "trial_1_0.csv" in message
    assert "4 channel columns, expected 3" in message


def test_pattern_matching_nothing_names_folder_pattern_and_examples(tmp_path):
    folder = tmp_path / "my_dataset"
    write(folder, "subject1/rec_0.txt", "1,2\n")
    write(folder, "subject1/rec_1.txt", "1,2\n")
    with pytest.raises(DataError) as info:
        match_files(folder, PATTERN)
    message = str(info.value)
    assert str(folder) in message
    assert repr(PATTERN) in message
    assert "subject1/rec_0.txt" in message  # example files, to fix the pattern against
    assert "fix the pattern" in message


def test_pattern_in_an_empty_folder(tmp_path):
    with pytest.raises(DataError, match=r"no file matches the pattern .*empty folder"):
        match_files(tmp_path, PATTERN)


def test_pattern_folder_does_not_exist(tmp_path):
    missing = tmp_path / "not_there"
    with pytest.raises(DataError, match=rf"{re.escape(str(missing))}: folder not found"):
        match_files(missing, PATTERN)
    with pytest.raises(DataError, match=rf"{re.escape(str(missing))}: folder not found"):
        read(missing, PATTERN, fs=100, ch_names=NAMES3)


@pytest.mark.parametrize("classes", [["rest", "fist"], {0: "rest", 1: "fist"}], ids=["list", "dict"])
def test_unknown_label_in_a_path(tmp_path, classes):
    write(tmp_path, "S1/trial_0_1.csv", "1,2,3\n")
    write(tmp_path, "S1/trial_0_7.csv", "1,2,3\n")
    with pytest.raises(DataError) as info:
        read_pattern(
            tmp_path, PATTERN, fs=100, read=lambda p: read_matrix(p)[0], ch_names=NAMES3, ch_type="emg", modality="emg",
            classes=classes,
        )
    message = str(info.value)
    assert "trial_0_7.csv" in message
    assert "label 7 is not a known class" in message
    assert "'fist'" in message  # the known classes are listed


def test_read_folder_needs_pattern_and_channel_names(tmp_path):
    write(tmp_path, "S1/trial_0_0.csv", "1,2,3\n")
    with pytest.raises(DataError, match=r"is a folder: give a file pattern"):
        read(tmp_path)
    with pytest.raises(DataError, match=r"needs fs \(Hz\) and ch_names .*\['ch_names'\] missing"):
        read(tmp_path, PATTERN, fs=100)
    with pytest.raises(DataError, match=r"trial_0_0\.csv: give its sampling rate, fs"):
        read(tmp_path / "S1" / "trial_0_0.csv")


@pytest.mark.parametrize("pattern", ["S{subject}/*{label}.txt", "S{subject}/trial_?_{label}.txt"], ids=["star", "question-mark"])
def test_pattern_with_a_wildcard(tmp_path, pattern):
    write(tmp_path, "S1/trial_0_0.txt", "1,2,3\n")
    with pytest.raises(DataError) as info:
        read_pattern(tmp_path, pattern, fs=100, ch_names=NAMES3)
    message = str(info.value)
    assert repr(pattern) in message
    assert "{name}" in message and "braces" in message  # what to write instead


@pytest.mark.parametrize("pattern", ["", "  ", "."], ids=["empty", "blank", "dot"])
def test_empty_pattern(tmp_path, pattern):
    write(tmp_path, "S1/trial_0_0.csv", "1,2,3\n")
    with pytest.raises(DataError) as info:
        read_pattern(tmp_path, pattern, fs=100, ch_names=NAMES3)
    message = str(info.value)
    assert f"pattern {pattern!r}" in message
    assert "S{subject}" in message  # an example of a pattern


def test_absolute_pattern(tmp_path):
    write(tmp_path, "S1/trial_0_0.csv", "1,2,3\n")
    pattern = f"{tmp_path}/{PATTERN}"
    with pytest.raises(DataError) as info:
        read_pattern(tmp_path, pattern, fs=100, ch_names=NAMES3)
    message = str(info.value)
    assert repr(pattern) in message
    assert f"path {str(tmp_path)!r} and pattern {PATTERN!r}" in message  # the two halves to give instead


def test_pattern_outside_the_folder(tmp_path):
    write(tmp_path, "S1/trial_0_0.csv", "1,2,3\n")
    with pytest.raises(DataError, match=r"pattern '\.\./S1/\{label\}\.csv' .*'\.\.'"):
        read_pattern(tmp_path / "S1", "../S1/{label}.csv", fs=100, ch_names=NAMES3)


def test_pattern_placeholder_that_is_not_a_name(tmp_path):
    write(tmp_path, "S1/trial_0_0.csv", "1,2,3\n")
    with pytest.raises(DataError, match=r"pattern 'S\{subject id\}/\{label\}\.csv': .*letters, digits and _"):
        read_pattern(tmp_path, "S{subject id}/{label}.csv", fs=100, ch_names=NAMES3)


def test_pattern_with_adjacent_placeholders_and_brackets(tmp_path):
    write(tmp_path, "S1/[a]trial07.csv", "1,2,3\n")
    (recording,) = read_pattern(tmp_path, "S{subject}/[a]trial{rep}{label}.csv", fs=100, ch_names=NAMES3)
    assert recording.meta["subject"] == 1 and recording.meta["label"] == 7


# ---------------------------------------------------------------------------------------
# NumPy .npy files


def save_bytes(array: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def test_empty_npy_file(tmp_path):
    path = tmp_path / "trial_0.npy"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"trial_0\.npy: the file is empty\. Remove it"):
        npy_file(path)


def test_npz_archive_named_npy(tmp_path):
    path = tmp_path / "trial_1.npy"
    with path.open("wb") as file:
        np.savez(file, emg=noise())
    with pytest.raises(DataError, match=r"trial_1\.npy: not a \.npy file; it is a \.npz archive.*numpy\.save"):
        npy_file(path)


def test_corrupted_npy_header(tmp_path):
    path = tmp_path / "trial_2.npy"
    data = save_bytes(noise())
    assert b"(3, 500)" in data
    path.write_bytes(data.replace(b"(3, 500)", b"(3, 500(", 1))  # an unclosed parenthesis
    with pytest.raises(DataError, match=r"trial_2\.npy: not a readable \.npy array .*numpy\.save"):
        npy_file(path)


def test_truncated_npy_file(tmp_path):
    path = tmp_path / "trial_3.npy"
    path.write_bytes(save_bytes(noise())[:2000])
    with pytest.raises(DataError, match=r"trial_3\.npy: not a readable \.npy array"):
        npy_file(path)


class _Touch:
    """An object whose unpickling creates a file: it shows whether a reader unpickles."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def test_pickled_object_array_is_not_loaded(tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "objects.npy"
    path.write_bytes(save_bytes(np.array([_Touch(marker)], dtype=object), allow_pickle=True))
    with pytest.raises(DataError, match=r"objects\.npy: not a readable \.npy array .*Python objects"):
        npy_file(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "array",
    [np.float64(1.0), np.zeros(5), np.zeros((2, 3, 4)), np.array([["a", "b"]]), np.zeros((2, 2), complex), np.zeros((2, 2), int)],
    ids=["0-d", "1-d", "3-d", "strings", "complex", "integers"],
)
def test_npy_that_is_not_a_2d_float_array(tmp_path, array):
    path = tmp_path / "odd.npy"
    np.save(path, array)
    with pytest.raises(DataError, match=rf"odd\.npy: a recording is a 2-D float array \(channels × samples\); got .*{array.shape}"):
        npy_file(path)


# ---------------------------------------------------------------------------------------
# 3DC-style IMU quaternion files


def test_all_zero_quaternion_file(tmp_path):
    path = write(tmp_path, "3dc_IMU_gesture_0_0.txt", "(0, 0, 0, 0)\n" * 40)
    with pytest.raises(DataError, match=r"3dc_IMU_gesture_0_0\.txt: every quaternion is zero"):
        read_quaternions(path)


def test_leading_zero_quaternions_are_interpolated(tmp_path):
    valid = np.array([[0.62, -0.007, -0.15, 0.77], [0.63, 0.003, -0.14, 0.76], [0.64, 0.01, -0.13, 0.75], [0.65, 0.02, -0.12, 0.74]])
    lines = ["(0, 0, 0, 0)"] * 3 + [f"({w}, {x}, {y}, {z})" for w, x, y, z in valid[:2]] + ["(0, 0, 0, 0)"]
    lines += [f"({w}, {x}, {y}, {z})" for w, x, y, z in valid[2:]]
    path = write(tmp_path, "3dc_IMU_gesture_1_4.txt", "\n".join(lines) + "\n")
    q = read_quaternions(path)
    assert q.shape == (len(lines), 4)
    assert np.isfinite(q).all()
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    unit = valid / np.linalg.norm(valid, axis=1, keepdims=True)
    for row in range(3):  # the leading gap takes the first estimate
        np.testing.assert_allclose(q[row], unit[0], atol=1e-12)
    np.testing.assert_allclose(q[3:5], unit[:2], atol=1e-12)
    np.testing.assert_allclose(q[6:], unit[2:], atol=1e-12)
    # the gap in the middle lies between its neighbours
    between = (unit[1] + unit[2]) / np.linalg.norm(unit[1] + unit[2])
    np.testing.assert_allclose(q[5], between, atol=1e-12)


def test_quaternions_too_large_for_a_norm_are_missing(tmp_path):
    # 1e200² overflows: the norm is infinite and the sample would become (0, 0, 0, 0), not a unit quaternion
    path = write(tmp_path, "imu_huge.txt", "(1, 0, 0, 0)\n(1e200, 1e200, 0, 0)\n(inf, 0, 0, 0)\n(0, 1, 0, 0)\n")
    q = read_quaternions(path)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(q[1], np.array([2, 1, 0, 0]) / np.sqrt(5), atol=1e-12)  # interpolated at 1/3, renormalised


def test_quaternion_line_with_three_values(tmp_path):
    path = write(tmp_path, "imu3.txt", "(1, 0, 0)\n(1, 0, 0)\n")
    with pytest.raises(DataError, match=r"imu3\.txt: 3 values per line; a quaternion line holds 4"):
        read_quaternions(path)


def test_unparsable_quaternion_line(tmp_path):
    path = write(tmp_path, "imu_bad.txt", "(1, 0, 0, 0)\n(1, 0, 0, 0)\n(1, 0, ?, 0)\n")
    with pytest.raises(DataError, match=r"imu_bad\.txt, line 3: .*'\?' is not a number"):
        read_quaternions(path)


# ---------------------------------------------------------------------------------------
# one long CSV table of samples


def long_csv(folder: Path, rows: list[str], name: str = "long.csv") -> Path:
    return write(folder, name, "\n".join(["time,c0,c1,label,subject,session", *rows]) + "\n")


GOOD_ROWS = ["0,1,2,rest,1,s1", "10,2,3,rest,1,s1", "20,3,4,rest,1,s1"]


def test_long_csv_missing_channel_column(tmp_path):
    path = long_csv(tmp_path, GOOD_ROWS)
    with pytest.raises(DataError) as info:
        read_long_csv(path, channels=["c0", "c1", "c2"], time="time", time_unit="ms")
    message = str(info.value)
    assert "long.csv" in message and "no column(s) ['c2']" in message
    assert "['time', 'c0', 'c1', 'label', 'subject', 'session']" in message  # what is there


def test_long_csv_non_numeric_channel(tmp_path):
    path = long_csv(tmp_path, [*GOOD_ROWS, "30,4,n/a?,rest,1,s1"])
    with pytest.raises(DataError, match=r"long\.csv: column 'c1' holds non-numeric values, e\.g\. 'n/a\?' at data row 4"):
        read_long_csv(path, channels=["c0", "c1"], time="time", time_unit="ms")


def test_long_csv_missing_value_in_a_row(tmp_path):
    path = long_csv(tmp_path, ["0,1,2,rest,1,s1", "10,,3,rest,1,s1", "20,3,4,rest,1,s1"])
    with pytest.raises(DataError, match=r"long\.csv: 1 row\(s\) with missing channel values, the first at data row 2 \(channel\(s\) \['c0'\]\)"):
        read_long_csv(path, channels=["c0", "c1"], time="time", time_unit="ms")


def test_long_csv_missing_time_value(tmp_path):
    path = long_csv(tmp_path, ["0,1,2,rest,1,s1", ",2,3,rest,1,s1", "20,3,4,rest,1,s1"])
    with pytest.raises(DataError, match=r"long\.csv: time column 'time' has missing values, the first at data row 2"):
        read_long_csv(path, channels=["c0", "c1"], time="time", time_unit="ms")


def test_long_csv_without_fs_or_time(tmp_path):
    path = long_csv(tmp_path, GOOD_ROWS)
    with pytest.raises(DataError, match=r"long\.csv: give the sampling rate \(fs, Hz\) or the name of a time column"):
        read_long_csv(path, channels=["c0", "c1"])


def test_long_csv_bad_time_unit(tmp_path):
    path = long_csv(tmp_path, GOOD_ROWS)
    with pytest.raises(DataError, match=r"long\.csv: time_unit 'minutes' is not one of"):
        read_long_csv(path, channels=["c0", "c1"], time="time", time_unit="minutes")


def test_long_csv_empty_file(tmp_path):
    path = write(tmp_path, "nothing.csv", "")
    with pytest.raises(DataError, match=r"nothing\.csv: cannot read it as a CSV table"):
        read_long_csv(path, channels=["c0"], fs=100)


@pytest.mark.parametrize("fs", [None, 100.0], ids=["rate-from-time", "fs-given"])
def test_long_csv_constant_timestamps(tmp_path, fs):
    path = long_csv(tmp_path, ["5,1,2,rest,1,s1", "5,2,3,rest,1,s1", "5,3,4,rest,1,s1"], name="stuck_clock.csv")
    with pytest.raises(DataError) as info:
        read_long_csv(path, channels=["c0", "c1"], time="time", time_unit="ms", fs=fs)
    message = str(info.value)
    assert "stuck_clock.csv" in message and "'time'" in message
    assert "data rows 1-3" in message and "time 5" in message


@pytest.mark.parametrize("fs", [None, 1000.0], ids=["rate-from-time", "fs-given"])
def test_long_csv_outlier_timestamp_is_refused_without_allocating(tmp_path, fs):
    rows = [f"{t},{t % 7},{t % 5},rest,1,s1" for t in range(100)]
    rows.insert(60, "10000000,1,2,rest,1,s1")  # 2.8 hours after the trial began, then back in time
    path = long_csv(tmp_path, rows, name="outlier.csv")
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            read_long_csv(path, channels=["c0", "c1"], time="time", time_unit="ms", fs=fs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert "outlier.csv" in message
    assert "data row 61" in message and "10000000" in message  # where the outlier is
    assert "time_unit" in message  # and what to check
    assert peak < 16 * 2**20


def test_long_table_with_no_run_of_two_samples():
    table = pd.DataFrame({"c0": [1.0, 2.0, 3.0], "label": ["a", "b", "c"]})
    with pytest.raises(DataError, match=r"table: no run of two or more samples with one label"):
        recordings_from_table(table, channels=["c0"], subject=None, session=None, fs=100)


# ---------------------------------------------------------------------------------------
# recordings and sets


def test_consistent_channels_different_names_names_both_files():
    a = rec(noise(), "first.csv")
    b = rec(noise(), "second.csv", names=("EMG1", "EMG2", "EMG4"))
    with pytest.raises(DataError) as info:
        RecordingSet([a, b]).check_consistent_channels()
    message = str(info.value)
    assert "second.csv" in message and "first.csv" in message
    assert "EMG4" in message and "same channels" in message


def test_consistent_channels_different_rates_names_both_files():
    a = rec(noise(), "slow.csv", fs=200.0)
    b = rec(noise(), "fast.csv", fs=1000.0)
    imu = rec(noise(4, 20), "imu.txt", fs=50.0, names=("QW", "QX", "QY", "QZ"), modality="imu")
    RecordingSet([a, imu]).check_consistent_channels()  # modalities may differ in rate
    with pytest.raises(DataError, match=r"fast\.csv is sampled at 1000 Hz but slow\.csv at 200 Hz"):
        RecordingSet([a, imu, b]).check_consistent_channels()


def test_recording_channel_name_count_mismatch():
    with pytest.raises(DataError, match=r"short\.csv: 3 channels in the data but 2 ch_names"):
        Recording(noise(), 100.0, ("EMG1", "EMG2"), ("emg",) * 3, meta={"source": "short.csv"})


@pytest.mark.parametrize("fs", [0.0, -250.0, float("nan"), float("inf")])
def test_recording_non_positive_rate(fs):
    with pytest.raises(DataError, match=r"rate\.csv: sampling rate must be a positive number of Hz"):
        Recording(noise(), fs, NAMES3, ("emg",) * 3, meta={"source": "rate.csv"})


def test_recording_one_dimensional_data():
    with pytest.raises(DataError, match=r"flat_array\.csv: .*must be 2-D"):
        Recording(np.zeros(10), 100.0, ("EMG1",), ("emg",), meta={"source": "flat_array.csv"})


def test_label_outside_classes():
    with pytest.raises(DataError, match=r"labels \['jump'\] are not among the classes"):
        RecordingSet([rec(noise(), "a.csv", label="jump")], classes=["rest", "fist"])


def test_every_error_is_a_bme_error(tmp_path):
    # the CLI catches BmeError to print a message instead of a traceback
    path = write(tmp_path, "x.csv", "1,2\n3,z\n")
    with pytest.raises(BmeError):
        read_file(path, fs=10)
    with pytest.raises(ValueError):  # and stays a ValueError for callers that expect one
        read_file(path, fs=10)
