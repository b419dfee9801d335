"""The feature registry: every feature by its literature name, and named groups of features.

A feature is a function ``f(ctx, **params) -> array (n_windows, n_columns)`` computed from
a :class:`FeatureContext`, which holds the windows and computes the intermediates shared
by several features (differences, spectrum, wavelet decomposition, ...) once per
extraction call. Most features give one column per channel; some give several values per
channel (``parts``: AR coefficients, frequency bands, wavelet levels), one per channel
pair (``over="pair"``) or one per quaternion sensor (``over="quaternion"``).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from bmelearn.errors import ConfigError, DataError
from bmelearn.features import kernels
from bmelearn.registry import Entry, Registry, first_line, parameter_types

TINY = np.finfo(np.float64).tiny
THREADS = max(1, min(8, len(os.sched_getaffinity(0))))
BLOCK = 2**16  # samples per block of rows (512 KiB): stays in cache
_pool: ThreadPoolExecutor | None = None


def for_row_blocks(n_rows: int, row_length: int, make_task: Callable[[int], Callable[[slice], None]]) -> None:
    """Process rows in blocks of at most :data:`BLOCK` samples (which stay in cache), on all cores.

    The rows are split evenly among :data:`THREADS` workers; each calls ``make_task(block_rows)``
    once (to allocate the buffers it reuses) and runs the task it returns on its consecutive
    blocks, ``task(rows)`` with ``rows`` a slice of at most ``block_rows`` rows. To gain from
    the threads the task's work must release the GIL, as NumPy's FFT and ufuncs and the
    ``nogil`` kernels do.
    """
    global _pool
    block_rows = max(1, BLOCK // max(1, row_length))

    def work(first: int, last: int) -> None:
        task = make_task(block_rows)
        for start in range(first, last, block_rows):
            task(slice(start, min(start + block_rows, last)))

    n_workers = min(THREADS, -(-n_rows // block_rows))
    if n_workers < 2:
        work(0, n_rows)
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="bmelearn-features")
    bounds = np.linspace(0, n_rows, n_workers + 1).astype(int)
    for done in [_pool.submit(work, first, last) for first, last in itertools.pairwise(bounds)]:
        done.result()


def safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, with 0 where ``den`` is 0 (a flat window has no ratio to speak of)."""
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def safe_log(x: np.ndarray) -> np.ndarray:
    """Natural log floored at the smallest positive double, so that log(0) is finite (≈ −708)."""
    return np.log(np.maximum(x, TINY))


def next_pow2(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(n)))


@dataclass
class FeatureContext:
    """Windows ``X`` (n_windows, n_channels, n_times) sampled at ``fs`` Hz, with shared intermediates."""

    X: np.ndarray
    fs: float
    _shared: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def n_times(self) -> int:
        return self.X.shape[-1]

    def require_fs(self, feature: str) -> float:
        if not np.isfinite(self.fs) or self.fs <= 0:
            raise DataError(f"features: {feature} needs the sampling rate; give FeatureExtractor(fs=...) in Hz.")
        return float(self.fs)

    @cached_property
    def abs(self) -> np.ndarray:
        return np.abs(self.X)

    @cached_property
    def rows(self) -> np.ndarray:
        """The windows as contiguous rows (n_windows · n_channels, n_times), for the compiled kernels."""
        return np.ascontiguousarray(self.X.reshape(-1, self.n_times))

    def per_channel(self, values: np.ndarray) -> np.ndarray:
        """Row results (n_windows · n_channels, …) back to (n_windows, n_channels, …)."""
        return values.reshape(*self.X.shape[:2], *values.shape[1:])

    @cached_property
    def _sums(self) -> dict[str, np.ndarray]:
        return dict(zip(kernels.SUMS, np.moveaxis(self.per_channel(kernels.row_sums(self.rows)), -1, 0), strict=True))

    @property
    def mean(self) -> np.ndarray:
        return self._sums["x"] / self.n_times

    @property
    def abs_sum(self) -> np.ndarray:
        """Σ |x_i| per window and channel."""
        return self._sums["abs"]

    @property
    def sq_sum(self) -> np.ndarray:
        """Σ x_i² per window and channel."""
        return self._sums["sq"]

    @property
    def diff_abs_sum(self) -> np.ndarray:
        """Σ |x_{i+1} − x_i|: the waveform length."""
        return self._sums["diff_abs"]

    @property
    def diff_sq_sum(self) -> np.ndarray:
        """Σ (x_{i+1} − x_i)² per window and channel."""
        return self._sums["diff_sq"]

    @property
    def diff2_abs_sum(self) -> np.ndarray:
        """Σ |second difference| per window and channel."""
        return self._sums["diff2_abs"]

    @property
    def diff2_sq_sum(self) -> np.ndarray:
        """Σ (second difference)² per window and channel."""
        return self._sums["diff2_sq"]

    @cached_property
    def var(self) -> np.ndarray:
        """Variance about the window mean, (1/N) Σ (x_i − x̄)²."""
        return np.maximum(self.sq_sum / self.n_times - self.mean**2, 0.0)

    @cached_property
    def magnitude(self) -> np.ndarray:
        """One-sided magnitude spectrum |FFT(x)|/N, zero-padded to the next power of two,
        bins 0 … n_fft/2 − 1 (the Nyquist bin is left out, as in LibEMG)."""
        out = np.empty((len(self.rows), next_pow2(self.n_times) // 2))
        self._spectrum_blocks(lambda spectrum, rows: kernels.magnitude(spectrum, 1.0 / self.n_times, out[rows]))
        return self.per_channel(out)

    def band_magnitudes(self, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
        """Mean of :attr:`magnitude` over each band of bins starts[b] ≤ k < stops[b]:
        (n_windows, n_channels, n_bands); 0 for a band without bins. Taken from the full
        magnitude when another feature has computed it; else in one pass over the FFT blocks,
        without a full-size spectrum in memory."""
        if "magnitude" in self.__dict__:
            return np.stack([self.magnitude[..., a:b].sum(axis=-1) / max(1, b - a) for a, b in zip(starts, stops, strict=True)], axis=-1)
        out = np.empty((len(self.rows), len(starts)))
        self._spectrum_blocks(lambda spectrum, rows: kernels.band_mean_magnitude(spectrum, starts, stops, 1.0 / self.n_times, out[rows]))
        return self.per_channel(out)

    def _spectrum_blocks(self, consume: Callable[[np.ndarray, slice], None]) -> None:
        """Call ``consume(spectrum, rows)`` with the rFFT (zero-padded to the next power of two) of
        each block of rows. Blocks stay in cache and run on all cores (NumPy's FFT and the
        compiled kernels release the GIL): on 64-channel windows this is several times faster
        than one FFT over the whole array."""
        n_fft = next_pow2(self.n_times)

        def make_task(block_rows: int) -> Callable[[slice], None]:
            padded = np.zeros((block_rows, n_fft))
            spectrum = np.empty((block_rows, n_fft // 2 + 1), dtype=np.complex128)

            def task(rows: slice) -> None:
                n = rows.stop - rows.start
                padded[:n, : self.n_times] = self.rows[rows]
                np.fft.rfft(padded[:n], axis=-1, out=spectrum[:n])
                consume(spectrum[:n], rows)

            return task

        for_row_blocks(len(self.rows), n_fft, make_task)

    @cached_property
    def power(self) -> np.ndarray:
        """One-sided power spectrum |FFT(x)|²/N² over the bins of :attr:`magnitude`."""
        return np.square(self.magnitude)

    def freqs(self, feature: str) -> np.ndarray:
        """Frequencies in Hz of the bins of :attr:`power`."""
        n_fft = next_pow2(self.n_times)
        return np.arange(n_fft // 2) * self.require_fs(feature) / n_fft

    def shared(self, key: Any, compute: Callable[[], Any]) -> Any:
        """An intermediate used by several features, computed on first use and kept for this call."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]


PartsFn = Callable[[dict[str, Any], float, int], list[str]]


@dataclass(frozen=True, kw_only=True)
class Feature(Entry):
    """One feature: an entry of :data:`FEATURES` whose ``obj`` is its function and whose
    ``parameters`` are its defaults, with its family and documentation.

    ``parts(params, fs, n_times)`` lists the values a feature gives per channel (None: one);
    ``over`` is what a column belongs to: ``channel``, ``pair`` of channels, or
    ``quaternion`` sensor (four channels w, x, y, z); ``min_samples`` the shortest window it
    is defined on (1 for MEAN, MIN, MAX and RANGE, which also serve one-sample table rows).
    """

    family: str
    parts: PartsFn | None = None
    over: str = "channel"
    min_samples: int = 3

    @property
    def doc(self) -> str:
        return (self.obj.__doc__ or "").strip()

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` checked against this feature's parameters, with its defaults filled in."""
        FEATURES.check_parameters(self.name, params, "features.params")
        return {**self.parameters, **params}

    def __call__(self, ctx: FeatureContext, **params: Any) -> np.ndarray:
        out = self.obj(ctx, **self.check_params(params))
        return out.reshape(out.shape[0], -1)

    def column_names(self, ch_names: list[str], params: dict[str, Any], fs: float, n_times: int) -> list[str]:
        """Column names, part-major: ``AR_a1_EMG1, AR_a1_EMG2, …, AR_a2_EMG1``."""
        if self.over == "pair":
            units = [f"{a}-{b}" for a, b in itertools.combinations(ch_names, 2)]
        elif self.over == "quaternion":
            if len(ch_names) % 4:
                raise DataError(f"features: {self.name} needs quaternion channels in fours (w, x, y, z); got {len(ch_names)}.")
            units = [ch_names[i] if len(ch_names) > 4 else "" for i in range(0, len(ch_names), 4)]
        else:
            units = list(ch_names)
        parts = self.parts(self.check_params(params), fs, n_times) if self.parts else [""]
        return ["_".join(s for s in (self.name, part, unit) if s) for part in parts for unit in units]


FEATURES: Registry[Feature] = Registry("feature")
GROUPS: dict[str, tuple[str, ...]] = {}


def register(
    name: str, family: str, parts: PartsFn | None = None, over: str = "channel", min_samples: int = 3, **defaults: Any
) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    """Decorator adding a feature function to the registry under ``name``, with the ``defaults`` of
    its parameters; their types, checked in experiment files, are the function's annotations."""

    def add(func: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        FEATURES.add(Feature(name=name, description=first_line(func.__doc__), parameters=defaults, obj=func,
                             types=parameter_types(func, defaults), family=family, parts=parts, over=over,
                             min_samples=min_samples))
        return func

    return add


def register_group(name: str, members: tuple[str, ...]) -> None:
    """Name a group of features (e.g. HTD = MAV, ZC, SSC, WL; Hudgins et al. 1993)."""
    GROUPS[name] = members


def resolve(names: list[str] | tuple[str, ...]) -> list[str]:
    """Expand group names into features, keeping the first occurrence of each feature."""
    out: list[str] = []
    for name in names:
        key = name.upper()
        members = GROUPS.get(key, (key,))
        for member in members:
            if member not in FEATURES:
                raise ConfigError(
                    f"features: unknown feature or group {name!r}; features: {sorted(FEATURES)}, groups: {sorted(GROUPS)}."
                )
            if member not in out:
                out.append(member)
    return out
