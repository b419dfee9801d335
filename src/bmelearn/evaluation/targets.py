"""Several raters' labels in a run: the target each trial is learnt from, and the models
scored against every rater.

A run with ``labels:`` (:class:`Targets`) replaces each trial's label by the target chosen
from its ratings (:func:`bmelearn.evaluation.raters.consensus`): one rater's, the majority,
the Dawid–Skene latent truth, or **soft labels**. Soft labels are learnt through duplicated
rows: each training window appears once per rater, with that rater's label
(:func:`expand_votes`). For any classifier this minimises the expected loss under the share of
raters per class, and for a network trained with cross-entropy it is the soft cross-entropy
(the sum over the copies is n_raters × −Σ_c share_c log q_c; a trial rated by more raters
weighs more, when not every rater rated every trial). The copies are
made inside each fit (the evaluation's, the learning curve's and the final model's), from the
training windows only, so nothing crosses a fold; they are adjacent, so contiguous inner
splits (forward feature selection) keep a window's copies together. A network's
early-stopping split, taken per class, can hold one copy of a window while another is trained
on: it only decides when training stops. (The transfer curve fine-tunes on the majority.)

After the evaluation, each pipeline's out-of-fold predictions are scored against every
reference (:func:`rater_scores`: each rater, the consensus, the soft labels and, when they
differ from the target, the dataset's own labels, which the simulated raters were drawn from)
and the models are compared with the raters as one more rater (:func:`model_agreement`): is the
model's agreement with each rater within the raters' agreement with each other?
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bmelearn.errors import DataError
from bmelearn.evaluation.bootstrap import replicate_interval, replicate_weights
from bmelearn.evaluation.raters import agreement, consensus

#: Reference names of :func:`rater_scores` besides the raters' own names.
CONSENSUS, SOFT, RECORDED = "consensus", "soft labels", "dataset labels"
#: Probabilities are clipped here before a logarithm (cross-entropy of a confident mistake).
_EPSILON = 1e-15


@dataclass(frozen=True)
class Targets:
    """What a run learns from several raters. ``ratings``: the table of
    :func:`~bmelearn.evaluation.raters.read_ratings` (items named by ``by``, ``trial`` or
    ``subject``); ``how``: the target rule; ``order``: the categories; ``level``: of measurement,
    for agreement; ``trials``: one row per trial id (str) with the item it belongs to, its
    ``label`` (the target), its ``recorded`` label (the dataset's own) and its ``votes``
    (raters per category, a column ``votes:<category>`` each); ``simulated``: the accuracies of
    simulated raters (None for real ones)."""

    ratings: pd.DataFrame
    by: str
    how: str
    order: list[str]
    level: str
    trials: pd.DataFrame
    simulated: tuple[float, ...] | None = None

    @classmethod
    def build(cls, ratings: pd.DataFrame, by: str, trials: pd.DataFrame, how: str, order: list[str], level: str,
              simulated: tuple[float, ...] | None = None) -> Targets:
        """The targets of ``trials`` (columns ``trial``, ``subject``, ``label``: the recorded one)
        from ``ratings`` by the rule ``how``; trials whose item has no rating get no target
        (left out of :attr:`trials`). A DataError when no trial has one."""
        trials = trials.astype({"trial": str, "subject": str})
        item = trials["trial" if by == "trial" else "subject"]
        chosen = consensus(ratings, how, order)
        votes = pd.crosstab(ratings["item"], ratings["label"]).reindex(columns=order, fill_value=0)
        rated = item.isin(chosen.index)
        if not rated.any():
            example = ratings["item"].iloc[0]
            raise DataError(f"labels.file: none of the rated {by}s is one of the data's (the file names {example!r}; the "
                            f"data's {by}s look like {item.iloc[0]!r}); correct the {by} column.")
        kept = trials[rated.to_numpy()]
        items = item[rated].to_numpy()
        table = pd.DataFrame({"item": items, "subject": kept["subject"].to_numpy(),
                              "label": chosen.loc[items, "label"].to_numpy() if how != "soft"
                              else consensus(ratings, "majority", order).loc[items, "label"].to_numpy(),
                              "recorded": kept["label"].astype(str).to_numpy()},
                             index=pd.Index(kept["trial"].to_numpy(), name="trial"))
        table[[f"votes:{c}" for c in order]] = votes.loc[items].to_numpy()
        return cls(ratings, by, how, order, level, table, simulated)

    @property
    def excluded(self) -> int:
        """How many rated items are not in the data."""
        return int((~self.ratings["item"].drop_duplicates().isin(self.trials["item"])).sum())

    def votes(self, trials: np.ndarray) -> np.ndarray | None:
        """Raters per category (windows × categories) of windows from ``trials`` (their trial
        ids), for soft labels; None for the other targets."""
        if self.how != "soft":
            return None
        return self.trials.loc[np.asarray(trials).astype(str), [f"votes:{c}" for c in self.order]].to_numpy()


def expand_votes(rows: np.ndarray, votes: np.ndarray, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The training rows of soft labels: each of ``rows`` (window indices) repeated once per
    rater, with that rater's class, copies adjacent and in the order of ``rows``; returns the
    window index and the class of each copy. ``votes``: raters per class of every window."""
    counts = np.asarray(votes)[rows].astype(np.int64)
    window, category = np.nonzero(counts)
    repeats = counts[window, category]
    return np.repeat(np.asarray(rows)[window], repeats), np.asarray(classes, dtype=object)[np.repeat(category, repeats)]


def _item_labels(predictions: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    """Each test item's label by the model: its windows' most frequent prediction (ties: the
    category listed first), per pipeline and protocol; columns pipeline, protocol, item, label."""
    item = targets.trials["item"].reindex(predictions["trial"].astype(str)).to_numpy()
    counts = (predictions.assign(item=item).groupby(["pipeline", "protocol", "item", "predicted"], sort=False)
              .size().unstack("predicted", fill_value=0).reindex(columns=targets.order, fill_value=0))
    winner = np.asarray(targets.order, dtype=object)[counts.to_numpy().argmax(axis=1)]
    return counts.index.to_frame(index=False).assign(label=winner)


def model_agreement(predictions: pd.DataFrame, targets: Targets, n_boot: int, confidence: float,
                    seed: int) -> pd.DataFrame:
    """The raters' agreement with each other (protocol and pipeline empty), and each pipeline's
    with each rater under each protocol, the pipeline rating each item by its windows' most
    frequent prediction: the columns of :func:`~bmelearn.evaluation.raters.agreement` with
    ``protocol`` and ``pipeline`` first; for the models, only the pairs of a model and a rater.
    The intervals resample subjects with the same seed, so the rows compare."""
    ratings = targets.ratings
    among = agreement(ratings, targets.level, targets.order, n_boot, confidence, seed).assign(protocol="", pipeline="")
    parts = [among]
    subject = ratings.drop_duplicates("item").set_index("item")["subject"]
    for (pipeline, protocol), said in _item_labels(predictions, targets).groupby(["pipeline", "protocol"], sort=False):
        model = f"model: {pipeline}"
        rows = pd.DataFrame({"item": said["item"], "subject": subject.loc[said["item"]].to_numpy(), "rater": model,
                             "label": said["label"]})
        mine = agreement(pd.concat([ratings, rows], ignore_index=True), targets.level, targets.order, n_boot,
                         confidence, seed, with_rater=model)
        parts.append(mine.assign(protocol=protocol, pipeline=pipeline))
    columns = ["protocol", "pipeline", *among.columns.drop(["protocol", "pipeline"])]
    return pd.concat(parts, ignore_index=True)[columns]


def _window_terms(predictions: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    """Per test window, the numerator and denominator of every (reference, metric) ratio:
    columns ``reference``, ``metric``, ``hit`` and ``counts`` (1 where the reference rated the
    window's item), with the window's pipeline, protocol and subject."""
    trial = predictions["trial"].astype(str).to_numpy()
    info = targets.trials.reindex(trial)
    item, predicted = info["item"].to_numpy(), predictions["predicted"].astype(str).to_numpy()
    keys = predictions[["pipeline", "protocol", "subject"]].reset_index(drop=True)
    frames = []

    def add(reference: str, metric: str, hit: np.ndarray, counts: np.ndarray) -> None:
        frames.append(keys.assign(reference=reference, metric=metric, hit=hit, counts=counts))

    said = targets.ratings.pivot(index="item", columns="rater", values="label")
    for rater in pd.unique(targets.ratings["rater"]):
        label = said[rater].reindex(item).to_numpy()
        rated = pd.notna(label)
        add(str(rater), "accuracy", (rated & (label == predicted)).astype(float), rated.astype(float))
    everyone = np.ones(len(trial))
    add(CONSENSUS, "accuracy", (info["label"].to_numpy() == predicted).astype(float), everyone)
    if not (info["recorded"] == info["label"]).all() and info["recorded"].isin(targets.order).all():
        add(RECORDED, "accuracy", (info["recorded"].to_numpy() == predicted).astype(float), everyone)
    votes = info[[f"votes:{c}" for c in targets.order]].to_numpy(dtype=float)
    share = votes / votes.sum(axis=1, keepdims=True)
    position = {c: k for k, c in enumerate(targets.order)}
    add(SOFT, "expected accuracy", share[np.arange(len(share)), [position[p] for p in predicted]], everyone)
    columns = [f"p:{c}" for c in targets.order]
    if set(columns) <= set(predictions.columns) and predictions[columns].notna().all(axis=None):
        q = predictions[columns].to_numpy(dtype=float)
        add(SOFT, "cross-entropy", -(share * np.log(np.clip(q, _EPSILON, 1.0))).sum(axis=1), everyone)
        add(SOFT, "Brier score", ((q - share) ** 2).sum(axis=1), everyone)
    return pd.concat(frames, ignore_index=True)


def rater_scores(predictions: pd.DataFrame, targets: Targets, n_boot: int, confidence: float, seed: int) -> pd.DataFrame:
    """Each pipeline's out-of-fold predictions under each protocol scored against every
    reference: accuracy against each rater (on the items it rated), the consensus (the target)
    and the dataset's own labels (when they differ from the target); against the soft labels,
    the expected accuracy (the share of raters who said the predicted class), the
    cross-entropy (nats) and the Brier score (summed over classes), the last two for models
    with probabilities. Each a ratio over all test windows, with a BCa interval over subjects.
    When the dataset's labels differ from the target, a first row (pipeline and protocol
    empty) gives the share of trials whose target is the dataset's label (``target
    accuracy``). Columns: pipeline, protocol, reference, metric, value, ci_low, ci_high,
    n_subjects."""
    terms = _window_terms(predictions, targets)
    if RECORDED in set(terms["reference"]):  # how often the target itself is the dataset's label, per trial
        trials = targets.trials
        terms = pd.concat([pd.DataFrame({"pipeline": "", "protocol": "", "subject": trials["subject"].to_numpy(),
                                         "reference": RECORDED, "metric": "target accuracy",
                                         "hit": (trials["label"] == trials["recorded"]).to_numpy(dtype=float),
                                         "counts": 1.0}), terms], ignore_index=True)
    sums = terms.groupby(["pipeline", "protocol", "reference", "metric", "subject"], sort=False)[["hit", "counts"]].sum()
    rows = []
    for key, group in sums.groupby(level=[0, 1, 2, 3], sort=False):
        hit, counts = group["hit"].to_numpy(), group["counts"].to_numpy()
        weights = replicate_weights(np.arange(len(hit)), np.zeros(len(hit)), n_boot, np.random.default_rng(seed))
        with np.errstate(invalid="ignore", divide="ignore"):
            values = (weights @ hit) / (weights @ counts)
        rows.append((*key, float(values[0]), *replicate_interval(values, n_boot, confidence), len(hit)))
    return pd.DataFrame(rows, columns=["pipeline", "protocol", "reference", "metric", "value", "ci_low", "ci_high",
                                       "n_subjects"])
