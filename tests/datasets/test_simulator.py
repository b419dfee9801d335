"""Tests of the built-in simulated EMG + accelerometer gesture dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import signal
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from bmelearn.datasets.simulator import CLASSES, simulate
from bmelearn.errors import ConfigError
from bmelearn.signals.recording import RecordingSet
from bmelearn.signals.windowing import cut_windows

ACTIVE = [c for c in CLASSES if c != "rest"]


@pytest.fixture(scope="module")
def rs() -> RecordingSet:
    return simulate()


def small(**kwargs) -> RecordingSet:
    args = dict(n_subjects=1, n_sessions=1, n_repetitions=1, duration=2.0) | kwargs
    return simulate(**args)


def emg_of(rs: RecordingSet, label: str, **select) -> np.ndarray:
    """EMG data of every trial of one gesture, stacked: (n_trials, n_channels, n_samples)."""
    return np.stack([r.data for r in rs.select(modalities="emg", labels=label, **select)])


def held(x: np.ndarray, fs: float = 1000.0, margin: float = 0.5) -> np.ndarray:
    """The part of each trial where the gesture is surely held (drop `margin` s at each end)."""
    m = int(margin * fs)
    return x[..., m:-m]


# --- structure -------------------------------------------------------------------------------


def test_classes():
    assert 6 <= len(CLASSES) <= 7
    assert len(set(CLASSES)) == len(CLASSES)
    assert "rest" in CLASSES
    assert all(c == c.lower() and c.replace(" ", "").isalpha() for c in CLASSES)


def test_default_structure(rs):
    assert isinstance(rs, RecordingSet)
    assert rs.name == "simulator"
    assert rs.classes == CLASSES
    assert rs.modalities == ["emg", "acc"]
    assert rs.subjects == [1, 2, 3, 4, 5]
    assert rs.sessions == ["session1", "session2"]
    n_trials = 5 * 2 * 3 * len(CLASSES)
    assert len(rs) == 2 * n_trials
    meta = rs.meta
    assert meta["trial"].nunique() == n_trials
    assert (meta["source"] == "simulator").all()
    assert sorted(meta["repetition"].unique()) == [0, 1, 2]
    # every subject × session × repetition × class exactly once per modality
    counts = meta.groupby(["modality", "subject", "session", "repetition", "label"]).size()
    assert len(counts) == 2 * n_trials and (counts == 1).all()
    assert set(meta["label"]) == set(CLASSES)
    assert meta.loc[meta["modality"] == "emg", "label"].value_counts().eq(5 * 2 * 3).all()
    assert isinstance(rs[0].meta["subject"], int) and isinstance(rs[0].meta["repetition"], int)
    rs.check_consistent_channels()


def test_channels_and_shapes(rs):
    for r in rs:
        if r.modality == "emg":
            assert r.data.shape == (8, 3000)
            assert r.fs == 1000.0
            assert r.ch_names == tuple(f"EMG{i}" for i in range(1, 9))
            assert set(r.ch_types) == {"emg"} and set(r.units) == {"mV"}
        else:
            assert r.modality == "acc"
            assert r.data.shape == (3, 150)
            assert r.fs == 50.0
            assert r.ch_names == ("ACC_X", "ACC_Y", "ACC_Z")
            assert set(r.ch_types) == {"acc"} and set(r.units) == {"g"}
        assert np.isfinite(r.data).all()


def test_trials_pair_modalities_with_same_duration(rs):
    trials = rs.trials()
    for trial, streams in trials.items():
        assert set(streams) == {"emg", "acc"}
        emg, acc = streams["emg"], streams["acc"]
        assert emg.duration == pytest.approx(acc.duration) == pytest.approx(3.0)
        assert {k: emg.meta[k] for k in ("subject", "session", "repetition", "label")} == {
            k: acc.meta[k] for k in ("subject", "session", "repetition", "label")
        }
        m = emg.meta
        assert trial == f"s{m['subject']}/{m['session']}/rep{m['repetition']}/{m['label']}"


def test_custom_sizes():
    out = simulate(n_subjects=2, n_sessions=3, n_repetitions=2, duration=1.0, fs=2000.0, n_channels=4, acc_fs=100.0)
    assert out.subjects == [1, 2]
    assert out.sessions == ["session1", "session2", "session3"]
    assert len(out) == 2 * 2 * 3 * 2 * len(CLASSES)
    emg = out.select(modalities="emg")[0]
    acc = out.select(modalities="acc")[0]
    assert emg.data.shape == (4, 2000) and emg.ch_names == ("EMG1", "EMG2", "EMG3", "EMG4")
    assert acc.data.shape == (3, 100)


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_same_data():
    a, b = small(seed=3), small(seed=3)
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        assert ra.meta == rb.meta
        np.testing.assert_array_equal(ra.data, rb.data)


def test_different_seed_different_data():
    a, b = small(seed=0), small(seed=1)
    for ra, rb in zip(a, b, strict=True):
        assert not np.allclose(ra.data, rb.data)


def test_subject_does_not_depend_on_dataset_size(rs):
    one = simulate(n_subjects=1, n_sessions=1, n_repetitions=1)
    for r in one:
        twin = next(
            x for x in rs.select(subjects=1, session="session1", modalities=r.modality) if x.meta["trial"] == r.meta["trial"]
        )
        np.testing.assert_array_equal(r.data, twin.data)


# --- EMG physics ------------------------------------------------------------------------------


def test_amplitude_range_in_mv(rs):
    rest = held(emg_of(rs, "rest"))
    active = np.concatenate([held(emg_of(rs, c)) for c in CLASSES if c != "rest"])
    rms_active = np.sqrt((active**2).mean(axis=(0, 2)).max())
    assert 0.05 < rms_active < 1.0
    assert np.abs(rest).mean() < 0.05
    assert np.abs(active).max() < 10  # mV, not volts or microvolts


def test_band_limited_spectrum(rs):
    x = held(emg_of(rs, "hand close", subjects=1))
    f, p = signal.welch(x, fs=1000.0, nperseg=512, axis=-1)
    p = p.sum(axis=(0, 1))
    total = p.sum()
    assert p[(f >= 20) & (f <= 450)].sum() / total > 0.9
    assert p[f < 10].sum() / total < 0.01
    median = f[np.searchsorted(np.cumsum(p) / total, 0.5)]
    assert 50 < median < 200  # typical surface EMG median frequency


def test_gestures_activate_above_rest(rs):
    rest = np.abs(held(emg_of(rs, "rest"))).mean()
    for c in CLASSES:
        if c == "rest":
            continue
        mav = np.abs(held(emg_of(rs, c))).mean(axis=(0, 2))
        assert mav.max() > 5 * rest, c


def test_activation_onset_and_offset(rs):
    x = np.abs(emg_of(rs, "wrist extension")).mean(axis=(0, 1))
    start, middle, end = x[:100].mean(), x[1000:2000].mean(), x[-100:].mean()
    assert start < 0.3 * middle and end < 0.3 * middle


def test_gesture_patterns_differ(rs):
    profiles = np.array([np.log(np.abs(held(emg_of(rs, c, subjects=1))).mean(axis=(0, 2))) for c in ACTIVE])
    # the channel of maximum activity is not the same for all active gestures
    assert len(set(profiles.argmax(axis=1))) >= 3


def test_powerline_peak():
    def line_ratio(x):
        f, p = signal.welch(held(x), fs=1000.0, nperseg=1000, axis=-1)
        p = p.mean(axis=(0, 1))
        at = p[np.argmin(np.abs(f - 50))]
        around = np.median(p[((f > 35) & (f < 45)) | ((f > 55) & (f < 65))])
        return at / around

    clean = emg_of(small(), "rest")
    noisy = emg_of(small(powerline=0.5), "rest")
    assert line_ratio(clean) < 3
    assert line_ratio(noisy) > 20
    # harmonic at 150 Hz too, and other frequency moves the peak
    f, p = signal.welch(held(noisy), fs=1000.0, nperseg=1000, axis=-1)
    p = p.mean(axis=(0, 1))
    assert p[150] > 10 * np.median(p[135:145])
    other = emg_of(small(powerline=0.5, powerline_freq=60.0), "rest")
    f, p = signal.welch(held(other), fs=1000.0, nperseg=1000, axis=-1)
    p = p.mean(axis=(0, 1))
    assert p[60] > 20 * np.median(p[45:55])


def test_powerline_leaves_the_rest_alone():
    a, b = small(), small(powerline=0.0, powerline_freq=60.0)
    for ra, rb in zip(a, b, strict=True):
        np.testing.assert_array_equal(ra.data, rb.data)


def test_dead_channels():
    out = small(dead_channels=[2, 5], powerline=0.3)
    ref = small(powerline=0.3)
    x = emg_of(out, "hand close")
    mav = np.abs(x).mean(axis=(0, 2))
    alive = [i for i in range(8) if i not in (2, 5)]
    assert mav[[2, 5]].max() < 0.01
    assert mav[[2, 5]].max() < 0.1 * mav[alive].min()
    np.testing.assert_array_equal(x[:, alive], emg_of(ref, "hand close")[:, alive])


def test_electrode_shift_rotates_pattern():
    def best_roll(shift: float) -> int:
        out = simulate(n_subjects=1, n_sessions=2, n_repetitions=1, duration=2.0, electrode_shift=shift, seed=5)
        # log-MAV profile over the 8 electrodes of every active gesture: (n_gestures, 8)
        prof = {
            s: np.array([np.log(np.abs(held(emg_of(out, c, session=s))).mean(axis=(0, 2))) for c in ACTIVE])
            for s in ("session1", "session2")
        }
        one, two = prof["session1"], prof["session2"]
        scores = [np.corrcoef(np.roll(one, k, axis=1).ravel(), two.ravel())[0, 1] for k in range(8)]
        return int(np.argmax(scores))

    assert best_roll(0.0) == 0
    # the armband turned by +2 electrodes: what electrode i+2 saw, electrode i now sees
    assert best_roll(2.0) == (-2) % 8
    assert best_roll(-1.0) == 1


# --- accelerometer ----------------------------------------------------------------------------


def test_accelerometer_gravity_and_rotation(rs):
    acc = {c: np.stack([r.data for r in rs.select(modalities="acc", labels=c)]) for c in CLASSES}
    norms = np.linalg.norm(np.concatenate(list(acc.values())), axis=1)
    assert np.all(np.abs(norms - 1.0) < 0.1)  # gravity, in g
    mid = slice(40, 110)  # 0.8–2.2 s at 50 Hz: gesture held

    def roll(c):  # rotation of the forearm about its axis, degrees, from the y-z plane
        y, z = acc[c][:, 1, mid].mean(axis=1), acc[c][:, 2, mid].mean(axis=1)
        return np.degrees(np.arctan2(-y, z))

    def turn(c):  # change of roll from the rest posture of the same subject/session/repetition
        return (roll(c) - roll("rest") + 180) % 360 - 180

    # pronation and supination roll the forearm in opposite directions, by tens of degrees
    assert np.all(turn("pronation") < -35) and np.all(turn("pronation") > -130)
    assert np.all(turn("supination") > 35) and np.all(turn("supination") < 130)
    # the other gestures barely move the forearm
    for c in ("hand close", "hand open", "wrist flexion", "wrist extension"):
        assert np.all(np.abs(turn(c)) < 10), c
    # wrist flexion / extension tilt the forearm slightly (pitch shows on the x axis)
    x = {c: acc[c][:, 0, mid].mean(axis=1) for c in ("rest", "wrist flexion", "wrist extension")}
    assert np.all(x["wrist extension"] > x["wrist flexion"])
    # small tremor: the signal is not constant while held
    assert np.all(acc["rest"][:, :, mid].std(axis=-1) > 1e-3)
    assert np.all(acc["rest"][:, :, mid].std(axis=-1) < 0.05)


# --- learnability -----------------------------------------------------------------------------


def test_separability(rs):
    w = cut_windows(rs.select(modalities="emg"), 0.2, 0.1)
    features = np.log(np.abs(w.X).mean(-1))
    y = w.y
    subject = w.meta["subject"].to_numpy()
    session = w.meta["session"].to_numpy()
    within, loso = [], []
    for s in np.unique(subject):
        train, test = (subject == s) & (session == "session1"), (subject == s) & (session == "session2")
        within.append(LinearDiscriminantAnalysis().fit(features[train], y[train]).score(features[test], y[test]))
        train, test = subject != s, subject == s
        loso.append(LinearDiscriminantAnalysis().fit(features[train], y[train]).score(features[test], y[test]))
    within, loso = np.mean(within), np.mean(loso)
    assert within > 0.75
    assert loso < 0.95
    assert loso < within - 0.05
    assert loso > 2.0 / len(CLASSES)  # still far above chance


# --- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_subjects": 0}, "n_subjects"),
        ({"n_subjects": 2.5}, "n_subjects"),
        ({"n_sessions": 0}, "n_sessions"),
        ({"n_repetitions": -1}, "n_repetitions"),
        ({"n_channels": 1}, "n_channels"),
        ({"duration": 0.0}, "duration"),
        ({"duration": float("nan")}, "duration"),
        ({"duration": 2.01}, "duration"),
        ({"fs": 50.0}, "fs"),
        ({"acc_fs": 0.0}, "acc_fs"),
        ({"acc_fs": 2000.0}, "acc_fs"),
        ({"powerline": -0.1}, "powerline"),
        ({"powerline_freq": 500.0}, "powerline_freq"),
        ({"powerline_freq": 0.0}, "powerline_freq"),
        ({"dead_channels": [8]}, "dead_channels"),
        ({"dead_channels": [-1]}, "dead_channels"),
        ({"dead_channels": ["a"]}, "dead_channels"),
        ({"dead_channels": None}, "dead_channels"),
        ({"electrode_shift": float("inf")}, "electrode_shift"),
        ({"seed": -1}, "seed"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        small(**kwargs)


def test_error_message_gives_allowed_range():
    with pytest.raises(ConfigError, match=r"dead_channels.*0 to 7"):
        small(dead_channels=[8])
    with pytest.raises(ConfigError, match=r"powerline_freq.*fs/2 \(500\)"):
        small(powerline_freq=600.0)
    with pytest.raises(ConfigError, match=r"n_subjects.*>= 1"):
        small(n_subjects=0)


def test_effort_levels_make_an_ordinal_task():
    """Simulated: one gesture at five efforts; the EMG amplitude rises with the level, level 0 is rest."""
    recordings = simulate(n_subjects=2, n_repetitions=3, duration=1.0, levels=5).select(modalities="emg")
    assert recordings.classes == ["0", "1", "2", "3", "4"]
    rms = pd.Series({(r.meta["trial"], r.meta["label"]): float(np.sqrt((r.data**2).mean())) for r in recordings})
    by_level = rms.groupby(level=1).mean().loc[recordings.classes].to_numpy()
    assert (np.diff(by_level) > 0).all()
    assert by_level[0] < 0.04  # rest: tone and noise only (about 0.02 mV)
    with pytest.raises(ConfigError, match="dataset.levels: 2 effort levels"):
        simulate(levels=2)
