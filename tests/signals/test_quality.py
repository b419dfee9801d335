"""The EMG channel checks (power below 20 Hz, amplitude against the other channels, mains
interference): exact values on synthetic signals, simulated recordings made bad on purpose, and
3DC participant 1, whose EMG2 has a loose electrode (issue 17)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from bmelearn.datasets.simulator import simulate
from bmelearn.signals.quality import CHECK_NAMES, channel_measures, channel_notes, check_quality, flagged_channels
from bmelearn.signals.recording import Recording, RecordingSet

FS = 1000.0
ROW = {name: i for i, name in enumerate(CHECK_NAMES)}


def measures(data: np.ndarray, fs: float = FS, types: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    names = tuple(f"EMG{i + 1}" for i in range(len(data)))
    values = channel_measures(Recording(data, fs, names, types or ("emg",) * len(data)))
    return {name: values[i] for name, i in ROW.items()}


def test_power_shares_and_amplitude_ratio_of_known_signals():
    t = np.arange(5000) / FS
    noise = np.random.default_rng(0).standard_normal(5000)
    data = np.vstack([
        noise,                                    # white: 20 Hz of the 500 Hz band lies below 20 Hz
        np.sqrt(2) * np.sin(2 * np.pi * 5 * t),   # all power at 5 Hz
        np.sqrt(2) * np.sin(2 * np.pi * 50 * t),  # all power at 50 Hz
        np.sqrt(2) * np.sin(2 * np.pi * 60 * t),  # all power at 60 Hz
        10 * noise + 3.0,                         # ten times the RMS; the offset is not signal
    ])
    m = measures(data)
    np.testing.assert_allclose(m["low_frequency"][:4], [20 / 500, 1, 0, 0], atol=0.01)
    np.testing.assert_allclose(m["powerline_50hz"][:4], [3 / 500, 0, 1, 0], atol=0.01)
    np.testing.assert_allclose(m["powerline_60hz"][:4], [3 / 500, 0, 0, 1], atol=0.01)
    # every channel has an RMS of 1 but the last (10): the median is 1
    np.testing.assert_allclose(m["amplitude"], [1, 1, 1, 1, 10], rtol=0.01)


def test_baseline_wander_counts_as_low_frequency_power():
    """A drift slower than the 1 s Welch segments is not detrended away (removing each segment's
    mean would leave about 7 % of this channel's power below 20 Hz)."""
    t = np.arange(5000) / FS
    noise = np.random.default_rng(1).standard_normal((3, 5000))
    noise[1] += np.sqrt(2) * np.sin(2 * np.pi * 0.2 * t)  # as much power in a 0.2 Hz wander as in the EMG
    share = measures(noise)["low_frequency"]
    assert share[1] == pytest.approx(0.5 + 0.5 * 20 / 500, abs=0.05)  # a single cycle: Welch's estimate varies
    np.testing.assert_allclose(share[[0, 2]], 20 / 500, atol=0.01)


def test_checks_skip_what_they_cannot_judge():
    rng = np.random.default_rng(2)
    # accelerometer axes legitimately differ and carry slow movement: not checked
    acc = measures(rng.standard_normal((3, 500)), fs=50.0, types=("acc",) * 3)
    assert all(np.isnan(v).all() for v in acc.values())
    # a flat channel is not measured (it is excluded) and does not lower the median RMS
    a = rng.standard_normal(2000)
    m = measures(np.vstack([a, 3 * a, np.full(2000, 7.0)]))
    assert np.isnan(m["amplitude"][2]) and np.isnan(m["low_frequency"][2])
    np.testing.assert_allclose(m["amplitude"][:2], [0.5, 1.5])  # the median of RMS 1 and 3 is 2
    # shorter than 0.25 s: no spectrum, but the amplitude is measured
    short = measures(rng.standard_normal((3, 200)))
    assert np.isnan(short["low_frequency"]).all() and not np.isnan(short["amplitude"]).any()
    # at 200 Hz (a Myo armband) the EMG band is cut at 100 Hz: no low-frequency check, but the mains
    myo = measures(rng.standard_normal((3, 1000)), fs=200.0)
    assert np.isnan(myo["low_frequency"]).all()
    np.testing.assert_allclose(myo["powerline_50hz"], 3 / 100, atol=0.015)
    # at 100 Hz, neither 50 Hz nor 60 Hz lies below fs/2
    slow = measures(rng.standard_normal((3, 1000)), fs=100.0)
    assert np.isnan(slow["powerline_50hz"]).all() and np.isnan(slow["powerline_60hz"]).all()


# ---------------------------------------------------------------------------------------
# simulated recordings (datasets/simulator.py) with channels made bad on purpose

DRIFT, MAINS, GAIN = "EMG2", "EMG4", "EMG6"


def spoiled(recordings: RecordingSet) -> RecordingSet:
    """Simulated EMG with a 1 Hz drift on EMG2 (as much power as its EMG), a 50 Hz sine on EMG4
    (half as much power as its EMG) and EMG6 amplified 12 times; the accelerometer untouched."""
    out = []
    for rec in recordings:
        if rec.modality == "emg":
            data = rec.data.copy()
            t = rec.times
            i = rec.ch_names.index
            data[i(DRIFT)] += np.sqrt(2) * data[i(DRIFT)].std() * np.sin(2 * np.pi * 1.0 * t)
            data[i(MAINS)] += data[i(MAINS)].std() * np.sin(2 * np.pi * 50.0 * t)
            data[i(GAIN)] *= 12
            rec = rec.with_data(data)
        out.append(rec)
    return recordings.like(out)


@pytest.fixture(scope="module")
def simulated_session():
    """One simulated subject and session, 2 repetitions of the 7 gestures, 2 s each: 14 EMG recordings."""
    return simulate(n_subjects=1, n_sessions=1, n_repetitions=2, duration=2.0, seed=11)


def test_clean_simulated_channels_are_not_flagged(simulated_session):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checks = check_quality(simulated_session)
    table = checks.channels
    assert checks.notes == [] and not table["flagged"].any()
    # every EMG channel, every check, every recording measured; the accelerometer not checked
    assert set(table["modality"]) == {"emg"} and len(table) == 8 * len(CHECK_NAMES)
    assert (table["files"] == 14).all()
    assert table.loc[table["check"] == "low_frequency", "value"].max() < 0.05  # the simulator's EMG starts at 20 Hz


def test_drift_mains_and_gain_are_flagged_on_their_channel_only(simulated_session):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checks = check_quality(spoiled(simulated_session))
    assert [str(w.message) for w in caught] == checks.notes  # the notes are the run's warnings
    table = checks.channels.set_index(["channel", "check"])
    flagged = table[table["flagged"]]
    assert set(flagged.index) == {(DRIFT, "low_frequency"), (MAINS, "powerline_50hz"), (GAIN, "amplitude")}
    assert (flagged["files"] == 14).all() and (flagged["files_flagged"] > 7).all()
    assert table.loc[[(DRIFT, "low_frequency"), (MAINS, "powerline_50hz")], "files_flagged"].tolist() == [14, 14]
    # the drift holds half the channel's power, the sine a third, EMG's own share is about 1 %; a little
    # less, as the 1 s Hann windows of Welch's PSD weigh the middle of a trial, where the gesture is held
    assert table.loc[(DRIFT, "low_frequency"), "value"] == pytest.approx(0.5, abs=0.1)
    assert table.loc[(MAINS, "powerline_50hz"), "value"] == pytest.approx(1 / 3, abs=0.05)
    assert 8 < table.loc[(GAIN, "amplitude"), "value"] < 12  # the amplified channel raises the median
    assert table.loc[(DRIFT, "low_frequency"), "others_high"] < 0.05
    assert table.loc[(MAINS, "powerline_60hz"), "files_flagged"] == 0
    # the notes: one per channel, channel names as written, no Python lists; what to do
    notes = checks.notes
    assert len(notes) == 3 and "['" not in "".join(notes) and "']" not in "".join(notes)  # no Python list syntax
    (drift_note,) = [n for n in notes if n.startswith(f"Channel {DRIFT} (EMG) of subject 1, session 1, was flagged.")]
    assert re.search(r"Power below 20 Hz: \d\d % \(other channels [\d.]+–[\d.]+ %, limit above 25 %\) in 14 of 14 "
                     "recordings", drift_note)
    assert "baseline wander" in drift_note and "kept in the analysis" in drift_note
    (mains_note,) = [n for n in notes if n.startswith(f"Channel {MAINS} ")]
    assert "Power within 1 Hz of 50 Hz: " in mains_note and "notch filter at 50 Hz" in mains_note
    # run.json's records: the flagged rows with plain numbers
    records = flagged_channels(checks.channels)
    assert {(r["channel"], r["check"]) for r in records} == set(flagged.index)
    assert all(isinstance(r["files_flagged"], int) and r["subject"] == "1" for r in records)


def test_mains_on_most_channels_is_one_note_for_the_recording():
    recordings = simulate(n_subjects=1, n_sessions=1, n_repetitions=1, duration=2.0, seed=4, powerline=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checks = check_quality(recordings)
    table = checks.channels
    n = int(table.loc[table["check"] == "powerline_50hz", "flagged"].sum())
    assert n >= 4
    (note,) = checks.notes
    assert note.startswith("Power within 1 Hz of 50 Hz is above 10 % on half or more of the EMG channels of "
                           f"subject 1, session 1 ({n} of 8 channels)")


def test_notes_of_a_table_without_flags_or_without_a_table():
    assert channel_notes(None) == [] and flagged_channels(None) == []


# ---------------------------------------------------------------------------------------
# real data: 3DC (tests/conftest.py: shared_data)


def test_3dc_participant_1_emg2_is_flagged_and_no_other_channel(threedc_subject1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checks = check_quality(threedc_subject1)
    table = checks.channels
    assert set(table["modality"]) == {"emg"}  # the IMU quaternion is not checked
    flagged = table[table["flagged"]]
    # EMG2 in both sessions: low-frequency power, amplitude and 60 Hz (the 3DC was recorded in Canada)
    assert set(zip(flagged["session"], flagged["channel"], flagged["check"], strict=True)) == {
        (s, "EMG2", c) for s in ("train", "test") for c in ("low_frequency", "amplitude", "powerline_60hz")}
    emg2 = flagged.set_index(["session", "check"])
    assert emg2.loc[("train", "low_frequency"), "value"] == pytest.approx(0.56, abs=0.01)
    assert emg2.loc[("test", "low_frequency"), "value"] == pytest.approx(0.49, abs=0.01)
    assert (emg2.xs("low_frequency", level="check")["others_high"] < 0.03).all()
    assert emg2.loc[("train", "amplitude"), "value"] == pytest.approx(11.9, abs=0.1)
    assert emg2.loc[("test", "amplitude"), "value"] == pytest.approx(11.2, abs=0.1)
    assert emg2.loc[("train", "low_frequency"), "files_flagged"] == 43
    assert (emg2["files"] == 44).all()
    notes = [n for n in checks.notes if n.startswith("Channel EMG2 (EMG) of subject 1")]
    assert len(notes) == 2 and all("Power below 20 Hz:" in n and "RMS relative to the median EMG channel:" in n
                                   and "60 Hz" in n for n in notes)


def test_3dc_participants_2_to_4_have_no_flagged_channel(shared_data):
    from bmelearn.datasets.threedc import load_3dc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checks = check_quality(load_3dc(shared_data / "3dc", subjects=[2, 3, 4]))
    table = checks.channels
    assert not table["flagged"].any() and checks.notes == []
    # participant 3's EMG2 has bursts of movement artefact (supination, radial deviation) in fewer than half of its files
    p3 = table.set_index(["subject", "session", "channel", "check"])
    assert p3.loc[("3", "train", "EMG2", "low_frequency"), "files_flagged"] == 20


@pytest.mark.parametrize(("n", "fs"), [(4980, 1000.0), (5001, 1000.0), (700, 1000.0), (3000, 200.0), (1200, 1111.0), (1000, 1000.0)])
def test_welch_is_scipys_density(n, fs):
    """The channel checks' Welch PSD equals SciPy's (same windows, overlap, scaling and one-sided
    doubling; odd and even segment lengths, a row shorter than one second)."""
    from scipy import signal

    from bmelearn.signals.quality import welch

    x = np.random.default_rng(n).standard_normal((3, n)) * 50 + 3
    expected_f, expected = signal.welch(x, fs, nperseg=min(n, round(fs)), detrend=False, axis=-1)
    freqs, power = welch(x, fs)
    np.testing.assert_array_equal(freqs, expected_f)
    np.testing.assert_allclose(power, expected, rtol=1e-12)
