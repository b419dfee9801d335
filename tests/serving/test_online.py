"""A live stream decided chunk by chunk gives, window for window, the decisions of the whole
recording predicted offline, whatever the chunks' sizes; a model that needs the whole signal
is refused before any sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bmelearn.errors import ConfigError, DataError
from bmelearn.pipeline.signal import MismatchError
from bmelearn.serving import DeployableModel
from bmelearn.serving.online import OnlineDecoder
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
        OnlineDecoder(zero_phase)
    with pytest.raises(MismatchError, match=r"normalize: needs the whole signal"):
        OnlineDecoder(_model(simulated, [{"normalize": {}}]))
    decoder = OnlineDecoder(_model(simulated, CAUSAL))
    with pytest.raises(MismatchError, match=r"a chunk of \(10, 7\) values; the model takes 8 emg channels"):
        decoder.push(np.zeros((10, 7)))
    with pytest.raises(DataError, match=r"the stream: the features of .* not finite"):
        decoder.push(np.full((400, 8), 1e308))


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
    """A majority vote over the last 5 windows, and rejection under a probability: online, chunk
    by chunk, the decisions that the evaluation's control metrics count offline."""
    from bmelearn.evaluation.control import decisions
    from bmelearn.models.calibration import with_calibration

    model = _model(simulated, CAUSAL)
    recording = _stream(simulated)
    offline = model.predict({"emg": recording}).assign(trial="stream")
    classes = [str(c) for c in model.estimator.classes_]
    decoder = OnlineDecoder(model, vote=5)
    samples = recording.data.T
    online = pd.concat([decoder.push(samples[a:a + 37]) for a in range(0, len(samples), 37)], ignore_index=True)
    assert list(online["decision"]) == list(decisions(offline, classes, 5, None))
    assert (online["decision"] != online["predicted"]).any()  # the vote changed some
    with pytest.raises(ConfigError, match=r"--reject-below: this model's confidences are scores, not calibrated"):
        OnlineDecoder(model, reject_below=0.6)
    calibrated = DeployableModel(model.signal, with_calibration(model.estimator, "temperature", "test").fit(
        model.signal.transform({"emg": recording})[0], offline["predicted"]), model.classes, {})
    offline = calibrated.predict({"emg": recording}).assign(trial="stream")
    decoder = OnlineDecoder(calibrated, vote=3, reject_below=0.6)
    online = pd.concat([decoder.push(samples[a:a + 50]) for a in range(0, len(samples), 50)], ignore_index=True)
    expected = decisions(offline, [str(c) for c in calibrated.estimator.classes_], 3, 0.6)
    assert list(online["decision"]) == list(expected) and (expected == "").any()  # some windows without a decision
