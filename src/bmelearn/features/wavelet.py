"""Multiscale wavelet features (MSWT; Khushaba et al., as in LibEMG): the window is decomposed
by the discrete wavelet transform (default ``sym8``, symmetric extension: PyWavelets'
``wavedec``, here compiled together with the statistics) into the approximation cA_L and the
details cD_L … cD_1, and one value is computed per level.

The number of levels L defaults to LibEMG's rule floor(log2(fs/2) − 1), capped at the
deepest level the window supports (``pywt.dwt_max_level``), beyond which every coefficient
is a boundary effect. The decomposition is computed once per extraction call and shared.
Any wavelet PyWavelets knows by name can be given; its filters come from PyWavelets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated

import numpy as np
import pywt
from pydantic import AfterValidator

from bmelearn.errors import ConfigError, DataError
from bmelearn.features import kernels
from bmelearn.features.registry import TINY, FeatureContext, for_row_blocks, register, safe_div, safe_log
from bmelearn.registry import PositiveInt


def filters(wavelet: str) -> pywt.Wavelet:
    """The discrete wavelet named ``wavelet``, or a ConfigError that says how to pick one."""
    try:
        return pywt.Wavelet(wavelet)
    except ValueError:
        raise ConfigError(
            f"features.params: wavelet {wavelet!r} (of WENG, WV, WWL or WENT) is not a discrete wavelet PyWavelets knows; "
            "use one of pywt.wavelist(kind='discrete'), e.g. sym8 or db4."
        ) from None


def _known(wavelet: str) -> str:
    if wavelet not in pywt.wavelist(kind="discrete"):
        raise ValueError(f"wavelet {wavelet!r} is not a discrete wavelet PyWavelets knows; use one of "
                         "pywt.wavelist(kind='discrete'), e.g. sym8 or db4")
    return wavelet


#: The name of a discrete wavelet of PyWavelets (``sym8``, ``db4`` …).
Wavelet = Annotated[str, AfterValidator(_known)]


def levels(fs: float, n_times: int, wavelet: str, level: int | None) -> int:
    """Number of decomposition levels: ``level`` if given, else the rule above."""
    if level is not None:
        return int(level)
    if not np.isfinite(fs):
        raise DataError("features: wavelet features need the sampling rate; give FeatureExtractor(fs=...) in Hz.")
    deepest = pywt.dwt_max_level(n_times, filters(wavelet).dec_len)
    return max(1, min(math.floor(math.log2(fs / 2) - 1), deepest))


def _level_parts(params: dict, fs: float, n_times: int) -> list[str]:
    n = levels(fs, n_times, params["wavelet"], params["level"])
    return [f"A{n}"] + [f"D{k}" for k in range(n, 0, -1)]


def _stats(ctx: FeatureContext, wavelet: str, level: int | None) -> list[tuple[np.ndarray, ...]]:
    """Per level [A_L, D_L, …, D_1]: Σe, Σe², Σ|Δe|, Σ e·ln e of the coefficients' energy e = c²,
    and the number of coefficients n (one compiled pass: transform and statistics together)."""
    n_levels = levels(ctx.fs, ctx.n_times, wavelet, level)

    def compute() -> list[tuple[np.ndarray, ...]]:
        bank = filters(wavelet)
        lo, hi = np.asarray(bank.dec_lo), np.asarray(bank.dec_hi)
        lengths = [ctx.n_times]
        for _ in range(n_levels):
            lengths.append((lengths[-1] + bank.dec_len - 1) // 2)
        counts = [lengths[-1], *lengths[:0:-1]]  # A_L, then D_L … D_1
        bounds = np.cumsum([0, *counts])
        stats = np.empty((len(ctx.rows), n_levels + 1, 4))

        def make_task(block_rows: int) -> Callable[[slice], None]:
            energy = np.empty((block_rows, bounds[-1]))
            log_energy = np.empty_like(energy)

            def task(rows: slice) -> None:
                n = rows.stop - rows.start
                kernels.wavedec(ctx.rows[rows], lo, hi, n_levels, energy[:n])
                np.square(energy[:n], out=energy[:n])
                np.log(np.maximum(energy[:n], TINY, out=log_energy[:n]), out=log_energy[:n])  # 0·ln(tiny) = 0
                kernels.segment_energy_stats(energy[:n], log_energy[:n], bounds, stats[rows])

            return task

        for_row_blocks(len(ctx.rows), int(bounds[-1]), make_task)
        per_level = np.moveaxis(ctx.per_channel(stats), (2, 3), (0, 1))  # (level, stat, window, channel)
        return [(*level_stats, n) for level_stats, n in zip(per_level, counts, strict=True)]

    return ctx.shared(("wavelet-stats", wavelet, n_levels), compute)


@register("WENG", "wavelet", parts=_level_parts, wavelet="sym8", level=None)
def wavelet_energy(ctx: FeatureContext, wavelet: Wavelet, level: PositiveInt | None) -> np.ndarray:
    """Wavelet energy: log Σ c² per level. Units: log(u²); L + 1 values per channel."""
    return np.stack([safe_log(s) for s, _, _, _, _ in _stats(ctx, wavelet, level)], axis=1)


@register("WV", "wavelet", parts=_level_parts, wavelet="sym8", level=None)
def wavelet_variance(ctx: FeatureContext, wavelet: Wavelet, level: PositiveInt | None) -> np.ndarray:
    """Wavelet variance: log var(c²) per level, the spread of the coefficients' energy (as LibEMG).
    Units: log(u⁴); L + 1 values per channel."""
    return np.stack([safe_log(np.maximum(s2 / n - (s / n) ** 2, 0.0)) for s, s2, _, _, n in _stats(ctx, wavelet, level)], axis=1)


@register("WWL", "wavelet", parts=_level_parts, wavelet="sym8", level=None)
def wavelet_waveform_length(ctx: FeatureContext, wavelet: Wavelet, level: PositiveInt | None) -> np.ndarray:
    """Wavelet waveform length: log Σ |Δ(c²)| per level, the waveform length of the coefficients'
    energy (as LibEMG). Units: log(u²); L + 1 values per channel."""
    return np.stack([safe_log(wl) for _, _, wl, _, _ in _stats(ctx, wavelet, level)], axis=1)


@register("WENT", "wavelet", parts=_level_parts, wavelet="sym8", level=None)
def wavelet_entropy(ctx: FeatureContext, wavelet: Wavelet, level: PositiveInt | None) -> np.ndarray:
    """Wavelet entropy: −Σ p·ln p per level with p = c²/Σ c², computed as ln E − Σ e·ln e / E
    (0 for a flat level). Nats; L + 1 values per channel."""
    return np.stack([np.where(s > 0, safe_log(s) - safe_div(ent, s), 0.0) for s, _, _, ent, _ in _stats(ctx, wavelet, level)], axis=1)
