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


@numba.njit(nogil=True, cache=True, fastmath=FAST)
def magnitude(spectrum: np.ndarray, scale: float, out: np.ndarray) -> None:
    """out[r, k] = scale·|spectrum[r, k]| for the first out.shape[1] bins (sqrt(re² + im²),
    without np.abs's overflow-safe hypot, which is several times slower)."""
    for r in range(out.shape[0]):
        for k in range(out.shape[1]):
            z = spectrum[r, k]
            out[r, k] = scale * math.sqrt(z.real * z.real + z.imag * z.imag)


@numba.njit(nogil=True, cache=True, fastmath=FAST)
def band_mean_magnitude(spectrum: np.ndarray, starts: np.ndarray, stops: np.ndarray, scale: float, out: np.ndarray) -> None:
    """out[r, b] = scale · mean |spectrum[r, k]| over the bins starts[b] ≤ k < stops[b]."""
    for r in range(out.shape[0]):
        for b in range(starts.size):
            total = 0.0
            for k in range(starts[b], stops[b]):
                z = spectrum[r, k]
                total += math.sqrt(z.real * z.real + z.imag * z.imag)
            out[r, b] = scale * total / max(1, stops[b] - starts[b])


@numba.njit(cache=True)
def _reflect(index: int, n: int) -> int:
    """Index into a signal of length n extended half-sample symmetrically (… x1 x0 | x0 x1 … | xn-1 xn-2 …)."""
    m = index % (2 * n)
    return m if m < n else 2 * n - 1 - m


@numba.njit(nogil=True, cache=True, fastmath=FAST)
def wavedec(rows: np.ndarray, dec_lo: np.ndarray, dec_hi: np.ndarray, n_levels: int, out: np.ndarray) -> None:
    """Discrete wavelet transform of each row to ``n_levels`` levels with the decomposition filters
    ``dec_lo``/``dec_hi`` and half-sample symmetric extension, as PyWavelets' ``wavedec`` in mode
    ``symmetric``: level k keeps (n_{k−1} + F − 1) // 2 coefficients c[o] = Σ_j h[j]·x[2o + 1 − j].
    Writes [cA_L, cD_L, …, cD_1] one after the other into ``out`` (n_rows, Σ lengths).

    Polyphase form, so that the inner loop runs over consecutive outputs (SIMD): with the
    extended signal split into its even and odd samples, and g the reversed filter,
    c[o] = Σ_q g[2q]·odd[o + q] + g[2q + 1]·even[o + q + 1].
    """
    f = dec_lo.size
    taps = f + f % 2  # an even number of taps: odd-length filters get a trailing zero
    lo = np.zeros(taps)
    hi = np.zeros(taps)
    lo[:f] = dec_lo[::-1]
    hi[:f] = dec_hi[::-1]
    longest = length = rows.shape[1]  # a level can be longer than the last when n < F
    for _ in range(n_levels):
        length = (length + f - 1) // 2
        longest = max(longest, length)
    even = np.zeros(longest + taps)  # the extended signal ext[k] = x[k − (f − 1)], split into
    odd = np.zeros(longest + taps)  # its even samples ext[2p] and odd samples ext[2p + 1]
    approx = np.empty(longest)
    coarser = np.empty(longest)
    detail = np.empty(longest)
    for r in range(rows.shape[0]):  # explicit loops throughout: Numba's slice assignment is slower
        length = rows.shape[1]
        for i in range(length):
            approx[i] = rows[r, i]
        end = out.shape[1]
        for _ in range(n_levels):
            m = (length + f - 1) // 2
            for p in range(m + taps // 2 + 1):  # every polyphase sample the outputs read
                k = 2 * p - (f - 1)
                if 0 <= k and k + 1 < length:
                    even[p] = approx[k]
                    odd[p] = approx[k + 1]
                else:
                    even[p] = approx[_reflect(k, length)]
                    odd[p] = approx[_reflect(k + 1, length)]
            for o in range(m):
                coarser[o] = 0.0
                detail[o] = 0.0
            for q in range(taps // 2):
                lo0, lo1, hi0, hi1 = lo[2 * q], lo[2 * q + 1], hi[2 * q], hi[2 * q + 1]
                for o in range(m):
                    vo = odd[o + q]
                    ve = even[o + q + 1]
                    coarser[o] += lo0 * vo + lo1 * ve
                    detail[o] += hi0 * vo + hi1 * ve
            end -= m
            for o in range(m):
                out[r, end + o] = detail[o]
                approx[o] = coarser[o]
            length = m
        for o in range(length):
            out[r, o] = approx[o]


@numba.njit(nogil=True, cache=True, fastmath=FAST)
def segment_energy_stats(energy: np.ndarray, log_energy: np.ndarray, bounds: np.ndarray, out: np.ndarray) -> None:
    """For each row and segment [bounds[s], bounds[s+1]) of energies e (with ln e given, 0 where
    e = 0, or anything finite): Σe, Σe², Σ|e_{i+1} − e_i| and Σ e·ln e into out (n_rows,
    n_segments, 4). The logs come from NumPy, whose SIMD log is several times faster than a
    scalar one here."""
    for r in range(energy.shape[0]):
        for s in range(bounds.size - 1):
            e = energy[r, bounds[s] : bounds[s + 1]]  # slices, not indices into the row: these loops vectorize
            log_e = log_energy[r, bounds[s] : bounds[s + 1]]
            s1 = s2 = wl = ent = 0.0
            for i in range(e.size):
                s1 += e[i]
                s2 += e[i] * e[i]
                ent += e[i] * log_e[i]
            for i in range(e.size - 1):
                wl += abs(e[i + 1] - e[i])
            out[r, s, 0], out[r, s, 1], out[r, s, 2], out[r, s, 3] = s1, s2, wl, ent
