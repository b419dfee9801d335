"""Decisions from a live stream, chunk by chunk, as the model decides offline.

An :class:`OnlineDecoder` takes the samples of one signal as they arrive, in chunks of any
size, runs the model's own signal pipeline on them incrementally (each causal filter goes on
from the state the previous chunk left: :func:`bmelearn.signals.preprocessing.streaming`),
cuts windows at the model's length and step, at the same sample positions as offline, and
decides each as :meth:`~bmelearn.serving.model.DeployableModel.predict` does. So the decisions
of a recording streamed chunk by chunk are those of the whole recording predicted offline,
window for window. A model whose preprocessing needs the whole signal (zero-phase filters,
``normalize``, ``resample``) is refused before any sample is taken, with what to train instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bmelearn.errors import BmeError, ConfigError
from bmelearn.evaluation.control import decisions
from bmelearn.pipeline.signal import MismatchError
from bmelearn.serving.model import DeployableModel
from bmelearn.signals.preprocessing import StreamState, streaming
from bmelearn.signals.recording import Recording


class OnlineDecoder:
    """The decisions of ``model`` on a live stream of its one signal (see the module text), each
    window's class post-processed as the evaluation's control metrics count it
    (:func:`bmelearn.evaluation.control.decisions`): the majority of the last ``vote`` windows'
    classes, or no decision (an empty ``decision``) when the winner's probability at this
    window is under ``reject_below`` (only for a model whose probabilities are calibrated)."""

    def __init__(self, model: DeployableModel, vote: int = 1, reject_below: float | None = None) -> None:
        if vote < 1:
            raise ConfigError(f"--vote: {vote} windows; vote over one window (no vote) or more.")
        if reject_below is not None and not model.calibrated:
            raise ConfigError("--reject-below: this model's confidences are scores, not calibrated probabilities; train "
                              "it with calibrate: temperature in its experiment file, or decide without rejection.")
        self.vote, self.reject_below, self._recent = vote, reject_below, pd.DataFrame()
        pipeline = model.signal
        if pipeline.whole or len(pipeline.inputs) != 1:
            raise MismatchError("online decoding takes a model of one signal on windows; this one takes "
                                + ("whole trials" if pipeline.whole else f"{sorted(pipeline.inputs)}") + ".")
        self.model, self.modality = model, next(iter(pipeline.inputs))
        self.signal = pipeline.inputs[self.modality]
        if not np.isclose(pipeline.fs[self.modality], self.signal.fs):
            raise MismatchError(f"the model resamples its {self.modality} signal, which needs the whole signal; "
                                "stream at the rate it takes after resampling, or train it at the stream's rate.")
        self.state = StreamState()
        self._buffer = np.zeros((len(pipeline.channels(self.modality)), 0))
        self._dropped = 0  # samples of the stream no longer in the buffer
        self._next = 0  # the number of the next window
        try:  # a step that needs the whole signal fails on a probe chunk now, not on the first real one
            self._prepare(np.zeros((1, len(self.signal.ch_names))), StreamState())
        except BmeError as exc:
            raise MismatchError(f"this model cannot run on a live stream: {exc}") from None
        # one window decided now compiles the feature kernels (Numba) before the first real one
        n_times = pipeline.samples[self.modality]
        probe = np.random.default_rng(0).standard_normal((1, self._buffer.shape[0], n_times))
        model.decide(pipeline.model_input({self.modality: probe}, 1), np.zeros(1), "a probe window")

    @property
    def next_window(self) -> int:
        """The number of the next window to be decided (0 for the first)."""
        return self._next

    def first_sample(self, window: int) -> int:
        """The stream's sample where window number ``window`` starts: offline's ``round(start * fs)``."""
        return round(window * self.model.signal.step * self.signal.fs)

    @property
    def samples(self) -> int:
        """The samples taken so far."""
        return self._dropped + self._buffer.shape[1]

    def _prepare(self, samples: np.ndarray, state: StreamState) -> np.ndarray:
        """A chunk (samples × the recorded channels) through the model's preprocessing, from ``state``."""
        recording = Recording(np.asarray(samples, dtype=np.float64).T, self.signal.fs, self.signal.ch_names,
                              self.signal.ch_types, modality=self.modality, meta={"source": "the stream"})
        with streaming(state):
            return self.model.signal.prepare({self.modality: recording})[self.modality].data

    def push(self, samples: np.ndarray) -> pd.DataFrame:
        """The decisions of the windows that ``samples`` (samples × the model's recorded channels,
        in its order) complete, as :meth:`DeployableModel.predict` gives them; none while a
        window is not complete."""
        samples = np.asarray(samples, dtype=np.float64)
        if samples.ndim != 2 or samples.shape[1] != len(self.signal.ch_names):
            raise MismatchError(f"a chunk of {samples.shape} values; the model takes {len(self.signal.ch_names)} "
                                f"{self.modality} channels ({', '.join(self.signal.ch_names)}), one column each.")
        self._buffer = np.concatenate([self._buffer, self._prepare(samples, self.state)], axis=1)
        pipeline = self.model.signal
        n_times = pipeline.samples[self.modality]
        first = self._next
        while self.first_sample(self._next) + n_times <= self.samples:
            self._next += 1
        positions = [self.first_sample(k) - self._dropped for k in range(first, self._next)]
        windows = np.stack([self._buffer[:, p:p + n_times] for p in positions]) if positions else \
            np.zeros((0, self._buffer.shape[0], n_times))
        keep_from = min(self.first_sample(self._next) - self._dropped, self._buffer.shape[1])  # the next window's start
        self._buffer, self._dropped = self._buffer[:, keep_from:], self._dropped + keep_from
        starts = np.arange(first, self._next) * pipeline.step
        decided = self.model.decide(pipeline.model_input({self.modality: windows}, len(starts)), starts, "the stream")
        return self._post_process(decided.assign(window=np.arange(first, self._next)))

    def _post_process(self, decided: pd.DataFrame) -> pd.DataFrame:
        """``decided`` with each window's ``decision``, from it and the windows before it."""
        if decided.empty or (self.vote == 1 and self.reject_below is None):  # each window decides alone
            return decided.assign(decision=decided["predicted"].astype(object))
        recent = pd.concat([self._recent, decided], ignore_index=True).assign(trial="stream")
        made = decisions(recent, [str(c) for c in self.model.estimator.classes_], self.vote, self.reject_below)
        self._recent = recent.tail(self.vote - 1).drop(columns="trial") if self.vote > 1 else pd.DataFrame()
        return decided.assign(decision=made[len(made) - len(decided):])
