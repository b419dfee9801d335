"""Time-domain EMG features.

References: Hudgins et al., IEEE TBME 40(1), 1993 (MAV, ZC, SSC, WL); Phinyomark et al.,
Expert Syst. Appl. 39(8), 2012 and Sensors 18(5), 2018 (the catalogue); Hjorth,
Electroencephalogr. Clin. Neurophysiol. 29, 1970 (ACT, MOB, COMP); Phinyomark et al.,
Biomed. Signal Process. Control 2014 (ITD: ISD, COR, MDIFF, MLK).

x_i are the N samples of one channel in one window, d_i = x_{i+1} − x_i its first
difference and d2 its second difference. Amplitudes are in the units of the signal ("u");
counts are per window (not per second).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from bmelearn.errors import ConfigError
from bmelearn.features import kernels
from bmelearn.features.registry import FeatureContext, register, safe_div, safe_log
from bmelearn.registry import FiniteFloat, PositiveInt


@register("MAV", "time-domain")
def mean_absolute_value(ctx: FeatureContext) -> np.ndarray:
    """Mean absolute value: MAV = (1/N) Σ |x_i|. Units: u."""
    return ctx.abs_sum / ctx.n_times


@register("IAV", "time-domain")
def integrated_absolute_value(ctx: FeatureContext) -> np.ndarray:
    """Integral of absolute value: IAV = Σ |x_i|. Units: u (per window)."""
    return ctx.abs_sum


@register("RMS", "time-domain")
def root_mean_square(ctx: FeatureContext) -> np.ndarray:
    """Root mean square: RMS = sqrt((1/N) Σ x_i²). Units: u."""
    return np.sqrt(ctx.sq_sum / ctx.n_times)


@register("VAR", "time-domain")
def variance(ctx: FeatureContext) -> np.ndarray:
    """Variance about the window mean: VAR = (1/N) Σ (x_i − x̄)² (as LibEMG). Units: u²."""
    return ctx.var


@register("MEAN", "time-domain", min_samples=1)
def mean(ctx: FeatureContext) -> np.ndarray:
    """Mean: MEAN = (1/N) Σ x_i; for an accelerometer, the gravity component (orientation). Units: u."""
    return ctx.mean


@register("WL", "time-domain")
def waveform_length(ctx: FeatureContext) -> np.ndarray:
    """Waveform length: WL = Σ |d_i|, the cumulative length of the waveform. Units: u."""
    return ctx.diff_abs_sum


@register("ZC", "time-domain", threshold=0.0)
def zero_crossings(ctx: FeatureContext, threshold: FiniteFloat) -> np.ndarray:
    """Zero crossings: count of i with x_i·x_{i+1} < 0 and |d_i| ≥ threshold (u, default 0). A count."""
    return ctx.per_channel(kernels.zero_crossings(ctx.rows, threshold))


@register("SSC", "time-domain", threshold=0.0)
def slope_sign_changes(ctx: FeatureContext, threshold: FiniteFloat) -> np.ndarray:
    """Slope sign changes: count of i with (x_i − x_{i−1})·(x_i − x_{i+1}) ≥ threshold (u², default 0,
    LibEMG's convention). A count."""
    return ctx.per_channel(kernels.slope_sign_changes(ctx.rows, threshold))


@register("WAMP", "time-domain", threshold=2e-3)
def willison_amplitude(ctx: FeatureContext, threshold: FiniteFloat) -> np.ndarray:
    """Willison amplitude: count of i with |d_i| > threshold (u; default 0.002, LibEMG's, meant for
    volts — set it for your units). A count."""
    return ctx.per_channel(kernels.willison(ctx.rows, threshold))


@register("LS", "time-domain")
def l_scale(ctx: FeatureContext) -> np.ndarray:
    """L-scale, the second L-moment (Hosking 1990; Phinyomark et al. 2018):
    LS = 2·b1 − b0 with b0 = x̄ and b1 = (1/N) Σ_i (i − 1)/(N − 1)·x_(i) over the sorted samples x_(1) ≤ … ≤ x_(N).
    Units: u."""
    n = ctx.n_times
    weights = np.arange(n) / ((n - 1) * n)
    return 2.0 * (np.sort(ctx.X, axis=-1) @ weights) - ctx.mean


@register("MFL", "time-domain")
def maximum_fractal_length(ctx: FeatureContext) -> np.ndarray:
    """Maximum fractal length: MFL = log10(sqrt(Σ d_i²)) (Arjunan & Kumar 2010; LibEMG uses log10(WL)).
    Units: log10(u)."""
    return 0.5 * safe_log(ctx.diff_sq_sum) / np.log(10)


@register("MSR", "time-domain")
def mean_square_root(ctx: FeatureContext) -> np.ndarray:
    """Mean square root: MSR = |(1/N) Σ √x_i|, with the complex root of negative samples (as LibEMG),
    i.e. sqrt(mean(√x⁺)² + mean(√x⁻)²). Units: √u."""
    positive, negative = np.moveaxis(ctx.per_channel(kernels.root_sums(ctx.rows)), -1, 0)
    return np.hypot(positive, negative) / ctx.n_times


@register("DASDV", "time-domain")
def difference_absolute_standard_deviation(ctx: FeatureContext) -> np.ndarray:
    """Difference absolute standard deviation value: DASDV = sqrt((1/(N−1)) Σ d_i²). Units: u."""
    return np.sqrt(ctx.diff_sq_sum / (ctx.n_times - 1))


@register("MAVFD", "time-domain")
def mean_absolute_value_first_difference(ctx: FeatureContext) -> np.ndarray:
    """Mean absolute value of the first difference: MAVFD = (1/(N−1)) Σ |d_i|. Units: u."""
    return ctx.diff_abs_sum / (ctx.n_times - 1)


@register("LD", "time-domain")
def log_detector(ctx: FeatureContext) -> np.ndarray:
    """Log detector: LD = exp((1/N) Σ log|x_i|), the geometric mean of |x| (0 if any sample is 0;
    LibEMG adds 1 inside the log). Units: u."""
    with np.errstate(divide="ignore"):
        return np.exp(np.log(ctx.abs).mean(axis=-1))


def _slope_parts(params: dict, fs: float, n_times: int) -> list[str]:
    return [f"s{k}" for k in range(1, params["segments"])]


@register("MAVSLP", "time-domain", parts=_slope_parts, segments=2)
def mean_absolute_value_slope(ctx: FeatureContext, segments: Annotated[int, Field(ge=2)]) -> np.ndarray:
    """Mean absolute value slope: MAV_{k+1} − MAV_k between consecutive segments of the window
    (``segments`` equal parts, default 2; the last sample(s) of an uneven split are dropped).
    Units: u. Gives segments − 1 values per channel."""
    if segments < 2 or segments > ctx.n_times:
        raise ConfigError(f"features.params.MAVSLP.segments: must be between 2 and the window length ({ctx.n_times}); got {segments}.")
    m = ctx.n_times // segments
    mav = ctx.abs[..., : m * segments].reshape(*ctx.X.shape[:2], segments, m).mean(axis=-1)
    return np.moveaxis(np.diff(mav, axis=-1), -1, 1)


@register("MPK", "time-domain")
def maximum_peak(ctx: FeatureContext) -> np.ndarray:
    """Maximum peak: MPK = max_i x_i, the largest (signed) sample of the window, as LibEMG. Units: u."""
    return ctx.X.max(axis=-1)


@register("SKEW", "time-domain")
def skewness(ctx: FeatureContext) -> np.ndarray:
    """Skewness: (1/N) Σ (x_i − x̄)³ / VAR^(3/2); 0 for a constant window. Dimensionless."""
    centred = ctx.X - ctx.mean[..., None]
    return safe_div(np.einsum("wct,wct,wct->wc", centred, centred, centred, optimize=True) / ctx.n_times, ctx.var**1.5)


@register("KURT", "time-domain")
def kurtosis(ctx: FeatureContext) -> np.ndarray:
    """Kurtosis (Pearson, 3 for a Gaussian): (1/N) Σ (x_i − x̄)⁴ / VAR²; 0 for a constant window. Dimensionless."""
    squared = np.square(ctx.X - ctx.mean[..., None])
    return safe_div(np.einsum("wct,wct->wc", squared, squared) / ctx.n_times, ctx.var**2)


@register("TM", "time-domain", order=3)
def temporal_moment(ctx: FeatureContext, order: PositiveInt) -> np.ndarray:
    """Absolute temporal moment: TM = |(1/N) Σ x_i^order| (order default 3). Units: u^order."""
    power = ctx.X
    for _ in range(int(order) - 1):  # repeated products: np.power with an integer exponent is slow
        power = power * ctx.X
    return np.abs(power.mean(axis=-1))


@register("PAP", "time-domain")
def peak_average_power(ctx: FeatureContext) -> np.ndarray:
    """Peak average power: PAP = m0·m2/m4 with m0 = sqrt(Σx²), m2 = sqrt(Σd²), m4 = sqrt(Σd2²)
    (as LibEMG). Units: u."""
    return safe_div(np.sqrt(ctx.sq_sum * ctx.diff_sq_sum), np.sqrt(ctx.diff2_sq_sum))


@register("MZP", "time-domain")
def multiplication_of_peaks(ctx: FeatureContext) -> np.ndarray:
    """Multiplication of power and peaks: MZP = sqrt((1/N) Σ d_i²) (as LibEMG). Units: u."""
    return np.sqrt(ctx.diff_sq_sum / ctx.n_times)


@register("ISD", "time-domain")
def integral_square_descriptor(ctx: FeatureContext) -> np.ndarray:
    """Integral square descriptor: ISD = Σ x_i². Units: u²."""
    return ctx.sq_sum


@register("MDIFF", "time-domain")
def mean_difference_derivative(ctx: FeatureContext) -> np.ndarray:
    """Mean difference derivative: MDIFF = (1/N) Σ d_i². Units: u²."""
    return ctx.diff_sq_sum / ctx.n_times


@register("COR", "time-domain")
def coefficient_of_regularization(ctx: FeatureContext) -> np.ndarray:
    """Coefficient of regularization: COR = MDIFF / ((1/N) Σ d2_i² · ISD). Units: 1/u²."""
    return safe_div(ctx.diff_sq_sum, ctx.diff2_sq_sum * ctx.sq_sum)


@register("MLK", "time-domain")
def mean_log_kernel(ctx: FeatureContext) -> np.ndarray:
    """Mean logarithm kernel: MLK = log(Σ |x_i|)/N (as LibEMG). Units: log(u)/sample."""
    return safe_log(ctx.abs_sum) / ctx.n_times


@register("ACT", "time-domain")
def hjorth_activity(ctx: FeatureContext) -> np.ndarray:
    """Hjorth activity: ACT = (1/N) Σ x_i², the signal power m0. Units: u²."""
    return ctx.sq_sum / ctx.n_times


@register("ENERGY", "time-domain")
def energy(ctx: FeatureContext) -> np.ndarray:
    """Energy per sample: (1/N) Σ x_i² (the same value as ACT, under the name used for IMUs). Units: u²."""
    return ctx.sq_sum / ctx.n_times


@register("MOB", "time-domain")
def hjorth_mobility(ctx: FeatureContext) -> np.ndarray:
    """Hjorth mobility: MOB = sqrt(m2/m0), m0 = (1/N) Σ x_i², m2 = (1/N) Σ d_i². Units: 1/sample."""
    return np.sqrt(safe_div(ctx.diff_sq_sum, ctx.sq_sum))


@register("COMP", "time-domain")
def hjorth_complexity(ctx: FeatureContext) -> np.ndarray:
    """Hjorth complexity: COMP = MOB(d)/MOB(x) = sqrt(m4·m0)/m2, m4 = (1/N) Σ d2_i²; 1 for a sine
    (Hjorth 1970; LibEMG returns sqrt(m4/m2) instead). Dimensionless."""
    return safe_div(np.sqrt(ctx.diff2_sq_sum * ctx.sq_sum), ctx.diff_sq_sum)
