"""Files that name their signals: C3D (motion capture: markers and analog EMG), XDF (Lab
Streaming Layer), WFDB (PhysioNet) and TRC, written here with the formats' own writers (ezc3d,
wfdb) or by their specification (XDF, TRC: tests/io/formats_writers.py), read back by
bmelearn. Simulated recordings and a simulated moving arm always; 3DC participant 1 when
../shared/data is present (the issue's round trips and accuracy)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from bmelearn.datasets import load_dataset
from bmelearn.errors import ConfigError, DataError
from bmelearn.io import read, read_described
from bmelearn.signals.preprocessing import joint_angles
from bmelearn.signals.recording import RecordingSet
from tests.io.formats_writers import write_c3d, write_trc, write_xdf, xdf_stream

pytest.importorskip("ezc3d")
pytest.importorskip("pyxdf")

MARKER_RATE = 100.0


def moving_arm(seconds: float = 4.0, noise_mm: float = 0.5, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Simulated markers of an arm bending at the elbow (shoulder, elbow, wrist: 3 × frames, mm,
    at 100 Hz) with 0.5 mm of camera noise, and the elbow's included angle they were made with
    (degrees): 110° ± 40°, one cycle every 2 s, the upper arm 300 mm and the forearm 250 mm,
    the whole arm turned out of the axes' planes."""
    t = np.arange(int(seconds * MARKER_RATE)) / MARKER_RATE
    angle = 110 + 40 * np.sin(2 * np.pi * 0.5 * t)
    elbow = np.zeros((3, t.size))
    shoulder = np.array([0.0, 0.0, 300.0])[:, None] + elbow
    theta = np.radians(angle)  # the forearm in the plane of the upper arm, at the angle from it
    wrist = 250 * np.vstack([np.sin(theta), np.zeros_like(theta), np.cos(theta)])
    turn = _rotation([0.3, -0.5, 0.8], 0.7)
    offset = np.array([400.0, 200.0, 1000.0])[:, None]
    rng = np.random.default_rng(seed)
    markers = {name: turn @ xyz + offset + rng.normal(0, noise_mm, xyz.shape)
               for name, xyz in (("RSHO", shoulder), ("RELB", elbow), ("RWRI", wrist))}
    return markers, angle


def _rotation(axis, radians: float) -> np.ndarray:
    axis = np.asarray(axis) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(radians) * k + (1 - np.cos(radians)) * k @ k


def _markers(recordings) -> object:
    return next(r for r in recordings if r.modality == "markers")


ELBOW = {"elbow": ["RSHO", "RELB", "RWRI"]}


def test_a_c3d_arm_gives_the_elbow_angle_it_was_made_with_within_1_degree(tmp_path):
    """The issue's motion-capture check: markers with camera noise and a 0.08 s gap in the wrist
    marker, written by ezc3d with EMG as analog channels; the elbow angle back within 1°, the gap
    filled, and the angular velocity that of the angle made."""
    markers, angle = moving_arm()
    true_wrist = moving_arm(noise_mm=0.0)[0]["RWRI"]
    markers["RWRI"][:, 150:158] = np.nan  # 0.08 s: under the 0.1 s filled by default
    emg = np.random.default_rng(1).standard_normal((2, int(4.0 * 1000)))
    write_c3d(tmp_path / "arm.c3d", markers, MARKER_RATE, {"EMG1": emg[0], "EMG2": emg[1]}, 1000.0,
              [(1.0, "General", "flex"), (3.0, "General", "rest")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no gap left: nothing to report
        found = read_described(tmp_path / "arm.c3d")
    trajectories = _markers(found.recordings)
    assert trajectories.fs == MARKER_RATE and trajectories.units[0] == "mm" and trajectories.ch_names[:3] == (
        "RSHO_x", "RSHO_y", "RSHO_z")
    filled = trajectories.data[6:9, 150:158]
    assert np.abs(filled - true_wrist[:, 150:158]).max() < 3.0  # mm from the noise-free path: a spline through noise
    emg_back = next(r for r in found.recordings if r.modality == "emg")
    assert emg_back.fs == 1000.0 and emg_back.ch_names == ("EMG1", "EMG2")
    assert np.allclose(emg_back.data, emg.astype(np.float32), atol=0)  # C3D stores analog samples as float32
    assert found.events["label"].tolist() == ["flex", "rest"] and found.events["onset"].tolist() == [1.0, 3.0]

    angles = joint_angles(trajectories, ELBOW)
    assert angles.ch_names == ("elbow", "elbow_velocity") and angles.units == ("deg", "deg/s")
    inner = slice(20, -20)  # the zero-phase filter's edges aside
    assert np.abs(angles.data[0, inner] - angle[inner]).max() < 1.0
    made = np.gradient(angle, 1 / MARKER_RATE)
    assert np.abs(angles.data[1, inner] - made[inner]).max() < 0.05 * np.abs(made).max()


def test_a_gap_longer_than_the_limit_is_reported_and_its_trial_left_out(tmp_path):
    """A 0.3 s gap is not invented: the file's reading names the marker and the time, and the
    dataset leaves its trial out; with dataset.max_gap at 0.5 s it is filled and kept."""
    for repetition in range(2):
        markers, _ = moving_arm(2.0, seed=repetition)
        if repetition == 1:
            markers["RWRI"][:, 100:130] = np.nan
        write_c3d(tmp_path / "S1" / "day1" / f"reach_{repetition}.c3d", markers, MARKER_RATE,
                  {"EMG1": np.ones(2000)}, 1000.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_dataset("files", path=str(tmp_path), pattern="S{subject}/{session}/{label}_{repetition}.c3d")
    said = " | ".join(str(w.message) for w in caught)
    assert "reach_1.c3d: marker RWRI is missing for 0.3 s from 1.000 s, longer than the 0.1 s filled" in said
    assert "1 trial(s) left out: a marker is missing for longer than the gaps filled (dataset.max_gap), first " \
           "subject=1/session=day1/repetition=1/label=reach" in said
    assert {(r.meta["repetition"], r.modality) for r in data} == {(0, "markers"), (0, "emg")}
    assert not any(np.isnan(r.data).any() for r in data)
    kept = load_dataset("files", path=str(tmp_path), pattern="S{subject}/{session}/{label}_{repetition}.c3d", max_gap=0.5)
    assert sorted({r.meta["repetition"] for r in kept}) == [0, 1]


def test_trc_markers_read_back_with_their_gaps_filled(tmp_path):
    markers, _ = moving_arm(2.0)
    markers["RELB"][:, 40:45] = np.nan
    write_trc(tmp_path / "arm.trc", {k: v / 1000 for k, v in markers.items()}, MARKER_RATE, units="m")
    back = _markers(read(tmp_path / "arm.trc"))
    assert back.fs == MARKER_RATE and back.ch_names[3:6] == ("RELB_x", "RELB_y", "RELB_z")
    assert np.allclose(back.data[:3], markers["RSHO"], atol=1e-6)  # m written with 10 digits, back in mm
    assert np.isfinite(back.data).all()


def test_xdf_streams_are_aligned_on_one_time_base_and_markers_cut_trials(simulated, tmp_path):
    """Each subject's session as one XDF file: an EMG stream at 1000 Hz, an accelerometer at
    100 Hz that started 0.25 s later, and a marker stream; read as continuous recordings, the
    trials are those of the per-trial recordings, and the two streams start together."""
    from tests.io.test_edf import _by_trial

    sessions: dict[tuple, list] = {}
    for rec in simulated:
        if rec.modality == "emg":
            sessions.setdefault((rec.meta["subject"], rec.meta["session"]), []).append(rec)
    for (subject, session), trials in sessions.items():
        trials.sort(key=lambda r: (r.meta["repetition"], r.meta["label"]))
        lead = 500  # samples before the first trial, while the accelerometer starts
        data = np.concatenate([np.zeros((8, lead)), *[np.pad(r.data, ((0, 0), (0, 300))) for r in trials]], axis=1)
        starts = lead + np.cumsum([0] + [r.n_samples + 300 for r in trials[:-1]])
        clock = 1000.0 + 37.0 * len(str(subject) + str(session))  # the recording computer's clock, s
        n_acc = int(data.shape[1] / 10) - 30
        write_xdf(tmp_path / f"S{subject}" / f"{session}.xdf", [
            xdf_stream("emg", "EMG", 1000.0, clock + np.arange(data.shape[1]) / 1000, data.T,
                       trials[0].ch_names, ["uV"] * 8),
            xdf_stream("imu", "ACC", 100.0, clock + 0.25 + np.arange(n_acc) / 100, np.ones((n_acc, 3)),
                       ["ACC X", "ACC Y", "ACC Z"], ["g"] * 3),
            xdf_stream("gestures", "Markers", 0, clock + starts / 1000, [r.meta["label"] for r in trials],
                       channel_format="string")])
    back = load_dataset("files", path=str(tmp_path), pattern="S{subject}/{session}.xdf", events="annotations",
                        classes=list(simulated.classes))
    expected, got = _by_trial(simulated), {}
    for rec in back:  # the EMG stream lost its first 0.25 s: each trial is the 1.0 s the markers say
        if rec.modality == "emg":
            got[(str(rec.meta["subject"]), str(rec.meta["session"]), rec.meta["label"], int(rec.meta["repetition"]))] = rec.data
    assert got.keys() == expected.keys()
    for key, data in expected.items():
        width = min(data.shape[1], got[key].shape[1])
        assert abs(data.shape[1] - got[key].shape[1]) <= 300 and np.array_equal(got[key][:, :width], data[:, :width]), key
    accelerometer = [r for r in back if r.modality == "acc"]
    assert accelerometer and all(r.fs == 100.0 and r.units == ("g",) * 3 for r in accelerometer)


def test_a_wfdb_record_gives_its_signals_and_annotations(tmp_path):
    wfdb = pytest.importorskip("wfdb")
    signal = np.random.default_rng(0).standard_normal((2000, 2))
    wfdb.wrsamp("r1", fs=1000, units=["mV", "mV"], sig_name=["EMG1", "EMG2"], p_signal=signal, fmt=["16", "16"],
                write_dir=str(tmp_path))
    wfdb.wrann("r1", "atr", np.array([200, 1200]), symbol=["+", "+"], aux_note=["fist", "rest"], write_dir=str(tmp_path),
               fs=1000)
    found = read_described(tmp_path / "r1.hea")
    (rec,) = found.recordings
    assert rec.fs == 1000.0 and rec.ch_names == ("EMG1", "EMG2") and rec.units == ("mV", "mV")
    gain = (2**15 - 1) / (np.abs(signal).max(axis=0) * 2)  # wfdb's gain for format 16 spans the range
    assert (np.abs(rec.data - signal.T) <= 0.51 / gain[:, None] + 1e-9).all()
    assert found.events.to_dict("list") == {"onset": [0.2, 1.2], "duration": [1.0, 0.8], "label": ["fist", "rest"]}


def test_bad_files_name_the_file_and_the_fix(simulated, tmp_path, monkeypatch):
    markers, _ = moving_arm(1.0)
    write_c3d(tmp_path / "S1" / "day1" / "fist_0.c3d", markers, MARKER_RATE, None)
    with pytest.raises(DataError, match=r"fist_0\.c3d: holds marker trajectories only, no analog channel such as 'EMG1'\. "
                                        r"Export the analog channels"):
        load_dataset("files", path=str(tmp_path), pattern="S{subject}/{session}/{label}_{repetition}.c3d", fs=1000.0,
                     ch_names=["EMG1"])
    whole = (tmp_path / "S1" / "day1" / "fist_0.c3d").read_bytes()
    (tmp_path / "cut.c3d").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"cut\.c3d: the file is truncated .*export it again"):
        read(tmp_path / "cut.c3d")
    write_xdf(tmp_path / "nostamps.xdf", [xdf_stream("emg", "EMG", 1000.0, None, np.ones((0, 2)), ["EMG1", "EMG2"])])
    with pytest.raises(DataError, match=r"nostamps\.xdf: stream 'emg' has no time stamps for its samples.*Record it again"):
        read(tmp_path / "nostamps.xdf")
    (tmp_path / "r1.hea").write_text("r1 1 1000 100\nr1.dat 16 200 16 0 0 0 0 EMG1\n")
    with pytest.raises(DataError, match=r"r1\.hea: not a readable WFDB file .*Copy the header with every signal file"):
        read(tmp_path / "r1.hea")
    # a reader's library missing: the install command, when the config is checked
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ezc3d" else real(name, *a))
    from bmelearn.runs.config import load_config

    with pytest.raises(ConfigError, match=r"dataset\.pattern: reading \.c3d files needs ezc3d: pip install 'bmelearn\[c3d\]'"):
        load_config(None, ["dataset={name: files, path: " + str(tmp_path) + ", pattern: 'S{subject}/{session}/{label}_"
                                                                              "{repetition}.c3d'}"])


def test_a_c3d_study_fuses_emg_features_with_joint_angles(tmp_path):
    """C3D trials of a simulated arm (markers and EMG) through a whole run without fs or
    ch_names: the markers become the elbow angle and its velocity (preprocessing joint_angles)
    and their features sit beside the EMG's."""
    from bmelearn.runs.config import load_config
    from bmelearn.runs.experiment import run

    rng = np.random.default_rng(3)
    for subject in (1, 2):
        for session in ("day1", "day2"):
            for repetition in range(3):
                for label, amplitude in (("flex", 40.0), ("still", 2.0)):
                    markers, _ = moving_arm(2.0, seed=rng.integers(1 << 30))
                    if label == "still":
                        markers["RWRI"] = markers["RWRI"][:, :1].repeat(markers["RWRI"].shape[1], 1)
                    emg = rng.standard_normal((2, 2000)) * amplitude
                    write_c3d(tmp_path / f"S{subject}" / session / f"{label}_{repetition}.c3d", markers, MARKER_RATE,
                              {"EMG1": emg[0], "EMG2": emg[1]}, 1000.0)
    config = load_config(None, [
        f"dataset={{name: files, path: {tmp_path}, pattern: 'S{{subject}}/{{session}}/{{label}}_{{repetition}}.c3d'}}",
        "preprocessing=[{joint_angles: {angles: {elbow: [RSHO, RELB, RWRI]}}}]",
        "features={emg: [RMS], markers: [RANGE, STD]}", "windows={length: 0.5, step: 0.25}", "models=[lda]",
        "evaluation.n_boot=50", "protocols=[{cross_session: {train: [day1], test: [day2]}}]"])
    result = run(config, tmp_path / "run")
    names = list(result.results.columns)
    assert result.summary["cross_session"]["lda"]["accuracy"]["mean"] == 1.0, names
    card = (result.folder / "models" / "lda.json").read_text()
    assert "elbow_velocity" in card and "RANGE" in card
    report = (result.folder / "report.html").read_text()
    assert ("the marker trajectories were low-pass filtered at 6 Hz and turned into the joint angle elbow at RELB "
            "(between RSHO and RWRI), with its angular velocity") in report


def _session_events(text: RecordingSet) -> dict[tuple, tuple[np.ndarray, list[tuple[float, float, str]]]]:
    """Each subject's session of ``text`` as one continuous signal (trials one after the other,
    0.3 s of zeros between them) and its events (onset s, duration s, label)."""
    sessions: dict[tuple, list] = {}
    for rec in text:
        if rec.modality == "emg":
            sessions.setdefault((rec.meta["subject"], rec.meta["session"]), []).append(rec)
    out = {}
    for key, trials in sessions.items():
        trials.sort(key=lambda r: (r.meta["repetition"], r.meta["label"]))
        fs, gap = trials[0].fs, int(0.3 * trials[0].fs)
        at, parts, events = 0, [], []
        for rec in trials:
            parts += [rec.data, np.zeros((rec.n_channels, gap))]
            events.append((at / fs, rec.n_samples / fs, rec.meta["label"]))
            at += rec.n_samples + gap
        out[key] = (np.concatenate(parts, axis=1), events)
    return out


def test_3dc_participant_1_as_c3d_xdf_and_hdf5_gives_its_samples_and_accuracy(shared_data, tmp_path):
    """The issue's round trips: 3DC participant 1's text files written as one C3D file per trial
    (EMG as analog channels, float32: the integer ADC values exactly), one XDF file per session
    (a marker stream: each gesture's start and end) and one HDF5 file per session (a signal and a per-sample
    label dataset), read back to the same samples and the same cross-session accuracy."""
    from tests.io.test_edf import _by_trial, cross_session_accuracy

    h5py = pytest.importorskip("h5py")
    text = load_dataset("3dc", path=str(shared_data / "3dc"), subjects=[1])
    names = [f"EMG{i}" for i in range(1, 11)]
    for rec in text:
        if rec.modality == "emg":
            meta = rec.meta
            write_c3d(tmp_path / "c3d" / f"S{meta['subject']}" / str(meta["session"]) / f"{meta['label']}_{meta['repetition']}.c3d",
                      None, 1000.0, dict(zip(names, rec.data, strict=True)), 1000.0)  # a frame per sample
    classes = list(text.classes)
    for (subject, session), (data, events) in _session_events(text).items():
        # a marker at each gesture's start and one at its end ("end": not a class, so not a trial)
        stamps = 50.0 + np.array([t for onset, duration, _ in events for t in (onset, onset + duration)])
        write_xdf(tmp_path / "xdf" / f"S{subject}" / f"{session}.xdf", [
            xdf_stream("emg", "EMG", 1000.0, 50.0 + np.arange(data.shape[1]) / 1000, data.T, names),
            xdf_stream("gestures", "Markers", 0, stamps, [m for _, _, label in events for m in (label, "end")],
                       channel_format="string")])
        labels = np.zeros(data.shape[1], dtype=np.int16)
        for onset, duration, label in events:
            labels[round(onset * 1000):round((onset + duration) * 1000)] = classes.index(label) + 1
        (tmp_path / "hdf5" / f"S{subject}").mkdir(parents=True, exist_ok=True)
        with h5py.File(tmp_path / "hdf5" / f"S{subject}" / f"{session}.h5", "w") as file:
            file["recording/emg"] = data
            file["recording/gesture"] = labels
    folders = {"c3d": ("S{subject}/{session}/{label}_{repetition}.c3d", {}),
               "xdf": ("S{subject}/{session}.xdf", {"events": "annotations"}),
               "hdf5": ("S{subject}/{session}.h5", {"events": "labels", "fs": 1000.0, "ch_names": names,
                                                    "variables": {"signal": "recording/emg", "labels": "recording/gesture"},
                                                    "classes": {i + 1: c for i, c in enumerate(classes)}})}
    expected = _by_trial(text)
    for folder, (pattern, more) in folders.items():
        options = {"classes": classes} | more
        got = _by_trial(load_dataset("files", path=str(tmp_path / folder), pattern=pattern, **options))
        assert got.keys() == expected.keys(), folder
        assert all(np.array_equal(got[key], data) for key, data in expected.items()), folder

    accuracy = cross_session_accuracy(f"{{name: 3dc, subjects: [1], path: {shared_data / '3dc'}}}", tmp_path / "runs" / "text")
    for folder in ("c3d", "xdf"):
        pattern, more = folders[folder]
        events = f", events: {more['events']}" if more else ""
        dataset = f"{{name: files, path: {tmp_path / folder}, pattern: '{pattern}', classes: [{', '.join(classes)}]{events}}}"
        assert abs(cross_session_accuracy(dataset, tmp_path / "runs" / folder) - accuracy) <= 0.001, folder
    hdf5 = (f"{{name: files, path: {tmp_path / 'hdf5'}, pattern: 'S{{subject}}/{{session}}.h5', events: labels, fs: 1000.0, "
            f"ch_names: [{', '.join(names)}], variables: {{signal: recording/emg, labels: recording/gesture}}, "
            f"classes: {{{', '.join(f'{i + 1}: {c}' for i, c in enumerate(classes))}}}}}")
    assert abs(cross_session_accuracy(hdf5, tmp_path / "runs" / "hdf5") - accuracy) <= 0.001



def write_bids(text: RecordingSet, root: Path, bad: str | None = None, exact: bool = True) -> None:
    """Each subject's session of ``text`` as a BIDS EMG recording (EDF written by edfio) with its
    channels table (``bad`` marked so) and events table (trial_type)."""
    import edfio
    import pandas as pd

    for (subject, session), (data, events) in _session_events(text).items():
        first = next(r for r in text if r.modality == "emg")
        folder = root / f"sub-{subject:02d}" / f"ses-{session}" / "emg"
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"sub-{subject:02d}_ses-{session}_task-gestures"
        data = np.pad(data, ((0, 0), (0, -data.shape[1] % int(first.fs))))
        edfio.Edf([edfio.EdfSignal(row, first.fs, label=name, physical_dimension="uV",
                                   physical_range=(-32768, 32767) if exact else None)
                   for row, name in zip(data, first.ch_names, strict=True)], data_record_duration=1.0).write(
            folder / f"{stem}_emg.edf")
        pd.DataFrame({"name": first.ch_names, "type": "EMG", "units": "uV",
                      "status": ["bad" if name == bad else "good" for name in first.ch_names]}).to_csv(
            folder / f"{stem}_channels.tsv", sep="\t", index=False)
        pd.DataFrame(events, columns=["onset", "duration", "trial_type"]).to_csv(folder / f"{stem}_events.tsv", sep="\t",
                                                                                 index=False)


def test_a_bids_folder_gives_the_trials_and_leaves_out_bad_channels(simulated, tmp_path):
    from tests.io.test_edf import _by_trial, _resolution

    write_bids(simulated, tmp_path, bad="EMG3", exact=False)
    with pytest.warns(UserWarning, match=r"sub-01_ses-session1_task-gestures_channels\.tsv: channels \['EMG3'\] are "
                                         r"marked bad; they are left out"):
        back = load_dataset("bids", path=str(tmp_path), classes=list(simulated.classes))
    first = next(r for r in back if r.modality == "emg")
    assert "EMG3" not in first.ch_names and len(first.ch_names) == 7 and first.units[0] == "uV"
    expected, got = _by_trial(simulated), _by_trial(back)
    assert got.keys() == expected.keys()
    keep = [i for i, name in enumerate(simulated.recordings[0].ch_names) if name != "EMG3"]
    step = _resolution(np.concatenate(list(expected.values()), axis=1)[keep], 16)  # EDF's range: a session's, not a trial's
    for key, data in expected.items():
        assert (np.abs(got[key] - data[keep]) <= step * 1.0001).all(), key
    assert {r.meta["subject"] for r in back} == {r.meta["subject"] for r in simulated}
    (tmp_path / "sub-01" / "ses-session1" / "emg" / "sub-01_ses-session1_task-gestures_channels.tsv").unlink()
    with pytest.raises(DataError, match=r"sub-01_ses-session1_task-gestures_emg\.edf: no "
                                        r"sub-01_ses-session1_task-gestures_channels\.tsv beside it"):
        load_dataset("bids", path=str(tmp_path))
    with pytest.raises(DataError, match=r"no BIDS EMG recording .* of task 'walking'"):
        load_dataset("bids", path=str(tmp_path), task="walking")


def test_3dc_participant_1_as_a_bids_folder_gives_its_samples_and_accuracy(shared_data, tmp_path):
    from tests.io.test_edf import _by_trial, cross_session_accuracy

    text = load_dataset("3dc", path=str(shared_data / "3dc"), subjects=[1])
    write_bids(text, tmp_path / "bids")
    back = load_dataset("bids", path=str(tmp_path / "bids"), classes=list(text.classes))
    expected, got = _by_trial(text), _by_trial(back)
    assert got.keys() == expected.keys()
    assert all(np.array_equal(got[key], data) for key, data in expected.items())
    text_accuracy = cross_session_accuracy(f"{{name: 3dc, subjects: [1], path: {shared_data / '3dc'}}}", tmp_path / "text")
    bids = f"{{name: bids, path: {tmp_path / 'bids'}, classes: [{', '.join(text.classes)}]}}"
    assert abs(cross_session_accuracy(bids, tmp_path / "runs") - text_accuracy) <= 0.001
