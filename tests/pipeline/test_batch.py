"""Features one trial at a time: equal to all windows at once, lazy .npy recordings that travel
to workers by path, the `files` dataset, and a feature cache keyed per trial."""

import json
import os
import pickle
import sys

import numpy as np
import pandas as pd
import pytest

from bmelearn.compute.backends import Execution, running
from bmelearn.datasets import load_dataset
from bmelearn.errors import DataError
from bmelearn.features.extractor import extract_modalities
from bmelearn.pipeline import featurize, fit_pipeline
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run
from bmelearn.serving import load_model
from bmelearn.signals.preprocessing import preprocess
from bmelearn.signals.recording import MappedFile, RecordingSet
from bmelearn.signals.windowing import cut_windows

STEPS = [{"bandpass": {"low": 20, "high": 450}}, {"notch": {"freq": 50}}]
FEATURES = {"emg": ["HTD", "RMS"], "acc": ["MEAN", "VAR"]}


def _all_at_once(recordings, length=0.2, step=0.1):
    windows = cut_windows(preprocess(recordings, STEPS), length, step)
    return windows, *extract_modalities(windows.arrays, windows.fs, windows.ch_names, FEATURES)[:2]


def test_per_trial_features_equal_all_windows_at_once(simulated):
    windows, X, names = _all_at_once(simulated)
    pipeline = fit_pipeline(simulated, STEPS, {}, FEATURES, None, 0.2, 0.1, False)
    done = []
    out = featurize(simulated, pipeline, keep=True, progress=lambda i, n: done.append((i, n)))
    np.testing.assert_array_equal(out.X, X)
    assert pipeline.feature_names == names
    pd.testing.assert_frame_equal(out.windows.meta, windows.meta)
    for m in windows.modalities:
        np.testing.assert_array_equal(out.windows.arrays[m], windows.arrays[m])
    n_trials = len(simulated.trials())
    from bmelearn.pipeline.batch import TRIALS_PER_UNIT

    counts = [0] + [i for i, _ in done]  # the trials done, as each unit of a few trials finishes
    assert done[-1] == (n_trials, n_trials) and all(0 < b - a <= TRIALS_PER_UNIT for a, b in zip(counts, counts[1:], strict=False))
    assert out.windows.fs == windows.fs and out.windows.ch_names == windows.ch_names
    lean = featurize(simulated, pipeline)  # without keep: the same features, no samples held
    np.testing.assert_array_equal(lean.X, X)
    assert lean.windows.arrays == {}
    with pytest.raises(DataError, match="not kept"):
        _ = lean.windows.X


def _write_npy(recordings, root):
    """Each EMG recording as S{subject}/{session}/{label}_{repetition}.npy (channels × samples, float32)."""
    for rec in recordings.select(modalities="emg"):
        m = rec.meta
        path = root / f"S{m['subject']}" / m["session"] / f"{m['label']}_{m['repetition']}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, rec.data.astype(np.float32))


FILES = {"pattern": "S{subject}/{session}/{label}_{repetition}.npy", "fs": 1000.0,
         "ch_names": [f"EMG{i + 1}" for i in range(8)]}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts open files in /proc")
def test_npy_recordings_are_read_lazily_and_travel_to_workers_by_path(simulated, tmp_path):
    _write_npy(simulated, tmp_path)
    open_files = len(os.listdir("/proc/self/fd"))
    lazy = load_dataset("files", path=str(tmp_path), classes=simulated.classes, **FILES)
    assert len(lazy) == len(simulated.select(modalities="emg")) == 84
    assert len(os.listdir("/proc/self/fd")) <= open_files + 1  # no file held open per recording
    assert all(isinstance(r.data, MappedFile) for r in lazy)  # nothing read, no file held open
    assert lazy[0].n_channels == 8 and lazy[0].n_samples == 1500
    assert len(pickle.dumps(lazy[0])) < 2000 < lazy[0].opened().data.nbytes  # the file's path, not its samples
    again = pickle.loads(pickle.dumps(lazy[0]))
    np.testing.assert_array_equal(again.opened().data, np.load(lazy[0].meta["source"]))
    # the same samples held in memory give the same features, whichever backend reads the files
    in_memory = RecordingSet([r.with_data(np.asarray(r.opened().data, dtype=np.float64)) for r in lazy], lazy.classes)
    features = {"emg": FEATURES["emg"]}
    pipeline = fit_pipeline(lazy, STEPS, {}, features, None, 0.2, 0.1, False)
    expected = featurize(in_memory, pipeline).X
    with running(Execution("processes", 2)):
        np.testing.assert_array_equal(featurize(lazy, pipeline).X, expected)
    raw = fit_pipeline(lazy, [], {}, features, None, 0.2, 0.1, False)  # no preprocessing: windows read from the map
    np.testing.assert_array_equal(featurize(lazy, raw).X, featurize(in_memory, raw).X)


def test_files_dataset_errors_name_the_fault(simulated, tmp_path):
    _write_npy(simulated, tmp_path)
    with pytest.raises(DataError, match="no {label} field"):
        load_dataset("files", path=str(tmp_path), **(FILES | {"pattern": "S{subject}/{session}/{x}_{repetition}.npy"}))
    with pytest.raises(DataError, match=r"8 channel columns, expected 2"):
        load_dataset("files", path=str(tmp_path), **(FILES | {"ch_names": ["A", "B"]}))
    bad = tmp_path / "S9" / "session1" / "rest_0.npy"
    bad.parent.mkdir(parents=True)
    np.save(bad, np.zeros((8, 100), dtype=np.int16))
    with pytest.raises(DataError, match=r"S9/session1/rest_0.npy: a recording is a 2-D float array"):
        load_dataset("files", path=str(tmp_path), **FILES)


def test_a_flat_channel_in_one_mapped_file_is_excluded_everywhere(simulated, tmp_path):
    _write_npy(simulated, tmp_path)
    victim = next((tmp_path / "S1" / "session1").glob("*.npy"))
    data = np.load(victim)
    data[2] = 0.0
    np.save(victim, data)
    config = load_config(None, [f"dataset={{name: files, path: {tmp_path}}}", *[f"dataset.{k}={v}" for k, v in FILES.items()],
                                f"dataset.classes={simulated.classes}", "features=[HTD]", "models=[lda]",
                                "protocols=[cross_session]", "evaluation.n_boot=100", "execution.backend=sequential"])
    result = run(config, tmp_path / "out" / "run")
    notes = json.loads((result.folder / "run.json").read_text())["notes"]
    assert any(n.startswith("channel EMG3 (emg) is flat in") and victim.name in n for n in notes)
    model = load_model(result.folder / "models" / "lda.skops")
    card = json.loads((result.folder / "models" / "lda.json").read_text())
    assert card == json.loads(json.dumps(model.card(), default=str))  # the card is the model's, written as JSON
    assert card["signals"]["emg"]["channels"] == [f"EMG{i}" for i in (1, 2, 4, 5, 6, 7, 8)]
    assert card["signals"]["emg"]["excluded"] == ["EMG3"]
    assert len(card["feature_names"]) == 4 * 7 and not any("EMG3" in n for n in card["feature_names"])
    assert result.summary["cross_session"]["lda"]["accuracy"]["mean"] > 0.8


def test_an_experiment_on_npy_files_caches_features_by_trials(simulated, tmp_path):
    _write_npy(simulated, tmp_path / "data")
    base = [f"dataset={{name: files, path: {tmp_path / 'data'}}}", *[f"dataset.{k}={v}" for k, v in FILES.items()],
            f"dataset.classes={simulated.classes}", "preprocessing=[{bandpass: {low: 20, high: 450}}]",
            "features=[HTD]", "protocols=[cross_session]", "evaluation.n_boot=100", "execution.backend=sequential"]
    first = run(load_config(None, [*base, "models=[lda]"]), tmp_path / "a")
    n_trials = len(simulated.trials())
    sessions = {(r.meta["subject"], r.meta["session"]) for r in simulated}
    n_entries = len(list((tmp_path / ".cache" / "features").glob("*.npz")))
    assert len(sessions) <= n_entries < n_trials  # a few trials of one session each
    accuracy = first.summary["cross_session"]["lda"]["accuracy"]["mean"]
    assert accuracy > 0.8  # the simulated gestures are separable
    stages = []
    run(load_config(None, [*base, "models=[knn]"]), tmp_path / "b", lambda s, d, t: stages.append(s))
    assert f"features: {n_trials} of {n_trials} trials from the cache" in stages
    assert len(list((tmp_path / ".cache" / "features").glob("*.npz"))) == n_entries


def test_features_cached_without_log_are_not_reused_with_it(simulated, tmp_path):
    """The feature cache holds the features of a pipeline without ``log``; the same pipeline with
    ``log`` computes its own (the logged columns), and without ``log`` reads them back."""
    from bmelearn.pipeline import SignalPipeline

    small = simulated.select(subjects=[simulated[0].meta["subject"]])
    probe = next(iter(small.trials().values()))
    n_trials = len(small.trials())
    plain = SignalPipeline.fit(probe, STEPS, {}, 0.2, 0.1, False, FEATURES)
    logged = SignalPipeline.fit(probe, STEPS, {}, 0.2, 0.1, False, FEATURES, log=["MAV", "WL"])
    first = featurize(small, plain, cache=tmp_path)
    with_log = featurize(small, logged, cache=tmp_path)
    again = featurize(small, plain, cache=tmp_path)
    assert (first.cached, with_log.cached, again.cached) == (0, 0, n_trials)
    is_logged = np.array([n.split(":")[1].split("_")[0] in ("MAV", "WL") for n in plain.feature_names])
    assert is_logged.sum() == 2 * 8
    np.testing.assert_array_equal(with_log.X[:, is_logged], np.log(first.X[:, is_logged]))
    np.testing.assert_array_equal(with_log.X[:, ~is_logged], first.X[:, ~is_logged])
    np.testing.assert_array_equal(again.X, first.X)


def test_a_run_with_logged_features_saves_a_model_that_logs_them(tmp_path):
    """``features: {emg: [HTD], log: [MAV, WL]}`` end to end on simulated data: the saved model
    logs them after loading, as the pipeline of the run does, and the methods text says so."""
    from bmelearn.serving import save_model

    config = load_config(None, ["dataset.n_subjects=2", "dataset.n_repetitions=2", "dataset.duration=1.5",
                                "features={emg: [HTD], log: [MAV, WL]}", "models=[lda]", "protocols=[cross_session]",
                                "evaluation.n_boot=100", "execution.backend=sequential"])
    result = run(config, tmp_path / "log")
    assert result.summary["cross_session"]["lda"]["accuracy"]["mean"] > 0.8
    model = load_model(result.folder / "models" / "lda.skops")
    assert model.card()["feature_log"] == {"emg": ["MAV", "WL"]}
    recording = load_dataset("simulator", n_subjects=1, n_repetitions=1, duration=1.5).select(modalities="emg")[0]
    X, _ = model.signal.transform({"emg": recording})
    plain = fit_pipeline(RecordingSet([recording]), config.preprocessing, model.signal.bads, {"emg": ["HTD"]}, None, 0.2,
                         0.1, False)
    Y, _ = plain.transform({"emg": recording})
    is_logged = np.array([n.split("_")[0] in ("MAV", "WL") for n in plain.feature_names])
    np.testing.assert_allclose(X[:, is_logged], np.log(Y[:, is_logged]), rtol=1e-10)
    np.testing.assert_allclose(X[:, ~is_logged], Y[:, ~is_logged])
    save_model(model, tmp_path / "again.skops")
    pd.testing.assert_frame_equal(load_model(tmp_path / "again.skops").predict({"emg": recording}),
                                  model.predict({"emg": recording}))
    report = (result.folder / "report.html").read_text()
    assert "The natural logarithm was taken of mean absolute value (MAV) and waveform length (WL)." in report
