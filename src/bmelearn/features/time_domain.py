"""Time-domain EMG features (Hudgins et al. 1993; Phinyomark et al., Expert Syst. Appl. 39, 2012).

Amplitudes are in the units of the signal; counts are per window (not per second).
"""

from __future__ import annotations

import numpy as np

from bmelearn.features.registry import FeatureContext, register, register_group


@register("MAV", "time-domain")
def mean_absolute_value(ctx: FeatureContext) -> np.ndarray:
    """Mean absolute value: MAV = (1/N) Σ |x_i|. Signal units."""
    return np.abs(ctx.X).mean(axis=-1)


@register("RMS", "time-domain")
def root_mean_square(ctx: FeatureContext) -> np.ndarray:
    """Root mean square: RMS = sqrt((1/N) Σ x_i²). Signal units."""
    return np.sqrt(np.square(ctx.X).mean(axis=-1))


@register("WL", "time-domain")
def waveform_length(ctx: FeatureContext) -> np.ndarray:
    """Waveform length: WL = Σ |x_{i+1} − x_i|, the cumulative length of the waveform. Signal units."""
    return np.abs(ctx.diff).sum(axis=-1)


@register("ZC", "time-domain", threshold=0.0)
def zero_crossings(ctx: FeatureContext, threshold: float) -> np.ndarray:
    """Zero crossings: count of i with x_i·x_{i+1} < 0 and |x_i − x_{i+1}| ≥ threshold (signal units). A count."""
    x = ctx.X
    crossing = (x[..., :-1] * x[..., 1:] < 0) & (np.abs(ctx.diff) >= threshold)
    return crossing.sum(axis=-1).astype(np.float64)


@register("SSC", "time-domain", threshold=0.0)
def slope_sign_changes(ctx: FeatureContext, threshold: float) -> np.ndarray:
    """Slope sign changes: count of i with (x_i − x_{i−1})·(x_i − x_{i+1}) ≥ threshold (signal units²). A count."""
    d = ctx.diff
    change = (d[..., :-1] * -d[..., 1:]) >= threshold
    return change.sum(axis=-1).astype(np.float64)


register_group("HTD", ("MAV", "ZC", "SSC", "WL"))
