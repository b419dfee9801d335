"""EDF/EDF+/BDF files, written here with edfio (the format's own writer), read back by bmelearn:
one file per trial by pattern, and one continuous file per session cut into trials by its
annotations or by a side-car events table. Simulated recordings always; 3DC participant 1
when ../shared/data is present (the issue's round trip and accuracy check)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bmelearn.datasets import load_dataset
from bmelearn.errors import ConfigError, DataError
from bmelearn.io import read, read_edf
from bmelearn.signals.recording import RecordingSet

edfio = pytest.importorskip("edfio")

#: 3DC's integer ADC values fit 16 bits: with this range EDF stores them exactly.
INT16 = (-32768, 32767)


def _signals(data: np.ndarray, fs: float, names, kind: str, exact: bool):
    signal = edfio.BdfSignal if kind == "bdf" else edfio.EdfSignal
    bits = (-8388608, 8388607) if kind == "bdf" else INT16
    return [signal(row, fs, label=name, physical_dimension="uV", physical_range=bits if exact else None)
            for row, name in zip(data, names, strict=True)]


def _write(path: Path, data: np.ndarray, fs: float, names, kind: str = "edf", exact: bool = False, annotations=(),
           record: float | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    file = edfio.Bdf if kind == "bdf" else edfio.Edf
    file(_signals(data, fs, names, kind, exact), annotations=list(annotations) or None,
         data_record_duration=record or 1.0 / fs).write(path)


def write_trials(recordings: RecordingSet, root: Path, kind: str = "edf", exact: bool = False) -> None:
    """Each EMG trial as ``S{subject}/{session}/{label}_{repetition}.{kind}``."""
    for rec in recordings:
        if rec.modality == "emg":
            meta = rec.meta
            _write(root / f"S{meta['subject']}" / str(meta["session"]) / f"{meta['label']}_{meta['repetition']}.{kind}",
                   rec.data, rec.fs, rec.ch_names, kind, exact)


def write_sessions(recordings: RecordingSet, root: Path, exact: bool = False, sidecar: bool = False) -> None:
    """Each subject's session as one continuous EDF+ file ``S{subject}/{session}.edf``, its trials
    one after the other with 0.3 s of zeros between them, annotated with their labels (or, with
    ``sidecar``, listed in ``{session}_events.tsv`` beside it); padded to whole seconds."""
    sessions: dict[tuple, list] = {}
    for rec in recordings:
        if rec.modality == "emg":
            sessions.setdefault((rec.meta["subject"], rec.meta["session"]), []).append(rec)
    for (subject, session), trials in sessions.items():
        fs, names, gap = trials[0].fs, trials[0].ch_names, int(0.3 * trials[0].fs)
        parts, events, at = [], [], 0
        for rec in sorted(trials, key=lambda r: (r.meta["repetition"], r.meta["label"])):
            parts += [rec.data, np.zeros((rec.n_channels, gap))]
            events.append((at / fs, rec.n_samples / fs, rec.meta["label"]))
            at += rec.n_samples + gap
        data = np.concatenate(parts, axis=1)
        data = np.pad(data, ((0, 0), (0, -data.shape[1] % int(fs))))
        path = root / f"S{subject}" / f"{session}.edf"
        annotations = [] if sidecar else [edfio.EdfAnnotation(o, d, label) for o, d, label in events]
        _write(path, data, fs, names, "edf", exact, annotations, record=1.0)
        if sidecar:
            pd.DataFrame(events, columns=["onset", "duration", "trial_type"]).to_csv(
                path.with_name(f"{session}_events.tsv"), sep="\t", index=False)


def _files(root: Path, recordings: RecordingSet, pattern: str, **more) -> RecordingSet:
    first = next(r for r in recordings if r.modality == "emg")
    return load_dataset("files", path=str(root), pattern=pattern, fs=first.fs, ch_names=list(first.ch_names),
                        classes=list(recordings.classes), **more)


def _by_trial(recordings) -> dict[tuple, np.ndarray]:
    return {(str(r.meta["subject"]), str(r.meta["session"]), r.meta["label"], int(r.meta["repetition"])): r.data
            for r in recordings if r.modality == "emg"}


def _resolution(data: np.ndarray, bits: int) -> np.ndarray:
    """Half a step of a signal stored with its own min–max range in ``bits`` bits, per channel."""
    return (data.max(axis=1, keepdims=True) - data.min(axis=1, keepdims=True)) / (2**bits - 1) / 2 + 1e-12


@pytest.mark.parametrize(("kind", "bits"), [("edf", 16), ("bdf", 24)])
def test_trials_written_as_edf_or_bdf_read_back_to_the_formats_resolution(simulated, tmp_path, kind, bits):
    write_trials(simulated, tmp_path, kind)
    back = _files(tmp_path, simulated, f"S{{subject}}/{{session}}/{{label}}_{{repetition}}.{kind}")
    expected, got = _by_trial(simulated), _by_trial(back)
    assert got.keys() == expected.keys()
    for key, data in expected.items():
        assert got[key].shape == data.shape
        assert (np.abs(got[key] - data) <= _resolution(data, bits) * 1.0001).all(), key
    first = back.recordings[0]
    assert first.ch_names == simulated.recordings[0].ch_names and first.units == ("uV",) * 8 and first.ch_types[0] == "emg"


def test_a_continuous_edf_plus_file_gives_the_trials_of_the_per_trial_files(simulated, tmp_path):
    write_sessions(simulated, tmp_path / "annotated", exact=False)
    write_sessions(simulated, tmp_path / "sidecar", exact=False, sidecar=True)
    expected = _by_trial(simulated)
    # each session's file stores a signal over the range of all its trials (and the zeros between them)
    step = _resolution(np.concatenate([*expected.values(), np.zeros((8, 1))], axis=1), 16) * 1.0001
    for folder, events in (("annotated", "annotations"), ("sidecar", "sidecar")):
        back = _files(tmp_path / folder, simulated, "S{subject}/{session}.edf", events=events)
        got = _by_trial(back)
        assert got.keys() == expected.keys(), folder
        for key, data in expected.items():
            assert got[key].shape == data.shape, (folder, key)
            assert (np.abs(got[key] - data) <= step).all(), (folder, key)
    # the 0.3 s between trials, as a class of its own when asked
    with_rest = _files(tmp_path / "annotated", simulated, "S{subject}/{session}.edf", events="annotations", rest="pause")
    pauses = [r for r in with_rest if r.meta["label"] == "pause"]
    assert len(pauses) == len(with_rest) - len(expected) == len(expected)  # one after each trial
    for source in {r.meta["source"] for r in pauses}:
        *between, last = [round(r.duration, 3) for r in pauses if r.meta["source"] == source]
        assert set(between) == {0.3} and last >= 0.3  # the last one also holds the padding to whole seconds
    assert with_rest.classes[-1] == "pause"


def test_reading_an_edf_file_needs_no_other_argument(tmp_path):
    fs = 2048.0
    emg, acc = np.random.default_rng(0).standard_normal((2, 4096)), np.random.default_rng(1).standard_normal((3, 128))
    signals = _signals(emg, fs, ["EMG L biceps", "EMG L triceps"], "edf", False) + [
        edfio.EdfSignal(row, 64.0, label=f"ACC {axis}", physical_dimension="g") for row, axis in zip(acc, "XYZ", strict=True)]
    edfio.Edf(signals, annotations=[edfio.EdfAnnotation(0.5, None, "flexion"), edfio.EdfAnnotation(1.25, 0.5, "rest")],
              data_record_duration=1.0).write(tmp_path / "r.edf")
    recordings = read(tmp_path / "r.edf")
    assert [(r.modality, r.fs, r.ch_names, r.units) for r in recordings] == [
        ("emg", 2048.0, ("EMG L biceps", "EMG L triceps"), ("uV", "uV")), ("acc", 64.0, ("ACC X", "ACC Y", "ACC Z"), ("g",) * 3)]
    np.testing.assert_allclose(recordings[1].data, acc, atol=_resolution(acc, 16).max() * 1.0001)
    events = read_edf(tmp_path / "r.edf").events
    # an annotation without a duration lasts until the next one
    assert events.to_dict("list") == {"onset": [0.5, 1.25], "duration": [0.75, 0.5], "label": ["flexion", "rest"]}


def test_bad_edf_inputs_name_the_file_and_the_fix(simulated, tmp_path):
    rec = next(r for r in simulated if r.modality == "emg")
    good = tmp_path / "good.edf"
    _write(good, rec.data, rec.fs, rec.ch_names)
    truncated = tmp_path / "truncated.edf"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) * 2 // 3])
    with pytest.raises(DataError, match=r"truncated\.edf: the file is truncated .*export it again"):
        read(truncated)
    (tmp_path / "text.edf").write_text("not an EDF file")
    with pytest.raises(DataError, match=r"text\.edf: not a readable EDF file .*Export the recording again"):
        read(tmp_path / "text.edf")
    # events past the end of the recording
    root = tmp_path / "late"
    _write(root / "S1" / "session1.edf", np.pad(rec.data, ((0, 0), (0, 500))), rec.fs, rec.ch_names, record=1.0)
    pd.DataFrame({"onset": [0.2, 1.8], "duration": [1.0, 0.5], "label": ["rest", "rest"]}).to_csv(
        root / "S1" / "session1_events.tsv", sep="\t", index=False)
    with pytest.raises(DataError, match=r"session1\.edf: the event 'rest' at 1\.8 s lasts until 2\.3 s, past the end of "
                                        r"the recording \(2 s\)\. Check that the events belong to this file"):
        _files(root, simulated, "S{subject}/{session}.edf", events="sidecar")
    with pytest.raises(DataError, match=r"session1\.edf: an EDF file has no label variable; take the events from"):
        _files(root, simulated, "S{subject}/{session}.edf", events="labels")
    # no side-car table; an events table without labels
    (root / "S1" / "session1_events.tsv").unlink()
    with pytest.raises(DataError, match=r"session1\.edf: no events table beside it; looked for \['session1_events\.tsv'"):
        _files(root, simulated, "S{subject}/{session}.edf", events="sidecar")
    pd.DataFrame({"onset": [0.2], "duration": [1.0]}).to_csv(root / "S1" / "session1_events.tsv", sep="\t", index=False)
    with pytest.raises(DataError, match=r"session1_events\.tsv: an events table needs the columns onset, duration .*"
                                        r"\['label'\] missing"):
        _files(root, simulated, "S{subject}/{session}.edf", events="sidecar")
    # a rate or channels other than the dataset's
    (tmp_path / "t" / "S1" / "session1").mkdir(parents=True)
    good.rename(tmp_path / "t" / "S1" / "session1" / "rest_0.edf")
    with pytest.raises(DataError, match=r"rest_0\.edf: sampled at 1000 Hz, not the 2000 Hz of dataset\.fs; set fs to 1000"):
        load_dataset("files", path=str(tmp_path / "t"), pattern="S{subject}/{session}/{label}_{repetition}.edf",
                     fs=2000.0, ch_names=list(rec.ch_names))
    with pytest.raises(DataError, match=r"rest_0\.edf: channels \['EMG9'\] that the dataset expects are missing"):
        load_dataset("files", path=str(tmp_path / "t"), pattern="S{subject}/{session}/{label}_{repetition}.edf",
                     fs=1000.0, ch_names=[*rec.ch_names, "EMG9"])


def test_the_files_dataset_refuses_a_label_and_events_together(simulated, tmp_path):
    with pytest.raises(DataError, match=r"dataset\.pattern: .* has a \{label\} field, but dataset\.events"):
        _files(tmp_path, simulated, "S{subject}/{session}/{label}.edf", events="annotations")
    with pytest.raises(DataError, match=r"dataset\.rest: .* only for continuous recordings"):
        _files(tmp_path, simulated, "S{subject}/{session}/{label}.edf", rest="pause")


def test_3dc_participant_1_as_edf_bdf_and_edf_plus_gives_its_samples_and_accuracy(shared_data, tmp_path):
    """The issue's round trip: the text files of 3DC participant 1, written as EDF, BDF and one
    EDF+ file per session, read back exactly (their integer values fit 16 bits) and validated
    with the same cross-session accuracy as examples/3dc.yaml on the text files."""
    text = load_dataset("3dc", path=str(shared_data / "3dc"), subjects=[1])
    write_trials(text, tmp_path / "edf", "edf", exact=True)
    write_trials(text, tmp_path / "bdf", "bdf", exact=True)
    write_sessions(text, tmp_path / "edfplus", exact=True)
    expected = _by_trial(text)
    folders = {"edf": "S{subject}/{session}/{label}_{repetition}.edf", "bdf": "S{subject}/{session}/{label}_{repetition}.bdf",
               "edfplus": "S{subject}/{session}.edf"}
    for folder, pattern in folders.items():
        more = {"events": "annotations"} if folder == "edfplus" else {}
        got = _by_trial(_files(tmp_path / folder, text, pattern, **more))
        assert got.keys() == expected.keys(), folder
        assert all(np.array_equal(got[key], data) for key, data in expected.items()), folder

    accuracy = cross_session_accuracy(f"{{name: 3dc, subjects: [1], path: {shared_data / '3dc'}}}", tmp_path / "runs" / "text")
    classes = "[" + ", ".join(text.classes) + "]"
    for folder, pattern in folders.items():
        dataset = (f"{{name: files, path: {tmp_path / folder}, pattern: '{pattern}', fs: 1000.0, "
                   f"ch_names: [{', '.join(f'EMG{i}' for i in range(1, 11))}], classes: {classes}"
                   + (", events: annotations}" if folder == "edfplus" else "}"))
        assert abs(cross_session_accuracy(dataset, tmp_path / "runs" / folder) - accuracy) <= 0.001, folder


def cross_session_accuracy(dataset: str, folder: Path) -> float:
    """The mean cross-session accuracy (train → test) of HTD and LDA on ``dataset`` (YAML), as
    examples/3dc.yaml measures it, run into ``folder``."""
    from bmelearn.runs.config import load_config
    from bmelearn.runs.experiment import run

    result = run(load_config(None, [f"dataset={dataset}", "models=[lda]", "features=[HTD]", "evaluation.n_boot=100",
                                    "protocols=[{cross_session: {train: [train], test: [test]}}]"]), folder)
    return result.summary["cross_session"]["lda"]["accuracy"]["mean"]


def test_a_continuous_text_file_with_a_sidecar_table_gives_the_trials(simulated, tmp_path):
    """Continuous recordings need not be EDF: a CSV file per session with its events beside it
    gives the trials exactly; events of labels that are not classes are left out, and so are they
    from the rest between trials."""
    expected = _by_trial(simulated)
    for (subject, session) in {(r.meta["subject"], r.meta["session"]) for r in simulated}:
        trials = sorted((r for r in simulated if r.modality == "emg" and (r.meta["subject"], r.meta["session"]) ==
                         (subject, session)), key=lambda r: (r.meta["repetition"], r.meta["label"]))
        data = np.concatenate([np.pad(r.data, ((0, 0), (0, 200))) for r in trials], axis=1)
        starts = np.cumsum([0] + [r.n_samples + 200 for r in trials[:-1]]) / 1000.0
        events = [(start, r.duration, r.meta["label"]) for start, r in zip(starts, trials, strict=True)]
        events += [(start + r.duration, 0.1, "marker") for start, r in zip(starts, trials, strict=True)]
        folder = tmp_path / f"S{subject}"
        folder.mkdir(exist_ok=True)
        pd.DataFrame(data.T, columns=list(trials[0].ch_names)).to_csv(folder / f"{session}.csv", index=False,
                                                                     float_format="%.17g")
        pd.DataFrame(events, columns=["onset", "duration", "value"]).to_csv(folder / f"{session}_events.csv", index=False)
    back = _files(tmp_path, simulated, "S{subject}/{session}.csv", events="sidecar", rest="pause")
    got = _by_trial(back)
    pauses = {key: data for key, data in got.items() if key[2] == "pause"}
    assert {key: data.shape for key, data in got.items() if key[2] != "pause"} == {k: d.shape for k, d in expected.items()}
    assert all(np.array_equal(got[key], data) for key, data in expected.items())
    # each pause: the 0.2 s after a trial less the 0.1 s marker, not the marker
    assert {data.shape[1] for data in pauses.values()} == {100} and "marker" not in back.classes


def test_a_trial_file_s_other_signals_are_left_aside(simulated, tmp_path):
    """A per-trial EDF file may hold more than the dataset's channels (an accelerometer at
    another rate, a spare EMG label at the same rate): the channels are found by label, in the
    dataset's order."""
    rec = next(r for r in simulated if r.modality == "emg")
    order = [3, 0, 1, 2, 4, 5, 6, 7]
    signals = [edfio.EdfSignal(rec.data[i], rec.fs, label=rec.ch_names[i], physical_dimension="uV") for i in order]
    signals += [edfio.EdfSignal(rec.data[0], rec.fs, label="EMG spare"),
                edfio.EdfSignal(np.zeros(int(rec.duration * 50)), 50.0, label="ACC X")]
    path = tmp_path / "S1" / "session1" / "rest_0.edf"
    path.parent.mkdir(parents=True)
    edfio.Edf(signals, data_record_duration=rec.duration).write(path)
    back = load_dataset("files", path=str(tmp_path), pattern="S{subject}/{session}/{label}_{repetition}.edf", fs=rec.fs,
                        ch_names=list(rec.ch_names))
    assert back.recordings[0].ch_names == rec.ch_names
    assert (np.abs(back.recordings[0].data - rec.data) <= _resolution(rec.data, 16) * 1.0001).all()


def test_windows_over_two_events_are_dropped_or_labelled_by_their_centre(simulated, tmp_path):
    """A continuous recording's windows stay inside each event by default, and the run says how
    many windows would straddle two events; with dataset.straddle: centre they are cut too,
    each labelled by the event at its centre, and the run says how many straddle."""
    from bmelearn.runs.config import load_config
    from bmelearn.runs.plan import make_plan
    from bmelearn.signals.windowing import trial_windows

    write_sessions(simulated, tmp_path, sidecar=True)
    first = next(r for r in simulated if r.modality == "emg")
    base = [f"dataset={{name: files, path: {tmp_path}, pattern: 'S{{subject}}/{{session}}.edf', fs: {first.fs}, "
            f"ch_names: [{', '.join(first.ch_names)}], classes: [{', '.join(simulated.classes)}], events: sidecar}}",
            "windows={length: 0.2, step: 0.1}", "features=[HTD]"]
    counts = {}
    for straddle in ("drop", "centre"):
        plan = make_plan(load_config(None, [*base, f"dataset.straddle={straddle}"]))
        with pytest.warns(UserWarning, match=r"(\d+) windows (would )?straddle two events") as said:
            trials = plan.data.load().trials()
        counts[straddle] = int(next(str(w.message) for w in said if "straddle two events" in str(w.message)).split()[0])
        streams = list(trials.values())[1]  # the second event of a session: another before it
        arrays, starts = trial_windows("t", streams, 0.2, 0.1, {"emg": 200})
        counts[straddle, "windows"] = len(starts)
        if straddle == "centre":  # centres from the event's first sample, a step apart, all inside it
            assert streams["emg"].meta["context_before"] == pytest.approx(0.1)
            np.testing.assert_allclose(starts + 0.1, np.arange(len(starts)) * 0.1, atol=1e-9)
            assert starts[0] == pytest.approx(-0.1) and starts[-1] + 0.1 < first.duration
    n_trials = len(trials)
    duration = first.duration  # each simulated trial: its windows inside it, then those centred in it
    inside, centred = int(np.floor((duration - 0.2) / 0.1 + 1e-9)) + 1, int(np.ceil(duration / 0.1 - 1e-9))
    assert counts["drop"] == n_trials * (centred - inside)  # what centre would add
    assert counts["drop", "windows"] == inside and counts["centre", "windows"] in (centred, centred - 1)
    assert counts["centre"] > 0
    with pytest.raises(ConfigError, match=r"dataset\.straddle: centre labels windows by their centre; with windows: whole"):
        load_config(None, [*base, "dataset.straddle=centre", "windows=whole"])
    with pytest.raises(ConfigError, match=r"dataset\.straddle: windows straddle two events only in continuous recordings"):
        load_config(None, [base[0].replace(", events: sidecar", "").replace(".edf'", "/{label}_{repetition}.edf'"),
                           "dataset.straddle=centre"])
