"""What a run's curves look like over subjects, ready to be drawn: the mean over subjects of
every point of the robustness, learning and transfer curves with its bootstrap interval
(:func:`~bmelearn.evaluation.evaluate.mean_over_subjects`), and for binary tasks the ROC and
precision-recall curves with their bands and the reliability curve with the expected
calibration error (:mod:`bmelearn.evaluation.curves`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bmelearn.evaluation.curves import calibration, roc_pr_bands
from bmelearn.evaluation.evaluate import mean_over_subjects

#: The points of each curve (its columns besides protocol, pipeline, metric and class).
ROBUSTNESS_POINTS = ("perturbation", "level")
LEARNING_POINTS = ("repetitions",)
TRANSFER_POINTS = ("training", "repetitions")


def curve_summary(table: pd.DataFrame | None, points: Sequence[str], n_boot: int, confidence: float,
                  seed: int) -> pd.DataFrame | None:
    """Per protocol, pipeline, point, metric and class of a curve ``table`` (rows of the results
    table with the ``points`` columns): n_subjects, mean, ci_low, ci_high, min, max, std over its
    subjects; None when there is no curve."""
    if table is None or table.empty:
        return None
    return mean_over_subjects(table, ["protocol", "pipeline", *points, "metric", "class"], n_boot, confidence, seed)


def binary_curves(predictions: pd.DataFrame, classes: list[str], positive: str, n_boot: int, confidence: float,
                  seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ROC and PR curves of ``positive`` with their ``confidence`` bands (pipeline, protocol,
    curve, x, y, low, high; :func:`~bmelearn.evaluation.curves.roc_pr_bands`) and the
    reliability curve (pipeline, protocol, predicted, observed, n, and the pipeline's expected
    calibration error ece on each of its rows; :func:`~bmelearn.evaluation.curves.calibration`)."""
    reliability, errors = calibration(predictions, classes, positive)
    return (roc_pr_bands(predictions, positive, n_boot, confidence, seed),
            reliability.merge(errors, on=["pipeline", "protocol"], how="left"))
