"""Frequency-domain features from the power spectrum P_k of each window (Phinyomark et al.,
Expert Syst. Appl. 39(8), 2012; He et al., 2015 for DFTR).

P_k = |FFT(x)_k|²/N², the FFT zero-padded to the next power of two, over the bins
k = 0 … n_fft/2 − 1 at f_k = k·fs/n_fft Hz (computed once per extraction call, shared).
A flat window (no power) gives 0 for every frequency feature.
"""

from __future__ import annotations

import numpy as np

from bmelearn.errors import DataError
from bmelearn.features.registry import FeatureContext, register, safe_div
from bmelearn.registry import NonNegativeInt

DFTR_EDGES = (20.0, 92.0, 163.0, 235.0, 305.0, 378.0, 450.0)


@register("MNF", "spectral")
def mean_frequency(ctx: FeatureContext) -> np.ndarray:
    """Mean frequency: MNF = Σ f_k·P_k / Σ P_k. Units: Hz."""
    return safe_div(ctx.power @ ctx.freqs("MNF"), ctx.power.sum(axis=-1))


@register("MDF", "spectral")
def median_frequency(ctx: FeatureContext) -> np.ndarray:
    """Median frequency: the lowest f_k at which the cumulative power exceeds half the total. Units: Hz."""
    cumulative = np.cumsum(ctx.power, axis=-1)
    index = np.argmax(cumulative > cumulative[..., -1:] / 2, axis=-1)
    return ctx.freqs("MDF")[index]


@register("MNP", "spectral")
def mean_power(ctx: FeatureContext) -> np.ndarray:
    """Mean power: MNP = (1/K) Σ P_k over the K bins. Units: u²."""
    return ctx.power.mean(axis=-1)


@register("SM", "spectral", order=2)
def spectral_moment(ctx: FeatureContext, order: NonNegativeInt) -> np.ndarray:
    """Spectral moment: SM = Σ P_k·f_k^order (order default 2). Units: u²·Hz^order."""
    return ctx.power @ ctx.freqs("SM") ** order


def _dftr_bands(params: dict, fs: float, n_times: int) -> list[str]:
    if not np.isfinite(fs):
        raise DataError("features: DFTR needs the sampling rate; give FeatureExtractor(fs=...) in Hz.")
    edges = [e for e in DFTR_EDGES if e < fs / 2]
    if len(edges) < 2:
        raise DataError(f"features: DFTR has no band of {DFTR_EDGES} Hz below Nyquist at fs = {fs} Hz.")
    return [f"{int(lo)}-{int(hi)}Hz" for lo, hi in zip(edges, edges[1:], strict=False)]


@register("DFTR", "spectral", parts=_dftr_bands)
def dft_representation(ctx: FeatureContext) -> np.ndarray:
    """Discrete Fourier transform representation (He et al. 2015; as LibEMG): the mean spectral
    magnitude |FFT|/N over each band 20–92, 92–163, 163–235, 235–305, 305–378, 378–450 Hz below
    Nyquist (edges excluded), raised to the power 2/3. Units: u^(2/3); one value per band."""
    freqs = ctx.freqs("DFTR")
    edges = DFTR_EDGES[: len(_dftr_bands({}, ctx.fs, ctx.n_times)) + 1]
    starts = np.searchsorted(freqs, edges[:-1], side="right")  # bins strictly inside each band
    stops = np.searchsorted(freqs, edges[1:], side="left")
    band_means = ctx.band_magnitudes(starts, stops)  # (n_windows, n_channels, n_bands)
    return np.cbrt(np.square(np.moveaxis(band_means, -1, 1)))


@register("DOMFREQ", "spectral")
def dominant_frequency(ctx: FeatureContext) -> np.ndarray:
    """Dominant frequency: the f_k (k ≥ 1, DC left out) of largest power; 0 for a flat window. Units: Hz."""
    ac = ctx.power[..., 1:]
    index = np.where(ac.max(axis=-1) > 0, np.argmax(ac, axis=-1) + 1, 0)
    return ctx.freqs("DOMFREQ")[index]


@register("SPECENT", "spectral")
def spectral_entropy(ctx: FeatureContext) -> np.ndarray:
    """Normalized spectral entropy: −Σ p_k·log p_k / log K with p_k = P_k/Σ P_k over the K bins k ≥ 1
    (DC left out); 1 for white noise, near 0 for a pure tone, 0 for a flat window. Dimensionless."""
    ac = ctx.power[..., 1:]
    p = safe_div(ac, ac.sum(axis=-1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    return -plogp.sum(axis=-1) / np.log(max(ac.shape[-1], 2))
