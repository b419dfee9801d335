"""Files sent for prediction: their header's columns are matched to the model's channels by name,
as in training (a time column checked and dropped), a file without a header by position."""

from __future__ import annotations

import numpy as np
import pytest

from bmelearn.errors import DataError
from bmelearn.serving import DeployableModel, Upload, from_files, from_uploads


@pytest.fixture(scope="module")
def model(simulated):
    """LDA on the MAV and WL of 0.2 s windows of the simulated EMG (8 channels at 1 kHz), EMG3 excluded."""
    from bmelearn.models import make_model
    from bmelearn.pipeline import SignalPipeline

    emg = [r for r in simulated if r.modality == "emg"]
    pipeline = SignalPipeline.fit({"emg": emg[0]}, [], {"emg": ["EMG3"]}, 0.2, 0.1, False, {"emg": ["MAV", "WL"]})
    parts = [pipeline.transform({"emg": r})[0] for r in emg]
    labels = np.concatenate([[r.meta["label"]] * len(x) for r, x in zip(emg, parts, strict=True)])
    estimator = make_model("lda").fit(np.vstack(parts), labels)
    return DeployableModel(pipeline, estimator, sorted(set(labels)), {})


@pytest.fixture(scope="module")
def trial(simulated):
    """A simulated EMG trial: 8 channels × samples at 1 kHz."""
    return next(r for r in simulated if r.modality == "emg" and r.meta["label"] == "hand close")


def _text(columns: np.ndarray, header: list[str] | None = None) -> bytes:
    """Samples × columns as CSV, each value written exactly, under ``header``."""
    lines = [",".join(header)] if header else []
    return "\n".join(lines + [",".join(repr(float(v)) for v in row) for row in columns]).encode()


def _predict(model, data: bytes, name: str = "new.csv", fs: float | None = None):
    return model.predict(from_uploads(model.signal, [Upload(data, name, fs=fs)]))


def test_a_header_in_another_order_predicts_as_the_ordered_file(model, trial, tmp_path):
    names = list(trial.ch_names)
    order = np.arange(8)[::-1]
    plain = tmp_path / "plain.csv"
    plain.write_bytes(_text(trial.data.T))
    named = tmp_path / "named.csv"
    named.write_bytes(_text(trial.data[order].T, [names[i] for i in order]))
    predicted = {name: model.predict(recordings) for name, recordings in from_files(model.signal, [str(plain), str(named)]).items()}
    expected, shuffled = predicted[str(plain)], predicted[str(named)]
    assert list(shuffled["predicted"]) == list(expected["predicted"])
    np.testing.assert_array_equal(shuffled["confidence"], expected["confidence"])
    # the same columns under the header of the plain order mix the channels up: other confidences
    swapped = _predict(model, _text(trial.data[order].T, names))
    assert not np.allclose(swapped["confidence"], expected["confidence"])


def test_a_header_naming_none_of_the_channels_is_refused(model, trial):
    generic = [f"ch{i}" for i in range(1, 9)]
    with pytest.raises(DataError) as info:
        _predict(model, _text(trial.data.T, generic), "generic.csv")
    assert str(info.value) == (
        f"generic.csv: the header {generic} names none of the channels "
        "['EMG1', 'EMG2', 'EMG4', 'EMG5', 'EMG6', 'EMG7', 'EMG8'] that the model expects; rename the columns, or delete "
        "the header line to read the columns in order.")


def test_a_time_column_is_checked_against_the_rate_and_dropped(model, trial):
    names = list(trial.ch_names)
    seconds = np.arange(trial.n_samples) / trial.fs
    expected = _predict(model, _text(trial.data.T))
    for column in ("time", "Timestamp", "t"):
        timed = _predict(model, _text(np.column_stack([seconds, trial.data.T]), [column, *names]))
        np.testing.assert_array_equal(timed["confidence"], expected["confidence"])
    with pytest.raises(DataError, match=r"^new.csv: the times in column 'time' \(in s\) give a sampling rate of 1 Hz, not "
                                        r"1000 Hz; check the sampling rate"):
        _predict(model, _text(np.column_stack([seconds * 1000, trial.data.T]), ["time", *names]))
    with pytest.raises(DataError, match=r"give a sampling rate of 1000 Hz, not 2000 Hz"):  # the rate the user gives
        _predict(model, _text(np.column_stack([seconds, trial.data.T]), ["time", *names]), fs=2000.0)


def test_columns_other_than_the_models_channels_are_refused(model, trial):
    names = list(trial.ch_names)
    marker = np.zeros((trial.n_samples, 1))
    with pytest.raises(DataError, match=r"^new.csv: columns \['marker'\] are not channels of the model \(EMG1, EMG2, "
                                        r"EMG4, .*EMG8\); delete them from the file\.$"):
        _predict(model, _text(np.hstack([trial.data.T, marker]), [*names, "marker"]))
    # the excluded channel is the model's own: dropped by name, wherever it is
    kept = [i for i in range(8) if i != 2]
    moved = _predict(model, _text(trial.data[[2, *kept]].T, [names[2], *(names[i] for i in kept)]))
    np.testing.assert_array_equal(moved["confidence"], _predict(model, _text(trial.data.T))["confidence"])


def test_an_edf_or_bdf_upload_predicts_as_the_text_file(model, trial):
    """The model's channels are found by label in an EDF or BDF file (other signals, and the
    excluded EMG3, left aside; labels in another order), at the file's rate; the decisions are
    those of the text file, to the format's resolution."""
    edfio = pytest.importorskip("edfio")
    import io

    expected = _predict(model, _text(trial.data.T, list(trial.ch_names)))
    order = [7, 2, 0, 1, 3, 4, 5, 6]
    for kind, cls, signal in (("edf", edfio.Edf, edfio.EdfSignal), ("bdf", edfio.Bdf, edfio.BdfSignal)):
        signals = [signal(trial.data[i], trial.fs, label=trial.ch_names[i], physical_dimension="mV") for i in order]
        signals.append(signal(np.zeros(int(trial.n_samples / trial.fs * 50)), 50.0, label="ACC X"))
        buffer = io.BytesIO()
        cls(signals, data_record_duration=trial.n_samples / trial.fs).write(buffer)
        got = _predict(model, buffer.getvalue(), f"new.{kind}")
        assert list(got["predicted"]) == list(expected["predicted"]), kind
        np.testing.assert_allclose(got["confidence"], expected["confidence"], atol=1e-3)
        with pytest.raises(DataError, match=rf"new\.{kind}: the file says 1000 Hz, not the 2000 Hz given"):
            _predict(model, buffer.getvalue(), f"new.{kind}", fs=2000.0)
    with pytest.raises(DataError, match=r"new\.edf: not a readable EDF file"):
        _predict(model, b"0,1,2\n", "new.edf")


def test_a_c3d_or_xdf_upload_predicts_as_the_text_file(model, trial, tmp_path):
    """A C3D file (EMG as analog channels beside markers) and an XDF file (an EMG stream beside a
    marker stream) give the decisions of the text file: the model's channels by label, at the
    file's rate; C3D keeps float32, XDF float64."""
    pytest.importorskip("ezc3d")
    pytest.importorskip("pyxdf")
    from tests.io.formats_writers import write_c3d, write_xdf, xdf_stream

    expected = _predict(model, _text(trial.data.T, list(trial.ch_names)))
    frames = trial.n_samples // 10
    arm = {"ELB": np.zeros((3, frames)), "WRI": np.ones((3, frames))}
    write_c3d(tmp_path / "new.c3d", arm, trial.fs / 10, dict(zip(trial.ch_names, trial.data[:, :frames * 10], strict=True)),
              trial.fs)
    write_xdf(tmp_path / "new.xdf", [
        xdf_stream("emg", "EMG", trial.fs, 3.0 + np.arange(trial.n_samples) / trial.fs, trial.data.T, trial.ch_names),
        xdf_stream("markers", "Markers", 0, np.array([3.5]), ["start"], channel_format="string")])
    for name, windows in (("new.c3d", len(expected) if frames * 10 == trial.n_samples else None), ("new.xdf", len(expected))):
        got = _predict(model, (tmp_path / name).read_bytes(), name)
        n = min(len(got), len(expected))
        assert windows is None or len(got) == windows, name
        assert list(got["predicted"][:n]) == list(expected["predicted"][:n]), name
        np.testing.assert_allclose(got["confidence"][:n], expected["confidence"][:n], atol=1e-4)


def test_bmelearn_predict_on_a_c3d_file_ends(model, trial, tmp_path):
    """``bmelearn predict`` reads a C3D file in a process of its own (ezc3d may crash on a damaged
    one); the command still ends, with the windows' predictions, instead of waiting on that
    process at exit."""
    import subprocess
    import sys

    pytest.importorskip("ezc3d")
    from bmelearn.serving import save_model
    from tests.io.formats_writers import write_c3d

    save_model(model, tmp_path / "lda.skops")
    write_c3d(tmp_path / "new.c3d", None, trial.fs, dict(zip(trial.ch_names, trial.data, strict=True)), trial.fs)
    done = subprocess.run([sys.executable, "-m", "bmelearn.cli", "predict", str(tmp_path / "lda.skops"),
                           str(tmp_path / "new.c3d")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("new.c3d") == len(_predict(model, _text(trial.data.T, list(trial.ch_names))))
