"""The built-in simulated dataset: surface EMG and accelerometer recordings of hand gestures.

Offline, deterministic and fast: :func:`simulate` builds a multi-subject, multi-session
:class:`~bmelearn.signals.recording.RecordingSet` from a seed, so examples, tests and tutorials can
run without downloading anything.

Model, in short. An armband of ``n_channels`` electrodes sits equally spaced around the
forearm. Each gesture activates the forearm muscles in one or two regions of the
circumference (von-Mises-shaped bumps with a gesture-specific centre, width and gain). Each
electrode records band-limited Gaussian noise (20–450 Hz, the surface-EMG band, with the
spectrum tilted towards ~100 Hz) whose amplitude follows that activation pattern at the
electrode's angle, a smooth onset/offset envelope and the effort of the repetition. Then come
cross-talk between neighbouring electrodes, an amplifier noise floor and, optionally,
powerline interference and broken electrodes. The accelerometer in the armband measures
gravity in the frame of the forearm, whose orientation depends on the gesture.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence

import numpy as np
from scipy import signal

from bmelearn.datasets.description import Description
from bmelearn.errors import ConfigError
from bmelearn.signals.recording import Recording, RecordingSet

__all__ = ["CLASSES", "describe", "rater_confusion", "simulate", "simulate_ratings"]

#: Gesture names, in canonical class order.
CLASSES = ["rest", "hand close", "hand open", "wrist flexion", "wrist extension", "pronation", "supination"]
#: The gesture held at graded or continuous efforts (``levels``, ``continuous``).
CONTINUOUS_GESTURE = "hand close"

# Activation patterns over the forearm circumference. Angle 0 is the dorsal (extensor) side,
# pi the ventral (flexor) side, +pi/2 the radial side. Each bump: (centre rad, concentration
# kappa of the von Mises shape, peak amplitude in mV RMS). "rest" has no bump, only tone.
_PATTERNS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "rest": (),
    "hand close": ((np.pi, 2.0, 0.50), (0.25, 3.0, 0.18)),  # finger flexors + extensor co-contraction
    "hand open": ((0.15, 2.5, 0.45), (np.pi - 0.6, 4.0, 0.10)),  # finger extensors
    "wrist flexion": ((np.pi - 0.9, 3.0, 0.45), (np.pi + 1.0, 4.0, 0.30)),  # FCR + FCU
    "wrist extension": ((-0.7, 3.0, 0.45), (0.9, 4.0, 0.30)),  # ECU + ECR
    "pronation": ((np.pi / 2 + 0.6, 4.0, 0.35), (np.pi, 6.0, 0.10)),  # pronator teres
    "supination": ((np.pi / 2 - 0.5, 4.0, 0.32), (-1.6, 5.0, 0.12)),  # supinator / brachioradialis
}

# Forearm posture change of each gesture: (roll about the forearm axis, pitch of the forearm), degrees.
_POSTURES: dict[str, tuple[float, float]] = {
    "rest": (0.0, 0.0),
    "hand close": (0.0, 2.0),
    "hand open": (0.0, -2.0),
    "wrist flexion": (3.0, -7.0),
    "wrist extension": (-3.0, 7.0),
    "pronation": (-65.0, 0.0),
    "supination": (65.0, 0.0),
}

_TONE_MV = 0.02  # resting muscle tone, mV RMS
_NOISE_FLOOR_MV = 0.004  # amplifier / electrode noise, mV RMS (all a broken electrode records)
_EMG_TYPICAL_MV = 0.2  # reference EMG amplitude that ``powerline`` is relative to, mV RMS
_CROSSTALK = 0.2  # fraction of each neighbour's signal an electrode picks up
_POWERLINE_HARMONICS = ((1, 1.0), (3, 0.35), (5, 0.15))  # (harmonic number, relative amplitude)
_PAD_S = 0.2  # filter warm-up discarded at the start of every trial, s

# Variability (standard deviations unless noted).
_SUBJECT_ROTATION = 1.0  # armband rotation, uniform in +-this many electrode spacings
_SUBJECT_GAIN = 0.25  # per-channel gain (electrode-skin contact, fat layer), log-normal sigma
_SUBJECT_CENTRE = 0.30  # pattern centres, rad
_SUBJECT_KAPPA = 0.25  # pattern widths, log-normal sigma of kappa
_SUBJECT_AMP = 0.25  # pattern gains (muscle strength), log-normal sigma
_SESSION_ROTATION = 0.12  # extra armband rotation between sessions, electrode spacings
_SESSION_GAIN = 0.06  # per-channel gain change between sessions, log-normal sigma
_SESSION_GLOBAL_GAIN = 0.10  # overall gain change between sessions, log-normal sigma
_EFFORT = 0.20  # per-repetition effort, uniform in 1 +- this


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        allowed = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"
        raise ConfigError(f"dataset.{name}: must be {allowed}, got {value!r}.")
    return int(value)


def _check_float(name: str, value: object, low: float | None, high: float | None, *, open_low: bool = False,
                 open_high: bool = False, allowed: str = "") -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(float(value))
    if ok:
        v = float(value)
        above = low is None or (v > low if open_low else v >= low)
        below = high is None or (v < high if open_high else v <= high)
        ok = above and below
    if not ok:
        if not allowed:
            lo = "" if low is None else f"{'>' if open_low else '>='} {low:g}"
            hi = "" if high is None else f"{'<' if open_high else '<='} {high:g}"
            allowed = "a finite number " + " and ".join(s for s in (lo, hi) if s)
        raise ConfigError(f"dataset.{name}: must be {allowed.strip()}, got {value!r}.")
    return float(value)


def _emg_filter(fs: float) -> tuple[np.ndarray, float]:
    """SOS of the EMG shaping filter and the factor that gives its output unit variance for unit white noise."""
    high = min(450.0, 0.45 * fs)
    band = signal.butter(4, [20.0, high], btype="bandpass", fs=fs, output="sos")
    tilt = signal.butter(1, min(120.0, 0.4 * fs), btype="lowpass", fs=fs, output="sos")
    sos = np.vstack([band, tilt])
    _, h = signal.sosfreqz(sos, worN=8192, fs=fs)
    power = np.mean(np.abs(h) ** 2)  # output variance per unit input variance (mean over 0..fs/2)
    return sos, 1.0 / np.sqrt(power)


def _envelope(t: np.ndarray, t_on: np.ndarray, t_off: np.ndarray, width: float) -> np.ndarray:
    """Smooth on/off activation, shape (n_trials, len(t)), between 0 and 1."""
    rise = 0.5 * (1.0 + np.tanh((t[None, :] - t_on[:, None]) / width))
    fall = 0.5 * (1.0 + np.tanh((t_off[:, None] - t[None, :]) / width))
    return rise * fall


def _checked(n_subjects, n_sessions, n_repetitions, duration, fs, n_channels, acc_fs, electrode_shift, powerline,
             powerline_freq, dead_channels, seed, levels=0, continuous=False) -> tuple:
    """The arguments of :func:`simulate`, in its order, checked (a ConfigError naming the bad one,
    as the key ``dataset.NAME`` of an experiment file) and normalized; ``dead_channels`` sorted."""
    n_subjects = _check_int("n_subjects", n_subjects, 1)
    n_sessions = _check_int("n_sessions", n_sessions, 1)
    n_repetitions = _check_int("n_repetitions", n_repetitions, 1)
    n_channels = _check_int("n_channels", n_channels, 2, 256)
    seed = _check_int("seed", seed, 0)
    levels = _check_int("levels", levels, 0)
    if levels == 1 or levels == 2:
        raise ConfigError(f"dataset.levels: {levels} effort levels make no ordinal scale; give 3 or more, or 0 for gestures.")
    if not isinstance(continuous, bool):
        raise ConfigError(f"dataset.continuous: must be true or false, got {continuous!r}.")
    if continuous and levels:
        raise ConfigError("dataset.continuous: a continuous effort and effort levels exclude each other; set one.")
    fs = _check_float("fs", fs, 200.0, None)
    duration = _check_float("duration", duration, 0.5, None)
    acc_fs = _check_float("acc_fs", acc_fs, 1.0, fs, allowed=f"a number of Hz from 1 to fs ({fs:g})")
    electrode_shift = _check_float(
        "electrode_shift", electrode_shift, None, None, allowed="a finite number of electrode spacings"
    )
    powerline = _check_float("powerline", powerline, 0.0, None)
    powerline_freq = _check_float(
        "powerline_freq", powerline_freq, 0.0, fs / 2, open_low=True, open_high=True,
        allowed=f"a number of Hz > 0 and < fs/2 ({fs / 2:g})",
    )
    if isinstance(dead_channels, numbers.Integral):
        dead_channels = [dead_channels]
    try:
        dead = [int(_check_int("dead_channels", c, 0, n_channels - 1)) for c in dead_channels]
    except TypeError:
        raise ConfigError(
            f"dataset.dead_channels: must be a list of channel indices from 0 to {n_channels - 1}, "
            f"got {dead_channels!r}."
        ) from None
    n_emg, n_acc = duration * fs, duration * acc_fs
    for name, n, rate in (("fs", n_emg, fs), ("acc_fs", n_acc, acc_fs)):
        if not np.isfinite(n) or abs(n - round(n)) > 1e-6:
            raise ConfigError(
                f"dataset.duration: {duration:g} s is not a whole number of samples at {name}={rate:g} Hz "
                f"({n:g}); choose a duration that is a multiple of 1/{name}."
            )
    size = 8.0 * n_subjects * n_sessions * n_repetitions * len(classes_of(levels, continuous)) * (n_channels * n_emg + 3 * n_acc)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if size > 0.5 * memory:
        raise ConfigError(
            f"dataset: the simulated recordings ({n_subjects} subjects × {n_sessions} sessions × {n_repetitions} "
            f"repetitions × {len(classes_of(levels, continuous))} classes of {duration:g} s) would take "
            f"{size / 1e9:.3g} GB, more than half "
            f"of this machine's {memory / 1e9:.0f} GB; simulate fewer or shorter trials."
        )
    return (n_subjects, n_sessions, n_repetitions, duration, fs, n_channels, acc_fs, electrode_shift, powerline,
            powerline_freq, sorted(set(dead)), seed, levels, continuous)


def describe(**args) -> Description:
    """What :func:`simulate` will give with these arguments (all of them, checked), before it runs."""
    n_subjects, n_sessions, n_repetitions, duration, fs, _, acc_fs, *_, levels, continuous = _checked(**args)
    return Description({"emg": fs, "acc": acc_fs}, sessions=[f"session{i + 1}" for i in range(n_sessions)],
                       classes=classes_of(levels, continuous), subjects=list(range(1, n_subjects + 1)), repetitions=n_repetitions,
                       duration=duration)


def classes_of(levels: int, continuous: bool = False) -> list[str]:
    """The classes of :func:`simulate`: the gestures, the effort levels ``"0"``… of an ordinal
    task, or the one gesture of a continuous effort."""
    if continuous:
        return [CONTINUOUS_GESTURE]
    return list(CLASSES) if not levels else [str(k) for k in range(levels)]


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *key]))


def simulate(
    n_subjects: int = 5,
    n_sessions: int = 2,
    n_repetitions: int = 3,
    duration: float = 3.0,
    fs: float = 1000.0,
    n_channels: int = 8,
    acc_fs: float = 50.0,
    electrode_shift: float = 0.0,
    powerline: float = 0.0,
    powerline_freq: float = 50.0,
    dead_channels: Sequence[int] | int = (),
    seed: int = 0,
    levels: int = 0,
    continuous: bool = False,
) -> RecordingSet:
    """Simulated forearm surface EMG and accelerometer recordings of hand gestures.

    Every trial (subject × session × repetition × gesture in :data:`CLASSES`) gives two
    recordings sharing ``meta["trial"]``: modality ``emg`` (channels ``EMG1``…, in mV,
    roughly 0.02 mV at rest to 0.5 mV RMS when active) and modality ``acc`` (``ACC_X``,
    ``ACC_Y``, ``ACC_Z`` in g; x along the forearm, z normal to the skin), of the same
    duration. The gesture is held from about 8 % to 92 % of the trial.

    Parameters
    ----------
    n_subjects, n_sessions, n_repetitions : int
        Subjects (``subject`` 1…n), sessions per subject (``"session1"``…) and repetitions
        of every gesture per session (``repetition`` 0…).
    duration : float
        Length of each trial in seconds (at least 0.5 s, whole number of samples at both rates).
    fs : float
        EMG sampling rate in Hz (at least 200; the EMG band ends at min(450, 0.45·fs) Hz).
    n_channels : int
        Electrodes equally spaced around the forearm (2 to 256).
    acc_fs : float
        Accelerometer sampling rate in Hz (1 to ``fs``).
    electrode_shift : float
        Extra armband rotation, in electrode spacings (fractions allowed), for every session
        after the first: the armband put back on differently.
    powerline : float
        Peak amplitude of powerline interference relative to a typical EMG amplitude
        (0.2 mV), 0 for none; odd harmonics 3 and 5 are added (those below fs/2).
    powerline_freq : float
        Powerline frequency in Hz (below fs/2).
    dead_channels : sequence of int
        Indices of broken electrodes, which record only the amplifier noise floor (~4 µV).
    seed : int
        Seed; the same arguments always give bit-identical data. Each subject's data do not
        depend on ``n_subjects`` (nor a session's on ``n_sessions``).
    levels : int
        0: the gestures of :data:`CLASSES`. 3 or more: an ordinal task instead, one gesture
        (hand close) held at ``levels`` efforts, the classes ``"0"`` (rest) to ``levels - 1``
        (full effort), level k at k/(levels − 1) of full effort; with the ±20 % effort of
        each repetition, neighbouring levels overlap, as a graded contraction does.
    continuous : bool
        A regression task instead: one gesture (hand close) at an effort drawn uniformly
        from 0 to 1 of full effort for each repetition, kept as the trial's ``value`` (the
        target of ``evaluation.task: regression``; simulated proportional control).

    Variability
    -----------
    Between subjects: armband rotation (uniform within ±1 electrode spacing), per-channel
    gain (electrode contact, subcutaneous fat), and the centre, width and strength of every
    gesture's pattern (anatomy, how the person performs it), and resting posture.
    Between sessions of a subject: a small extra rotation (~0.1 spacing) and gain change
    (re-donning the armband, skin impedance). Between repetitions: effort (±20 %), onset and
    offset times and slow amplitude fluctuations. Within a trial: the stochastic EMG itself,
    cross-talk (20 % of each neighbour), and physiological tremor on the accelerometer.

    Returns
    -------
    RecordingSet
        Named ``"simulator"`` with ``classes=CLASSES``; metadata ``subject``, ``session``,
        ``repetition``, ``label``, ``trial`` (``"s1/session1/rep0/hand close"``) and
        ``source="simulator"``.
    """
    (n_subjects, n_sessions, n_repetitions, duration, fs, n_channels, acc_fs, electrode_shift, powerline,
     powerline_freq, dead, seed, levels, continuous) = _checked(n_subjects, n_sessions, n_repetitions, duration, fs,
                                                                n_channels, acc_fs, electrode_shift, powerline,
                                                                powerline_freq, dead_channels, seed, levels, continuous)
    classes = classes_of(levels, continuous)
    gestures = CLASSES if not (levels or continuous) else [CONTINUOUS_GESTURE] * len(classes)  # the gesture of each class
    scale = np.ones(len(classes)) if not levels else np.arange(levels) / (levels - 1)  # its share of full effort
    n_emg, n_acc = int(round(duration * fs)), int(round(duration * acc_fs))

    n_classes = len(classes)
    spacing = 2.0 * np.pi / n_channels
    theta = np.arange(n_channels) * spacing  # electrode angles around the forearm, rad
    n_pad = int(round(_PAD_S * fs))
    t_emg = np.arange(n_emg) / fs
    t_acc = np.arange(n_acc) / acc_fs
    sos, unit = _emg_filter(fs)
    width = min(0.05, duration / 40)  # onset/offset time constant, s
    # Cross-talk: each electrode also picks up a fraction of its two neighbours.
    eye = np.eye(n_channels)
    mix = eye + _CROSSTALK * (np.roll(eye, 1, axis=1) + np.roll(eye, -1, axis=1))
    mix /= np.sqrt((mix**2).sum(axis=1, keepdims=True))
    harmonics = [(h, a) for h, a in _POWERLINE_HARMONICS if h * powerline_freq < fs / 2]
    base_centres = [np.array([b[0] for b in _PATTERNS[c]]) for c in gestures]
    base_kappas = [np.array([b[1] for b in _PATTERNS[c]]) for c in gestures]
    base_amps = [np.array([b[2] for b in _PATTERNS[c]]) for c in gestures]
    posture = np.deg2rad(np.array([_POSTURES[c] for c in gestures]))  # (n_classes, 2): roll, pitch

    recordings: list[Recording] = []
    for subj in range(n_subjects):
        rng = _rng(seed, 0, subj)
        rotation = rng.uniform(-_SUBJECT_ROTATION, _SUBJECT_ROTATION) * spacing
        gain_subject = np.exp(rng.normal(0.0, _SUBJECT_GAIN, n_channels))
        centres = [c + rng.normal(0.0, _SUBJECT_CENTRE, c.shape) for c in base_centres]
        kappas = [k * np.exp(rng.normal(0.0, _SUBJECT_KAPPA, k.shape)) for k in base_kappas]
        amps = [a * np.exp(rng.normal(0.0, _SUBJECT_AMP, a.shape)) for a in base_amps]
        rest_pitch = rng.normal(0.0, np.deg2rad(8.0))
        rest_roll = rng.normal(0.0, np.deg2rad(5.0))
        posture_subject = posture * np.exp(rng.normal(0.0, 0.15, posture.shape))
        tremor_freq = rng.uniform(8.0, 12.0)

        for sess in range(n_sessions):
            rng = _rng(seed, 1, subj, sess)
            rot = rotation + rng.normal(0.0, _SESSION_ROTATION) * spacing
            if sess > 0:
                rot += electrode_shift * spacing
            gain = gain_subject * np.exp(rng.normal(0.0, _SESSION_GAIN, n_channels) + rng.normal(0.0, _SESSION_GLOBAL_GAIN))
            # Activation pattern (mV RMS) of each gesture at each electrode: (n_classes, n_channels).
            angle = theta + rot
            pattern = np.stack([
                (a[:, None] * np.exp(k[:, None] * (np.cos(angle[None, :] - c[:, None]) - 1.0))).sum(axis=0)
                for c, k, a in zip(centres, kappas, amps, strict=True)
            ])
            session = f"session{sess + 1}"

            for rep in range(n_repetitions):
                rng = _rng(seed, 2, subj, sess, rep)
                effort = (1.0 + rng.uniform(-_EFFORT, _EFFORT, n_classes)) * scale
                if continuous:
                    effort = rng.uniform(0.0, 1.0, n_classes)
                t_on = duration * 0.08 * rng.uniform(0.7, 1.3, n_classes)
                t_off = duration * (1.0 - 0.08 * rng.uniform(0.7, 1.3, n_classes))
                # Slow amplitude fluctuation (~1 Hz), a few percent, shared by all channels of a trial.
                wobble_f = rng.uniform(0.5, 1.5, n_classes)
                wobble_p = rng.uniform(0.0, 2 * np.pi, n_classes)
                white = rng.standard_normal((n_classes, n_channels, n_pad + n_emg))
                floor = rng.standard_normal((n_classes, n_channels, n_emg)) * _NOISE_FLOOR_MV
                line_phase = rng.uniform(0.0, 2 * np.pi, (n_classes, len(_POWERLINE_HARMONICS)))
                line_gain = rng.uniform(0.8, 1.2, (n_classes, n_channels))
                tremor = rng.normal(0.0, 1.0, (n_classes, 3, n_acc))
                tremor_phase = rng.uniform(0.0, 2 * np.pi, (n_classes, 3))

                # EMG
                carrier = signal.sosfilt(sos, white, axis=-1)[..., n_pad:] * unit  # unit-variance 20-450 Hz noise
                env = _envelope(t_emg, t_on, t_off, width)  # (n_classes, n_emg)
                env *= 1.0 + 0.05 * np.sin(2 * np.pi * wobble_f[:, None] * t_emg[None, :] + wobble_p[:, None])
                amp = _TONE_MV + (effort[:, None, None] * pattern[:, :, None]) * env[:, None, :]
                emg = np.einsum("ij,kjt->kit", mix, amp * carrier) * gain[None, :, None] + floor
                if powerline > 0 and harmonics:
                    line = sum(
                        a * np.sin(2 * np.pi * h * powerline_freq * t_emg[None, :] + line_phase[:, i, None])
                        for i, (h, a) in enumerate(harmonics)
                    )
                    emg += powerline * _EMG_TYPICAL_MV * line_gain[:, :, None] * line[:, None, :]
                if dead:
                    emg[:, dead, :] = floor[:, dead, :]

                # Accelerometer: gravity (+1 g up) seen from the forearm, whose roll and pitch
                # move from rest to the gesture's posture with the activation envelope.
                env_acc = _envelope(t_acc, t_on, t_off, width)
                move = effort[:, None, None] * posture_subject[:, :, None] * env_acc[:, None, :]
                roll = rest_roll + rot + move[:, 0]
                pitch = rest_pitch + move[:, 1]
                acc = np.stack([np.sin(pitch), -np.cos(pitch) * np.sin(roll), np.cos(pitch) * np.cos(roll)], axis=1)
                acc += 0.003 * tremor
                if tremor_freq < acc_fs / 2:
                    acc += 0.004 * np.sin(2 * np.pi * tremor_freq * t_acc[None, None, :] + tremor_phase[:, :, None])

                for k, label in enumerate(classes):
                    trial = f"s{subj + 1}/{session}/rep{rep}/{label}"
                    meta = {"subject": subj + 1, "session": session, "repetition": rep, "label": label,
                            "trial": trial, "source": "simulator", "value": float(effort[k]) if continuous else None}
                    recordings.append(Recording(
                        emg[k], fs, tuple(f"EMG{i + 1}" for i in range(n_channels)), ("emg",) * n_channels,
                        ("mV",) * n_channels, modality="emg", meta=dict(meta),
                    ))
                    recordings.append(Recording(
                        acc[k], acc_fs, ("ACC_X", "ACC_Y", "ACC_Z"), ("acc",) * 3, ("g",) * 3,
                        modality="acc", meta=dict(meta),
                    ))
    return RecordingSet(recordings, classes=classes, name="simulator")


def rater_confusion(accuracy: float, n_classes: int) -> np.ndarray:
    """The confusion matrix (true × said) of a simulated rater of this ``accuracy``: the true
    class with probability ``accuracy``, otherwise any other class alike."""
    confusion = np.full((n_classes, n_classes), (1 - accuracy) / (n_classes - 1))
    np.fill_diagonal(confusion, accuracy)
    return confusion


def simulate_ratings(truth: Sequence, classes: Sequence[str], accuracies: Sequence[float], seed: int = 0,
                     per_item: int | None = None) -> np.ndarray:
    """Simulated raters (one per ``accuracies``) labelling items whose true class is ``truth``:
    raters × items of class names, each rater drawing from its :func:`rater_confusion`; with
    ``per_item``, each item is rated by that many raters drawn at random, the others' cells
    None (as in a clinic, where not every physician sees every patient). The same seed gives
    the same ratings."""
    classes = [str(c) for c in classes]
    position = {c: k for k, c in enumerate(classes)}
    true = np.array([position[str(t)] for t in truth], dtype=np.int64)
    rng = _rng(seed, 3)
    said = np.empty((len(accuracies), len(true)), dtype=np.int64)
    for r, accuracy in enumerate(accuracies):
        cumulative = rater_confusion(float(accuracy), len(classes)).cumsum(axis=1)[true]
        said[r] = np.minimum((rng.random(len(true))[:, None] > cumulative).sum(axis=1), len(classes) - 1)
    labels = np.asarray(classes, dtype=object)[said]
    if per_item is not None:
        chosen = rng.random((len(accuracies), len(true))).argsort(axis=0) < per_item  # a random subset per item
        labels[~chosen] = None
    return labels


def write_files(folder: str | os.PathLike, n_subjects: int = 3, duration: float = 2.0, seed: int = 0) -> int:
    """Simulated EMG (of :func:`simulate`, 2 sessions × 3 repetitions) written as a lab exports
    it, for trying the ``files`` dataset and ``bmelearn predict``: one CSV file per trial with a
    header of channel names (EMG1…EMG8, mV, 1000 Hz), at
    ``S{subject}/{session}/{label}_{repetition}.csv`` (a space in a label written as ``-``).
    Returns the number of files written."""
    from pathlib import Path

    import pandas as pd

    recordings = simulate(n_subjects=n_subjects, duration=duration, seed=seed).select(modalities="emg")
    for rec in recordings:
        meta = rec.meta
        path = Path(folder) / f"S{meta['subject']}" / str(meta["session"]) / \
            f"{meta['label'].replace(' ', '-')}_{meta['repetition']}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rec.data.T, columns=list(rec.ch_names)).to_csv(path, index=False, float_format="%.6g")
    return len(recordings)
