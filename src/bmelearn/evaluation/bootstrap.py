"""Bootstrap confidence intervals that respect how biosignal data are correlated.

Windows of one trial (a repetition of a gesture, an episode) are not independent, so the
unit of resampling is never the window. Within one subject, trials are resampled with
replacement within each class (so every class keeps its number of trials); across
subjects, subjects are resampled. Intervals are bias-corrected and accelerated (BCa; Efron &
Tibshirani, An Introduction to the Bootstrap, 1993, ch. 14), the acceleration from the
jackknife over the same units, which corrects the off-centre percentile intervals of skewed
metrics (sensitivities near 100 %), and expanded for small samples as Hesterberg's expanded
percentile interval (Am. Stat. 69(4), 2015): the normal quantile z becomes
sqrt(n/(n − 1))·t_{n−1}, n the number of units that the metric depends on. With few units
(fewer than about 10 trials per class or 10 subjects) they remain approximate.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy.special import ndtr, ndtri, stdtrit

N_BOOT = 1000
CONFIDENCE = 0.95


def cluster_weights(clusters: np.ndarray, strata: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Window weights (n_boot, n_windows): how many times each window's cluster was drawn when
    the clusters of every stratum are resampled with replacement (as many as there are)."""
    strata = np.asarray(strata).astype(str)
    codes, cluster_of = np.unique(np.asarray(clusters).astype(str), return_inverse=True)
    stratum_of_cluster = np.empty(len(codes), dtype=strata.dtype)
    stratum_of_cluster[cluster_of] = strata  # a cluster lies in one stratum (a trial has one label)
    draws = np.zeros((n_boot, len(codes)))
    for stratum in np.unique(stratum_of_cluster):
        members = np.flatnonzero(stratum_of_cluster == stratum)
        picks = members[rng.integers(0, len(members), size=(n_boot, len(members)))]
        np.add.at(draws, (np.arange(n_boot)[:, None], picks), 1.0)
    return draws[:, cluster_of]


#: The jackknife's most rows. With more clusters (a table of thousands of patients, each a
#: cluster) they are left out in this many groups, cluster k in group k mod JACKKNIFE_GROUPS
#: (the delete-a-group jackknife, Kott, Survey Methodology 27(2), 2001): a row per cluster took
#: n_clusters × n_windows weights, 9.8 GB for 20,000 patients.
JACKKNIFE_GROUPS = 1000


def jackknife_weights(clusters: np.ndarray) -> np.ndarray:
    """Window weights (n_clusters, or JACKKNIFE_GROUPS beyond them; n_windows): all ones but the
    windows of one cluster, left out (of one group of clusters beyond :data:`JACKKNIFE_GROUPS`)."""
    _, cluster_of = np.unique(np.asarray(clusters).astype(str), return_inverse=True)
    group_of = cluster_of % JACKKNIFE_GROUPS
    return (group_of[None, :] != np.arange(min(cluster_of.max() + 1, JACKKNIFE_GROUPS))[:, None]).astype(np.float64)


def replicate_weights(clusters: np.ndarray, strata: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Window weights for a statistic and its interval: a row of ones (the estimate), ``n_boot``
    cluster resamples (:func:`cluster_weights`), then the jackknife rows (none without resamples).
    Read the statistic computed on every row with :func:`replicate_interval`."""
    resamples = cluster_weights(clusters, strata, n_boot, rng)
    jackknife = jackknife_weights(clusters) if n_boot else resamples[:0]
    return np.vstack([np.ones(resamples.shape[1]), resamples, jackknife])


def replicate_interval(values: np.ndarray, n_boot: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The BCa interval of a statistic computed on the rows of :func:`replicate_weights`."""
    return bca_interval(values[0], values[1 : n_boot + 1], values[n_boot + 1 :], confidence)


def keyed_seed(seed: int, key: tuple) -> tuple[int, int]:
    """The seed of one row's resamples: the experiment's ``seed`` and a checksum of ``key`` (what
    the row is the interval of: pipeline, protocol, subject, ...), so that a row's interval
    depends on neither the other rows nor their order."""
    return seed, zlib.crc32(repr(key).encode())


def mean_replicates(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``values`` (one per subject) over ``n_boot`` resamples of the subjects."""
    values = np.asarray(values, dtype=np.float64)
    picks = rng.integers(0, len(values), size=(n_boot, len(values)))
    return values[picks].mean(axis=1)


def mean_jackknife(values: np.ndarray) -> np.ndarray:
    """The mean of ``values`` with each one left out in turn."""
    values = np.asarray(values, dtype=np.float64)
    return (values.sum() - values) / max(1, len(values) - 1)


def percentile_interval(replicates: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The central ``confidence`` interval of the replicates (undefined ones ignored); NaN if none."""
    return _quantiles(replicates, (1 - confidence) / 2, 1 - (1 - confidence) / 2)


def bca_interval(estimate: float, replicates: np.ndarray, jackknife: np.ndarray,
                 confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The expanded BCa interval: percentiles of the replicates shifted by the bias correction
    z0 (how many replicates fall below the estimate) and the acceleration a (the skewness of the
    jackknife values), at expanded normal quantiles (see the module text). Without a usable
    jackknife or with every replicate on one side, the plain percentile interval."""
    finite = np.asarray(replicates, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    jack = np.asarray(jackknife, dtype=np.float64)
    jack = jack[np.isfinite(jack) & ~np.isclose(jack, estimate, rtol=1e-12, atol=0)]  # units that matter
    if not len(finite) or not np.isfinite(estimate):
        return np.nan, np.nan
    below = (np.sum(finite < estimate) + 0.5 * np.sum(finite == estimate)) / len(finite)
    spread = jack.mean() - jack if len(jack) else jack
    denominator = 6 * np.sum(spread**2) ** 1.5
    if not 0 < below < 1 or len(jack) < 2 or denominator == 0:
        return percentile_interval(finite, confidence)
    # the normal and t quantiles straight from scipy.special, which scipy.stats' norm and t call
    # after checking their arguments (the same numbers, without 60 µs per call)
    z0, a = ndtri(below), np.sum(spread**3) / denominator
    n = len(jack)
    z = np.sqrt(n / (n - 1)) * stdtrit(n - 1, np.array([(1 - confidence) / 2, 1 - (1 - confidence) / 2]))
    return _quantiles(finite, *ndtr(z0 + (z0 + z) / (1 - a * (z0 + z))))


def _quantiles(replicates: np.ndarray, low: float, high: float) -> tuple[float, float]:
    finite = np.asarray(replicates, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return np.nan, np.nan
    lo, hi = np.quantile(finite, [low, high])
    return float(lo), float(hi)
