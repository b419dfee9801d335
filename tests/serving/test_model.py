"""Predicting new recordings with a saved model, checked against its signal pipeline."""

import numpy as np
import pandas as pd
import pytest

from bmelearn.datasets.simulator import simulate
from bmelearn.datasets.threedc import CLASSES
from bmelearn.errors import DataError
from bmelearn.pipeline import MismatchError
from bmelearn.serving import load_model, read_signal
from bmelearn.signals.recording import Recording


@pytest.fixture(scope="module")
def threedc_model(served_runs):
    return load_model(served_runs / "3dc-p1" / "models" / "lda.skops")


def test_3dc_model_recognises_the_gesture_of_each_recording(threedc_model, threedc_file):
    model = threedc_model
    correct, windows = 0, []
    for label in range(11):
        for repetition in range(4):
            path = threedc_file("test", repetition, label)
            table = model.predict({"emg": read_signal(path.read_bytes(), path.name, "emg", 1000.0, model.signal)})
            assert list(table.columns[:5]) == ["window", "start", "end", "predicted", "confidence"]
            assert np.allclose(table.filter(like="p:").sum(axis=1), 1.0)
            windows.append((table["predicted"] == CLASSES[label]).to_numpy())
            correct += table["predicted"].mode()[0] == CLASSES[label]
    # the model saw these recordings (it is trained on both sessions): nearly every one is right
    assert correct >= 42
    assert np.concatenate(windows).mean() > 0.9


def test_columns_are_matched_by_name_and_reordered(threedc_model, threedc_file):
    model = threedc_model
    path = threedc_file()
    plain = model.predict({"emg": read_signal(path.read_bytes(), path.name, "emg", 1000.0, model.signal)})
    rows = np.loadtxt(path, delimiter=",")
    order = np.arange(10)[::-1]
    names = [model.signal.channels("emg")[i] for i in order]
    text = ",".join(names) + "\n" + "\n".join(",".join(f"{v:g}" for v in row[order]) for row in rows)
    shuffled = model.predict({"emg": read_signal(text.encode(), "named.csv", "emg", 1000.0, model.signal)})
    assert (shuffled["predicted"] == plain["predicted"]).all()
    assert np.allclose(shuffled["confidence"], plain["confidence"])


def test_demo_model_takes_both_signals_through_its_preprocessing(demo_runs):
    """The demo model band-passes and notch-filters the EMG and joins accelerometer features:
    on a simulated trial of its own training data it must find the trial's class."""
    model = load_model(demo_runs / "demo" / "models" / "lda.skops")
    data = simulate(n_subjects=3, n_repetitions=2, duration=1.5, seed=0, powerline=0.3)
    for label in ("hand close", "wrist extension"):
        trial = next(r.meta["trial"] for r in data if r.meta["label"] == label)
        streams = {r.modality: r for r in data if r.meta["trial"] == trial}
        table = model.predict(streams)
        assert (table["predicted"] == label).mean() > 0.8


def _emg(model, fs=1000.0, n_channels=10, seconds=1.0, names=None):
    data = np.random.default_rng(0).normal(size=(n_channels, int(fs * seconds)))
    names = names or model.signal.channels("emg")[:n_channels]
    return Recording(data, fs, tuple(names), ("emg",) * n_channels, (), "emg", {"source": "new.csv"})


@pytest.mark.parametrize(("recording", "message"), [
    (lambda model: _emg(model, fs=2000.0), "sampled at 2000 Hz, but the model expects emg at 1000 Hz"),
    (lambda model: _emg(model, seconds=0.1), "shorter than the model's 0.2 s window"),
    (lambda model: _emg(model, names=[f"X{i}" for i in range(10)]), "do not match the model's emg channels"),
])
def test_mismatched_recording_is_refused_naming_the_difference(threedc_model, recording, message):
    model = threedc_model
    with pytest.raises(MismatchError, match=message):
        model.predict({"emg": recording(model)})


def test_mismatched_file_is_refused_naming_the_difference(threedc_model):
    model = threedc_model
    eight = "\n".join(",".join(["1"] * 8) for _ in range(500)).encode()
    with pytest.raises(MismatchError, match="new.txt: 8 channels, but the model expects 10 emg channels"):
        read_signal(eight, "new.txt", "emg", 1000.0, model.signal)
    header = ",".join(f"EMG{i}" for i in range(1, 10)) + ",ACC\n" + "\n".join(",".join(["1"] * 10) for _ in range(500))
    with pytest.raises(DataError, match=r"channels \['EMG10'\] that the model expects are missing \(the file has \['ACC'\]"):
        read_signal(header.encode(), "new.csv", "emg", 1000.0, model.signal)
    with pytest.raises(DataError, match=r"new\.xyz: cannot read \.xyz; upload numeric text .* or EDF/BDF"):
        read_signal(b"0", "new.xyz", "emg", 1000.0, model.signal)
    with pytest.raises(DataError, match=r"new\.edf: not a readable EDF file"):
        read_signal(b"0", "new.edf", "emg", 1000.0, model.signal)
    with pytest.raises(DataError, match="new.txt: not a text file"):
        read_signal(b"\xff\xfe\x00\x81" * 10, "new.txt", "emg", 1000.0, model.signal)


def test_values_that_are_not_numbers_are_refused(threedc_model):
    model = threedc_model
    recording = _emg(model)
    recording.data[3, 100] = np.nan
    with pytest.raises(DataError, match=r"channels \['EMG4'\] hold values that are not finite"):
        model.predict({"emg": recording})


def test_progress_is_reported_in_windows(threedc_model, monkeypatch):
    import bmelearn.serving.model

    monkeypatch.setattr(bmelearn.serving.model, "CHUNK", 10)
    model = threedc_model
    calls = []
    table = model.predict({"emg": _emg(model, seconds=3.0)}, lambda done, total: calls.append((done, total)))
    assert len(table) == 29
    assert calls == [(0, 29), (10, 29), (20, 29), (29, 29)]


def test_model_file_alone_predicts_like_the_card_free_pipeline(threedc_model, threedc_file):
    """The saved file holds the signal pipeline: its features of a recording are the training
    extractor's features of that recording's windows, cut as in training."""
    from bmelearn.signals.recording import RecordingSet
    from bmelearn.signals.windowing import cut_windows

    model = threedc_model
    path = threedc_file()
    recording = read_signal(path.read_bytes(), path.name, "emg", None, model.signal)
    X, starts = model.signal.transform({"emg": recording})
    windows = cut_windows(RecordingSet([recording], [None]), 0.2, 0.1)
    np.testing.assert_array_equal(X, model.signal.extractors["emg"].transform(windows.X))
    np.testing.assert_array_equal(starts, windows.meta["start"])
    assert model.signal.feature_names == model.card()["feature_names"]
    assert len(model.signal.feature_names) == 40  # LS4 (LS, MFL, MSR, WAMP) on 10 channels


def test_a_file_with_the_excluded_channels_loses_them_by_position(simulated, tmp_path):
    """A model trained without a bad channel takes files with or without that channel."""
    from bmelearn.pipeline import SignalPipeline

    emg = next(r for r in simulated if r.modality == "emg")
    pipeline = SignalPipeline.fit({"emg": emg}, [], {"emg": ["EMG3"]}, 0.2, 0.1, False, {"emg": ["MAV"]})
    assert pipeline.channels("emg") == tuple(f"EMG{i}" for i in (1, 2, 4, 5, 6, 7, 8))
    all_columns = "\n".join(",".join(repr(float(v)) for v in row) for row in emg.data.T).encode()
    kept = "\n".join(",".join(repr(float(v)) for v in row) for row in emg.data[[0, 1, 3, 4, 5, 6, 7]].T).encode()
    named = (",".join(emg.ch_names) + "\n").encode() + all_columns  # with a header, dropped by name
    np.testing.assert_array_equal(read_signal(named, "named.csv", "emg", None, pipeline).data,
                                  read_signal(kept, "kept.csv", "emg", None, pipeline).data)
    a = read_signal(all_columns, "all.csv", "emg", None, pipeline)
    b = read_signal(kept, "kept.csv", "emg", None, pipeline)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.ch_names == pipeline.channels("emg")
    np.testing.assert_allclose(pipeline.transform({"emg": emg})[0], pipeline.transform({"emg": a})[0], rtol=1e-12)


def test_predictions_are_the_estimators_decisions_at_its_threshold(simulated):
    """A model whose threshold is not 0.5 (an operating point) predicts in service what it
    predicts in validation, not the most probable class."""
    from sklearn.model_selection import FixedThresholdClassifier

    from bmelearn.models import make_model
    from bmelearn.pipeline import SignalPipeline
    from bmelearn.serving import DeployableModel

    emg = [r for r in simulated.select(labels=["rest", "hand close"]) if r.modality == "emg"]
    pipeline = SignalPipeline.fit({"emg": emg[0]}, [], {}, 0.2, 0.1, False, {"emg": ["WL"]})
    parts = [pipeline.transform({"emg": r}) for r in emg]
    X = np.vstack([x for x, _ in parts])
    y = np.concatenate([[r.meta["label"]] * len(x) for r, (x, _) in zip(emg, parts, strict=True)])
    estimator = FixedThresholdClassifier(make_model("logreg"), threshold=0.95, pos_label="rest").fit(X, y)
    model = DeployableModel(pipeline, estimator, ["rest", "hand close"], {})
    table = pd.concat([model.predict({"emg": r}) for r in emg], ignore_index=True)
    assert list(table["predicted"]) == list(estimator.predict(X))
    below = (table["p:rest"] > 0.5) & (table["p:rest"] < 0.95)
    assert below.any() and (table.loc[below, "predicted"] == "hand close").all()  # argmax would say rest


def test_files_name_what_is_wrong(threedc_model):
    model = threedc_model
    for text in (b"  \n", "\ufeff".encode(), b"("):
        with pytest.raises(DataError, match="empty.txt: the file is empty"):
            read_signal(text, "empty.txt", "emg", None, model.signal)
    generic = ",".join(f"CH{i}" for i in range(1, 11)) + "\n" + "\n".join(",".join(["1"] * 10) for _ in range(300))
    with pytest.raises(DataError, match=r"generic.csv: the header \['CH1', .* names none of the channels"):
        read_signal(generic.encode(), "generic.csv", "emg", None, model.signal)  # not read by position


def test_predict_command_takes_a_rate_per_signal_and_names_unknown_signals(demo_runs, tmp_path):
    """The demo model takes EMG at 1000 Hz and acceleration at 50 Hz (simulated recordings)."""
    from typer.testing import CliRunner

    from bmelearn.cli import app

    trial = simulate(n_subjects=1, n_repetitions=1, duration=1.5, seed=7).select(labels="hand close")
    for rec in trial:
        if rec.meta["trial"] == trial[0].meta["trial"]:
            np.savetxt(tmp_path / f"{rec.modality}.csv", rec.data.T, delimiter=",")
    model = str(demo_runs / "demo" / "models" / "lda.skops")
    files = [f"emg={tmp_path / 'emg.csv'}", f"acc={tmp_path / 'acc.csv'}"]
    ok = CliRunner().invoke(app, ["predict", model, *files, "--fs", "emg=1000", "--fs", "acc=50",
                                  "--out", str(tmp_path / "out" / "p.csv")])
    assert ok.exit_code == 0, ok.output
    assert len(pd.read_csv(tmp_path / "out" / "p.csv")) == 14
    wrong = CliRunner().invoke(app, ["predict", model, *files, "--fs", "1000"])
    assert wrong.exit_code == 2 and "acc.csv: sampled at 1000 Hz, but the model expects acc at 50 Hz" in wrong.output
    unknown = CliRunner().invoke(app, ["predict", model, f"imu={tmp_path / 'acc.csv'}", f"emg={tmp_path / 'emg.csv'}"])
    assert unknown.exit_code == 2 and "the model takes ['acc', 'emg'] signals, not 'imu'" in unknown.output


def test_saving_and_loading_a_model_leave_pytorch_unimported_and_its_adapter_importable(demo_runs, tmp_path):
    """skops is imported without scikit-learn's array-API adapter of PyTorch (which imports
    PyTorch, 1 s); the model loaded and saved again is whole, and the adapter imports afterwards."""
    import subprocess
    import sys

    pytest.importorskip("torch")
    script = f"""
import sys
import numpy as np
from bmelearn.serving import load_model, save_model
model = load_model(r"{demo_runs / 'demo' / 'models' / 'lda.skops'}")
save_model(model, r"{tmp_path / 'again.skops'}")
again = load_model(r"{tmp_path / 'again.skops'}")
X = np.random.default_rng(0).standard_normal((50, model.estimator.n_features_in_))
assert (again.estimator.predict(X) == model.estimator.predict(X)).all()
print("torch" in sys.modules)
import sklearn.externals.array_api_compat.torch
print("torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]
