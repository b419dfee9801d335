"""Perturbations of the test windows, for metric-against-perturbation curves.

Each takes raw windows X (n_windows, n_channels, n_times) and a level, and returns perturbed
copies; the model, trained on clean data, is scored on them. Levels are in the units a user
thinks in: :data:`PERTURBATIONS` names each perturbation, says what its level means and gives
the ``axis`` of its curve in the report. Electrode shift: Hargrove et al., IEEE TBME 55(5), 2008.
"""

from __future__ import annotations

import numpy as np

from bmelearn.errors import ConfigError
from bmelearn.registry import Entry, Registry


def electrode_shift(X: np.ndarray, k: float, **_: object) -> np.ndarray:
    """The armband rotated by k electrodes (channel c records what c + k did, circularly; a fractional k interpolates)."""
    whole = int(np.floor(k))
    fraction = k - whole
    shifted = np.roll(X, -whole, axis=1)
    if fraction == 0:
        return shifted
    return (1 - fraction) * shifted + fraction * np.roll(shifted, -1, axis=1)


def _channel_power(X: np.ndarray) -> np.ndarray:
    return np.mean(X**2, axis=(0, 2), keepdims=True)


def additive_noise(X: np.ndarray, snr_db: float, rng: np.random.Generator, **_: object) -> np.ndarray:
    """Additive white Gaussian noise at this signal-to-noise ratio in dB, relative to each channel's mean power."""
    sigma = np.sqrt(_channel_power(X) / 10 ** (snr_db / 10))
    return X + sigma * rng.standard_normal(X.shape)


def powerline(X: np.ndarray, ratio: float, rng: np.random.Generator, fs: float, powerline_hz: float = 50.0,
              **_: object) -> np.ndarray:
    """A sinusoid at the mains frequency (powerline_hz) of this amplitude relative to each channel's RMS, random phase."""
    t = np.arange(X.shape[-1]) / fs
    phase = rng.uniform(0, 2 * np.pi, size=(X.shape[0], 1, 1))
    amplitude = ratio * np.sqrt(2 * _channel_power(X))  # a sinusoid's RMS is its amplitude / √2
    return X + amplitude * np.sin(2 * np.pi * powerline_hz * t + phase)


def channel_dropout(X: np.ndarray, n: float, rng: np.random.Generator, **_: object) -> np.ndarray:
    """This many channels (chosen at random, the same for every window) read zero."""
    if not 0 <= n <= X.shape[1] or n != int(n):
        raise ConfigError(f"evaluation.robustness.dropout: {n} is not a number of channels between 0 and {X.shape[1]}.")
    out = X.copy()
    out[:, rng.choice(X.shape[1], int(n), replace=False)] = 0.0
    return out


def gain(X: np.ndarray, factor: float, **_: object) -> np.ndarray:
    """Every channel multiplied by this factor (a change of skin contact or amplifier)."""
    return X * factor


#: The perturbations by the name of their levels in ``evaluation.robustness``; ``obj`` perturbs
#: windows, ``axis`` names the level in the report, ``parameters`` are the other settings.
PERTURBATIONS: Registry[Entry] = Registry("perturbation", [
    Entry.of(electrode_shift, parameters={}, axis="Electrode shift (electrodes)"),
    Entry.of(additive_noise, "snr_db", parameters={}, axis="Signal-to-noise ratio (dB)"),
    Entry.of(powerline, parameters={"powerline_hz": 50.0}, axis="Mains interference (× signal RMS)"),
    Entry.of(channel_dropout, "dropout", parameters={}, axis="Channels lost"),
    Entry.of(gain, parameters={}, axis="Gain factor"),
])
