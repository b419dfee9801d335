"""Phasor features across channels (Onay & Mert, Biomed. Signal Process. Control 2020; as LibEMG):
channel c of C is placed on the unit circle at angle 2πc/C and given the amplitude A_c of
the window (RMS or WL), and every pair of channels gives the distance D_ij = |A_i·e^{jθ_i} −
A_j·e^{jθ_j}| between their phasors. The feature has two parts per pair: ``log D_ij`` and
``log(D_ij/Δ_ij)``, where Δ_ij is the same distance computed from the first difference.
"""

from __future__ import annotations

import numpy as np

from bmelearn.features.registry import FeatureContext, register, safe_log


def _distances(amplitude: np.ndarray) -> np.ndarray:
    """Pairwise phasor distances (n_windows, n_pairs), pairs i < j in row-major order."""
    n_channels = amplitude.shape[1]
    i, j = np.triu_indices(n_channels, k=1)
    cos = np.cos(2 * np.pi * (i - j) / n_channels)
    a, b = amplitude[:, i], amplitude[:, j]
    return np.sqrt(np.maximum(a**2 + b**2 - 2 * a * b * cos, 0.0))


def _phasor(amplitude: np.ndarray, amplitude_of_diff: np.ndarray) -> np.ndarray:
    d, d_diff = safe_log(_distances(amplitude)), safe_log(_distances(amplitude_of_diff))
    return np.stack([d, d - d_diff], axis=1)


def _parts(params: dict, fs: float, n_times: int) -> list[str]:
    return ["log", "ratio"]


@register("RMSPHASOR", "phasor", parts=_parts, over="pair")
def rms_phasor(ctx: FeatureContext) -> np.ndarray:
    """RMS phasor: log D_ij of the RMS phasors, and log(D_ij/Δ_ij) with Δ from the RMS of the first
    difference. Units: log(u); two values per channel pair."""
    return _phasor(np.sqrt(ctx.sq_sum / ctx.n_times), np.sqrt(ctx.diff_sq_sum / (ctx.n_times - 1)))


@register("WLPHASOR", "phasor", parts=_parts, over="pair")
def wl_phasor(ctx: FeatureContext) -> np.ndarray:
    """Waveform-length phasor: log D_ij of the WL phasors, and log(D_ij/Δ_ij) with Δ from the WL of
    the first difference. Units: log(u); two values per channel pair."""
    return _phasor(ctx.diff_abs_sum, ctx.diff2_abs_sum)
