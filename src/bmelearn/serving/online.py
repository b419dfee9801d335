"""Decisions from a live stream, chunk by chunk, as the model decides offline.

An :class:`OnlineDecoder` takes the samples of one signal as they arrive, in chunks of any
size, runs the model's own signal pipeline on them incrementally (each causal filter goes on
from the state the previous chunk left: :func:`bmelearn.signals.preprocessing.streaming`),
cuts windows at the model's length and step, at the same sample positions as offline, and
decides each as :meth:`~bmelearn.serving.model.DeployableModel.predict` does. So the decisions
of a recording streamed chunk by chunk are those of the whole recording predicted offline,
window for window.

A model trained with zero-phase filters cannot be run so exactly: its filters run forward only
(:class:`~bmelearn.signals.preprocessing.StreamState`), and :func:`online_agreement`, which the
run measures on a sample of its trials when it saves such a model (the card's ``online``),
says how much that changes. A step that needs the whole signal otherwise (``normalize``,
``resample``) is refused before any sample is taken.

Each window's class is post-processed as the evaluation's control metrics count it
(:class:`~bmelearn.evaluation.control.Decisions`: vote, rejection, debounce), and given a
proportional ``velocity``: the window's amplitude placed between the 10th and 90th percentiles
of that class's window amplitudes in training (the card's ``amplitude``, from
:func:`amplitude_ranges`), 0 to 1, as proportional myoelectric control drives a joint's speed
(Scheme & Englehart, J. Rehabil. Res. Dev. 48(6), 2011).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from bmelearn.compute.backends import single_threaded
from bmelearn.errors import BmeError, ConfigError
from bmelearn.evaluation.control import REJECTED, Decisions, debounced, decisions
from bmelearn.pipeline.signal import MismatchError, SignalPipeline
from bmelearn.serving.model import DeployableModel
from bmelearn.signals.preprocessing import StreamState, streaming
from bmelearn.signals.recording import Recording

#: The share of a class's training windows below the amplitude of no movement (velocity 0) and below full speed (1).
VELOCITY_PERCENTILES = (10, 90)


class OnlineDecoder:
    """The decisions of ``model`` on a live stream of its one signal (see the module text), each
    window's class post-processed by ``rule`` (default: the model's own, from its experiment's
    ``evaluation.control``, else none): the majority of the last ``vote`` windows' classes, no
    decision (an empty ``decision``) when the winner's probability is under ``reject_below``
    (only for a model whose probabilities are calibrated), a new output only after ``debounce``
    windows. With ``forward``, a model trained with zero-phase filters runs with them forward
    only (see :attr:`forwarded`); without, it is refused. The stream's ``channels`` are those
    recorded in training (the default) or those the model uses (without its bad channels)."""

    def __init__(self, model: DeployableModel, rule: Decisions | None = None, forward: bool = True,
                 channels: list[str] | None = None) -> None:
        if model.regression:
            raise MismatchError("online decoding takes a classifier; this model predicts a continuous value (use bmelearn "
                                "predict on recordings).")
        rule = rule or model_rule(model)
        if rule.vote < 1 or rule.debounce < 1:
            raise ConfigError(f"--vote {rule.vote}, --debounce {rule.debounce}: each counts windows, one or more.")
        if rule.reject_below is not None and not model.calibrated:
            raise ConfigError("--reject-below: this model's confidences are scores, not calibrated probabilities; train "
                              "it with calibrate: temperature in its experiment file, or decide without rejection.")
        self.rule, self._recent, self._voted, self._output = rule, pd.DataFrame(), np.zeros(0, dtype=object), REJECTED
        pipeline = model.signal
        if pipeline.whole or len(pipeline.inputs) != 1:
            raise MismatchError("online decoding takes a model of one signal on windows; this one takes "
                                + ("whole trials" if pipeline.whole else f"{sorted(pipeline.inputs)}") + ".")
        self.model, self.modality = model, next(iter(pipeline.inputs))
        self.signal = pipeline.inputs[self.modality]
        if not np.isclose(pipeline.fs[self.modality], self.signal.fs):
            raise MismatchError(f"the model resamples its {self.modality} signal, which needs the whole signal; "
                                "stream at the rate it takes after resampling, or train it at the stream's rate.")
        recorded, used = list(self.signal.ch_names), list(pipeline.channels(self.modality))
        self.channels = recorded if channels is None else list(channels)
        if self.channels not in (recorded, used):
            raise MismatchError(f"channels {self.channels} but the model takes {recorded}"
                                + (f" (or those it uses, {used})" if used != recorded else "") + ", in that order.")
        self._types = pipeline.channel_types(self.modality, self.channels)
        #: Where the channels the model uses (its bad channels left out) are among the stream's.
        self.used = np.array([self.channels.index(c) for c in used])
        amplitude = model.info.get("amplitude") or {}
        self._velocity = {c: amplitude[c] for c in amplitude if c != rule.rest}
        self.state = StreamState(forward)
        self._buffer = np.zeros((len(pipeline.channels(self.modality)), 0))
        self._dropped = 0  # samples of the stream no longer in the buffer
        self._next = 0  # the number of the next window
        probe_state = StreamState(forward)
        try:  # a step that needs the whole signal fails on a probe chunk now, not on the first real one
            self._prepare(np.zeros((1, len(self.channels))), probe_state)
        except BmeError as exc:
            raise MismatchError(f"this model cannot run on a live stream: {exc}") from None
        #: The zero-phase steps of the model run forward only (empty: the stream is decided as offline).
        self.forwarded = sorted(probe_state.forwarded)
        # one window decided now compiles the feature kernels (Numba) before the first real one
        n_times = pipeline.samples[self.modality]
        probe = np.random.default_rng(0).standard_normal((1, self._buffer.shape[0], n_times))
        model.decide(pipeline.model_input({self.modality: probe}, 1), np.zeros(1), "a probe window")
        self._none = self._decisions(probe[:0], 0, 0.0)  # what a chunk that completes no window gives

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
        recording = Recording(np.asarray(samples, dtype=np.float64).T, self.signal.fs, tuple(self.channels),
                              self._types, modality=self.modality, meta={"source": "the stream"})
        with streaming(state):
            return self.model.signal.prepare({self.modality: recording})[self.modality].data

    def push(self, samples: np.ndarray) -> pd.DataFrame:
        """The decisions of the windows that ``samples`` (samples × the model's recorded channels,
        in its order) complete, as :meth:`DeployableModel.predict` gives them, with ``decision``
        (post-processed), ``velocity`` (when the model knows its classes' amplitudes) and
        ``processing`` (s: this call's compute time, shared among its windows); none while a
        window is not complete."""
        began = time.perf_counter()
        samples = np.asarray(samples, dtype=np.float64)
        if samples.ndim != 2 or samples.shape[1] != len(self.channels):
            raise MismatchError(f"a chunk of {samples.shape} values; the model takes {len(self.channels)} "
                                f"{self.modality} channels ({', '.join(self.channels)}), one column each.")
        # a window or two at a time: waking pools of threads after each pause cost 3-4 times the work (measured)
        with single_threaded():
            return self._decide(samples, began)

    def _decide(self, samples: np.ndarray, began: float) -> pd.DataFrame:
        """:meth:`push` of checked ``samples``, begun at ``began`` (``time.perf_counter``)."""
        self._buffer = np.concatenate([self._buffer, self._prepare(samples, self.state)], axis=1)
        n_times = self.model.signal.samples[self.modality]
        first = self._next
        while self.first_sample(self._next) + n_times <= self.samples:
            self._next += 1
        if self._next == first:
            return self._none.copy()
        windows = np.stack([self._buffer[:, p:p + n_times] for p in
                            (self.first_sample(k) - self._dropped for k in range(first, self._next))])
        keep_from = min(self.first_sample(self._next) - self._dropped, self._buffer.shape[1])  # the next window's start
        self._buffer, self._dropped = self._buffer[:, keep_from:], self._dropped + keep_from
        return self._decisions(windows, first, began)

    def _decisions(self, windows: np.ndarray, first: int, began: float) -> pd.DataFrame:
        """The rows of :meth:`push` for ``windows`` (windows × channels × samples, prepared),
        numbered from ``first``."""
        pipeline, n = self.model.signal, len(windows)
        decided = self.model.decide(pipeline.model_input({self.modality: windows}, n),
                                    np.arange(first, first + n) * pipeline.step, "the stream")
        more = {"decision": self._post_process(decided)}
        if self._velocity:
            more["velocity"] = self._speed(more["decision"], np.abs(windows).mean(axis=(1, 2)))
        more["processing"] = np.full(n, (time.perf_counter() - began) / max(n, 1))
        return pd.concat([pd.DataFrame({"window": np.arange(first, first + n)}), decided.iloc[:, 1:],  # its own numbers
                          pd.DataFrame(more)], axis=1)

    def _post_process(self, decided: pd.DataFrame) -> np.ndarray:
        """The ``decision`` of each window of ``decided``, from it and the windows before it."""
        rule = self.rule
        if decided.empty or rule == Decisions(rest=rule.rest):  # each window decides alone
            return decided["predicted"].to_numpy(dtype=object)
        recent = pd.concat([self._recent, decided], ignore_index=True).assign(trial="stream")
        made = decisions(recent, [str(c) for c in self.model.estimator.classes_], replace(rule, debounce=1))[len(self._recent):]
        self._recent = recent.tail(rule.vote - 1).drop(columns="trial") if rule.vote > 1 else pd.DataFrame()
        if rule.debounce > 1:  # on the decisions of the last debounce - 1 windows, from the output they left
            voted = np.concatenate([self._voted, made])
            made = debounced(voted, np.arange(len(voted)) == 0, rule.debounce, self._output)[len(self._voted):]
            self._voted = voted[max(len(voted) - rule.debounce + 1, 0):]
        self._output = made[-1]
        return made

    def _speed(self, decision: np.ndarray, amplitude: np.ndarray) -> np.ndarray:
        """Each window's proportional velocity (0 to 1) for its decided class; 0 for no decision and for rest."""
        low, high = np.array([self._velocity.get(d, (np.nan, np.nan)) for d in decision], dtype=float).reshape(-1, 2).T
        known = np.isfinite(low) & (high > low)
        return np.where(known, np.clip((amplitude - low) / np.where(known, high - low, 1.0), 0.0, 1.0), 0.0)


def streamable(signal: SignalPipeline) -> bool:
    """Whether a model on ``signal`` can decide a live stream: one signal, in windows, at its rate."""
    return not signal.whole and len(signal.inputs) == 1 and all(np.isclose(signal.fs[m], i.fs) for m, i in signal.inputs.items())


def model_rule(model: DeployableModel) -> Decisions:
    """The post-processing a model was evaluated with (its experiment's ``evaluation.control``,
    kept in its card), or none."""
    return Decisions(**model.info.get("control", {}))


def amplitude_ranges(signal: SignalPipeline, trials: Sequence[tuple[Mapping[str, Recording], str]]) -> dict[str, list[float]]:
    """Per class, the :data:`VELOCITY_PERCENTILES` of its windows' amplitude (the mean absolute
    value over the channels and samples of a preprocessed window of ``signal``'s raw modality,
    in its units) over ``trials`` (each trial's recordings by modality, and its class)."""
    amplitude: dict[str, list[np.ndarray]] = {}
    for streams, label in trials:
        arrays, _ = signal.windows("calibration", signal.prepare({signal.raw: streams[signal.raw]}))
        amplitude.setdefault(label, []).append(np.abs(arrays[signal.raw]).mean(axis=(1, 2)))
    return {c: [float(v) for v in np.percentile(np.concatenate(a), VELOCITY_PERCENTILES)] for c, a in amplitude.items()
            if sum(map(len, a))}


def online_agreement(model: DeployableModel, trials: Sequence[tuple[Mapping[str, Recording], str]]) -> dict[str, float] | None:
    """How the decisions of ``model`` online (:class:`OnlineDecoder`, its zero-phase filters run
    forward only) compare with its offline ones on ``trials`` (each trial's recordings by
    modality, and its class), each trial streamed from rest: ``trials``, ``windows``,
    ``agreement`` (the share of windows decided alike), ``accuracy_offline`` and
    ``accuracy_online`` (window classes against the trials' classes). None for a model that
    cannot run live, or runs live exactly as offline (no zero-phase filter)."""
    try:
        if not OnlineDecoder(model, Decisions()).forwarded:
            return None
    except MismatchError:
        return None
    same = right_offline = right_online = n = 0
    modality = next(iter(model.signal.inputs))
    for streams, label in trials:
        recording = streams[modality].opened()  # a recording kept in its file is read now
        offline = model.predict({modality: recording})["predicted"].to_numpy()
        online = OnlineDecoder(model, Decisions()).push(recording.data.T)["predicted"].to_numpy()
        same, n = same + int((offline == online).sum()), n + len(offline)
        right_offline, right_online = right_offline + int((offline == label).sum()), right_online + int((online == label).sum())
    return {"trials": len(trials), "windows": n, "agreement": same / max(n, 1), "accuracy_offline": right_offline / max(n, 1),
            "accuracy_online": right_online / max(n, 1)}
