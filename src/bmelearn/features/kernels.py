"""Compiled one-pass kernels (Numba) for the sums and counts that most time-domain features
are made of. Each works on ``rows`` (n_rows, n_times), one row per (window, channel), rows
in parallel; one pass over the samples replaces the several full-size temporaries that the
same computation takes in NumPy, which is what makes extraction on high-density windows fast.
"""

from __future__ import annotations

import math

import numba
import numpy as np

FAST = {"reassoc", "contract", "arcp"}  # reorder sums, fuse multiply-adds; no assumption on NaN/inf

SUMS = ("x", "abs", "sq", "diff_abs", "diff_sq", "diff2_abs", "diff2_sq")


@numba.njit(parallel=True, cache=True, fastmath=FAST)
def row_sums(rows: np.ndarray) -> np.ndarray:
    """Per row: Σx, Σ|x|, Σx², Σ|d|, Σd², Σ|d2|, Σd2² (d, d2: first and second differences)."""
    n_rows, n = rows.shape
    out = np.zeros((n_rows, 7))
    for r in numba.prange(n_rows):
        x = rows[r]
        s = sa = sq = 0.0
        for i in range(n):
            v = x[i]
            s += v
            sa += abs(v)
            sq += v * v
        da = dq = 0.0
        for i in range(n - 1):
            d = x[i + 1] - x[i]
            da += abs(d)
            dq += d * d
        d2a = d2q = 0.0
        for i in range(n - 2):
            d2 = x[i + 2] - 2.0 * x[i + 1] + x[i]
            d2a += abs(d2)
            d2q += d2 * d2
        out[r, 0], out[r, 1], out[r, 2], out[r, 3], out[r, 4], out[r, 5], out[r, 6] = s, sa, sq, da, dq, d2a, d2q
    return out


@numba.njit(parallel=True, cache=True)
def zero_crossings(rows: np.ndarray, threshold: float) -> np.ndarray:
    """Per row: count of i with x_i·x_{i+1} < 0 and |x_{i+1} − x_i| ≥ threshold."""
    n_rows, n = rows.shape
    out = np.zeros(n_rows)
    for r in numba.prange(n_rows):
        x = rows[r]
        c = 0
        for i in range(n - 1):
            c += (x[i] * x[i + 1] < 0.0) & (abs(x[i + 1] - x[i]) >= threshold)
        out[r] = c
    return out


@numba.njit(parallel=True, cache=True)
def slope_sign_changes(rows: np.ndarray, threshold: float) -> np.ndarray:
    """Per row: count of i with (x_i − x_{i−1})·(x_i − x_{i+1}) ≥ threshold."""
    n_rows, n = rows.shape
    out = np.zeros(n_rows)
    for r in numba.prange(n_rows):
        x = rows[r]
        c = 0
        for i in range(1, n - 1):
            c += (x[i] - x[i - 1]) * (x[i] - x[i + 1]) >= threshold
        out[r] = c
    return out


@numba.njit(parallel=True, cache=True)
def willison(rows: np.ndarray, threshold: float) -> np.ndarray:
    """Per row: count of i with |x_{i+1} − x_i| > threshold."""
    n_rows, n = rows.shape
    out = np.zeros(n_rows)
    for r in numba.prange(n_rows):
        x = rows[r]
        c = 0
        for i in range(n - 1):
            c += abs(x[i + 1] - x[i]) > threshold
        out[r] = c
    return out


@numba.njit(parallel=True, cache=True, fastmath=FAST)
def root_sums(rows: np.ndarray) -> np.ndarray:
    """Per row: Σ √x over the positive samples and Σ √(−x) over the negative ones."""
    n_rows, n = rows.shape
    out = np.zeros((n_rows, 2))
    for r in numba.prange(n_rows):
        x = rows[r]
        pos = neg = 0.0
        for i in range(n):
            v = x[i]
            root = math.sqrt(abs(v))
            if v > 0:
                pos += root
            else:
                neg += root
        out[r, 0], out[r, 1] = pos, neg
    return out


@numba.njit(parallel=True, cache=True, fastmath=FAST)
def burg(rows: np.ndarray, order: int) -> np.ndarray:
    """Per row: the prediction-error polynomial [1, α_1, …, α_p] by Burg's method, so that
    x_n + Σ α_k·x_{n−k} = e_n (Burg 1967; the recursion of Kay, Modern Spectral Estimation, 1988)."""
    n_rows, n = rows.shape
    out = np.zeros((n_rows, order + 1))
    for r in numba.prange(n_rows):
        f = rows[r, 1:].copy()  # forward errors at n = 1 … N−1
        b = rows[r, :-1].copy()  # backward errors at n − 1
        a = np.zeros(order + 1)
        a[0] = 1.0
        m = n - 1
        for k in range(order):
            fb = ff = bb = 0.0
            for i in range(m):
                fb += f[i] * b[i]
                ff += f[i] * f[i]
                bb += b[i] * b[i]
            den = ff + bb
            mu = -2.0 * fb / den if den > 0 else 0.0
            prev = a.copy()
            for i in range(1, k + 2):
                a[i] = prev[i] + mu * prev[k + 1 - i]
            for i in range(m - 1):  # shift: f_new[i] = f[i+1] + mu·b[i+1], b_new[i] = b[i] + mu·f[i]
                fi = f[i + 1] + mu * b[i + 1]
                b[i] = b[i] + mu * f[i]
                f[i] = fi
            m -= 1
        out[r] = a
    return out


@numba.njit(parallel=True, cache=True, fastmath=FAST)
def energy_stats(rows: np.ndarray) -> np.ndarray:
    """Per row of coefficients c, with e = c²: Σe, Σe², Σ|e_{i+1} − e_i| and Σ e·ln e (0·ln 0 = 0)."""
    n_rows, n = rows.shape
    out = np.zeros((n_rows, 4))
    for r in numba.prange(n_rows):
        c = rows[r]
        s = s2 = wl = ent = 0.0
        prev = c[0] * c[0]
        for i in range(n):
            e = c[i] * c[i]
            s += e
            s2 += e * e
            wl += abs(e - prev)
            if e > 0:
                ent += e * math.log(e)
            prev = e
        out[r, 0], out[r, 1], out[r, 2], out[r, 3] = s, s2, wl, ent
    return out
