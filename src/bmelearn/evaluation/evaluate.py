"""Run pipelines under protocols and collect one tidy results table, with intervals.

Every result row (pipeline × protocol × test subject × metric [× class], from the
out-of-fold predictions) carries a bootstrap confidence interval over the subject's test
trials (see :mod:`bmelearn.evaluation.bootstrap`); the summary averages subjects and gives
the interval of that mean over resampled subjects.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone, is_regressor

from bmelearn.compute.backends import run_units, single_threaded
from bmelearn.compute.checkpoint import Checkpoint, UnitResult, run_kept, unit_key
from bmelearn.errors import ConfigError
from bmelearn.evaluation.bootstrap import (
    CONFIDENCE,
    N_BOOT,
    bca_interval,
    keyed_seed,
    mean_jackknife,
    mean_replicates,
    replicate_interval,
    replicate_weights,
)
from bmelearn.evaluation.leakage import LeakageGuard
from bmelearn.evaluation.metrics import metric_replicates
from bmelearn.evaluation.protocols import MetadataSplitter
from bmelearn.evaluation.regression import regression_rows
from bmelearn.evaluation.targets import expand_votes
from bmelearn.models.capabilities import capabilities

RESULT_COLUMNS = ["dataset", "pipeline", "protocol", "subject", "metric", "class", "value", "ci_low", "ci_high"]
CONFUSION_COLUMNS = ["pipeline", "protocol", "subject", "true", "predicted", "count"]
PREDICTION_COLUMNS = ["pipeline", "protocol", "fold", "subject", "trial", "window", "true", "predicted", "threshold"]
ROBUSTNESS_COLUMNS = ["dataset", "pipeline", "protocol", "perturbation", "level", "subject", "metric", "class",
                      "value", "ci_low", "ci_high"]
TIMING_COLUMNS = ["pipeline", "protocol", "fold", "n_train", "fit_seconds"]
POOLED = "all"  # the subject of results pooled over subjects (protocols that hold out many subjects)

#: perturbed(test) -> [(perturbation, level, features of the perturbed test windows), ...]
Perturbed = Callable[[np.ndarray], list[tuple[str, float, np.ndarray]]]


@dataclass
class Evaluation:
    """The tidy results (with intervals), confusion counts, every test window's prediction (with
    its class probabilities ``p:<class>`` when the model gives them, and the decision threshold
    of a tuned operating point), the results on perturbed test windows (empty without) and the
    wall time of every fit in seconds (``timings``)."""

    results: pd.DataFrame
    confusion: pd.DataFrame
    predictions: pd.DataFrame
    robustness: pd.DataFrame
    timings: pd.DataFrame


def trial_ids(meta: pd.DataFrame) -> np.ndarray:
    """The trial of each window: its ``trial`` column, or subject/session/repetition/label."""
    if "trial" in meta.columns:
        return meta["trial"].astype(str).to_numpy()
    keys = [k for k in ("subject", "session", "repetition", "label") if k in meta.columns]
    return meta[keys].astype(str).agg("/".join, axis=1).to_numpy()


def class_scores(model: BaseEstimator, X: np.ndarray, classes: Sequence[str]) -> np.ndarray | None:
    """Class probabilities (n, len(classes)) in the order of ``classes``, or None if the model has
    none. One-hot ones (ROCKET) are kept as they were: the ``p:`` columns and the score metrics
    (AUC, Brier) of these models are those of 0/1 votes."""
    if capabilities(model).probabilities == "none":
        return None
    proba = model.predict_proba(X)
    out = np.zeros((len(X), len(classes)))
    position = {str(c): i for i, c in enumerate(classes)}
    for j, c in enumerate(model.classes_):
        out[:, position[str(c)]] = proba[:, j]
    return out


def score_rows(
    y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None, clusters: np.ndarray, strata: np.ndarray,
    classes: Sequence[str], n_boot: int, confidence: float, rng: np.random.Generator,
) -> list[tuple[str, str, float, float, float]]:
    """(metric, class, value, ci_low, ci_high) of every defined metric, the BCa interval from
    resampling the clusters (trials or subjects) within each stratum."""
    weights = replicate_weights(clusters, strata, n_boot, rng)
    codes = np.unique(np.asarray(clusters).astype(str), return_inverse=True)[1].ravel()  # a cluster's windows share a weight
    return [
        (metric, cls, float(values[0]), *replicate_interval(values, n_boot, confidence))
        for (metric, cls), values in metric_replicates(y_true, y_pred, classes, weights, scores, codes).items()
        if np.isfinite(values[0])
    ]


def score_unit(y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None, clusters: np.ndarray,
               strata: np.ndarray, classes: Sequence[str], n_boot: int, confidence: float,
               seed: tuple[int, ...]) -> list[tuple[str, str, float, float, float]]:
    """:func:`score_rows` with its own random stream, from ``seed``, on one thread: one unit of
    parallel work, with the same numbers on every backend."""
    with single_threaded():
        return score_rows(y_true, y_pred, scores, clusters, strata, classes, n_boot, confidence,
                          np.random.default_rng(seed))


def score_regression_unit(y_true: np.ndarray, y_pred: np.ndarray, scores: None, clusters: np.ndarray,
                          strata: np.ndarray, classes: Sequence[str], n_boot: int, confidence: float,
                          seed: tuple[int, ...]) -> list[tuple[str, str, float, float, float]]:
    """:func:`score_unit` for a regression (``scores``, ``strata`` and ``classes`` unused): the rows
    of :func:`~bmelearn.evaluation.regression.regression_rows`, on one thread."""
    with single_threaded():
        return regression_rows(y_true, y_pred, clusters, n_boot, confidence, np.random.default_rng(seed))


@dataclass
class _OutOfFold:
    """The test predictions of one pipeline (on clean or perturbed windows) over the folds of a protocol."""

    windows: list[np.ndarray]
    predicted: list[np.ndarray]
    scores: list[np.ndarray | None]


def evaluate(
    X: np.ndarray,
    meta: pd.DataFrame,
    pipelines: Mapping[str, BaseEstimator],
    protocols: Mapping[str, MetadataSplitter],
    classes: Sequence[str],
    dataset: str = "dataset",
    on_fit: Callable[[str], None] | None = None,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    perturbed: Perturbed | None = None,
    checkpoint: Checkpoint | None = None,
    on_score: Callable[[int, int], None] | None = None,
    votes: np.ndarray | None = None,
    task: str = "classification",
) -> Evaluation:
    """Fit every pipeline on every fold of every protocol and score its out-of-fold predictions.

    ``X`` is row-aligned with ``meta`` (labels in ``meta["label"]``). Every split is checked
    by the leakage guard (:class:`LeakageGuard`), whatever splitter made it; each pipeline is
    cloned and fit on the training windows only. Every window is tested at most once per protocol, so
    the test predictions of all folds are pooled and scored per subject, with an interval over
    the subject's trials; protocols that hold out many subjects per fold (``pooled = True``)
    are scored over all subjects together, with an interval over subjects. ``on_fit`` is called
    after each fit and ``on_score(done, total)`` after each scoring unit, a subject's metrics
    with their intervals (for progress bars); intervals use ``n_boot`` resamples drawn from ``seed``.
    ``perturbed(test)``, if given, returns the features of perturbed copies of the test
    windows; each fitted model is scored on them too (the ``robustness`` table).

    The fits run on the current execution backend (:func:`bmelearn.compute.backends.running`); with a
    ``checkpoint``, fits it already holds are not repeated and new ones are added to it. With
    ``votes`` (windows × classes: raters per class, :mod:`bmelearn.evaluation.targets`), each fit
    learns soft labels from a copy of each training window per rater. A ``regression`` task
    learns each window's ``meta["value"]`` and is scored by :mod:`bmelearn.evaluation.regression`
    (no confusion counts).
    """
    meta = meta.reset_index(drop=True)
    regression = task == "regression"
    y = meta["value"].astype(float).to_numpy() if regression else meta["label"].astype(str).to_numpy()
    strata_of = np.zeros(len(meta)) if regression else y  # intervals resample trials within each class
    trials = trial_ids(meta)
    subjects = meta["subject"].astype(str).to_numpy()
    classes = [str(c) for c in classes]
    results, robustness, predictions, timings = [], [], [], []

    def scoring_units(key: tuple, oof: _OutOfFold, pooled: bool) -> list[tuple]:
        """One unit per subject (or one for the pooled subjects): its rows' prefix and the
        arguments of :func:`score_unit`, with a seed of its own (so units run in any order): the
        same for every perturbation of one pipeline's subject, whose trials are then resampled
        alike (a perturbation that changes nothing has the clean results' intervals)."""
        windows, predicted = np.concatenate(oof.windows), np.concatenate(oof.predicted)
        scores = None if any(s is None for s in oof.scores) else np.concatenate(oof.scores)
        if pooled:  # resample subjects; stratify by label when each subject has one
            single_label = not regression and meta.iloc[windows].groupby("subject")["label"].nunique().max() == 1
            units = [(POOLED, np.ones(len(windows), dtype=bool), subjects[windows],
                      y[windows] if single_label else np.zeros(len(windows)))]
        else:
            units = [(s, subjects[windows] == s, trials[windows], strata_of[windows]) for s in pd.unique(subjects[windows])]
        return [((dataset, key[0], key[1], *key[2:], subject),
                 (y[windows][mine], predicted[mine], None if scores is None else scores[mine], clusters[mine],
                  strata[mine], classes, n_boot, confidence, keyed_seed(seed, (*key[:2], subject))))
                for subject, mine, clusters, strata in units]

    def score(tasks: list[tuple[list, tuple, tuple]]) -> None:
        """Run the scoring units on the execution backend, largest first (those the checkpoint
        holds are read from it); rows go to each task's table, in order."""
        keys = [unit_key("score", *arguments) if checkpoint is not None else None for _, _, arguments in tasks]
        scored = [checkpoint.get_rows(k) if checkpoint is not None else None for k in keys]
        todo = [i for i, rows in enumerate(scored) if rows is None]
        count = iter(range(len(tasks) - len(todo) + 1, len(tasks) + 1))

        def finished(j: int, rows: list) -> None:
            if checkpoint is not None:
                checkpoint.put_rows(keys[todo[j]], rows)
            if on_score is not None:
                on_score(next(count), len(tasks))

        if on_score is not None and len(todo) < len(tasks):
            on_score(len(tasks) - len(todo), len(tasks))
        fresh = run_units(score_regression_unit if regression else score_unit, [tasks[i][2] for i in todo], finished,
                          cost=[len(tasks[i][2][0]) for i in todo],
                          threads=True)  # compiled kernels and BLAS
        for i, rows in zip(todo, fresh, strict=True):
            scored[i] = rows
        for (out, prefix, _), rows in zip(tasks, scored, strict=True):
            out.extend((*prefix, *row) for row in rows)

    guard = LeakageGuard(meta)

    def splits_of(protocol_name: str, protocol: MetadataSplitter) -> list[tuple]:
        splits, tested = [], np.zeros(len(meta), dtype=bool)
        for fold, (train, test) in enumerate(protocol.split(X, y, groups=meta)):
            guard.check(train, test, protocol_name)  # any splitter, also one not from bmelearn
            if tested[test].any():
                raise ConfigError(f"protocols.{protocol_name}: {int(tested[test].sum())} window(s) are tested in more than "
                                  "one fold; out-of-fold scoring needs each window tested once (no repeated splits).")
            tested[test] = True
            variants = [("", np.nan, X[test]), *(perturbed(test) if perturbed is not None else [])]
            splits.append((protocol_name, fold, train, test, variants))
        return splits

    # all protocols' fits in one batch of units; with perturbations, one protocol at a time, so
    # that only its perturbed test windows are in memory
    batches = [list(protocols.items())] if perturbed is None else [[item] for item in protocols.items()]
    for batch in batches:
        units = [(split, name) for protocol_name, protocol in batch for split in splits_of(protocol_name, protocol)
                 for name in pipelines]
        fitted = _fit_units(X, y, units, pipelines, classes, checkpoint, on_fit, votes)
        tasks = []
        for protocol_name, protocol in batch:
            collected: dict[tuple, _OutOfFold] = {}
            for ((of, fold, train, test, variants), pipeline_name), unit in zip(units, fitted, strict=True):
                if of != protocol_name:
                    continue
                timings.append((pipeline_name, protocol_name, fold, len(train), unit.fit_seconds))
                for (perturbation, level, _), predicted, scores in zip(variants, unit.predicted, unit.scores, strict=True):
                    oof = collected.setdefault((pipeline_name, perturbation, level), _OutOfFold([], [], []))
                    oof.windows.append(test)
                    oof.predicted.append(predicted)
                    oof.scores.append(scores)
                    if perturbation:
                        continue
                    table = pd.DataFrame({"pipeline": pipeline_name, "protocol": protocol_name, "fold": fold,
                                          "subject": subjects[test], "trial": trials[test], "window": test,
                                          "true": y[test], "predicted": predicted, "threshold": unit.threshold})
                    if scores is not None:
                        table = table.join(pd.DataFrame(scores, columns=[f"p:{c}" for c in classes]))
                    predictions.append(table)
            pooled = getattr(protocol, "pooled", False)
            tasks += [(robustness if perturbation else results, prefix, arguments)
                      for (pipeline_name, perturbation, level), oof in collected.items()
                      for prefix, arguments in scoring_units((pipeline_name, protocol_name, perturbation, level)
                                                             if perturbation else (pipeline_name, protocol_name), oof, pooled)]
        score(tasks)
    predictions_table = pd.concat(predictions, ignore_index=True) if predictions else pd.DataFrame(columns=PREDICTION_COLUMNS)
    confusion = pd.DataFrame(columns=CONFUSION_COLUMNS) if regression else (
        predictions_table.groupby(["pipeline", "protocol", "subject", "true", "predicted"], sort=False)
        .size().rename("count").reset_index()
    )
    return Evaluation(pd.DataFrame(results, columns=RESULT_COLUMNS), confusion[CONFUSION_COLUMNS], predictions_table,
                      pd.DataFrame(robustness, columns=ROBUSTNESS_COLUMNS), pd.DataFrame(timings, columns=TIMING_COLUMNS))


def fit_unit(pipeline: BaseEstimator, X: np.ndarray, y: np.ndarray, train: np.ndarray, tests: list[np.ndarray],
             classes: Sequence[str], votes: np.ndarray | None = None) -> UnitResult:
    """Fit a clone of ``pipeline`` on the training windows (soft labels: a copy per rater, see
    :func:`~bmelearn.evaluation.targets.expand_votes`) and predict every test variant, on one
    thread (the same numbers on every execution backend)."""
    with single_threaded():
        started = time.perf_counter()
        rows, labels = (train, y[train]) if votes is None else expand_votes(train, votes, list(classes))
        model = clone(pipeline).fit(X[rows], labels)
        seconds = time.perf_counter() - started
        predicted = [model.predict(F) if is_regressor(model) else model.predict(F).astype(str) for F in tests]
        return UnitResult(seconds, float(getattr(model, "best_threshold_", np.nan)), predicted,
                          [class_scores(model, F, classes) for F in tests])


def _fit_units(X: np.ndarray, y: np.ndarray, units: list, pipelines: Mapping[str, BaseEstimator], classes: list[str],
               checkpoint: Checkpoint | None, on_fit: Callable[[str], None] | None,
               votes: np.ndarray | None) -> list[UnitResult]:
    """Every (split, pipeline) unit: from the checkpoint when it holds it, else fitted on the
    current execution backend (and written to the checkpoint as it finishes)."""
    keys = [None] * len(units)
    if checkpoint is not None:  # hash each split's arrays and each pipeline once, not once per unit
        data = unit_key(X, y, classes) if votes is None else unit_key(X, y, classes, votes)
        splits = {id(split): unit_key(data, *split) for split, _ in units}
        models = {name: unit_key(pipeline) for name, pipeline in pipelines.items()}
        keys = [unit_key(splits[id(split)], models[name]) for split, name in units]
    arguments = [(pipelines[name], X, y, split[2], [F for *_, F in split[4]], classes, votes) for split, name in units]
    return run_kept(fit_unit, arguments, keys, [f"{split[0]} fold {split[1]} {name}" for split, name in units],
                    checkpoint, on_fit, [len(split[2]) for split, _ in units])


def count_fits(meta: pd.DataFrame, pipelines: Mapping, protocols: Mapping[str, MetadataSplitter]) -> int:
    """How many fits :func:`evaluate` will make (for a progress bar)."""
    return len(pipelines) * sum(p.get_n_splits(groups=meta) for p in protocols.values())


def mean_over_subjects(table: pd.DataFrame, keys: Sequence[str], n_boot: int = N_BOOT, confidence: float = CONFIDENCE,
                       seed: int = 0) -> pd.DataFrame:
    """Per group of ``keys``: the mean ``value`` over its subjects (one row each) with the
    interval of that mean over resampled subjects, or the row's own interval for one subject.
    Each group resamples from its own stream, seeded by ``seed`` and the group's key, so a group's
    interval does not depend on the other groups in ``table``."""
    rows = []
    for key, part in table.groupby(list(keys), sort=False):
        values = part["value"].to_numpy(dtype=float)
        if len(values) > 1:
            rng = np.random.default_rng(keyed_seed(seed, tuple(map(str, key))))
            low, high = bca_interval(values.mean(), mean_replicates(values, n_boot, rng), mean_jackknife(values), confidence)
        else:
            low, high = float(part["ci_low"].iloc[0]), float(part["ci_high"].iloc[0])
        rows.append((*key, len(values), float(values.mean()), low, high, float(values.min()), float(values.max()),
                     float(values.std(ddof=1)) if len(values) > 1 else 0.0))
    return pd.DataFrame(rows, columns=[*keys, "n_subjects", "mean", "ci_low", "ci_high", "min", "max", "std"])


def summarize(results: pd.DataFrame, n_boot: int = N_BOOT, confidence: float = CONFIDENCE, seed: int = 0) -> dict:
    """Mean over subjects of every metric, per protocol and pipeline, with its interval
    (:func:`mean_over_subjects`) and each subject's value and interval. Every subject weighs
    the same whatever its number of windows. Per-class metrics are keyed ``metric:class``."""
    keys = ["protocol", "pipeline", "metric", "class"]
    means = mean_over_subjects(results, keys, n_boot, confidence, seed)
    subjects = results.groupby(keys, sort=False)
    summary: dict = {}
    for protocol, pipeline, metric, cls, _, mean, low, high, lowest, highest, std in means.itertuples(index=False, name=None):
        part = subjects.get_group((protocol, pipeline, metric, cls))
        summary.setdefault(protocol, {}).setdefault(pipeline, {})[f"{metric}:{cls}" if cls else metric] = {
            "mean": mean, "ci_low": low, "ci_high": high, "std": std, "min": lowest, "max": highest,
            "per_subject": {
                str(s): {"value": float(v), "ci_low": float(lo), "ci_high": float(hi)}
                for s, v, lo, hi in part[["subject", "value", "ci_low", "ci_high"]].itertuples(index=False)
            },
        }
    return summary
