"""Features of accelerometer, gyroscope and other slow generic channels, and of orientation
quaternions (w, x, y, z). Amplitudes are in the units of the signal ("u").

Mean, energy and spectral features of such channels are MEAN, ENERGY, DOMFREQ and SPECENT.
"""

from __future__ import annotations

import numpy as np

from bmelearn.errors import DataError
from bmelearn.features.registry import FeatureContext, register, safe_div


@register("STD", "motion")
def standard_deviation(ctx: FeatureContext) -> np.ndarray:
    """Standard deviation about the window mean, sqrt((1/N) Σ (x_i − x̄)²). Units: u."""
    return np.sqrt(ctx.var)


@register("MIN", "motion", min_samples=1)
def minimum(ctx: FeatureContext) -> np.ndarray:
    """Minimum: the smallest sample of the window, MIN = min_i x_i. Units: u."""
    return ctx.X.min(axis=-1)


@register("MAX", "motion", min_samples=1)
def maximum(ctx: FeatureContext) -> np.ndarray:
    """Maximum: the largest sample of the window, MAX = max_i x_i. Units: u."""
    return ctx.X.max(axis=-1)


@register("RANGE", "motion", min_samples=1)
def value_range(ctx: FeatureContext) -> np.ndarray:
    """Range: max − min over the window. Units: u."""
    return np.ptp(ctx.X, axis=-1)


@register("JERK", "motion")
def mean_absolute_jerk(ctx: FeatureContext) -> np.ndarray:
    """Mean absolute rate of change, fs·(1/(N−1)) Σ |d_i| (jerk, for an accelerometer). Units: u/s."""
    return ctx.diff_abs_sum / (ctx.n_times - 1) * ctx.require_fs("JERK")


@register("AXCORR", "motion", over="pair")
def axis_correlation(ctx: FeatureContext) -> np.ndarray:
    """Pearson correlation between the channels of each pair (e.g. accelerometer axes) over the
    window; 0 when either channel is constant. Dimensionless, in [−1, 1]; one value per pair."""
    centred = ctx.X - ctx.mean[..., None]
    cov = np.einsum("wct,wdt->wcd", centred, centred)
    i, j = np.triu_indices(ctx.X.shape[1], k=1)
    return safe_div(cov[:, i, j], np.sqrt(cov[:, i, i] * cov[:, j, j]))


def _unit_quaternions(ctx: FeatureContext) -> np.ndarray:
    """(n_windows, n_sensors, 4, n_times), each sample normalized to unit length."""
    n_windows, n_channels, n_times = ctx.X.shape
    if n_channels % 4:
        raise DataError(f"features: quaternion features need channels in fours (w, x, y, z); got {n_channels}.")
    q = ctx.X.reshape(n_windows, n_channels // 4, 4, n_times)
    return q / np.maximum(np.linalg.norm(q, axis=2, keepdims=True), 1e-12)


def _angle_between(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Rotation angle in rad between unit quaternions along axis 2 (sign-invariant: q ≡ −q)."""
    return 2.0 * np.arccos(np.clip(np.abs((p * q).sum(axis=2)), 0.0, 1.0))


@register("QROT", "quaternion", over="quaternion")
def quaternion_rotation(ctx: FeatureContext) -> np.ndarray:
    """Net rotation over the window: the angle 2·arccos|⟨q_first, q_last⟩| between the first and
    last orientation. Units: rad, in [0, π]; one value per sensor."""
    q = _unit_quaternions(ctx)
    return _angle_between(q[..., 0], q[..., -1])


@register("QSPEED", "quaternion", over="quaternion")
def quaternion_angular_speed(ctx: FeatureContext) -> np.ndarray:
    """Mean angular speed: the rotation angle between consecutive samples, averaged, times fs.
    Units: rad/s; one value per sensor."""
    q = _unit_quaternions(ctx)
    return _angle_between(q[..., :-1], q[..., 1:]).mean(axis=-1) * ctx.require_fs("QSPEED")


def _euler_parts(params: dict, fs: float, n_times: int) -> list[str]:
    return ["roll", "pitch", "yaw"]


@register("QEULER", "quaternion", parts=_euler_parts, over="quaternion")
def quaternion_euler_angles(ctx: FeatureContext) -> np.ndarray:
    """Orientation of the window as roll, pitch, yaw (Tait–Bryan z-y'-x'' angles) of the mean
    quaternion (the samples aligned in sign with the first one, averaged, renormalized).
    Units: rad; three values per sensor."""
    q = _unit_quaternions(ctx)
    sign = np.where((q * q[..., :1]).sum(axis=2, keepdims=True) < 0, -1.0, 1.0)
    mean = (q * sign).mean(axis=-1)
    w, x, y, z = np.moveaxis(mean / np.maximum(np.linalg.norm(mean, axis=2, keepdims=True), 1e-12), 2, 0)
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x**2 + y**2))
    pitch = np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0))
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y**2 + z**2))
    return np.stack([roll, pitch, yaw], axis=1)
