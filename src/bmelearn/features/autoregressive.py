"""Autoregressive (AR) and cepstral coefficients (Phinyomark et al., Expert Syst. Appl. 39(8), 2012;
Kang et al., IEEE TBME 42(8), 1995).

The AR model of order p is x_n = Σ_{k=1..p} a_k·x_{n−k} + e_n, fitted per window and channel
by Burg's method (as LibEMG, through librosa's ``lpc``), in a compiled kernel (Numba) that
takes the (window, channel) rows in parallel. Coefficients are computed once per extraction
call and shared by AR and CC.
"""

from __future__ import annotations

import numpy as np

from bmelearn.errors import ConfigError
from bmelearn.features import kernels
from bmelearn.features.registry import FeatureContext, register
from bmelearn.registry import PositiveInt


def _coefficient_parts(params: dict, fs: float, n_times: int) -> list[str]:
    return [f"a{k}" for k in range(1, params["order"] + 1)]


def _cepstral_parts(params: dict, fs: float, n_times: int) -> list[str]:
    return [f"c{k}" for k in range(1, params["order"] + 1)]


def _ar(ctx: FeatureContext, order: int) -> np.ndarray:
    """AR coefficients a_1 … a_p, shape (n_windows, p, n_channels)."""
    if not 1 <= order < ctx.n_times - 1:
        raise ConfigError(f"features: AR order must be between 1 and the window length − 2 ({ctx.n_times - 2}); got {order}.")
    return ctx.shared(("ar", order), lambda: -np.moveaxis(ctx.per_channel(kernels.burg(ctx.rows, order))[..., 1:], -1, 1))


@register("AR", "autoregressive", parts=_coefficient_parts, order=4)
def autoregressive(ctx: FeatureContext, order: PositiveInt) -> np.ndarray:
    """Autoregressive coefficients a_1 … a_p of x_n = Σ a_k·x_{n−k} + e_n (Burg's method; order p,
    default 4). Dimensionless; p values per channel."""
    return _ar(ctx, order)


@register("AR9", "autoregressive", parts=_coefficient_parts, order=9)
def autoregressive9(ctx: FeatureContext, order: PositiveInt) -> np.ndarray:
    """Autoregressive coefficients of order 9, as in the COMB set (Phinyomark et al. 2013); same
    definition as AR. Dimensionless; 9 values per channel."""
    return _ar(ctx, order)


@register("CC", "autoregressive", parts=_cepstral_parts, order=4)
def cepstral_coefficients(ctx: FeatureContext, order: PositiveInt) -> np.ndarray:
    """Cepstral coefficients of the AR model (Kang et al. 1995): with α_k = −a_k,
    c_1 = −α_1 and c_p = −α_p − Σ_{l=1..p−1} (1 − l/p)·α_l·c_{p−l}. Dimensionless; p values per channel."""
    alpha = -_ar(ctx, order)
    cc = np.empty_like(alpha)
    for p in range(order):
        cc[:, p] = -alpha[:, p] - sum((1 - (l + 1) / (p + 1)) * alpha[:, l] * cc[:, p - l - 1] for l in range(p))
    return cc
