"""Entropy features, compiled with Numba: the pair counting cannot be vectorized without
quadratic memory, so each (window, channel) row is one compiled loop, rows in parallel.

Sample entropy (Richman & Moorman, Am. J. Physiol. 278, 2000): with the N − m templates
u_i = (x_i, …, x_{i+m−1}), B counts the pairs i < j whose Chebyshev distance is ≤ r, and
A the pairs that still match when extended to m + 1 samples; SAMPEN = ln(B/A). Templates
are sorted by their first sample, so only pairs within r of each other are ever compared.

Fuzzy entropy (Chen et al., IEEE TNSRE 15(2), 2007; Chen et al., Med. Eng. Phys. 31, 2009):
templates have their own mean removed, pairs are weighted by exp(−(d/r)^n) instead of counted
(this form, unlike exp(−d^n/r), does not change when the signal is scaled), φ_m is the mean weight over pairs,
and FUZZYEN = ln φ_m − ln φ_{m+1}.

In both, r = tolerance × the window's standard deviation.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from bmelearn.errors import ConfigError
from bmelearn.features.registry import FeatureContext, register
from bmelearn.registry import NonNegativeFloat, PositiveFloat, PositiveInt


@numba.njit(cache=True, nogil=True)
def _sample_entropy_row(x: np.ndarray, m: int, r: float) -> float:
    n_templates = x.size - m
    order = np.argsort(x[:n_templates], kind="mergesort")
    # the templates (and their (m+1)-th sample) gathered in sorted order: sequential memory access
    templates = np.empty((m + 1, n_templates))
    for k in range(m + 1):
        for p in range(n_templates):
            templates[k, p] = x[order[p] + k]
    first = templates[0]
    # for each template, the sorted range of templates whose first sample is within r
    ends = np.searchsorted(first, first + r, side="right")
    b = 0
    a = 0
    for p in range(n_templates):
        for q in range(p + 1, ends[p]):  # branch-free body, so that it vectorizes
            match = True
            for k in range(1, m):
                match &= abs(templates[k, p] - templates[k, q]) <= r
            b += match
            a += match & (abs(templates[m, p] - templates[m, q]) <= r)
    return math.log(max(b, 1) / max(a, 1))


@numba.njit(cache=True, nogil=True)
def _fuzzy_phi(x: np.ndarray, m: int, n_templates: int, r: float, power: float) -> float:
    templates = np.empty((n_templates, m))
    for i in range(n_templates):
        mean = 0.0
        for k in range(m):
            mean += x[i + k]
        mean /= m
        for k in range(m):
            templates[i, k] = x[i + k] - mean
    total = 0.0
    for i in range(n_templates):
        for j in range(i + 1, n_templates):
            d = 0.0
            for k in range(m):
                d = max(d, abs(templates[i, k] - templates[j, k]))
            if r > 0:
                total += math.exp(-((d / r) ** power))
            elif d == 0:
                total += 1.0
    return 2.0 * total / (n_templates * (n_templates - 1))


@numba.njit(cache=True, nogil=True)
def _fuzzy_entropy_row(x: np.ndarray, m: int, r: float, power: float) -> float:
    n_templates = x.size - m
    phi_m = _fuzzy_phi(x, m, n_templates, r, power)
    phi_m1 = _fuzzy_phi(x, m + 1, n_templates, r, power)
    if phi_m <= 0 or phi_m1 <= 0:
        return 0.0
    return math.log(phi_m) - math.log(phi_m1)


@numba.njit(parallel=True, cache=True)
def _sample_entropy(rows: np.ndarray, m: int, r: np.ndarray) -> np.ndarray:
    out = np.empty(rows.shape[0])
    for k in numba.prange(rows.shape[0]):
        out[k] = _sample_entropy_row(rows[k], m, r[k])
    return out


@numba.njit(parallel=True, cache=True)
def _fuzzy_entropy(rows: np.ndarray, m: int, r: np.ndarray, power: float) -> np.ndarray:
    out = np.empty(rows.shape[0])
    for k in numba.prange(rows.shape[0]):
        out[k] = _fuzzy_entropy_row(rows[k], m, r[k], power)
    return out


def _rows(ctx: FeatureContext, dim: int) -> tuple[np.ndarray, np.ndarray]:
    if not 1 <= dim < ctx.n_times - 1:
        raise ConfigError(f"features.params: entropy dim must be between 1 and the window length − 2 ({ctx.n_times - 2}); got {dim}.")
    rows = np.ascontiguousarray(ctx.X.reshape(-1, ctx.n_times))
    return rows, np.sqrt(ctx.var).reshape(-1)


@register("SAMPEN", "entropy", dim=2, tolerance=0.3)
def sample_entropy(ctx: FeatureContext, dim: PositiveInt, tolerance: NonNegativeFloat) -> np.ndarray:
    """Sample entropy SAMPEN = ln(B/A), templates of ``dim`` samples (default 2), tolerance
    r = ``tolerance``·SD (default 0.3). When no pair matches, its count is taken as 1, which bounds
    SAMPEN by ln B (and gives 0 for a constant window). Nats."""
    rows, sd = _rows(ctx, dim)
    return _sample_entropy(rows, dim, tolerance * sd).reshape(ctx.X.shape[:2])


@register("FUZZYEN", "entropy", dim=2, tolerance=0.3, power=2)
def fuzzy_entropy(ctx: FeatureContext, dim: PositiveInt, tolerance: NonNegativeFloat, power: PositiveFloat) -> np.ndarray:
    """Fuzzy entropy FUZZYEN = ln φ_dim − ln φ_{dim+1} with the similarity exp(−(d/r)^power) (power
    default 2), templates of ``dim`` samples (default 2), r = ``tolerance``·SD (default 0.3). Nats."""
    rows, sd = _rows(ctx, dim)
    return _fuzzy_entropy(rows, dim, tolerance * sd, float(power)).reshape(ctx.X.shape[:2])
