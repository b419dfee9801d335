"""The fitted signal pipeline: the one object that turns recordings into a model's input.

Training, the saved model, ``bmelearn predict``, the prediction service and (to come) live
decoding all call it, so they cannot disagree. It holds, in order:

1. the signals it takes: per modality the sampling rate (Hz), channel names and types, as
   recorded;
2. the channels excluded per modality (*bads*, as in MNE), dropped by name;
3. the preprocessing steps, by name and parameters (no callables: the model file stays
   data), applied to the EMG;
4. the window: ``length`` and ``step`` in s, or the whole trial;
5. per modality a fitted :class:`~bmelearn.features.FeatureExtractor` (with the features it
   logs), or, for a model on raw windows (``output="windows"``), the modality whose windows
   it takes.

It is fitted on the first trial of a dataset (:meth:`SignalPipeline.fit`): that gives the
rate after preprocessing and the samples per window, and fits the extractors to the shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bmelearn.errors import DataError
from bmelearn.features import FeatureExtractor
from bmelearn.features.extractor import modality_extractors
from bmelearn.signals.preprocessing import PREPROCESSED, STEPS, Step, apply_steps, preprocessing_steps
from bmelearn.signals.quality import without_channels
from bmelearn.signals.recording import Recording
from bmelearn.signals.windowing import check_window, trial_windows, whole_length, whole_trial, window_samples

#: Bytes of float64 windows whose features are computed at once.
BLOCK_BYTES = 64 * 2**20

#: What the pipeline gives the model: the feature matrix, or the raw windows of one modality.
OUTPUTS = ("features", "windows")


class MismatchError(DataError):
    """A recording's channels, sampling rate or duration do not fit the pipeline it is given to."""


@dataclass(frozen=True)
class SignalInput:
    """What a pipeline expects of one modality as recorded: rate (Hz), channel names and types."""

    fs: float
    ch_names: tuple[str, ...]
    ch_types: tuple[str, ...]


@dataclass(frozen=True)
class SignalPipeline:
    """Recordings → preprocessing → windows → features (or raw windows); see the module text.

    ``fs`` and ``samples`` are, per modality, the rate (Hz) after preprocessing and the samples
    per window (per whole trial when ``whole``); ``raw`` is the modality whose windows a model
    on raw windows takes (EMG when there is EMG).
    """

    inputs: dict[str, SignalInput]
    bads: dict[str, tuple[str, ...]]
    steps: tuple[Step, ...]
    length: float
    step: float
    whole: bool
    fs: dict[str, float]
    samples: dict[str, int]
    extractors: dict[str, FeatureExtractor]
    raw: str
    output: str = "features"

    @classmethod
    def fit(cls, probe: Mapping[str, Recording], steps: Sequence[Mapping[str, Mapping[str, Any]]],
            bads: Mapping[str, Sequence[str]], length: float, step: float, whole: bool,
            features: Mapping[str, Sequence[str]], params: Mapping[str, Mapping[str, Any]] | None = None,
            log: Sequence[str] = ()) -> SignalPipeline:
        """The pipeline for trials like ``probe`` (one trial's recordings by modality), which is
        preprocessed here, so a bad step fails before any other work. ``steps`` as in the
        experiment file (``[{"bandpass": {"low": 20}}]``); ``features`` per modality; ``log``: the
        features, of any modality, whose natural log is taken."""
        if not whole:
            check_window(length, step)
        inputs = {m: SignalInput(r.fs, r.ch_names, r.ch_types) for m, r in probe.items()}
        excluded = {m: tuple(c for c in r.ch_names if c in set(bads.get(m, ()))) for m, r in probe.items()}
        raw = "emg" if "emg" in probe else next(iter(probe))
        pipeline = cls(inputs, {m: b for m, b in excluded.items() if b}, tuple(preprocessing_steps(steps)),
                       length, step, whole, {}, {}, {}, raw)
        prepared = pipeline.prepare(probe)
        fs = {m: r.fs for m, r in prepared.items()}
        if whole:
            samples = {m: r.n_samples for m, r in prepared.items()}
            length = step = whole_length(prepared)
        else:
            samples = window_samples(fs, length)
        extractors = modality_extractors(fs, {m: r.ch_names for m, r in prepared.items()}, features, params, log)
        for m, extractor in extractors.items():
            extractor.fit(np.zeros((1, prepared[m].n_channels, samples[m])))  # fitting needs only the shape
        return replace(pipeline, length=length, step=step, fs=fs, samples=samples, extractors=extractors)

    def with_output(self, output: str) -> SignalPipeline:
        """This pipeline giving ``output``: ``features``, or the ``windows`` of the raw modality
        alone (a model on raw windows takes no other signal and no features)."""
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        if output == "features":
            return replace(self, output=output)
        raw = self.raw
        return replace(self, output=output, inputs={raw: self.inputs[raw]},
                       bads={m: b for m, b in self.bads.items() if m == raw}, fs={raw: self.fs[raw]},
                       samples={raw: self.samples[raw]}, extractors={})

    def signal(self, modality: str, where: str) -> SignalInput:
        """What the pipeline expects of ``modality``; a :class:`MismatchError` naming ``where``
        when it takes no such signal."""
        if modality not in self.inputs:
            raise MismatchError(f"{where}: the model takes {sorted(self.inputs)} signals, not {modality!r}.")
        return self.inputs[modality]

    def channels(self, modality: str) -> tuple[str, ...]:
        """The channels of ``modality`` that the pipeline uses: those recorded, less the bads."""
        bads = set(self.bads.get(modality, ()))
        return tuple(c for c in self.inputs[modality].ch_names if c not in bads)

    def channel_types(self, modality: str, names: Sequence[str] | None = None) -> tuple[str, ...]:
        """The types of the channels ``names`` of ``modality`` (default: :meth:`channels`), ``misc``
        for a name the pipeline does not know."""
        signal = self.inputs[modality]
        types = dict(zip(signal.ch_names, signal.ch_types, strict=True))
        return tuple(types.get(c, "misc") for c in (self.channels(modality) if names is None else names))

    @property
    def feature_names(self) -> list[str]:
        """The columns of the feature matrix, modality after modality."""
        return [str(n) for e in self.extractors.values() for n in e.get_feature_names_out()]

    def prepare(self, streams: Mapping[str, Recording]) -> dict[str, Recording]:
        """A trial's recordings without the bads, preprocessed; a memory-mapped signal that no
        step changes stays mapped (read later, a block of windows at a time)."""
        return {m: apply_steps(without_channels(rec.opened(), self.bads), self.steps) for m, rec in streams.items()}

    def windows(self, trial: Any, prepared: Mapping[str, Recording]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The windows of prepared recordings, ``{modality: (n_windows, n_channels, n_times)}``
        (views, nothing copied), and their start times (s)."""
        if self.whole:
            return whole_trial(trial, prepared, self.samples), np.zeros(1)
        return trial_windows(trial, prepared, self.length, self.step, self.samples)

    def features(self, arrays: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Features of ``n`` windows side by side over the modalities, a block of windows at a
        time (a block of windows of a mapped file is the only part of it read)."""
        if n == 0:
            return np.empty((0, len(self.feature_names)))
        per_block = max(1, BLOCK_BYTES // (8 * max(arrays[m][0].size for m in self.extractors)))
        return np.concatenate([np.hstack([e.transform(arrays[m][i:i + per_block]) for m, e in self.extractors.items()])
                               for i in range(0, n, per_block)])

    def model_input(self, arrays: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """What the model takes from ``n`` windows: their features, or the raw windows as float64."""
        if self.output == "windows":
            if not n:
                return np.empty((0, len(self.channels(self.raw)), self.samples[self.raw]))
            return np.array(arrays[self.raw], dtype=np.float64)
        return self.features(arrays, n)

    def transform(self, streams: Mapping[str, Recording], trial: Any = "recording") -> tuple[np.ndarray, np.ndarray]:
        """One trial or recording (by modality) → the model input of its windows and their
        start times (s)."""
        arrays, starts = self.windows(trial, self.prepare(streams))
        return self.model_input(arrays, len(starts)), starts

    def check(self, recordings: Mapping[str, Recording]) -> None:
        """Raise :class:`MismatchError` unless ``recordings`` hold every modality the pipeline
        takes, at its sampling rate, with its channels (all those recorded, or those left after
        the bads), over the same stretch of time, and at least one window of samples (for whole
        trials: the trial length of training); a :class:`~bmelearn.errors.DataError` for values
        that are not finite numbers."""
        missing = sorted(set(self.inputs) - set(recordings))
        if missing:
            raise MismatchError(f"the model also needs the {missing} signal(s); it was trained on {sorted(self.inputs)}.")
        for modality, rec in recordings.items():
            want = self.signal(modality, rec.where)
            if not np.isclose(rec.fs, want.fs):
                raise MismatchError(f"{rec.where}: sampled at {rec.fs:g} Hz, but the model expects {modality} at "
                                    f"{want.fs:g} Hz; resample the recording or choose a model trained at {rec.fs:g} Hz.")
            if list(rec.ch_names) not in (list(want.ch_names), list(self.channels(modality))):
                raise MismatchError(f"{rec.where}: channels {list(rec.ch_names)} do not match the model's {modality} "
                                    f"channels {list(self.channels(modality))}.")
            bad = [c for c, finite in zip(rec.ch_names, np.isfinite(rec.data).all(axis=1), strict=True) if not finite]
            if bad:
                raise DataError(f"{rec.where}: channels {bad} hold values that are not finite numbers (NaN or "
                                "infinity); fill or cut the gaps first.")
            if self.whole:
                expected = round(self.samples[modality] * want.fs / self.fs[modality])
                if rec.n_samples != expected:
                    raise MismatchError(f"{rec.where}: {rec.n_samples} {modality} samples, but the model classifies "
                                        f"whole trials of {expected} samples ({expected / want.fs:g} s); send one "
                                        "trial of that length.")
            elif rec.duration < self.length:
                raise MismatchError(f"{rec.where}: {rec.duration:.3f} s long, shorter than the model's {self.length} s "
                                    "window.")
        durations = {m: r.duration for m, r in recordings.items()}
        if not self.whole and max(durations.values()) - min(durations.values()) > self.length:
            raise MismatchError(f"the signals last {', '.join(f'{m} {d:.3f} s' for m, d in durations.items())}; send "
                                "the same stretch of time for every signal.")

    def key(self) -> tuple:
        """What of the pipeline shapes its features, for the feature cache's key (the logged
        features only when there are some, so that the keys of caches without them stay)."""
        features = {m: (e.features_, e.params, list(e.get_feature_names_out()), *([e.logged] if e.logged else []))
                    for m, e in self.extractors.items()}
        return (list(self.steps), self.length, self.step, self.whole, {m: sorted(b) for m, b in self.bads.items()},
                features)

    def describe(self) -> dict[str, Any]:
        """The pipeline in words and numbers, for the model card (JSON)."""
        return {
            "signals": {m: {"fs": s.fs, "channels": list(self.channels(m)), "types": list(self.channel_types(m)),
                            "excluded": list(self.bads.get(m, ()))}
                        for m, s in self.inputs.items()},
            "window": {"length": self.length, "step": self.step, "whole": self.whole},
            "preprocessing": [{name: params} for name, params in self.steps],
            "preprocessed_modalities": sorted({m for name, _ in self.steps
                                               for m in STEPS[name].metadata.get("modalities", PREPROCESSED)}),
            "input": f"raw {self.raw} windows" if self.output == "windows" else "features",
            "features": {m: e.features_ for m, e in self.extractors.items()},
            "feature_params": {m: e.params for m, e in self.extractors.items() if e.params},
            "feature_log": {m: e.logged for m, e in self.extractors.items() if e.logged},
            "feature_names": self.feature_names,
        }


__all__ = ["MismatchError", "SignalInput", "SignalPipeline"]
