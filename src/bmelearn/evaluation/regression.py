"""Scores of a continuous target (a force, a joint angle, a clinical score), computed for many
weightings of the windows at once, with bootstrap intervals and Bland–Altman agreement.

As for the classification metrics (:mod:`bmelearn.evaluation.metrics`), every metric is a
function of per-window weights, so that the estimate, each bootstrap replicate and each
jackknife value is one row of a weight matrix (:func:`bmelearn.evaluation.bootstrap.replicate_weights`)
and all rows cost one matrix product. With w the weights of a row, y the truth, ŷ the
prediction and ȳ = Σwy / Σw:

- ``r2``: 1 − Σw(y − ŷ)² / Σw(y − ȳ)² (scikit-learn's ``r2_score`` with ``sample_weight``);
- ``rmse``: √(Σw(y − ŷ)² / Σw), in the units of the target;
- ``mae``: Σw|y − ŷ| / Σw, in the units of the target;
- ``pearson_r``: Σw(y − ȳ)(ŷ − ŷ̄) / √(Σw(y − ȳ)² · Σw(ŷ − ŷ̄)²).

A metric is NaN where it is undefined: no weight at all, or (R², r) a truth or prediction of
zero weighted variance, as when a replicate draws a single trial whose target is constant.
"""

from __future__ import annotations

import numpy as np
from scipy.special import stdtrit

from bmelearn.evaluation.bootstrap import CONFIDENCE, N_BOOT, replicate_interval, replicate_weights
from bmelearn.registry import Entry, Registry


def _metric(name: str, label: str, higher_is_better: bool, description: str) -> Entry:
    return Entry(name, description, metadata={"label": label, "scope": "regression", "higher_is_better": higher_is_better})


#: The metrics :func:`regression_replicates` computes: ``label`` is the report's name, ``scope``
#: is ``regression``, ``higher_is_better`` says which way is better, and the description says in
#: plain words what the metric measures and in which units.
REGRESSION_METRICS: Registry[Entry] = Registry("regression metric", [
    _metric("r2", "R²", True,
            "The share of the variance of the true values that the predictions explain (coefficient of determination; "
            "no units): 1 is perfect, 0 is no better than always predicting the mean, below 0 is worse than that."),
    _metric("rmse", "RMSE", False,
            "The root mean squared error: the typical size of a prediction's error, in the units of the target, "
            "large errors weighing more (0 is perfect)."),
    _metric("mae", "MAE", False,
            "The mean absolute error: the average distance between the prediction and the true value, in the units of "
            "the target (0 is perfect)."),
    _metric("pearson_r", "Pearson r", True,
            "The Pearson correlation between the predictions and the true values (no units): 1 when they rise together "
            "on a straight line, 0 when unrelated. It ignores an offset or a wrong scale of the predictions."),
])

#: A weighted variance below this share of Σw·(y − mean y)² is rounding, not spread: zero.
_RELATIVE_ZERO = 1e-12


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)


def regression_replicates(y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of :data:`REGRESSION_METRICS` for every row of ``weights`` (n_rows, n_windows):
    {metric: values (n_rows,)}, as the module text defines them (NaN where undefined).

    One product of the weights with eight columns per window (1, y, ŷ, y², ŷ², yŷ, (y − ŷ)²,
    |y − ŷ|), y and ŷ first centred on their plain means so that the weighted variances
    Σwy² − (Σwy)²/Σw lose no precision (the metrics do not change: R² and RMSE, MAE depend on
    y − ŷ, shifted alike; r on neither mean)."""
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {len(y)} values but y_pred {len(p)}.")
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if weights.shape[1] != len(y):
        raise ValueError(f"weights have {weights.shape[1]} columns but there are {len(y)} windows.")
    error = y - p
    shift = y.mean() if len(y) else 0.0
    yc, pc = y - shift, p - (p.mean() if len(p) else 0.0)
    columns = np.stack([np.ones_like(y), yc, pc, yc * yc, pc * pc, yc * pc, error * error, np.abs(error)], axis=1)
    s0, sy, sp, syy, spp, syp, sse, sae = (weights @ columns).T
    with np.errstate(divide="ignore", invalid="ignore"):
        var_y = np.maximum(syy - _ratio(sy * sy, s0), 0.0)  # Σw(y − ȳ)²
        var_p = np.maximum(spp - _ratio(sp * sp, s0), 0.0)
        cov = syp - _ratio(sy * sp, s0)
        var_y = np.where(var_y > _RELATIVE_ZERO * syy, var_y, 0.0)
        var_p = np.where(var_p > _RELATIVE_ZERO * spp, var_p, 0.0)
        return {
            "r2": np.where(s0 > 0, 1 - _ratio(sse, var_y), np.nan),
            "rmse": np.sqrt(_ratio(sse, s0)),
            "mae": _ratio(sae, s0),
            "pearson_r": np.clip(_ratio(cov, np.sqrt(var_y * var_p)), -1.0, 1.0),
        }


def regression_rows(y_true: np.ndarray, y_pred: np.ndarray, clusters: np.ndarray, n_boot: int = N_BOOT,
                    confidence: float = CONFIDENCE, rng: np.random.Generator | None = None,
                    ) -> list[tuple[str, str, float, float, float]]:
    """(metric, "", value, ci_low, ci_high) of every defined metric, in the order of
    :data:`REGRESSION_METRICS`: the BCa interval (:func:`~bmelearn.evaluation.bootstrap.replicate_interval`)
    from ``n_boot`` resamples of the ``clusters`` (a label per window: its trial within a subject,
    or its subject), all in one stratum, drawn from ``rng`` (None: a generator seeded 0). The rows
    of :func:`bmelearn.evaluation.evaluate.score_rows`, class "" (the metric is of the whole target)."""
    rng = np.random.default_rng(0) if rng is None else rng
    clusters = np.asarray(clusters)
    weights = replicate_weights(clusters, np.zeros(len(clusters), dtype=np.int64), n_boot, rng)
    return [
        (metric, "", float(values[0]), *replicate_interval(values, n_boot, confidence))
        for metric, values in regression_replicates(y_true, y_pred, weights).items()
        if np.isfinite(values[0])
    ]


#: The normal quantile of the 95 % limits of agreement (Bland & Altman, Lancet 1986).
LIMIT_Z = 1.96


def bland_altman(y_true: np.ndarray, y_pred: np.ndarray, clusters: np.ndarray | None = None,
                 confidence: float = CONFIDENCE) -> dict[str, float | int | str]:
    """Bland–Altman agreement of the predictions with the truth (Bland & Altman, Lancet 1(8476),
    1986; Stat. Methods Med. Res. 8(2), 1999), in the units of the target.

    The differences d = predicted − true, one per window; with ``clusters`` (a label per window:
    its trial or subject, whose windows are not independent) first averaged per cluster, so that
    there is one d per cluster. With n the number of d (windows, or clusters) and s their
    standard deviation (n − 1 in the denominator):

    - ``bias`` = mean d; ``sd`` = s;
    - ``lower``, ``upper``: the 95 % limits of agreement, bias ∓ 1.96 s;
    - ``bias_ci_low``/``bias_ci_high``: bias ± t·s/√n;
    - ``lower_ci_low``/``lower_ci_high`` and ``upper_ci_low``/``upper_ci_high``: each limit ±
      t·√(3s²/n), the approximate standard error of a limit of the 1986 paper;

    with t the two-sided ``confidence`` quantile of Student's t with n − 1 degrees of freedom.
    Also ``n`` and ``unit`` ("window" or "cluster"). NaN where undefined (s and the intervals
    for n < 2).

    The cluster variant is the simple one: it counts independent units (n clusters, not n
    windows), so its intervals are conservative, but its limits describe the agreement of a
    cluster's mean prediction, which are narrower than those of single windows when the windows
    of a cluster scatter. The method for repeated measurements of Bland & Altman (J. Biopharm.
    Stat. 17(4), 2007), which adds the within-cluster variance, is more exact for windows.
    """
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {len(y)} values but y_pred {len(p)}.")
    if not len(y):
        raise ValueError("no pairs of true and predicted values.")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(p))):
        raise ValueError("the true and predicted values must be finite numbers.")
    d = p - y
    unit = "window"
    if clusters is not None:
        clusters = np.asarray(clusters)
        if len(clusters) != len(d):
            raise ValueError(f"clusters has {len(clusters)} labels but there are {len(d)} windows.")
        _, cluster_of = np.unique(clusters.astype(str), return_inverse=True)
        d = np.bincount(cluster_of.ravel(), weights=d) / np.bincount(cluster_of.ravel())
        unit = "cluster"
    n = len(d)
    bias = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else np.nan
    t = float(stdtrit(n - 1, 1 - (1 - confidence) / 2)) if n > 1 else np.nan
    se_bias, se_limit = sd / np.sqrt(n), np.sqrt(3 * sd**2 / n)
    lower, upper = bias - LIMIT_Z * sd, bias + LIMIT_Z * sd
    return {
        "n": n, "unit": unit, "bias": bias, "sd": sd, "lower": lower, "upper": upper,
        "bias_ci_low": bias - t * se_bias, "bias_ci_high": bias + t * se_bias,
        "lower_ci_low": lower - t * se_limit, "lower_ci_high": lower + t * se_limit,
        "upper_ci_low": upper - t * se_limit, "upper_ci_high": upper + t * se_limit,
    }
