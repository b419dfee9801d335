"""Multiscale wavelet features (MSWT; Khushaba et al., as in LibEMG): the window is decomposed
by the discrete wavelet transform (PyWavelets ``wavedec``, default ``sym8``) into the
approximation cA_L and the details cD_L … cD_1, and one value is computed per level.

The number of levels L defaults to LibEMG's rule floor(log2(fs/2) − 1), capped at the
deepest level the window supports (``pywt.dwt_max_level``), beyond which every coefficient
is a boundary effect. The decomposition is computed once per extraction call and shared.
"""

from __future__ import annotations

import math

import numpy as np
import pywt

from bmelearn.errors import DataError
from bmelearn.features.registry import FeatureContext, register, safe_div, safe_log


def levels(fs: float, n_times: int, wavelet: str, level: int | None) -> int:
    """Number of decomposition levels: ``level`` if given, else the rule above."""
    if level is not None:
        return int(level)
    if not np.isfinite(fs):
        raise DataError("features: wavelet features need the sampling rate; give FeatureExtractor(fs=...) in Hz.")
    deepest = pywt.dwt_max_level(n_times, pywt.Wavelet(wavelet).dec_len)
    return max(1, min(math.floor(math.log2(fs / 2) - 1), deepest))


def _level_parts(params: dict, fs: float, n_times: int) -> list[str]:
    n = levels(fs, n_times, params["wavelet"], params["level"])
    return [f"A{n}"] + [f"D{k}" for k in range(n, 0, -1)]


def _coefficients(ctx: FeatureContext, wavelet: str, level: int | None) -> list[np.ndarray]:
    return ctx.wavelets(wavelet, levels(ctx.fs, ctx.n_times, wavelet, level))


@register("WENG", "wavelet", parts=_level_parts, wavelet="sym8", level=None)
def wavelet_energy(ctx: FeatureContext, wavelet: str, level: int | None) -> np.ndarray:
    """Wavelet energy: log Σ c² per level. Units: log(u²); L + 1 values per channel."""
    return np.stack([safe_log(np.einsum("wct,wct->wc", c, c)) for c in _coefficients(ctx, wavelet, level)], axis=1)


@register("WV", "wavelet", parts=_level_parts, wavelet="sym8", level=None)
def wavelet_variance(ctx: FeatureContext, wavelet: str, level: int | None) -> np.ndarray:
    """Wavelet variance: log var(c²) per level, the spread of the coefficients' energy (as LibEMG).
    Units: log(u⁴); L + 1 values per channel."""
    return np.stack([safe_log(np.var(c**2, axis=-1)) for c in _coefficients(ctx, wavelet, level)], axis=1)


@register("WWL", "wavelet", parts=_level_parts, wavelet="sym8", level=None)
def wavelet_waveform_length(ctx: FeatureContext, wavelet: str, level: int | None) -> np.ndarray:
    """Wavelet waveform length: log Σ |Δ(c²)| per level, the waveform length of the coefficients'
    energy (as LibEMG). Units: log(u²); L + 1 values per channel."""
    return np.stack([safe_log(np.abs(np.diff(c**2, axis=-1)).sum(axis=-1)) for c in _coefficients(ctx, wavelet, level)], axis=1)


@register("WENT", "wavelet", parts=_level_parts, wavelet="sym8", level=None)
def wavelet_entropy(ctx: FeatureContext, wavelet: str, level: int | None) -> np.ndarray:
    """Wavelet entropy: −Σ p·log p per level with p = c²/Σ c² (0 for a flat level). Nats; L + 1 values per channel."""
    out = []
    for c in _coefficients(ctx, wavelet, level):
        energy = c**2
        p = safe_div(energy, energy.sum(axis=-1, keepdims=True))
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(-np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1))
    return np.stack(out, axis=1)
