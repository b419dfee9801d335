"""Curves from the out-of-fold predictions: ROC, precision-recall and decision curves with
bootstrap bands (binary tasks), and calibration (reliability curve and expected calibration
error).

Bands resample subjects when there are several, else trials, like every other interval.
ROC curves are averaged vertically on a fixed false-positive-rate grid (Fawcett, Pattern
Recognit. Lett. 27, 2006); precision-recall curves on a fixed recall grid (precision
interpolated as the highest precision at that recall or above).

A decision curve (Vickers & Elkin, Med. Decis. Making 26(6), 2006) gives, at each threshold
probability p_t of the positive class above which one would act (treat, alarm), the net
benefit of acting on the model: TP/N - FP/N * p_t / (1 - p_t), true positives less false
positives weighted by the odds of the threshold; beside it, acting on every case ("treat
all": prevalence - (1 - prevalence) * p_t / (1 - p_t)) and on none (0). A model is worth using
at the thresholds where its curve lies above both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve, roc_curve

from bmelearn.evaluation.bootstrap import cluster_weights
from bmelearn.evaluation.metrics import calibration_bins, calibration_error

GRID = np.linspace(0, 1, 101)


def _units(part: pd.DataFrame) -> np.ndarray:
    """What the bootstrap resamples: subjects if there are several, else trials."""
    return part["subject"].to_numpy() if part["subject"].nunique() > 1 else part["trial"].to_numpy()


def _roc_pr(truth: np.ndarray, score: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    kept = weight > 0
    if len(np.unique(truth[kept])) < 2:
        return np.full(len(GRID), np.nan), np.full(len(GRID), np.nan)
    fpr, tpr, _ = roc_curve(truth[kept], score[kept], sample_weight=weight[kept])
    precision, recall, _ = precision_recall_curve(truth[kept], score[kept], sample_weight=weight[kept])
    envelope = np.maximum.accumulate(precision)  # recall decreases along the arrays
    return np.interp(GRID, fpr, tpr), np.interp(GRID, recall[::-1], envelope[::-1])


#: Threshold probabilities of the decision curves: 1 % to 99 %; the curve of acting on every case.
THRESHOLDS, TREAT_ALL = np.round(np.linspace(0.01, 0.99, 99), 2), "treat all"


def net_benefit(truth: np.ndarray, score: np.ndarray, weight: np.ndarray | None = None,
                thresholds: np.ndarray = THRESHOLDS) -> tuple[np.ndarray, np.ndarray]:
    """The net benefit of acting when ``score`` >= each threshold, and of acting on every case,
    for the cases ``truth`` (True: positive), each counted ``weight`` times (a bootstrap
    replicate; default once)."""
    weight = np.ones(len(truth)) if weight is None else weight
    order = np.argsort(-score, kind="stable")
    positive = np.cumsum(weight[order] * truth[order])
    negative = np.cumsum(weight[order] * ~truth[order])
    above = np.searchsorted(-score[order], -thresholds, side="right")  # cases with a score at the threshold or above
    total, odds = weight.sum(), thresholds / (1 - thresholds)
    tp, fp = (np.where(above > 0, c[np.maximum(above - 1, 0)], 0.0) for c in (positive, negative))
    prevalence = positive[-1] / total
    return tp / total - fp / total * odds, prevalence - (1 - prevalence) * odds


def roc_pr_bands(predictions: pd.DataFrame, positive: str, n_boot: int, confidence: float, seed: int = 0) -> pd.DataFrame:
    """Per pipeline × protocol with class probabilities: the ROC curve (x = false-positive rate,
    y = true-positive rate) and the PR curve (x = recall, y = precision) on GRID, and the
    decision curve (``net_benefit``: x = threshold probability on THRESHOLDS, y = net benefit;
    with the pipeline ``treat all`` per protocol), with ``confidence`` bands."""
    rng = np.random.default_rng(seed)
    tail = 100 * (1 - confidence) / 2
    rows, treated = [], set()
    column = f"p:{positive}"
    if column not in predictions.columns:
        return pd.DataFrame(columns=["pipeline", "protocol", "curve", "x", "y", "low", "high"])
    for (pipeline, protocol), part in predictions.dropna(subset=[column]).groupby(["pipeline", "protocol"], sort=False):
        truth, score = (part["true"] == positive).to_numpy(), part[column].to_numpy(dtype=float)
        weights = np.vstack([np.ones(len(part)), cluster_weights(_units(part), np.zeros(len(part)), n_boot, rng)])
        roc, pr = map(np.array, zip(*(_roc_pr(truth, score, w) for w in weights), strict=True))
        benefit, treat_all = map(np.array, zip(*(net_benefit(truth, score, w) for w in weights), strict=True))
        curves = [("roc", pipeline, GRID, roc), ("pr", pipeline, GRID, pr), ("net_benefit", pipeline, THRESHOLDS, benefit)]
        if protocol not in treated:  # the same test windows for every pipeline of a protocol
            treated.add(protocol)
            curves.append(("net_benefit", TREAT_ALL, THRESHOLDS, treat_all))
        for curve, who, x, values in curves:
            low, high = np.nanpercentile(values[1:], [tail, 100 - tail], axis=0)
            rows.append(pd.DataFrame({"pipeline": who, "protocol": protocol, "curve": curve, "x": x,
                                      "y": values[0], "low": low, "high": high}))
    return pd.concat(rows, ignore_index=True)


def calibration_line(probability: np.ndarray, outcome: np.ndarray) -> tuple[float, float]:
    """Calibration intercept (calibration-in-the-large: the logistic regression of the outcome
    on the predicted log-odds as a fixed offset; 0 is ideal, above 0 the model predicts too
    low) and slope (of the outcome on the log-odds; 1 is ideal, below 1 predictions too
    extreme) of probabilities of a binary outcome (Van Calster et al., BMC Med. 17, 2019).
    Probabilities of exactly 0 or 1 are taken as 1e-6 from them. NaN where undefined."""
    outcome = np.asarray(outcome, dtype=float)
    if len(np.unique(outcome)) < 2:
        return float("nan"), float("nan")
    log_odds = special.logit(np.clip(probability, 1e-6, 1 - 1e-6))
    intercept = 0.0
    for _ in range(50):  # Newton's method on the one parameter
        fitted = special.expit(intercept + log_odds)
        step = (outcome - fitted).sum() / max((fitted * (1 - fitted)).sum(), 1e-12)
        intercept += step
        if abs(step) < 1e-10:
            break
    slope = LogisticRegression(C=np.inf, max_iter=1000).fit(log_odds[:, None], outcome).coef_[0, 0]  # unpenalised
    return float(intercept), float(slope)


def calibration(predictions: pd.DataFrame, classes: list[str], positive: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reliability curve and expected calibration error, per pipeline × protocol with class
    probabilities (rows without them, of a pipeline that gives none, are left out).

    Binary tasks: the predicted probability of ``positive`` against the observed frequency of
    ``positive``. Otherwise top-label calibration: the probability of the predicted class
    against how often it is right (the ``ece`` metric of :mod:`bmelearn.evaluation.metrics`,
    here over all test windows together). Windows are put in the equal-width bins of
    :func:`~bmelearn.evaluation.metrics.calibration_bins`.
    Returns (curve: pipeline, protocol, predicted, observed, n; ece: pipeline, protocol, ece
    and, in a binary task, the :func:`calibration_line`'s intercept and slope).
    """
    columns = [f"p:{c}" for c in classes]
    curves, errors = [], []
    empty = (pd.DataFrame(columns=["pipeline", "protocol", "predicted", "observed", "n"]),
             pd.DataFrame(columns=["pipeline", "protocol", "ece"]))
    if not set(columns) <= set(predictions.columns):
        return empty
    for (pipeline, protocol), part in predictions.dropna(subset=columns).groupby(["pipeline", "protocol"], sort=False):
        if positive is not None:
            confidence = part[f"p:{positive}"].to_numpy(dtype=float)
            hit = (part["true"] == positive).to_numpy(dtype=float)
        else:
            position = {c: i for i, c in enumerate(classes)}
            chosen = part["predicted"].map(position).to_numpy(dtype=int)
            confidence = part[columns].to_numpy(dtype=float)[np.arange(len(part)), chosen]
            hit = (part["true"] == part["predicted"]).to_numpy(dtype=float)
        table = pd.DataFrame({"bin": calibration_bins(confidence), "predicted": confidence, "observed": hit}).groupby(
            "bin").agg(predicted=("predicted", "mean"), observed=("observed", "mean"), n=("observed", "size"))
        curves.append(table.reset_index(drop=True).assign(pipeline=pipeline, protocol=protocol))
        errors.append({"pipeline": pipeline, "protocol": protocol,
                       "ece": float(calibration_error(confidence, hit, np.ones(len(part)))[0]),
                       **(dict(zip(("intercept", "slope"), calibration_line(confidence, hit), strict=True))
                          if positive is not None else {})})
    if not curves:
        return empty
    curve = pd.concat(curves, ignore_index=True)[["pipeline", "protocol", "predicted", "observed", "n"]]
    return curve, pd.DataFrame(errors)
