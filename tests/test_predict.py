"""Predicting new recordings with a saved model, checked against its card."""

import numpy as np
import pytest

from bmelearn.datasets.simulator import simulate
from bmelearn.datasets.threedc import CLASSES
from bmelearn.errors import DataError
from bmelearn.predict import MismatchError, predict_recording, read_signal
from bmelearn.recording import Recording
from bmelearn.serialization import load_model


@pytest.fixture(scope="module")
def threedc_model(served_runs):
    return load_model(served_runs / "3dc-p1" / "models" / "lda.skops")


def test_3dc_model_recognises_the_gesture_of_each_recording(threedc_model, threedc_file):
    model, card = threedc_model
    correct, windows = 0, []
    for label in range(11):
        for repetition in range(4):
            path = threedc_file("test", repetition, label)
            table = predict_recording(model, card, {"emg": read_signal(path.read_bytes(), path.name, "emg", 1000.0, card)})
            assert list(table.columns[:5]) == ["window", "start", "end", "predicted", "confidence"]
            assert np.allclose(table.filter(like="p:").sum(axis=1), 1.0)
            windows.append((table["predicted"] == CLASSES[label]).to_numpy())
            correct += table["predicted"].mode()[0] == CLASSES[label]
    # the model saw these recordings (it is trained on both sessions): nearly every one is right
    assert correct >= 42
    assert np.concatenate(windows).mean() > 0.9


def test_columns_are_matched_by_name_and_reordered(threedc_model, threedc_file):
    model, card = threedc_model
    path = threedc_file()
    plain = predict_recording(model, card, {"emg": read_signal(path.read_bytes(), path.name, "emg", 1000.0, card)})
    rows = np.loadtxt(path, delimiter=",")
    order = np.arange(10)[::-1]
    names = [card["signals"]["emg"]["channels"][i] for i in order]
    text = ",".join(names) + "\n" + "\n".join(",".join(f"{v:g}" for v in row[order]) for row in rows)
    shuffled = predict_recording(model, card, {"emg": read_signal(text.encode(), "named.csv", "emg", 1000.0, card)})
    assert (shuffled["predicted"] == plain["predicted"]).all()
    assert np.allclose(shuffled["confidence"], plain["confidence"])


def test_demo_model_takes_both_signals_through_its_preprocessing(demo_runs):
    """The demo model band-passes and notch-filters the EMG and joins accelerometer features:
    on a simulated trial of its own training data it must find the trial's class."""
    model, card = load_model(demo_runs / "demo" / "models" / "lda.skops")
    data = simulate(n_subjects=3, n_repetitions=2, duration=1.5, seed=0, powerline=0.3)
    for label in ("hand close", "wrist extension"):
        trial = next(r.meta["trial"] for r in data if r.meta["label"] == label)
        streams = {r.modality: r for r in data if r.meta["trial"] == trial}
        table = predict_recording(model, card, streams)
        assert (table["predicted"] == label).mean() > 0.8


def _emg(card, fs=1000.0, n_channels=10, seconds=1.0, names=None):
    data = np.random.default_rng(0).normal(size=(n_channels, int(fs * seconds)))
    names = names or card["signals"]["emg"]["channels"][:n_channels]
    return Recording(data, fs, tuple(names), ("emg",) * n_channels, (), "emg", {"source": "new.csv"})


@pytest.mark.parametrize(("recording", "message"), [
    (lambda card: _emg(card, fs=2000.0), "sampled at 2000 Hz, but the model expects emg at 1000 Hz"),
    (lambda card: _emg(card, seconds=0.1), "shorter than the model's 0.2 s window"),
    (lambda card: _emg(card, names=[f"X{i}" for i in range(10)]), "do not match the model's emg channels"),
])
def test_mismatched_recording_is_refused_naming_the_difference(threedc_model, recording, message):
    model, card = threedc_model
    with pytest.raises(MismatchError, match=message):
        predict_recording(model, card, {"emg": recording(card)})


def test_mismatched_file_is_refused_naming_the_difference(threedc_model):
    _, card = threedc_model
    eight = "\n".join(",".join(["1"] * 8) for _ in range(500)).encode()
    with pytest.raises(MismatchError, match="new.txt: 8 channels, but the model expects 10 emg channels"):
        read_signal(eight, "new.txt", "emg", 1000.0, card)
    header = ",".join(f"EMG{i}" for i in range(1, 10)) + ",ACC\n" + "\n".join(",".join(["1"] * 10) for _ in range(500))
    with pytest.raises(MismatchError, match=r"channels \['EMG10'\] that the model expects are missing \(the file has \['ACC'\]"):
        read_signal(header.encode(), "new.csv", "emg", 1000.0, card)
    with pytest.raises(DataError, match="new.edf: cannot read .edf"):
        read_signal(b"0", "new.edf", "emg", 1000.0, card)
    with pytest.raises(DataError, match="new.txt: not a text file"):
        read_signal(b"\xff\xfe\x00\x81" * 10, "new.txt", "emg", 1000.0, card)


def test_values_that_are_not_numbers_are_refused(threedc_model):
    model, card = threedc_model
    recording = _emg(card)
    recording.data[3, 100] = np.nan
    with pytest.raises(DataError, match=r"channels \['EMG4'\] hold values that are not finite"):
        predict_recording(model, card, {"emg": recording})


def test_progress_is_reported_in_windows(threedc_model, monkeypatch):
    import bmelearn.predict

    monkeypatch.setattr(bmelearn.predict, "CHUNK", 10)
    model, card = threedc_model
    calls = []
    table = predict_recording(model, card, {"emg": _emg(card, seconds=3.0)}, lambda done, total: calls.append((done, total)))
    assert len(table) == 29
    assert calls == [(0, 29), (10, 29), (20, 29), (29, 29)]
