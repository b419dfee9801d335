"""Filters and transforms on Recordings.

Filters are Butterworth designs in second-order sections, applied zero-phase
(``sosfiltfilt``) for offline analysis, or causally (``causal=True``) as a device would.
Every frequency is in Hz. Each step returns a new Recording; nothing is changed in place.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from fractions import Fraction
from typing import Any

import numpy as np
from scipy import signal

from bmelearn.errors import ConfigError, SignalError
from bmelearn.registry import Entry, Registry
from bmelearn.signals.motion import MARKERS, joint_angle, marker
from bmelearn.signals.recording import Recording, RecordingSet, on_disk


def _check_cutoffs(rec: Recording, step: str, *freqs: float) -> None:
    nyquist = rec.fs / 2
    for f in freqs:
        if not 0 < f < nyquist:
            raise SignalError(
                f"{step}: cutoff {f:g} Hz is not between 0 and the Nyquist frequency {nyquist:g} Hz of "
                f"{rec.where} (sampled at {rec.fs:g} Hz). Choose a cutoff below {nyquist:g} Hz."
            )


class StreamState:
    """The filter states of one live stream, kept between its chunks (:func:`streaming`): one
    per causal filter of its steps, in the order they run; empty before the first chunk.

    With ``forward``, a zero-phase filter, which needs the whole signal, runs forward only (the
    same filter, causal: half its attenuation in dB, and a delay), as the only way a model
    trained with it can run live; its decisions then differ from offline's. The steps so run are
    named in ``forwarded``."""

    def __init__(self, forward: bool = False) -> None:
        self.states: list[np.ndarray] = []
        self._next = 0
        self.forward, self.forwarded = forward, set()

    def filter(self, sos: np.ndarray, data: np.ndarray) -> np.ndarray:
        """``data`` (channels × samples) through the next filter from where its last chunk left it
        (from rest, as offline, on the first chunk)."""
        if self._next == len(self.states):
            self.states.append(np.zeros((len(sos), data.shape[0], 2)))
        out, self.states[self._next] = signal.sosfilt(sos, data, axis=1, zi=self.states[self._next])
        self._next += 1
        return out


_STREAM: ContextVar[StreamState | None] = ContextVar("bmelearn_stream", default=None)


@contextlib.contextmanager
def streaming(state: StreamState) -> Iterator[None]:
    """The steps inside the block process one chunk of a live stream: each causal filter goes on
    from ``state`` (so that chunk after chunk gives, sample for sample, what the whole signal
    gives offline), and a step that needs the whole signal (a zero-phase filter, ``normalize``,
    ``resample``) is an error saying so."""
    state._next = 0
    token = _STREAM.set(state)
    try:
        yield
    finally:
        _STREAM.reset(token)


def _whole_signal(step: str, fix: str) -> None:
    """A SignalError when ``step``, which needs the whole signal, runs on a live stream."""
    if _STREAM.get() is not None:
        raise SignalError(f"{step}: needs the whole signal, so it cannot run on a live stream; {fix}")


def _apply_sos(rec: Recording, sos: np.ndarray, step: str, causal: bool) -> Recording:
    if causal:
        stream = _STREAM.get()
        return rec.with_data(signal.sosfilt(sos, rec.data, axis=1) if stream is None else stream.filter(sos, rec.data))
    if (stream := _STREAM.get()) is not None and stream.forward:
        stream.forwarded.add(step)
        return rec.with_data(stream.filter(sos, rec.data))
    _whole_signal(f"{step} (zero-phase)", f"train the model with {step}: {{causal: true}}, as a device filters.")
    # sosfiltfilt pads by this many samples at each end (SciPy's default padlen)
    padlen = 3 * (2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum())))
    if rec.n_samples <= padlen:
        raise SignalError(
            f"{step}: the zero-phase filter needs more than {padlen} samples but {rec.where} has {rec.n_samples} "
            f"({rec.duration:.3f} s). Use a lower filter order, causal=True, or drop this short recording."
        )
    return rec.with_data(signal.sosfiltfilt(sos, rec.data, axis=1))


@functools.lru_cache(maxsize=64)
def _butter(order: int, cutoff: float | tuple[float, float], btype: str, fs: float) -> np.ndarray:
    """A Butterworth design in second-order sections, made once per design (a live stream asks
    for it at every chunk: 1 ms each, a quarter of a decision's time). Shared: never changed in
    place (SciPy's filters only read it, but need it writable)."""
    return signal.butter(order, cutoff, btype=btype, fs=fs, output="sos")


@functools.lru_cache(maxsize=64)
def _notches(freq: float, harmonics: int, quality: float, fs: float) -> np.ndarray:
    """Notches at ``freq`` Hz and its harmonics below Nyquist, in second-order sections, made
    once per design, as :func:`_butter`."""
    freqs = [k * freq for k in range(1, harmonics + 1) if k * freq < fs / 2]
    return np.vstack([signal.tf2sos(*signal.iirnotch(f, quality, fs=fs)) for f in freqs])


def bandpass(rec: Recording, low: float = 20.0, high: float = 450.0, order: int = 4, causal: bool = False) -> Recording:
    """Butterworth band-pass between ``low`` and ``high`` Hz (surface EMG: 20–450 Hz, De Luca 2010)."""
    if low >= high:
        raise SignalError(f"bandpass: low ({low:g} Hz) must be below high ({high:g} Hz).")
    _check_cutoffs(rec, "bandpass", low, high)
    return _apply_sos(rec, _butter(order, (low, high), "bandpass", rec.fs), "bandpass", causal)


def highpass(rec: Recording, cutoff: float = 20.0, order: int = 4, causal: bool = False) -> Recording:
    """Butterworth high-pass at ``cutoff`` Hz (removes motion artefact and baseline drift)."""
    _check_cutoffs(rec, "highpass", cutoff)
    return _apply_sos(rec, _butter(order, cutoff, "highpass", rec.fs), "highpass", causal)


def lowpass(rec: Recording, cutoff: float = 450.0, order: int = 4, causal: bool = False) -> Recording:
    """Butterworth low-pass at ``cutoff`` Hz."""
    _check_cutoffs(rec, "lowpass", cutoff)
    return _apply_sos(rec, _butter(order, cutoff, "lowpass", rec.fs), "lowpass", causal)


def notch(rec: Recording, freq: float = 50.0, harmonics: int = 3, quality: float = 30.0, causal: bool = False) -> Recording:
    """Remove powerline interference at ``freq`` Hz (50 or 60) and its harmonics below Nyquist.

    ``harmonics`` counts the frequencies removed (1 = the fundamental only); ``quality`` is
    the notch's Q (bandwidth = freq / Q).
    """
    _check_cutoffs(rec, "notch", freq)
    if harmonics < 1:
        raise ConfigError(f"notch.harmonics must be at least 1, got {harmonics}.")
    return _apply_sos(rec, _notches(freq, harmonics, quality, rec.fs), "notch", causal)


def rectify(rec: Recording) -> Recording:
    """Full-wave rectification (absolute value)."""
    return rec.with_data(np.abs(rec.data))


def envelope(rec: Recording, cutoff: float = 6.0, order: int = 4, causal: bool = False) -> Recording:
    """Linear envelope: full-wave rectification then a ``cutoff`` Hz low-pass (typically 3–10 Hz)."""
    _check_cutoffs(rec, "envelope", cutoff)
    return _apply_sos(rectify(rec), _butter(order, cutoff, "lowpass", rec.fs), "envelope", causal)


def normalize(rec: Recording, method: str = "zscore") -> Recording:
    """Scale each channel using statistics of this recording only (so no information crosses recordings).

    ``zscore``: zero mean, unit standard deviation; ``max``: divide by the maximum absolute value.
    """
    _whole_signal("normalize", "train the model without it.")
    x = rec.data
    if method == "zscore":
        scale = x.std(axis=1, keepdims=True)
        return rec.with_data((x - x.mean(axis=1, keepdims=True)) / np.where(scale > 0, scale, 1.0))
    if method == "max":
        scale = np.abs(x).max(axis=1, keepdims=True)
        return rec.with_data(x / np.where(scale > 0, scale, 1.0))
    raise ConfigError(f"normalize.method: {method!r} is not one of ['zscore', 'max'].")


def resample(rec: Recording, fs: float) -> Recording:
    """Resample to ``fs`` Hz with a polyphase anti-aliasing filter."""
    if fs <= 0:
        raise ConfigError(f"resample.fs must be a positive rate in Hz, got {fs}.")
    _whole_signal("resample", "stream at the rate the model takes, or train it at the stream's rate.")
    ratio = Fraction(fs / rec.fs).limit_denominator(1000)
    data = signal.resample_poly(rec.data, ratio.numerator, ratio.denominator, axis=1)
    return rec.with_data(data, fs=rec.fs * ratio.numerator / ratio.denominator)


def joint_angles(rec: Recording, angles: dict[str, list[str]], cutoff: float | None = 6.0,
                 velocity: bool = True) -> Recording:
    """Joint angles (degrees) and angular velocities from marker trajectories (markers only).

    ``angles`` names each angle and its three
    markers, the joint in the middle (``{elbow: [RSHO, RELB, RWRI]}``); the trajectories are
    low-pass filtered first at ``cutoff`` Hz (None: not), and ``velocity`` adds each angle's
    rate of change (deg/s). The markers give way to the angles: one channel per angle."""
    if cutoff is not None:
        rec = lowpass(rec, cutoff)
    rows, names, units = [], [], []
    for name, triplet in angles.items():
        if len(triplet) != 3:
            raise ConfigError(f"joint_angles.angles.{name}: give three markers, the joint in the middle, e.g. "
                              f"[RSHO, RELB, RWRI]; got {triplet}.")
        found = [marker(rec.data, rec.ch_names, m) for m in triplet]
        missing = [m for m, xyz in zip(triplet, found, strict=True) if xyz is None]
        if missing:
            markers = sorted({c[:-2] for c in rec.ch_names if c[-2:] in ("_x", "_y", "_z")})
            raise SignalError(f"joint_angles.angles.{name}: {rec.where} has no marker {missing}; its markers are "
                              f"{markers}.")
        angle = joint_angle(*found)
        rows.append(angle), names.append(name), units.append("deg")
        if velocity:
            rows.append(np.gradient(angle, 1.0 / rec.fs)), names.append(f"{name}_velocity"), units.append("deg/s")
    return Recording(np.array(rows), rec.fs, tuple(names), ("angle",) * len(names), tuple(units), rec.modality, rec.meta)


def _angles_words(angles: dict[str, list[str]], cutoff: float | None = 6.0, velocity: bool = True) -> str:
    """What :func:`joint_angles` did, for the report: ``low-pass filtered at 6 Hz and turned into
    the joint angle elbow at RELB (between RSHO and RWRI), with its angular velocity``."""
    joints = "; ".join(f"{name} at {b} (between {a} and {c})" for name, (a, b, c) in angles.items())
    plural = len(angles) > 1
    return ((f"low-pass filtered at {cutoff:g} Hz and " if cutoff is not None else "")
            + f"turned into the joint angle{'s' if plural else ''} {joints}"
            + (f", with {'their' if plural else 'its'} angular velocit{'ies' if plural else 'y'}" if velocity else ""))


#: The preprocessing steps by name: a function of a Recording (its first argument) and its
#: parameters; ``words`` is how the report says what the step did (filled with its parameters,
#: or a function of them);
#: ``modalities``, those it acts on (default :data:`PREPROCESSED`: EMG).
STEPS: Registry[Entry] = Registry("step", [
    Entry.of(bandpass, data_args=1, words="band-pass filtered between {low:g} and {high:g} Hz"),
    Entry.of(highpass, data_args=1, words="high-pass filtered at {cutoff:g} Hz"),
    Entry.of(lowpass, data_args=1, words="low-pass filtered at {cutoff:g} Hz"),
    Entry.of(notch, data_args=1, words="cleaned of {freq:g} Hz mains interference and its harmonics"),
    Entry.of(rectify, data_args=1, words="rectified"),
    Entry.of(envelope, data_args=1, words="turned into its envelope (smoothed at {cutoff:g} Hz)"),
    Entry.of(normalize, data_args=1, words="normalised channel by channel"),
    Entry.of(resample, data_args=1, words="resampled to {fs:g} Hz"),
    Entry.of(joint_angles, data_args=1, words=lambda p: _angles_words(**p), modalities=(MARKERS,)),
])


#: A checked preprocessing step: the name of a function of ``STEPS`` and its parameters (data,
#: not a callable, so that a saved pipeline holds no code).
Step = tuple[str, dict[str, Any]]

#: The modalities that preprocessing applies to; the others pass through unchanged.
PREPROCESSED = ("emg",)


def preprocessing_steps(steps: Sequence[Mapping[str, Mapping[str, Any]]]) -> list[Step]:
    """``steps`` (e.g. ``[{"bandpass": {"low": 20, "high": 450}}, {"notch": {}}]``) checked by
    name and parameters against :data:`STEPS` (errors name the key ``preprocessing.i``), as
    ``(name, parameters)`` pairs."""
    calls = []
    for i, step in enumerate(steps):
        ((name, params),) = step.items()
        STEPS.check_parameters(name, params or {}, f"preprocessing.{i}")
        calls.append((name, dict(params or {})))
    return calls


def acts_on(name: str, modality: str, modalities: Sequence[str] = PREPROCESSED) -> bool:
    """Whether step ``name`` acts on ``modality``: one of its own modalities (``joint_angles``:
    markers), or, for the signal filters, one of ``modalities``."""
    return modality in STEPS[name].metadata.get("modalities", modalities)


def apply_steps(rec: Recording, calls: Sequence[Step], modalities: Sequence[str] = PREPROCESSED) -> Recording:
    """``rec`` through the checked steps that act on its modality (:func:`acts_on`), in order; a
    signal on disk (mapped or not yet opened) is read into memory as float64 first."""
    mine = [(name, params) for name, params in calls if acts_on(name, rec.modality, modalities)]
    if mine:
        if on_disk(rec.data):
            rec = rec.with_data(np.asarray(rec.opened().data, dtype=np.float64))
        for name, params in mine:
            rec = STEPS[name].obj(rec, **params)
    return rec


def preprocess(recordings: RecordingSet, steps: Sequence[Mapping[str, Mapping[str, Any]]],
               modalities: Sequence[str] = PREPROCESSED) -> RecordingSet:
    """Apply ``steps`` (e.g. ``[{"bandpass": {"low": 20, "high": 450}}, {"notch": {}}]``) in order.

    Only recordings of the given ``modalities`` are processed; others pass through unchanged.
    """
    calls = preprocessing_steps(steps)
    return recordings.like(apply_steps(rec, calls, modalities) for rec in recordings)
