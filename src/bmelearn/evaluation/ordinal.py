"""Scores of an ordinal target (a stage 0–4) from the predictions table, where how far a
prediction is off matters, not only whether it is right.

- ``quadratic_kappa``: Cohen's weighted κ (Psychol. Bull. 70(4), 1968) with the weights
  (i − j)² of the categories' positions on the scale (0 … K − 1), every category of the scale
  counted even when no window has it (scikit-learn's ``cohen_kappa_score(labels=scale,
  weights="quadratic")``): 1 is perfect agreement, 0 what chance gives; undefined (left out)
  when chance agreement is complete (every window true and predicted in one category).
- ``mean_absolute_error``: the mean |true − predicted| over the windows, in the scale's units:
  the categories' values when every one is a number (stages 0–4; a CDR of 0, 0.5, 1, 2, 3),
  else their positions (steps on the scale).

As the rest of the evaluation (:mod:`bmelearn.evaluation.evaluate`), each score is computed per
pipeline × protocol × subject from its test windows, with a BCa interval from resampling the
subject's trials within each true class (:func:`bmelearn.evaluation.bootstrap.replicate_weights`),
and averaged over subjects with the interval of that mean over resampled subjects
(:func:`bmelearn.evaluation.evaluate.mean_over_subjects`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bmelearn.evaluation.bootstrap import CONFIDENCE, N_BOOT, keyed_seed, replicate_interval, replicate_weights
from bmelearn.evaluation.evaluate import RESULT_COLUMNS, mean_over_subjects
from bmelearn.models.ordinal import category_key, ordinal_scale, scale_positions

QUADRATIC_KAPPA = "quadratic_kappa"
MEAN_ABSOLUTE_ERROR = "mean_absolute_error"
SUMMARY_KEYS = ["dataset", "pipeline", "protocol", "metric", "class"]


def scale_values(scale: Sequence) -> np.ndarray:
    """Where each category of ``scale`` lies, for distances: its value when every category is a
    number, else its position (0 … K − 1)."""
    keys = [category_key(c) for c in scale]
    return np.array(keys if all(isinstance(k, float) for k in keys) else range(len(scale)), dtype=np.float64)


def ordinal_replicates(counts: np.ndarray, values: np.ndarray) -> dict[str, np.ndarray]:
    """Quadratic-weighted κ and mean absolute error (see the module text) of every weighting of
    ``counts`` (R, K, K): the weighted number of windows per true (rows) and predicted category
    (columns), the categories in the order of the scale, ``values`` (K,) their values."""
    positions = np.arange(counts.shape[1], dtype=np.float64)
    squared = (positions[:, None] - positions[None, :]) ** 2
    distance = np.abs(values[:, None] - values[None, :])
    total = counts.sum(axis=(1, 2))
    expected = counts.sum(axis=2)[:, :, None] * counts.sum(axis=1)[:, None, :] / total[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):  # no windows, or complete chance agreement: NaN
        kappa = 1 - (squared * counts).sum(axis=(1, 2)) / (squared * expected).sum(axis=(1, 2))
        error = (distance * counts).sum(axis=(1, 2)) / total
    return {QUADRATIC_KAPPA: kappa, MEAN_ABSOLUTE_ERROR: error}


def ordinal_scores(predictions: pd.DataFrame, order: Sequence | None = None, n_boot: int = N_BOOT,
                   confidence: float = CONFIDENCE, seed: int = 0,
                   dataset: str = "dataset") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ordinal scores of a predictions table (columns pipeline, protocol, subject, trial,
    true, predicted; see :data:`bmelearn.evaluation.evaluate.PREDICTION_COLUMNS`), on the scale
    ``order`` (the categories from lowest to highest, matched to the labels as numbers or text,
    see :mod:`bmelearn.models.ordinal`; None: the labels when every one is a number, by value).

    Returns ``(per_subject, summary)``: ``per_subject`` rows as the results table's
    (:data:`~bmelearn.evaluation.evaluate.RESULT_COLUMNS`; class "", a defined value and its
    interval from ``n_boot`` resamples of the subject's trials, drawn from ``seed`` and the
    row's pipeline, protocol and subject), ready to append to it; ``summary`` their mean over
    subjects per dataset, pipeline, protocol and metric with its interval, as
    :func:`~bmelearn.evaluation.evaluate.mean_over_subjects` gives it.
    """
    labels = pd.concat([predictions["true"], predictions["predicted"]]).to_numpy()
    if order is None and not all(isinstance(category_key(label), float) for label in labels):
        raise ValueError("the labels are not all numbers: give the order of the categories, from lowest to highest.")
    scale = ordinal_scale(labels, order)
    values = scale_values(scale)
    n_categories = len(scale)
    cells = (scale_positions(predictions["true"], scale) * n_categories
             + scale_positions(predictions["predicted"], scale))
    table = predictions.assign(cell=cells, trial=predictions["trial"].astype(str))
    rows = []
    for (pipeline, protocol, subject), part in table.groupby(["pipeline", "protocol", "subject"], sort=False):
        trials, trial_of = np.unique(part["trial"].to_numpy(), return_inverse=True)
        trial_cells = np.zeros((len(trials), n_categories**2))
        np.add.at(trial_cells, (trial_of.ravel(), part["cell"].to_numpy()), 1.0)
        trial_class = part.groupby("trial")["true"].first().loc[trials].astype(str).to_numpy()
        rng = np.random.default_rng(keyed_seed(seed, (pipeline, protocol, subject)))
        weights = replicate_weights(trials, trial_class, n_boot, rng)  # a row per weighting, a column per trial
        counts = (weights @ trial_cells).reshape(-1, n_categories, n_categories)
        for metric, replicates in ordinal_replicates(counts, values).items():
            if np.isfinite(replicates[0]):
                rows.append((dataset, pipeline, protocol, subject, metric, "", float(replicates[0]),
                             *replicate_interval(replicates, n_boot, confidence)))
    per_subject = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    return per_subject, mean_over_subjects(per_subject, SUMMARY_KEYS, n_boot, confidence, seed)
