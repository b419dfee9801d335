"""Decision-level scoring for myoelectric control: what a prosthesis would actually do.

The window classifications of each trial, in time order, become decisions:

- **majority vote** over the last ``vote`` windows (the current one included; causal), which
  trades a short delay for fewer spurious switches;
- **rejection**: when the model's probability for its decision is below ``reject_below``, no
  decision is made (the device holds still), which is safer than a wrong movement.

Metrics (Scheme & Englehart, J. Rehabil. Res. Dev. 48(6), 2011; as in LibEMG):

- active error rate: of the decisions that would move the device (not rejected, not the
  ``rest`` class), the share that are wrong;
- instability: the share of consecutive decision pairs within a trial that differ;
- rejection rate: the share of windows without a decision (when rejection is asked for);
- decision accuracy: of the decisions made, the share that are right.

Each has an interval from resampling trials within each class, like every other metric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bmelearn.evaluation.bootstrap import replicate_interval, replicate_weights

CONTROL_METRICS = ("active_error", "instability", "rejection_rate", "decision_accuracy")
REJECTED = ""


def decisions(part: pd.DataFrame, classes: list[str], vote: int, reject_below: float | None) -> np.ndarray:
    """The decision at each window of ``part`` (the predictions of one model in window order,
    the windows of a trial consecutive): a class name, or REJECTED. Vote ties go to the class
    listed first."""
    index = {c: i for i, c in enumerate(classes)}
    predicted = part["predicted"].map(index).to_numpy()
    trial = part["trial"].to_numpy()
    n = len(part)
    position = np.arange(n)
    first = np.maximum.accumulate(np.where(np.r_[True, trial[1:] != trial[:-1]], position, 0))  # trial start
    counts = np.cumsum(np.eye(len(classes))[predicted], axis=0)
    oldest = np.maximum(position - vote + 1, first)
    counts = counts - np.where((oldest > 0)[:, None], counts[np.maximum(oldest - 1, 0)], 0.0)
    winner = counts.argmax(axis=1)
    out = np.asarray(classes, dtype=object)[winner]
    if reject_below is not None:
        probability = part[[f"p:{c}" for c in classes]].to_numpy(dtype=float)[position, winner]
        out[probability < reject_below] = REJECTED
    return out


def control_rows(part: pd.DataFrame, classes: list[str], vote: int, reject_below: float | None, rest: str | None,
                 n_boot: int, confidence: float, rng: np.random.Generator) -> list[tuple[str, float, float, float]]:
    """(metric, value, ci_low, ci_high) of the control metrics of one model on one subject."""
    part = part.sort_values("window", kind="stable")
    decided = decisions(part, classes, vote, reject_below)
    truth = part["true"].to_numpy()
    trial = part["trial"].to_numpy()
    made = decided != REJECTED
    moving = made & (decided != rest)
    previous = np.r_[False, trial[1:] == trial[:-1]]  # a window with an earlier one in its trial
    changed = previous & (decided != np.r_[None, decided[:-1]])
    weights = replicate_weights(trial, truth, n_boot, rng)

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        top, bottom = weights @ num.astype(float), weights @ den.astype(float)
        return np.divide(top, bottom, out=np.full(len(weights), np.nan), where=bottom > 0)

    values = {
        "active_error": ratio(moving & (decided != truth), moving),
        "instability": ratio(changed, previous),
        "decision_accuracy": ratio(made & (decided == truth), made),
    }
    if reject_below is not None:
        values["rejection_rate"] = ratio(~made, np.ones(len(part), dtype=bool))
    return [(metric, float(v[0]), *replicate_interval(v, n_boot, confidence)) for metric, v in values.items()
            if np.isfinite(v[0])]


def control_table(predictions: pd.DataFrame, classes: list[str], vote: int, reject_below: float | None,
                  rest: str | None, n_boot: int, confidence: float, seed: int = 0) -> pd.DataFrame:
    """Control metrics per pipeline, protocol and subject: pipeline, protocol, subject, metric,
    value, ci_low, ci_high."""
    rng = np.random.default_rng(seed)
    rows = []
    for (pipeline, protocol, subject), part in predictions.groupby(["pipeline", "protocol", "subject"], sort=False):
        for row in control_rows(part, classes, vote, reject_below, rest, n_boot, confidence, rng):
            rows.append((pipeline, protocol, subject, *row))
    return pd.DataFrame(rows, columns=["pipeline", "protocol", "subject", "metric", "value", "ci_low", "ci_high"])
