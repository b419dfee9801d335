"""Does pipeline A really beat pipeline B? Paired statistics over subjects, from the results table.

The unit is the subject, never the window: windows of one subject are not independent, and
the question is whether the difference holds from one person to the next. Where results are
pooled over subjects (one row per patient, ``subject_kfold``), :func:`per_subject_scores`
gives each subject's score from the predictions (for a one-window subject, 1 if right, else
0; the Wilcoxon test on those is then McNemar's question).

- Pairwise: the paired difference A − B over subjects; an exact permutation test of its mean
  (all 2^n sign flips) below 20 subjects, else the Wilcoxon signed-rank test (both
  two-sided; SciPy); effect size Cohen's d_z = mean(d)/sd(d); p-values Holm-corrected over
  all pairs (Holm, Scand. J. Stat. 6, 1979).
- Ranking: the mean rank of each pipeline over subjects (1 = best), the Friedman test, and
  the Nemenyi critical difference CD = q_α·sqrt(k(k + 1)/(6n)) (Demšar, JMLR 7, 2006): two
  pipelines whose mean ranks differ by less than CD are not told apart.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from bmelearn.evaluation.regression import REGRESSION_METRICS, regression_replicates

EXACT_BELOW = 20  # subjects: exact permutation test below, Wilcoxon signed-rank from there
COMPARISON_COLUMNS = ["protocol", "metric", "pipeline_a", "pipeline_b", "n_subjects", "mean_a", "mean_b",
                      "difference", "d_z", "test", "p_value", "p_holm", "min_p"]


def per_subject_scores(predictions: pd.DataFrame, protocols: list[str], metric: str) -> pd.DataFrame:
    """Results-shaped rows of each subject's share of correctly classified windows, under the
    name ``metric``, for the given (pooled) protocols; balanced over the subject's classes when
    ``metric`` is balanced_accuracy; a regression metric (r2, ...) computed on the subject's windows."""
    keys = ["protocol", "pipeline", "subject"]
    if metric in REGRESSION_METRICS:
        rows = [(*key, regression_replicates(d["true"].to_numpy(float), d["predicted"].to_numpy(float),
                                             np.ones((1, len(d))))[metric][0])
                for key, d in predictions[predictions["protocol"].isin(protocols)].groupby(keys, sort=False)]
        return pd.DataFrame(rows, columns=[*keys, "value"]).astype({"value": float}).assign(metric=metric, **{"class": ""})
    part = predictions[predictions["protocol"].isin(protocols)].assign(
        correct=lambda d: (d["true"] == d["predicted"]).astype(float))
    if metric == "balanced_accuracy":
        scores = part.groupby([*keys, "true"], sort=False)["correct"].mean().groupby(level=keys, sort=False).mean()
    else:
        scores = part.groupby(keys, sort=False)["correct"].mean()
    return scores.rename("value").reset_index().assign(metric=metric, **{"class": ""})


def subject_table(results: pd.DataFrame, protocol: str, metric: str) -> pd.DataFrame:
    """Subjects (rows) × pipelines (columns) of an overall metric (rows of one subject, if a
    table has several, averaged); subjects missing any pipeline are dropped (the tests are paired)."""
    part = results[(results["protocol"] == protocol) & (results["metric"] == metric) & (results["class"] == "")]
    table = part.groupby(["subject", "pipeline"], sort=False)["value"].mean().unstack("pipeline")
    return table[list(pd.unique(part["pipeline"]))].dropna()


def paired_test(differences: np.ndarray) -> tuple[str, float, float]:
    """(test name, two-sided p-value, smallest p-value the test can give with this many subjects)."""
    n = len(differences)
    if n < 2 or np.allclose(differences, 0):
        return "none", 1.0, 1.0
    if n < EXACT_BELOW:
        result = stats.permutation_test(
            (differences,), np.mean, permutation_type="samples", n_resamples=np.inf, alternative="two-sided"
        )
        return "exact permutation", float(result.pvalue), 2.0 / 2**n
    return "wilcoxon signed-rank", float(stats.wilcoxon(differences).pvalue), 0.0


def paired_difference(a: pd.Series, b: pd.Series) -> list:
    """Subjects' values of A and of B (aligned): n_subjects, mean_a, mean_b, the mean difference
    A − B, Cohen's d_z (NaN without spread), the test, its p-value and the smallest p it can give."""
    d = (a - b).to_numpy()
    sd = d.std(ddof=1) if len(d) > 1 else 0.0
    test, p, min_p = paired_test(d)
    return [len(d), a.mean(), b.mean(), d.mean(), d.mean() / sd if sd > 0 else np.nan, test, p, min_p]


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control)."""
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p)
    adjusted = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    out = np.empty_like(p)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def compare_pipelines(results: pd.DataFrame, metric: str = "balanced_accuracy") -> pd.DataFrame:
    """Every pair of pipelines under every protocol (see the module text); Holm over the pairs of a protocol."""
    rows = []
    for protocol in pd.unique(results["protocol"]):
        table = subject_table(results, protocol, metric)
        if len(table) < 2:  # results pooled over subjects, or one subject: nothing to pair
            continue
        pairs = []
        for a, b in itertools.combinations(table.columns, 2):
            *numbers, min_p = paired_difference(table[a], table[b])
            pairs.append([protocol, metric, a, b, *numbers, np.nan, min_p])
        if pairs:
            adjusted = holm(np.array([row[10] for row in pairs]))
            for row, p_holm in zip(pairs, adjusted, strict=True):
                row[11] = p_holm
            rows.extend(pairs)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def rank_pipelines(results: pd.DataFrame, metric: str = "balanced_accuracy", alpha: float = 0.05) -> pd.DataFrame:
    """Per protocol: each pipeline's mean rank over subjects (1 = best: highest ``metric``, lowest
    for an error such as rmse), the Friedman p-value
    (three pipelines or more), the Nemenyi critical difference, and the pipelines not told
    apart from the best one (mean rank within CD of it)."""
    rows = []
    for protocol in pd.unique(results["protocol"]):
        table = subject_table(results, protocol, metric)
        n, k = table.shape
        if k < 2 or n < 2:
            continue
        lower_is_better = metric in REGRESSION_METRICS and not REGRESSION_METRICS[metric].metadata["higher_is_better"]
        ranks = table.rank(axis=1, ascending=lower_is_better).mean().sort_values()
        friedman = float(stats.friedmanchisquare(*table.to_numpy().T).pvalue) if k >= 3 else np.nan
        q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
        cd = float(q * np.sqrt(k * (k + 1) / (6 * n)))
        best = ranks.iloc[0]
        for pipeline, rank in ranks.items():
            rows.append({"protocol": protocol, "metric": metric, "pipeline": pipeline, "mean_rank": float(rank),
                         "n_subjects": n, "friedman_p": friedman, "critical_difference": cd,
                         "tied_with_best": bool(rank - best < cd)})
    return pd.DataFrame(rows)


def paired_against(results: pd.DataFrame, metric: str, by: list[str], variant: list[str],
                   baseline: tuple) -> pd.DataFrame:
    """Each variant of a curve against its ``baseline`` variant, paired over subjects: within each
    group of ``by`` (e.g. protocol, pipeline, shift), every value of the ``variant`` columns (e.g.
    method, repetitions) but the baseline's is compared with the baseline's rows of that group.
    Columns: ``by``, ``variant``, metric, n_subjects, mean, baseline (its mean over the same
    subjects), difference, d_z, test, p_value, p_holm (Holm over the variants of a group), min_p."""
    part = results[(results["metric"] == metric) & (results["class"] == "")]
    columns = [*by, *variant, "metric", "n_subjects", "mean", "baseline", "difference", "d_z", "test", "p_value",
               "p_holm", "min_p"]
    out = []
    for group, block in part.groupby(by, sort=False):
        table = block.pivot_table(index="subject", columns=variant, values="value")
        if len(variant) == 1:
            table.columns = [(c,) for c in table.columns]
        if tuple(baseline) not in table.columns:
            continue
        rows = []
        for key in table.columns:
            if key == tuple(baseline):
                continue
            pair = table[[key, tuple(baseline)]].dropna()
            *numbers, min_p = paired_difference(pair.iloc[:, 0], pair.iloc[:, 1])
            rows.append([*group, *key, metric, *numbers, np.nan, min_p])
        if rows:
            for row, adjusted in zip(rows, holm(np.array([r[-3] for r in rows])), strict=True):
                row[-2] = adjusted
            out.extend(rows)
    return pd.DataFrame(out, columns=columns)
