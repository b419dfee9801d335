"""The ``files`` dataset: a header's columns are matched to the channels by name, a time column is
checked against the sampling rate and dropped, and any other column must be declared."""

from __future__ import annotations

import numpy as np
import pytest

from bmelearn.datasets import check_dataset, load_dataset
from bmelearn.errors import DataError

FS = 500.0
CHANNELS = [f"EMG{i}" for i in range(1, 9)]
#: Samples per file.
SAMPLES = 50


def _signal(label: int) -> np.ndarray:
    """Samples × channels of the file of ``label``, every value distinct (channel c of sample s holds
    1000 c + s + 100000 label), so a mixed-up column changes the data."""
    return 1000.0 * np.arange(1, 9)[None, :] + np.arange(SAMPLES)[:, None] + label * 100_000


def _write(root, header: list[str] | None, columns=None, extra: dict[str, np.ndarray] | None = None) -> None:
    """Files S1/{label}.csv with ``columns`` of the signal (indices, default all in order) under ``header``,
    each extra column (name → values) first."""
    root.mkdir(exist_ok=True)
    for label in (0, 1):
        data = _signal(label)[:, list(range(8)) if columns is None else columns]
        data = np.column_stack([*(extra or {}).values(), data])
        text = "\n".join(",".join(repr(float(v)) for v in row) for row in data)
        (root / "S1").mkdir(exist_ok=True)
        (root / "S1" / f"{label}.csv").write_text((",".join(header) + "\n" if header else "") + text + "\n")


def _load(root, **options):
    return load_dataset("files", path=str(root), pattern="S{subject}/{label}.csv", fs=FS, ch_names=CHANNELS, **options)


def _arrays(data) -> list[np.ndarray]:
    return [r.data for r in data]


def test_a_header_in_another_order_gives_the_same_recordings(tmp_path):
    _write(tmp_path / "plain", None)
    reversed_order = list(range(8))[::-1]
    _write(tmp_path / "reversed", [CHANNELS[i] for i in reversed_order], reversed_order)
    plain, named = _load(tmp_path / "plain"), _load(tmp_path / "reversed")
    for a, b in zip(_arrays(plain), _arrays(named), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(named[0].data[2], _signal(0)[:, 2])  # EMG3 is EMG3, wherever its column is
    assert named[0].ch_names == tuple(CHANNELS)


def test_a_header_naming_none_of_the_channels_is_refused_unless_read_by_position(tmp_path):
    generic = [f"ch{i}" for i in range(1, 9)]
    _write(tmp_path, generic)
    with pytest.raises(DataError) as info:
        _load(tmp_path)
    assert str(info.value) == (
        f"{tmp_path / 'S1' / '0.csv'}: the header {generic} names none of the channels {CHANNELS} that the dataset "
        "expects; rename the columns, or set dataset.match_channels: position to read the columns in order.")
    by_position = _load(tmp_path, match_channels="position")
    np.testing.assert_array_equal(by_position[1].data, _signal(1).T)


def test_a_header_without_a_channel_names_it(tmp_path):
    header = CHANNELS[:2] + ["EMG 3"] + CHANNELS[3:]
    _write(tmp_path, header)
    with pytest.raises(DataError, match=r"0\.csv: channels \['EMG3'\] that the dataset expects are missing "
                                        r"\(the file has \['EMG 3'\] instead\)\.$"):
        _load(tmp_path)


def test_a_time_column_is_checked_against_the_rate_and_dropped(tmp_path):
    seconds = np.arange(SAMPLES) / FS
    _write(tmp_path / "s", ["time", *CHANNELS], extra={"time": seconds})
    with pytest.raises(DataError, match=r"columns \['time'\] are not channels of the dataset .*; list them in "
                                        r"dataset.ignore_columns \(a time column in dataset.time_column\)\.$"):
        _load(tmp_path / "s")  # undeclared, it is refused
    timed = _load(tmp_path / "s", time_column="time")
    np.testing.assert_array_equal(timed[0].data, _signal(0).T)
    _write(tmp_path / "ms", ["time", *CHANNELS], extra={"time": seconds * 1000})
    np.testing.assert_array_equal(_load(tmp_path / "ms", time_column="time", time_unit="ms")[1].data, _signal(1).T)
    with pytest.raises(DataError) as info:
        _load(tmp_path / "ms", time_column="time")  # milliseconds read as seconds
    assert str(info.value).startswith(f"{tmp_path / 'ms' / 'S1' / '0.csv'}: the times in column 'time' (in s) give a "
                                      "sampling rate of 0.5 Hz, not 500 Hz;")
    _write(tmp_path / "fast", ["time", *CHANNELS], extra={"time": np.arange(SAMPLES) / 490.0})  # 2 % off
    with pytest.raises(DataError, match=r"give a sampling rate of 490 Hz, not 500 Hz"):
        _load(tmp_path / "fast", time_column="time")
    _write(tmp_path / "jitter", ["time", *CHANNELS], extra={"time": seconds * 1.009})  # within 1 %
    assert len(_load(tmp_path / "jitter", time_column="time")) == 2


def test_other_columns_must_be_declared_to_be_ignored(tmp_path):
    marker = np.zeros(SAMPLES)
    _write(tmp_path, ["marker", *CHANNELS[::-1]], list(range(8))[::-1], extra={"marker": marker})
    with pytest.raises(DataError, match=r"0\.csv: columns \['marker'\] are not channels of the dataset \(EMG1, .*EMG8\); "
                                        r"list them in dataset.ignore_columns"):
        _load(tmp_path)
    np.testing.assert_array_equal(_load(tmp_path, ignore_columns=["marker"])[0].data, _signal(0).T)


def test_a_time_column_needs_a_header(tmp_path):
    _write(tmp_path, None)
    with pytest.raises(DataError, match=r"0\.csv: no header line, so no time column 'time'; add a header line naming "
                                        r"the columns, or remove dataset.time_column\."):
        _load(tmp_path, time_column="time")


@pytest.mark.parametrize(("options", "message"), [
    ({"time_unit": "min"}, r"dataset.time_unit: 'min' is not one of \['s', 'ms', 'us'\]\."),
    ({"match_channels": "order"}, r"dataset.match_channels: 'order' is not one of \['name', 'position'\]\."),
    ({"time_column": "EMG1"}, r"dataset.time_column: \['EMG1'\] also in dataset.ch_names"),
    ({"ignore_columns": ["marker", "EMG2"]}, r"dataset.ignore_columns: \['EMG2'\] also in dataset.ch_names"),
])
def test_column_options_are_checked_before_reading(tmp_path, options, message):
    with pytest.raises(DataError, match=message):
        check_dataset("files", {"path": str(tmp_path), "pattern": "{label}.csv", "fs": FS, "ch_names": CHANNELS} | options)
