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
from bmelearn.features import kernels
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


def _stats(ctx: FeatureContext, wavelet: str, level: int | None) -> list[tuple[np.ndarray, ...]]:
    """Per level: Σe, Σe², Σ|Δe|, Σ e·ln e of the coefficients' energy e = c², and the count n."""
    n_levels = levels(ctx.fs, ctx.n_times, wavelet, level)

    def compute() -> list[tuple[np.ndarray, ...]]:
        out = []
        for c in ctx.wavelets(wavelet, n_levels):
            sums = kernels.energy_stats(np.ascontiguousarray(c.reshape(-1, c.shape[-1])))
            out.append((*np.moveaxis(ctx.per_channel(sums), -1, 0), c.shape[-1]))
        return out

    return ctx.shared(("wavelet-stats", wavelet, n_levels), compute)


@register("WENG", "wavelet", parts=_level_parts, wavelet="sym8", level=None)
def wavelet_energy(ctx: FeatureContext, wavelet: str, level: int | None) -> np.ndarray:
    """Wavelet energy: log Σ c² per level. Units: log(u²); L + 1 values per channel."""
    return np.stack([safe_log(s) for s, _, _, _, _ in _stats(ctx, wavelet, level)], axis=1)


@register("WV", "wavelet", parts=_level_parts, wavelet="sym8", level=None)
def wavelet_variance(ctx: FeatureContext, wavelet: str, level: int | None) -> np.ndarray:
    """Wavelet variance: log var(c²) per level, the spread of the coefficients' energy (as LibEMG).
    Units: log(u⁴); L + 1 values per channel."""
    return np.stack([safe_log(np.maximum(s2 / n - (s / n) ** 2, 0.0)) for s, s2, _, _, n in _stats(ctx, wavelet, level)], axis=1)


@register("WWL", "wavelet", parts=_level_parts, wavelet="sym8", level=None)
def wavelet_waveform_length(ctx: FeatureContext, wavelet: str, level: int | None) -> np.ndarray:
    """Wavelet waveform length: log Σ |Δ(c²)| per level, the waveform length of the coefficients'
    energy (as LibEMG). Units: log(u²); L + 1 values per channel."""
    return np.stack([safe_log(wl) for _, _, wl, _, _ in _stats(ctx, wavelet, level)], axis=1)


@register("WENT", "wavelet", parts=_level_parts, wavelet="sym8", level=None)
def wavelet_entropy(ctx: FeatureContext, wavelet: str, level: int | None) -> np.ndarray:
    """Wavelet entropy: −Σ p·ln p per level with p = c²/Σ c², computed as ln E − Σ e·ln e / E
    (0 for a flat level). Nats; L + 1 values per channel."""
    return np.stack([np.where(s > 0, safe_log(s) - safe_div(ent, s), 0.0) for s, _, _, ent, _ in _stats(ctx, wavelet, level)], axis=1)
