"""A live stream decided chunk by chunk gives, window for window, the decisions of the whole
recording predicted offline, whatever the chunks' sizes; a model trained with zero-phase filters
runs them forward, as the same model with causal filters decides offline; a model that needs the
whole signal otherwise is refused before any sample. Decisions are post-processed (vote,
rejection, debounce) as the evaluation counts them, with a proportional velocity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bmelearn.errors import ConfigError, DataError
from bmelearn.evaluation.control import Decisions, decisions
from bmelearn.pipeline.signal import MismatchError
from bmelearn.serving import DeployableModel
from bmelearn.serving.online import OnlineDecoder, amplitude_ranges, online_agreement
from bmelearn.signals.recording import Recording

CAUSAL = [{"bandpass": {"low": 20, "high": 450, "causal": True}}, {"notch": {"freq": 50, "causal": True}}]


def _model(simulated, steps, features=("MAV", "WL", "ZC", "SSC"), bads=("EMG3",)) -> DeployableModel:
    """LDA on simulated EMG trials through ``steps`` (8 channels at 1 kHz, 0.2 s windows every 0.05 s)."""
    from bmelearn.models import make_model
    from bmelearn.pipeline import SignalPipeline

    emg = [r for r in simulated if r.modality == "emg"]
    pipeline = SignalPipeline.fit({"emg": emg[0]}, steps, {"emg": list(bads)}, 0.2, 0.05, False, {"emg": list(features)})
    parts = [pipeline.transform({"emg": r})[0] for r in emg]
    labels = np.concatenate([[r.meta["label"]] * len(x) for r, x in zip(emg, parts, strict=True)])
    return DeployableModel(pipeline, make_model("lda").fit(np.vstack(parts), labels), sorted(set(labels)), {})


def _stream(simulated) -> Recording:
    """A subject's second session as one continuous recording, its trials one after another."""
    trials = [r for r in simulated if r.modality == "emg" and r.meta["subject"] == 1 and r.meta["session"] == "session2"]
    return Recording(np.concatenate([r.data for r in trials], axis=1), trials[0].fs, trials[0].ch_names,
                     trials[0].ch_types, modality="emg", meta={"source": "session2"})


@pytest.mark.parametrize("chunks", ["one sample", "irregular", "whole"])
def test_a_stream_decided_chunk_by_chunk_gives_the_offline_decisions(simulated, chunks):
    model = _model(simulated, CAUSAL)
    recording = _stream(simulated)
    offline = model.predict({"emg": recording})
    decoder = OnlineDecoder(model)
    samples = recording.data.T
    sizes = {"one sample": [1] * 2000, "irregular": list(np.random.default_rng(0).integers(1, 300, 2000)),
             "whole": [len(samples)]}[chunks]
    edges = np.minimum(np.cumsum([0, *sizes]), len(samples))
    if chunks == "one sample":
        edges = np.arange(0, 4001)  # the first 4 s, sample by sample
    parts = [decoder.push(samples[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
    online = pd.concat(parts, ignore_index=True)
    expected = offline.iloc[:len(online)]
    assert len(online) > 10 and (len(online) == len(offline) or chunks == "one sample")
    assert list(online["window"]) == list(expected["window"]) and np.allclose(online["start"], expected["start"])
    assert list(online["predicted"]) == list(expected["predicted"])
    # the same features bit for bit; the estimator's matrix products round by how many windows it decides at once
    np.testing.assert_allclose(online.filter(like="p:").to_numpy(), expected.filter(like="p:").to_numpy(), rtol=0, atol=1e-12)


def test_a_model_that_needs_the_whole_signal_is_refused_before_any_sample(simulated):
    zero_phase = _model(simulated, [{"bandpass": {"low": 20, "high": 450}}])
    with pytest.raises(MismatchError, match=r"cannot run on a live stream: bandpass \(zero-phase\): needs the whole signal.*"
                                            r"train the model with bandpass: \{causal: true\}"):
        OnlineDecoder(zero_phase, forward=False)
    with pytest.raises(MismatchError, match=r"normalize: needs the whole signal"):
        OnlineDecoder(_model(simulated, [{"normalize": {}}]))
    decoder = OnlineDecoder(_model(simulated, CAUSAL))
    assert decoder.forwarded == []
    with pytest.raises(MismatchError, match=r"a chunk of \(10, 7\) values; the model takes 8 emg channels"):
        decoder.push(np.zeros((10, 7)))
    with pytest.raises(DataError, match=r"the stream: the features of .* not finite"):
        decoder.push(np.full((400, 8), 1e308))


def test_a_zero_phase_model_runs_its_filters_forward_as_the_causal_model_decides_offline(simulated):
    """Online, the zero-phase filters of a model run forward only: its decisions are those of the
    same classifier behind the same filters made causal, offline; how often they differ from the
    zero-phase model's own offline decisions is what online_agreement measures."""
    from bmelearn.pipeline import SignalPipeline

    zero_phase = _model(simulated, [{"bandpass": {"low": 20, "high": 450}}, {"notch": {"freq": 50}}])
    causal = DeployableModel(SignalPipeline.fit({"emg": _stream(simulated)}, CAUSAL, {"emg": ["EMG3"]}, 0.2, 0.05, False,
                                                {"emg": ["MAV", "WL", "ZC", "SSC"]}), zero_phase.estimator, zero_phase.classes, {})
    recording = _stream(simulated)
    decoder = OnlineDecoder(zero_phase)
    assert decoder.forwarded == ["bandpass", "notch"]
    samples = recording.data.T
    online = pd.concat([decoder.push(samples[a:a + 40]) for a in range(0, len(samples), 40)], ignore_index=True)
    expected = causal.predict({"emg": recording})
    assert list(online["predicted"]) == list(expected["predicted"])
    np.testing.assert_allclose(online.filter(like="p:").to_numpy(), expected.filter(like="p:").to_numpy(), rtol=0, atol=1e-9)
    # the agreement, by hand, on two trials of each of two classes
    emg = [r for r in simulated if r.modality == "emg" and r.meta["subject"] == 2]
    trials = [({"emg": r}, r.meta["label"]) for r in emg if r.meta["label"] in zero_phase.classes[:2]][:4]
    measured = online_agreement(zero_phase, trials)
    offline = [zero_phase.predict(t)["predicted"].to_numpy() for t, _ in trials]
    forward = [causal.predict(t)["predicted"].to_numpy() for t, _ in trials]
    n = sum(map(len, offline))
    assert measured["trials"] == 4 and measured["windows"] == n
    assert measured["agreement"] == pytest.approx(sum((a == b).sum() for a, b in zip(offline, forward, strict=True)) / n)
    assert measured["accuracy_online"] == pytest.approx(sum((b == lab).sum() for b, (_, lab) in zip(forward, trials, strict=True)) / n)
    assert measured["accuracy_offline"] == pytest.approx(sum((a == lab).sum() for a, (_, lab) in zip(offline, trials, strict=True)) / n)
    assert online_agreement(causal, trials) is None  # decided online exactly as offline: nothing to measure


def test_velocity_places_each_window_between_its_class_amplitudes(simulated):
    """A window's velocity is its amplitude (mean |x| after preprocessing) between its class's
    10th and 90th percentiles in training, clipped to 0-1; 0 for the rest class and for no decision."""
    model = _model(simulated, CAUSAL)
    emg = [r for r in simulated if r.modality == "emg" and r.meta["subject"] == 1 and r.meta["session"] == "session1"]
    ranges = amplitude_ranges(model.signal, [({"emg": r}, r.meta["label"]) for r in emg])
    first = [r for r in emg if r.meta["label"] == model.classes[1]]
    arrays, _ = model.signal.windows("t", model.signal.prepare({"emg": first[0]}))
    amplitude = np.abs(arrays["emg"]).mean(axis=(1, 2))
    others = np.concatenate([np.abs(model.signal.windows("t", model.signal.prepare({"emg": r}))[0]["emg"]).mean(axis=(1, 2))
                             for r in first])
    assert ranges[model.classes[1]] == pytest.approx(list(np.percentile(others, [10, 90])))
    assert set(ranges) == {r.meta["label"] for r in emg}
    rest = model.classes[0]
    model = DeployableModel(model.signal, model.estimator, model.classes, {"amplitude": ranges, "control": {"rest": rest}})
    recording = _stream(simulated)
    online = OnlineDecoder(model).push(recording.data.T)
    arrays, _ = model.signal.windows("s", model.signal.prepare({"emg": recording}))
    amplitude = np.abs(arrays["emg"]).mean(axis=(1, 2))
    low, high = np.array([ranges[d] for d in online["decision"]]).T
    expected = np.where(online["decision"] == rest, 0.0, np.clip((amplitude - low) / (high - low), 0, 1))
    np.testing.assert_allclose(online["velocity"], expected, atol=1e-12)
    assert 0 < online["velocity"].max() <= 1 and (online["velocity"][online["decision"] == rest] == 0).all()
    assert (online["velocity"] == 0).mean() < 1 and (online["processing"] > 0).all()


def test_3dc_participant_1_streamed_gives_the_offline_decisions(shared_data):
    """3DC participant 1: a causal model trained on the train session; its test session streamed
    in chunks of 50 samples (as an amplifier sends them) is decided as offline, window for window."""
    from bmelearn.datasets import load_dataset

    data = load_dataset("3dc", path=str(shared_data / "3dc"), subjects=[1])
    train = data.select(session="train")
    model = _model(train, [{"bandpass": {"low": 20, "high": 450, "causal": True}}], features=("MAV", "WL", "ZC", "SSC"),
                   bads=())
    trials = [r for r in data if r.modality == "emg" and r.meta["session"] == "test"]
    recording = Recording(np.concatenate([r.data for r in trials], axis=1), trials[0].fs, trials[0].ch_names,
                          trials[0].ch_types, modality="emg", meta={"source": "test session"})
    offline = model.predict({"emg": recording})
    decoder = OnlineDecoder(model)
    samples = recording.data.T
    online = pd.concat([decoder.push(samples[a:a + 50]) for a in range(0, len(samples), 50)], ignore_index=True)
    assert len(online) == len(offline) > 4000
    assert list(online["predicted"]) == list(offline["predicted"])
    np.testing.assert_allclose(online["confidence"], offline["confidence"], rtol=0, atol=1e-12)


def test_online_decisions_are_post_processed_as_the_control_metrics_count_them(simulated):
    """A majority vote over the last 5 windows, debounce, and rejection under a probability:
    online, chunk by chunk, the decisions that the evaluation's control metrics count offline;
    by default, the rule the model was evaluated with."""
    from bmelearn.models.calibration import with_calibration

    model = _model(simulated, CAUSAL)
    recording = _stream(simulated)
    offline = model.predict({"emg": recording}).assign(trial="stream")
    classes = [str(c) for c in model.estimator.classes_]
    samples = recording.data.T
    for rule in (Decisions(vote=5), Decisions(vote=3, debounce=4), Decisions(debounce=2)):
        decoder = OnlineDecoder(model, rule)
        online = pd.concat([decoder.push(samples[a:a + 37]) for a in range(0, len(samples), 37)], ignore_index=True)
        assert list(online["decision"]) == list(decisions(offline, classes, rule))
        assert (online["decision"] != online["predicted"]).any()  # the post-processing changed some
    own = DeployableModel(model.signal, model.estimator, model.classes, {"control": {"vote": 3, "debounce": 4}})
    assert OnlineDecoder(own).rule == Decisions(vote=3, debounce=4)
    with pytest.raises(ConfigError, match=r"--reject-below: this model's confidences are scores, not calibrated"):
        OnlineDecoder(model, Decisions(reject_below=0.6))
    calibrated = DeployableModel(model.signal, with_calibration(model.estimator, "temperature", "test").fit(
        model.signal.transform({"emg": recording})[0], offline["predicted"]), model.classes, {})
    offline = calibrated.predict({"emg": recording}).assign(trial="stream")
    decoder = OnlineDecoder(calibrated, Decisions(vote=3, reject_below=0.6))
    online = pd.concat([decoder.push(samples[a:a + 50]) for a in range(0, len(samples), 50)], ignore_index=True)
    expected = decisions(offline, [str(c) for c in calibrated.estimator.classes_], Decisions(vote=3, reject_below=0.6))
    assert list(online["decision"]) == list(expected) and (expected == "").any()  # some windows without a decision


def test_a_run_saves_what_online_use_needs(simulated, tmp_path):
    """A run on EMG files keeps in each model its control rule, its classes' amplitude ranges and,
    its filters being zero-phase, what running them forward changed on its own trials."""
    import json

    from bmelearn.runs.config import load_config
    from bmelearn.runs.experiment import run

    emg = [r for r in simulated if r.modality == "emg"]
    for r in emg:
        path = tmp_path / "data" / f"S{r.meta['subject']}" / r.meta["session"] / f"{r.meta['label']}_{r.meta['repetition']}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savetxt(path, r.data.T, delimiter=",")
    dataset = (f"dataset={{name: files, path: {tmp_path / 'data'}, pattern: 'S{{subject}}/{{session}}/{{label}}_{{repetition}}.csv', "
               f"fs: 1000.0, ch_names: {list(emg[0].ch_names)}}}")
    cfg = load_config(None, [dataset, "models=[lda]", "protocols=[cross_session]", "evaluation.n_boot=50",
                             "preprocessing=[{bandpass: {low: 20, high: 450}}]", "features={emg: [HTD]}",
                             "evaluation.control={vote: 3, debounce: 2}"])
    card = json.loads((run(cfg, tmp_path / "run").folder / "models" / "lda.json").read_text())
    classes = sorted({r.meta["label"] for r in emg})
    assert card["control"] == {"vote": 3, "reject_below": None, "rest": None, "debounce": 2}
    assert sorted(card["amplitude"]) == classes and all(lo < hi for lo, hi in card["amplitude"].values())
    per_class = len({(r.meta["subject"], r.meta["session"], r.meta["repetition"]) for r in emg})  # 12 trials of each class
    assert card["online"]["trials"] == 8 * len(classes) and per_class == 12
    assert 0.5 < card["online"]["agreement"] <= 1 and 0 < card["online"]["accuracy_online"] <= 1
