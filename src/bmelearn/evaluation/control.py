"""Decision-level scoring for myoelectric control: what a prosthesis would actually do.

The window classifications of each trial, in time order, become decisions:

- **majority vote** over the last ``vote`` windows (the current one included; causal), which
  trades a short delay for fewer spurious switches;
- **rejection**: when the model's probability for its decision is below ``reject_below``, no
  decision is made (the device holds still), which is safer than a wrong movement;
- **debounce**: the output changes only once a new decision (a class, or no decision) has
  held for ``debounce`` consecutive windows; until then the previous output stands (at a
  trial's start: no decision). One window more of delay per window of debounce, and no
  flicker.

Metrics (Scheme & Englehart, J. Rehabil. Res. Dev. 48(6), 2011; as in LibEMG):

- active error rate: of the decisions that would move the device (not rejected, not the
  ``rest`` class), the share that are wrong;
- instability: the share of consecutive decision pairs within a trial that differ;
- rejection rate: the share of windows without a decision (when rejection or debounce is asked for);
- decision accuracy: of the decisions made, the share that are right.

Each has an interval from resampling trials within each class, like every other metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bmelearn.evaluation.bootstrap import keyed_seed, replicate_interval, replicate_weights

CONTROL_METRICS = ("active_error", "instability", "rejection_rate", "decision_accuracy")
REJECTED = ""


@dataclass(frozen=True)
class Decisions:
    """How window classes become decisions (see the module text): a majority ``vote`` over this
    many windows, no decision below ``reject_below`` probability, a change of output only after
    ``debounce`` windows; ``rest`` is the class that does not move the device."""

    vote: int = 1
    reject_below: float | None = None
    rest: str | None = None
    debounce: int = 1


def _starts(trial: np.ndarray) -> np.ndarray:
    """Whether each window is the first of its trial (the windows of a trial consecutive)."""
    return np.r_[True, trial[1:] != trial[:-1]] if len(trial) else np.zeros(0, dtype=bool)


def decisions(part: pd.DataFrame, classes: list[str], rule: Decisions) -> np.ndarray:
    """The decision at each window of ``part`` (the predictions of one model in window order,
    the windows of a trial consecutive): a class name, or REJECTED. Vote ties go to the class
    listed first."""
    index = {c: i for i, c in enumerate(classes)}
    predicted = part["predicted"].map(index).to_numpy()
    trial = part["trial"].to_numpy()
    n = len(part)
    position = np.arange(n)
    starts = _starts(trial)
    first = np.maximum.accumulate(np.where(starts, position, 0))  # trial start
    counts = np.cumsum(np.eye(len(classes))[predicted], axis=0)
    oldest = np.maximum(position - rule.vote + 1, first)
    counts = counts - np.where((oldest > 0)[:, None], counts[np.maximum(oldest - 1, 0)], 0.0)
    winner = counts.argmax(axis=1)
    out = np.asarray(classes, dtype=object)[winner]
    if rule.reject_below is not None:
        probability = part[[f"p:{c}" for c in classes]].to_numpy(dtype=float)[position, winner]
        out[probability < rule.reject_below] = REJECTED
    return debounced(out, starts, rule.debounce) if rule.debounce > 1 else out


def debounced(raw: np.ndarray, starts: np.ndarray, windows: int, before: str = REJECTED) -> np.ndarray:
    """``raw`` decisions held until a new one has lasted ``windows`` consecutive windows (within
    a trial; ``starts`` marks each trial's first window); before that, a trial's output is
    REJECTED (the first trial's: ``before``)."""
    position = np.arange(len(raw))
    run_start = np.maximum.accumulate(np.where(starts | np.r_[True, raw[1:] != raw[:-1]], position, 0))
    held = pd.Series(np.where(position - run_start >= windows - 1, raw, None), dtype=object)
    trial = np.cumsum(starts)
    out = held.groupby(trial).ffill().to_numpy(copy=True)
    missing = pd.isna(out)
    out[missing] = np.where(trial[missing] == 1, before, REJECTED)
    return out


def control_rows(part: pd.DataFrame, classes: list[str], rule: Decisions, n_boot: int, confidence: float,
                 rng: np.random.Generator) -> list[tuple[str, float, float, float]]:
    """(metric, value, ci_low, ci_high) of the control metrics of one model on one subject."""
    part = part.sort_values("window", kind="stable")
    decided = decisions(part, classes, rule)
    rest = rule.rest
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
    if rule.reject_below is not None or rule.debounce > 1:
        values["rejection_rate"] = ratio(~made, np.ones(len(part), dtype=bool))
    return [(metric, float(v[0]), *replicate_interval(v, n_boot, confidence)) for metric, v in values.items()
            if np.isfinite(v[0])]


def control_table(predictions: pd.DataFrame, classes: list[str], rule: Decisions, n_boot: int, confidence: float,
                  seed: int = 0) -> pd.DataFrame:
    """Control metrics per pipeline, protocol and subject: pipeline, protocol, subject, metric,
    value, ci_low, ci_high; each subject's resamples seeded by ``seed`` and the row's key."""
    rows = []
    for (pipeline, protocol, subject), part in predictions.groupby(["pipeline", "protocol", "subject"], sort=False):
        rng = np.random.default_rng(keyed_seed(seed, (str(pipeline), str(protocol), str(subject))))
        for row in control_rows(part, classes, rule, n_boot, confidence, rng):
            rows.append((pipeline, protocol, subject, *row))
    return pd.DataFrame(rows, columns=["pipeline", "protocol", "subject", "metric", "value", "ci_low", "ci_high"])
