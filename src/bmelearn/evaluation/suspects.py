"""Suspect labels: trials whose out-of-fold class probabilities contradict the label they were given.

The rule is that of confident learning (Northcutt, Jiang & Chuang 2021, "Confident learning:
estimating uncertainty in dataset labels", J Artif Intell Res 70:1373-1411), written here anew
(cleanlab, its authors' library, is AGPL-3.0). Out of fold, a model never saw the trial it
scores, so a probability that contradicts the trial's label is evidence against the label:

1. each trial's probabilities are the mean over its test windows (one pipeline, one protocol);
2. the threshold of class *j* is the mean probability of *j* over the trials given *j* (the
   class's mean self-confidence, the paper's *t_j*): how sure the model usually is of that class;
3. the confident joint counts each trial under its given label (row) and the most probable of
   the classes whose probability reaches their own threshold (column); trials reaching none
   are not counted;
4. a trial is suspect when the probability of its given label is below that label's threshold
   and another class reaches its own: it lies off the joint's diagonal, in the column of the
   suggested class. Suspects are ranked by self-confidence, lowest first (ties: the suggested
   class's probability, highest first).

The estimated share of wrong labels among the trials given a class is the off-diagonal part of
its row of the confident joint (the paper calibrates the rows to the class counts, which leaves
these shares unchanged): an estimate of P(true class ≠ *i* | given *i*).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The columns of the suspects table (:data:`bmelearn.runs.folder.SUSPECTS`): ``rank`` (1 the
#: most suspect), the trial, its subject, its given ``label``, the ``suggested`` class, their mean
#: probabilities over the trial's ``n_windows`` test windows, the ``n_trials`` checked in all, and
#: the ``pipeline`` and ``protocol`` whose out-of-fold predictions were used.
COLUMNS = ["rank", "trial", "subject", "label", "suggested", "p_label", "p_suggested", "n_windows", "n_trials",
           "pipeline", "protocol"]
#: The columns of :attr:`Suspects.shares`: per given class, its trials, those the confident joint
#: counts, those it places under another class, and the estimated share of wrong labels.
SHARE_COLUMNS = ["class", "n_trials", "n_counted", "n_other", "share"]


def probability_columns(classes: Sequence[str]) -> list[str]:
    """The ``p:<class>`` columns of the predictions table, in class order."""
    return [f"p:{c}" for c in classes]


def choose_evaluation(predictions: pd.DataFrame, classes: Sequence[str]) -> tuple[str, str] | None:
    """The (pipeline, protocol) whose windows with class probabilities cover the most trials (a
    trial is a subject's ``trial``), the first in the table's order among equals; None when no
    window has probabilities. Protocols that test every trial once beat those that test a part."""
    columns = probability_columns(classes)
    if not set(columns) <= set(predictions.columns):
        return None
    scored = predictions.loc[predictions[columns].notna().all(axis=1), ["pipeline", "protocol", "subject", "trial"]]
    if scored.empty:
        return None
    covered = scored.drop_duplicates().groupby(["pipeline", "protocol"], sort=False).size()
    pipeline, protocol = covered.idxmax()
    return str(pipeline), str(protocol)


def trial_probabilities(predictions: pd.DataFrame, classes: Sequence[str], pipeline: str, protocol: str) -> pd.DataFrame:
    """One row per trial of ``pipeline`` under ``protocol`` (subject, trial, given label ``true``):
    the mean ``p:<class>`` over its windows that have probabilities, and ``n_windows``."""
    columns = probability_columns(classes)
    mine = predictions[(predictions["pipeline"] == pipeline) & (predictions["protocol"] == protocol)].dropna(subset=columns)
    grouped = mine.groupby(["subject", "trial", "true"], sort=False)
    return grouped[columns].mean().assign(n_windows=grouped.size()).reset_index()


def class_thresholds(probabilities: np.ndarray, given: np.ndarray, n_classes: int) -> np.ndarray:
    """Per class *j*: the mean of ``probabilities[:, j]`` over the rows ``given`` *j* (class
    indices), NaN for a class no row is given (Northcutt et al. 2021, eq. 2)."""
    members = given[:, None] == np.arange(n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (probabilities * members).sum(axis=0) / members.sum(axis=0)


@dataclass
class Suspects:
    """Confident learning on one pipeline's out-of-fold predictions under one protocol: the
    per-class ``thresholds``, the confident ``joint`` (trial counts, given class × class reached)
    and the ranked ``table`` of suspect trials (:data:`COLUMNS`)."""

    pipeline: str
    protocol: str
    thresholds: pd.Series
    joint: pd.DataFrame
    n_given: pd.Series
    table: pd.DataFrame

    @property
    def shares(self) -> pd.DataFrame:
        """Per given class (:data:`SHARE_COLUMNS`): the estimated share of its trials whose label
        is wrong, the off-diagonal part of its row of the confident joint (NaN when no trial of
        the class reaches a threshold)."""
        counted = self.joint.sum(axis=1)
        other = counted - np.diag(self.joint.to_numpy())
        with np.errstate(invalid="ignore", divide="ignore"):
            share = other / counted
        return pd.DataFrame({"class": self.joint.index, "n_trials": self.n_given.to_numpy(), "n_counted": counted.to_numpy(),
                             "n_other": other.to_numpy(), "share": share.to_numpy(dtype=float)})


def find_suspects(predictions: pd.DataFrame, classes: Sequence[str], pipeline: str | None = None,
                  protocol: str | None = None) -> Suspects | None:
    """Confident learning (see the module) on the out-of-fold ``predictions`` (the table of
    :func:`bmelearn.evaluation.evaluate.evaluate`) of ``pipeline`` under ``protocol``; either left
    out is chosen by :func:`choose_evaluation` among the pairs that match the other. None when
    they have no class probabilities."""
    classes = [str(c) for c in classes]
    candidates = predictions
    if pipeline is not None:
        candidates = candidates[candidates["pipeline"] == pipeline]
    if protocol is not None:
        candidates = candidates[candidates["protocol"] == protocol]
    chosen = choose_evaluation(candidates, classes)
    if chosen is None:
        return None
    pipeline, protocol = chosen
    trials = trial_probabilities(candidates, classes, pipeline, protocol)
    probabilities = trials[probability_columns(classes)].to_numpy(dtype=float)
    given = pd.Categorical(trials["true"].astype(str), categories=classes).codes.astype(int)
    known = given >= 0  # a label outside the classes cannot be checked
    probabilities, given, trials = probabilities[known], given[known], trials[known]
    n, k = probabilities.shape
    thresholds = class_thresholds(probabilities, given, k)

    reached = probabilities >= thresholds  # a NaN threshold is never reached
    counted = reached.any(axis=1)
    column = np.where(reached, probabilities, -np.inf).argmax(axis=1)
    joint = np.bincount(given[counted] * k + column[counted], minlength=k * k).reshape(k, k)

    p_label = probabilities[np.arange(n), given]
    suspect = counted & (column != given) & (p_label < thresholds[given])
    p_suggested = probabilities[np.arange(n), column]
    order = np.flatnonzero(suspect)[np.lexsort((-p_suggested[suspect], p_label[suspect]))]
    table = pd.DataFrame({
        "rank": np.arange(1, len(order) + 1), "trial": trials["trial"].to_numpy()[order],
        "subject": trials["subject"].to_numpy()[order], "label": np.asarray(classes)[given[order]],
        "suggested": np.asarray(classes)[column[order]], "p_label": p_label[order], "p_suggested": p_suggested[order],
        "n_windows": trials["n_windows"].to_numpy()[order], "n_trials": n, "pipeline": pipeline, "protocol": protocol,
    }, columns=COLUMNS)
    return Suspects(pipeline, protocol, pd.Series(thresholds, index=classes, name="threshold"),
                    pd.DataFrame(joint, index=pd.Index(classes, name="given"), columns=pd.Index(classes, name="reached")),
                    pd.Series(np.bincount(given, minlength=k), index=classes, name="n_trials"), table)


def suspect_labels(predictions: pd.DataFrame, classes: Sequence[str], pipeline: str | None = None,
                   protocol: str | None = None) -> pd.DataFrame:
    """The suspect trials of :func:`find_suspects`, most suspect first (:data:`COLUMNS`); an
    empty table when the predictions have no class probabilities."""
    found = find_suspects(predictions, classes, pipeline, protocol)
    return pd.DataFrame(columns=COLUMNS) if found is None else found.table
