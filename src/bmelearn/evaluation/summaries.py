"""What a run's curves look like over subjects, ready to be drawn: the mean over subjects of
every point of the robustness, learning, transfer and adaptation curves with its bootstrap interval
(:func:`~bmelearn.evaluation.evaluate.mean_over_subjects`), and the reliability curves with the
expected calibration error (:mod:`bmelearn.evaluation.curves`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bmelearn.evaluation.curves import calibration
from bmelearn.evaluation.evaluate import mean_over_subjects

#: The points of each curve (its columns besides protocol, pipeline, metric and class).
ROBUSTNESS_POINTS = ("perturbation", "level")
LEARNING_POINTS = ("repetitions",)
TRANSFER_POINTS = ("training", "repetitions")
ADAPTATION_POINTS = ("shift", "method", "repetitions")


def curve_summary(table: pd.DataFrame | None, points: Sequence[str], n_boot: int, confidence: float,
                  seed: int) -> pd.DataFrame | None:
    """Per protocol, pipeline, point, metric and class of a curve ``table`` (rows of the results
    table with the ``points`` columns): n_subjects, mean, ci_low, ci_high, min, max, std over its
    subjects; None when there is no curve."""
    if table is None or table.empty:
        return None
    return mean_over_subjects(table, ["protocol", "pipeline", *points, "metric", "class"], n_boot, confidence, seed)


def reliability_curves(predictions: pd.DataFrame, classes: list[str], positive: str | None) -> pd.DataFrame | None:
    """The reliability curve of every pipeline with class probabilities, per protocol: pipeline,
    protocol, predicted, observed, n, and its expected calibration error ece on each of its rows
    (all test windows together; of ``positive`` in a binary task, else of the predicted class;
    :func:`~bmelearn.evaluation.curves.calibration`); None when no pipeline gives probabilities."""
    reliability, errors = calibration(predictions, classes, positive)
    if reliability.empty:
        return None
    return reliability.merge(errors, on=["pipeline", "protocol"], how="left")
