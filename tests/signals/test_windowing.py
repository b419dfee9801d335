import numpy as np
import pandas as pd
import pytest

from bmelearn.errors import ConfigError, DataError
from bmelearn.signals.recording import META_KEYS, Recording, RecordingSet
from bmelearn.signals.windowing import cut_windows, window_meta, window_starts


def _trial(trial, n, fs=1000.0, modality="emg", n_ch=2, label="a", rep=0):
    data = np.tile(np.arange(n, dtype=float), (n_ch, 1)) + 1000 * np.arange(n_ch)[:, None]
    meta = {"subject": 1, "session": "s1", "repetition": rep, "label": label, "trial": trial}
    return Recording(data, fs, [f"c{i}" for i in range(n_ch)], ["emg"] * n_ch, modality=modality, meta=meta)


def test_window_starts_fit_inside_duration():
    np.testing.assert_allclose(window_starts(1.0, 0.2, 0.1), np.arange(9) * 0.1)
    assert len(window_starts(0.19, 0.2, 0.1)) == 0


def test_windows_hold_the_right_samples_and_never_straddle_trials():
    rs = RecordingSet([_trial("t1", 1000, rep=0), _trial("t2", 450, label="b", rep=1)])
    w = cut_windows(rs, 0.2, 0.1)
    assert w.X.shape == (9 + 3, 2, 200)
    # window k of trial 1 starts at sample 100 k; channel 1 is offset by 1000
    np.testing.assert_array_equal(w.X[3, 0], np.arange(300, 500))
    np.testing.assert_array_equal(w.X[3, 1], np.arange(1300, 1500))
    assert list(w.meta["trial"]) == ["t1"] * 9 + ["t2"] * 3
    assert list(w.y[-3:]) == ["b"] * 3
    np.testing.assert_allclose(w.meta["start"][:3], [0.0, 0.1, 0.2])
    # the last window of trial 2 ends inside trial 2 (sample 400 + 200 <= 450)
    np.testing.assert_array_equal(w.X[-1, 0], np.arange(200, 400))


def test_modalities_share_a_time_base():
    emg = _trial("t1", 2000, fs=1000.0)
    imu = _trial("t1", 100, fs=50.0, modality="imu", n_ch=4)
    w = cut_windows(RecordingSet([emg, imu]), 0.2, 0.1)
    assert w.arrays["emg"].shape == (19, 2, 200)
    assert w.arrays["imu"].shape == (19, 4, 10)
    # window 5 starts at 0.5 s: EMG sample 500, IMU sample 25
    assert w.arrays["emg"][5, 0, 0] == 500
    assert w.arrays["imu"][5, 0, 0] == 25


def test_short_trials_are_skipped_with_a_warning():
    rs = RecordingSet([_trial("t1", 1000), _trial("short", 150)])
    with pytest.warns(UserWarning, match="short"):
        w = cut_windows(rs, 0.2, 0.1)
    assert set(w.meta["trial"]) == {"t1"}


def test_bad_window_parameters_are_clear_errors():
    rs = RecordingSet([_trial("t1", 1000)])
    with pytest.raises(ConfigError, match="positive"):
        cut_windows(rs, 0.0, 0.1)
    with pytest.raises(ConfigError, match="longer window"):
        cut_windows(rs, 0.001, 0.1)
    with pytest.raises(DataError, match="shorter window"):
        with pytest.warns(UserWarning):
            cut_windows(rs, 2.0, 0.1)


def test_real_3dc_windows(threedc_subject1):
    w = cut_windows(threedc_subject1, 0.2, 0.1)
    assert w.modalities == ["emg", "imu"]
    assert w.arrays["emg"].shape[1:] == (10, 200)
    assert w.arrays["imu"].shape[1:] == (4, 10)
    assert set(w.meta["session"]) == {"train", "test"}
    assert w.meta.groupby("trial")["label"].nunique().max() == 1
    # ~5 s gestures: about 48 windows per trial
    assert 40 <= w.meta.groupby("trial").size().median() <= 50


def test_recording_set_filters(threedc_subject1, simulated):
    emg = threedc_subject1.select(session="test", modalities="emg")
    assert set(emg.meta["session"]) == {"test"} and emg.modalities == ["emg"]
    assert len(emg) == 44
    picked = simulated.select(subjects=[1, 3], session="session2")
    assert set(picked.meta["subject"]) == {1, 3} and set(picked.meta["session"]) == {"session2"}
    with pytest.raises(DataError, match="Available: subjects"):
        simulated.select(subjects=[42])


@pytest.mark.parametrize("subjects", [[1, 2], ["S1", "S2"], [None, None], [None, "S2"], [1, "S2"], [np.int64(1), 2]])
def test_window_meta_types_each_key_as_the_trials_values(subjects):
    """The windows' metadata, built for all trials at once, has the values and column types of
    one table per trial put together (pandas' own typing of each trial's values)."""
    trials = []
    for i, subject in enumerate(subjects):
        rec = Recording(np.zeros((1, 50 + 10 * i)), 100.0, ["C1"], ["emg"],
                        meta={"subject": subject, "session": "a", "repetition": i, "label": "x", "trial": i})
        trials.append(({"emg": rec}, np.arange(2 + i) * 0.1))
    expected = pd.concat([pd.DataFrame({**{k: streams["emg"].meta.get(k) for k in META_KEYS}, "start": starts,
                                        "window": np.arange(len(starts))}) for streams, starts in trials],
                         ignore_index=True)
    got = window_meta(trials)
    assert list(got.columns) == list(expected.columns)
    assert (got.dtypes == expected.dtypes).all(), (got.dtypes, expected.dtypes)
    assert got.astype(str).equals(expected.astype(str))
    assert got["window"].tolist() == [0, 1, 0, 1, 2]
