"""Time-domain power spectral descriptors (TD-PSD; Al-Timemy et al., IEEE TNSRE 24(6), 2016;
Khushaba et al., Expert Syst. Appl. 2017).

Spectral moments are estimated in the time domain through Parseval's theorem:
m0 = sqrt(Σ x²)/(N − 1), m2 = sqrt(Σ d²/(N − 1)), m4 = sqrt(Σ d2²/(N − 1)) (d, d2: first and
second differences), each power-normalized as m ← m^0.1/0.1. A descriptor f is computed on
the signal (f_x) and on its log-power log(x² + ε) (f_l), and the feature is the
orientation-like ratio −2·f_x·f_l/(f_x² + f_l²), which is dimensionless and lies in [−1, 1].
Implemented after LibEMG's definitions, so that published results reproduce.
"""

from __future__ import annotations

import numpy as np

from bmelearn.features import kernels
from bmelearn.features.registry import FeatureContext, register, safe_div, safe_log

LAMBDA = 0.1
EPS = np.spacing(1.0)


def _descriptors(sums: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """The six TD-PSD log-descriptors from the :func:`kernels.row_sums` of rows of n samples."""
    _, _, sq, diff_abs, diff_sq, diff2_abs, diff2_sq = sums.T
    m0, m2, m4 = (m**LAMBDA / LAMBDA for m in (np.sqrt(sq) / (n - 1), np.sqrt(diff_sq / (n - 1)), np.sqrt(diff2_sq / (n - 1))))
    return {
        "M0": safe_log(m0),
        "M2": safe_log(np.abs(m0 - m2)),
        "M4": safe_log(np.abs(m0 - m4)),
        "SPARSI": safe_log(safe_div(np.sqrt(np.abs((m0 - m2) * (m0 - m4))), m0)),
        "IRF": safe_log(safe_div(m2, np.sqrt(m0 * m4))),
        "WLF": 0.5 * (safe_log(diff_abs) - safe_log(diff2_abs)),
    }


def _both(ctx: FeatureContext) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per descriptor, its values on the signal and on its log-power, computed once per call."""

    def compute() -> dict[str, tuple[np.ndarray, np.ndarray]]:
        log_power = np.square(ctx.rows)
        log_power += EPS
        np.log(log_power, out=log_power)
        sums = np.concatenate([kernels.row_sums(ctx.rows), kernels.row_sums(log_power)])
        return {name: np.split(values, 2) for name, values in _descriptors(sums, ctx.n_times).items()}

    return ctx.shared("tdpsd", compute)


def _ratio(ctx: FeatureContext, name: str) -> np.ndarray:
    fx, fl = _both(ctx)[name]
    return ctx.per_channel(safe_div(-2.0 * fx * fl, fx**2 + fl**2))


@register("M0", "tdpsd")
def m0(ctx: FeatureContext) -> np.ndarray:
    """TD-PSD zeroth-order moment: f = log(m0), the (normalized) total power. Dimensionless, in [−1, 1]."""
    return _ratio(ctx, "M0")


@register("M2", "tdpsd")
def m2(ctx: FeatureContext) -> np.ndarray:
    """TD-PSD second-order moment: f = log|m0 − m2|. Dimensionless, in [−1, 1]."""
    return _ratio(ctx, "M2")


@register("M4", "tdpsd")
def m4(ctx: FeatureContext) -> np.ndarray:
    """TD-PSD fourth-order moment: f = log|m0 − m4|. Dimensionless, in [−1, 1]."""
    return _ratio(ctx, "M4")


@register("SPARSI", "tdpsd")
def sparseness(ctx: FeatureContext) -> np.ndarray:
    """TD-PSD sparseness: f = log(sqrt|(m0 − m2)(m0 − m4)| / m0). Dimensionless, in [−1, 1]."""
    return _ratio(ctx, "SPARSI")


@register("IRF", "tdpsd")
def irregularity_factor(ctx: FeatureContext) -> np.ndarray:
    """TD-PSD irregularity factor: f = log(m2 / sqrt(m0·m4)). Dimensionless, in [−1, 1]."""
    return _ratio(ctx, "IRF")


@register("WLF", "tdpsd")
def waveform_length_factor(ctx: FeatureContext) -> np.ndarray:
    """TD-PSD waveform length ratio: f = log(sqrt(Σ|d| / Σ|d2|)). Dimensionless, in [−1, 1]."""
    return _ratio(ctx, "WLF")
