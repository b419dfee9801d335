"""The fitted signal pipeline: a recording larger than memory goes through it a block of
windows at a time, with the features of all windows at once; bad recordings are named."""

import numpy as np
import pytest

import bmelearn.pipeline.signal
from bmelearn.errors import ConfigError, DataError
from bmelearn.features import FeatureExtractor
from bmelearn.io import map_npy
from bmelearn.pipeline import MismatchError, SignalPipeline
from bmelearn.signals.recording import Recording, RecordingSet
from bmelearn.signals.windowing import cut_windows

NAMES = tuple(f"EMG{i}" for i in range(6))


@pytest.fixture
def recording(tmp_path):
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((6, 10_037)) * np.linspace(0.5, 2, 10_037)).astype(np.float32)
    np.save(tmp_path / "hd.npy", data)
    return tmp_path / "hd.npy", data


def test_mapped_recording_in_blocks_equals_all_windows_at_once(recording, monkeypatch):
    path, data = recording
    signal = map_npy(path)
    assert isinstance(signal, np.memmap)
    fs, length, step = 2000.0, 0.2, 0.05
    mapped = Recording(signal, fs, NAMES, ("emg",) * 6, (), "emg", {"trial": "t", "label": "a"})
    pipeline = SignalPipeline.fit({"emg": mapped}, [], {}, length, step, False, {"emg": ["HTD", "RMS", "AR"]})
    blocks = []
    real = FeatureExtractor.transform

    def counting(self, X):
        blocks.append(len(X))
        return real(self, X)

    monkeypatch.setattr(bmelearn.pipeline.signal, "BLOCK_BYTES", 8 * 6 * 400 * 7)  # 7 windows a block
    monkeypatch.setattr(FeatureExtractor, "transform", counting)
    streamed, starts = pipeline.transform({"emg": mapped})
    assert blocks[:2] == [7, 7] and len(blocks) == -(-97 // 7)
    monkeypatch.undo()
    rec = Recording(data, fs, NAMES, ("emg",) * 6, (), "emg", {"trial": "t", "label": "a"})
    windows = cut_windows(RecordingSet([rec]), length, step)
    reference = FeatureExtractor(["HTD", "RMS", "AR"], fs=fs, ch_names=NAMES).fit(windows.X)
    assert streamed.shape == (97, 6 * 9)
    np.testing.assert_allclose(streamed, reference.transform(windows.X), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(starts, windows.meta["start"])
    assert pipeline.feature_names == list(reference.get_feature_names_out())


def test_raw_window_output_is_the_windows_as_float64(recording):
    path, data = recording
    rec = Recording(data, 2000.0, NAMES, ("emg",) * 6, (), "emg", {"trial": "t", "label": "a"})
    pipeline = SignalPipeline.fit({"emg": rec}, [{"highpass": {"cutoff": 20}}], {"emg": ["EMG2"]}, 0.2, 0.1, False,
                                  {"emg": ["MAV"]}).with_output("windows")
    windows, starts = pipeline.transform({"emg": rec})
    assert windows.shape == (len(starts), 5, 400) and windows.dtype == np.float64
    filtered = pipeline.prepare({"emg": rec})["emg"]
    assert filtered.ch_names == ("EMG0", "EMG1", "EMG3", "EMG4", "EMG5")
    np.testing.assert_array_equal(windows[3], filtered.data[:, 600:1000])
    assert pipeline.describe()["input"] == "raw emg windows"
    assert pipeline.describe()["signals"]["emg"]["excluded"] == ["EMG2"]


def test_bad_recordings_are_named(tmp_path, recording):
    np.save(tmp_path / "ints.npy", np.zeros((3, 100), dtype=np.int16))
    with pytest.raises(DataError, match="ints.npy: a recording is a 2-D float array"):
        map_npy(tmp_path / "ints.npy")
    (tmp_path / "text.npy").write_text("not numpy")
    with pytest.raises(DataError, match="text.npy: not a .npy file; it does not start with NumPy.s .npy header"):
        map_npy(tmp_path / "text.npy")
    _, data = recording
    rec = Recording(data, 1000.0, NAMES, ("emg",) * 6, (), "emg", {"source": "short.npy"})
    pipeline = SignalPipeline.fit({"emg": rec}, [], {}, 0.2, 0.1, False, {"emg": ["MAV"]})
    with pytest.raises(MismatchError, match="short.npy: 0.100 s long, shorter than the model's 0.2 s window"):
        pipeline.check({"emg": Recording(data[:, :100], 1000.0, NAMES, ("emg",) * 6, (), "emg", {"source": "short.npy"})})
    with pytest.raises(ConfigError, match=r"preprocessing\.0: unknown step 'smooth'; choose from \['bandpass'"):
        SignalPipeline.fit({"emg": rec}, [{"smooth": {}}], {}, 0.2, 0.1, False, {"emg": ["MAV"]})


def _two_signals(emg_seconds=1.5, acc_seconds=1.5):
    emg = Recording(np.random.default_rng(1).normal(size=(3, int(1000 * emg_seconds))), 1000.0, ("E1", "E2", "E3"),
                    ("emg",) * 3, (), "emg", {"source": "emg.csv"})
    acc = Recording(np.random.default_rng(2).normal(size=(2, int(50 * acc_seconds))), 50.0, ("AX", "AY"), ("acc",) * 2,
                    (), "acc", {"source": "acc.csv"})
    return {"emg": emg, "acc": acc}


def test_a_model_on_raw_windows_takes_only_their_signal():
    streams = _two_signals()
    pipeline = SignalPipeline.fit(streams, [], {}, 0.2, 0.1, False, {"emg": ["MAV"], "acc": ["MEAN"]})
    raw = pipeline.with_output("windows")
    assert list(raw.inputs) == ["emg"] and raw.extractors == {} and raw.describe()["features"] == {}
    raw.check({"emg": streams["emg"]})  # no accelerometer needed
    windows, starts = raw.transform({"emg": streams["emg"]})
    assert windows.shape == (14, 3, 200) and len(starts) == 14
    with pytest.raises(MismatchError, match=r"the model also needs the \['acc'\] signal"):
        pipeline.check({"emg": streams["emg"]})


def test_signals_of_different_durations_and_whole_trials_of_another_length_are_refused():
    pipeline = SignalPipeline.fit(_two_signals(), [], {}, 0.2, 0.1, False, {"emg": ["MAV"], "acc": ["MEAN"]})
    with pytest.raises(MismatchError, match=r"the signals last emg 1.500 s, acc 0.300 s; send the same stretch"):
        pipeline.check(_two_signals(acc_seconds=0.3))
    whole = SignalPipeline.fit(_two_signals(1.0, 0.98), [], {}, 0.2, 0.1, True, {"emg": ["MAV"], "acc": ["MEAN"]})
    whole.check(_two_signals(1.0, 0.98))  # the acc trial is a few ms shorter than the EMG: the same trial
    with pytest.raises(MismatchError, match=r"emg.csv: 1600 emg samples, but the model classifies whole trials of "
                                            r"1000 samples \(1 s\)"):
        whole.check(_two_signals(1.6, 0.98))


def test_logged_features_reach_the_extractors_of_their_modality_and_change_the_key():
    """``log`` names features of any modality: each extractor logs those it computes, and the
    pipeline's cache key and description change with it (the column names do not)."""
    streams = _two_signals()
    features = {"emg": ["HTD"], "acc": ["MAV", "MEAN"]}
    plain = SignalPipeline.fit(streams, [], {}, 0.2, 0.1, False, features)
    logged = SignalPipeline.fit(streams, [], {}, 0.2, 0.1, False, features, log=["MAV", "WL"])
    assert logged.extractors["emg"].log == ["MAV", "WL"] and logged.extractors["acc"].log == ["MAV"]
    assert logged.feature_names == plain.feature_names
    assert logged.key() != plain.key()
    assert logged.describe()["feature_log"] == {"emg": ["MAV", "WL"], "acc": ["MAV"]}
    assert plain.describe()["feature_log"] == {}
    X, _ = logged.transform(streams)
    Y, _ = plain.transform(streams)
    is_logged = np.array([n.split(":")[1].split("_")[0] in ("MAV", "WL") for n in plain.feature_names])
    np.testing.assert_array_equal(X[:, is_logged], np.log(Y[:, is_logged]))
    np.testing.assert_array_equal(X[:, ~is_logged], Y[:, ~is_logged])
