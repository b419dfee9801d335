"""Transfer learning across subjects: how much of a new subject's data a network needs when it
starts from a network pretrained on the other subjects (Côté-Allard et al. 2019, IEEE TNSRE
27(4)).

For every fold of a per-subject protocol (its test windows are one subject's), and for each k
of ``repetitions``, three ways of training, all tested on the same windows:

- ``subject-independent``: pretrained on every window of the other subjects (all their
  sessions), with no data of the test subject (scored once, as k = 0);
- ``from scratch``: trained on the first k repetitions per class of the fold's training
  windows of the test subject;
- ``fine-tuned``: the pretrained network fine-tuned on those same windows
  (:meth:`bmelearn.models.deep.NeuralNetwork.fine_tune`).

The network is pretrained once per test subject; each test subject is one unit of parallel
work (its pretraining and all its k), kept in the run's checkpoint like the evaluation's fits.
Results have the columns of :func:`bmelearn.evaluation.evaluate` plus ``training`` and
``repetitions``, with intervals over the subject's test trials.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from bmelearn.compute.backends import single_threaded
from bmelearn.compute.checkpoint import Checkpoint, UnitResult, run_kept, unit_key
from bmelearn.errors import ConfigError
from bmelearn.evaluation.bootstrap import CONFIDENCE, N_BOOT, keyed_seed
from bmelearn.evaluation.evaluate import (
    RESULT_COLUMNS,
    class_scores,
    score_rows,
    trial_ids,
)
from bmelearn.evaluation.leakage import check_split
from bmelearn.evaluation.protocols import MetadataSplitter, first_repetitions
from bmelearn.models.adaptation import fine_tuned
from bmelearn.models.capabilities import capabilities

TRANSFER_COLUMNS = [*RESULT_COLUMNS, "training", "repetitions"]


def transfer_curve(X: np.ndarray, meta: pd.DataFrame, networks: Mapping[str, Pipeline],
                   protocols: Mapping[str, MetadataSplitter], repetitions: Sequence[int], classes: Sequence[str],
                   dataset: str = "dataset", on_fit: Callable[[str], None] | None = None, n_boot: int = N_BOOT,
                   confidence: float = CONFIDENCE, seed: int = 0, checkpoint: Checkpoint | None = None) -> pd.DataFrame:
    """Accuracy and the other metrics against k for the three trainings (see the module text).
    ``networks`` are pipelines whose last step can ``fine_tune``; ``X`` is row-aligned with ``meta``.
    Each (protocol, network, test subject) is one unit of work on the execution backend (its
    pretraining and every k of its folds), kept in ``checkpoint`` like the evaluation's fits."""
    meta = meta.reset_index(drop=True)
    y = meta["label"].astype(str).to_numpy()
    subjects = meta["subject"].astype(str).to_numpy()
    trials = trial_ids(meta)
    classes = [str(c) for c in classes]
    for name, pipeline in networks.items():
        if not capabilities(pipeline).fine_tunable:
            raise ConfigError(f"evaluation.transfer: {name!r} cannot be fine-tuned; transfer learning applies to "
                              "the neural networks (mlp, cnn, lstm, gru, tcn, transformer).")
    data = unit_key(X, y, classes) if checkpoint is not None else None
    rows = []
    for protocol_name, protocol in protocols.items():
        folds = list(protocol.split(X, y, groups=meta))
        targets, work = _subject_work(meta, subjects, folds, protocol_name, repetitions)
        for name, pipeline in networks.items():
            units = {target: (pipeline, X, y, others, tests, classes) for target, (others, tests) in work.items()}
            prefix = f"{protocol_name} {name}"
            done = _run_transfer_units(units, data, checkpoint, lambda target, p=prefix: f"{p}: subject {target}", on_fit)
            variants = {t: iter(zip(r.predicted, r.scores, strict=True)) for t, r in done.items()}  # in fold order
            collected: dict[tuple[str, int], list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]] = {}
            for (_, test), target in zip(folds, targets, strict=True):
                for training, k in [("subject-independent", 0), *[(t, k) for k in repetitions
                                                                  for t in ("from scratch", "fine-tuned")]]:
                    collected.setdefault((training, k), []).append((test, *next(variants[target])))
            for (training, k), parts in collected.items():
                windows = np.concatenate([p[0] for p in parts])
                predicted = np.concatenate([p[1] for p in parts])
                scores = None if any(p[2] is None for p in parts) else np.concatenate([p[2] for p in parts])
                for subject in pd.unique(subjects[windows]):
                    mine = subjects[windows] == subject
                    rng = np.random.default_rng(keyed_seed(seed, (protocol_name, name, training, k, str(subject))))
                    for row in score_rows(y[windows][mine], predicted[mine], None if scores is None else scores[mine],
                                          trials[windows][mine], y[windows][mine], classes, n_boot, confidence, rng):
                        rows.append((dataset, name, protocol_name, subject, *row, training, k))
    return pd.DataFrame(rows, columns=TRANSFER_COLUMNS)


def count_transfer_fits(meta: pd.DataFrame, networks: Mapping, protocols: Mapping[str, MetadataSplitter]) -> int:
    """How many units :func:`transfer_curve` runs: per network and protocol, one per test subject."""
    subjects = 0
    for protocol in protocols.values():
        folds = protocol.split(None, None, groups=meta)
        subjects += len({str(s) for _, test in folds for s in pd.unique(meta["subject"].iloc[test])})
    return subjects * len(networks)


def transfer_unit(pipeline: Pipeline, X: np.ndarray, y: np.ndarray, others: np.ndarray,
                  tests: list[tuple[np.ndarray, list[np.ndarray]]], classes: list[str]) -> UnitResult:
    """One test subject, on one thread: ``pipeline`` pretrained on the ``others`` windows, then for
    each of the subject's folds (its test windows, and its training windows for each k) the
    pretrained network, one trained from scratch and one fine-tuned per k, each tested; the
    predictions in that order."""
    with single_threaded():
        started = time.perf_counter()
        pretrained = clone(pipeline).fit(X[others], y[others])
        predicted, scores = [], []

        def tested(model: Pipeline, test: np.ndarray) -> None:
            predicted.append(model.predict(X[test]).astype(str))
            scores.append(class_scores(model, X[test], classes))

        for test, kept_per_k in tests:
            tested(pretrained, test)
            for kept in kept_per_k:
                tested(clone(pipeline).fit(X[kept], y[kept]), test)
                tested(fine_tuned(pretrained, X[kept], y[kept]), test)
        return UnitResult(time.perf_counter() - started, float("nan"), predicted, scores)


def _subject_work(meta: pd.DataFrame, subjects: np.ndarray, folds: list, protocol: str, repetitions: Sequence[int],
                  ) -> tuple[list[str], dict[str, tuple[np.ndarray, list[tuple[np.ndarray, list[np.ndarray]]]]]]:
    """The test subject of each fold, and per subject the work of its unit: the windows of the
    other subjects (for pretraining) and, for each of its folds in order, the test windows and
    the training windows of its first k repetitions for each k. Checked before any fit."""
    targets: list[str] = []
    work: dict[str, tuple[np.ndarray, list]] = {}
    for fold, (train, test) in enumerate(folds):
        check_split(meta, train, test, protocol)
        target = _one_subject(subjects[test], protocol)
        targets.append(target)
        if target not in work:
            others = np.flatnonzero(subjects != target)
            if not len(others):
                raise ConfigError(f"evaluation.transfer: subject {target} is the only subject; pretraining needs others.")
            work[target] = (others, [])
        own = np.zeros(len(meta), dtype=bool)
        own[train[subjects[train] == target]] = True
        kept = [np.flatnonzero(first_repetitions(meta, own, k)) for k in repetitions]
        if any(not len(rows) for rows in kept):
            raise ConfigError(f"evaluation.transfer: protocol {protocol!r} trains on no window of the test subject "
                              f"{target} (fold {fold}); use a protocol that trains and tests within each subject, such "
                              "as cross_session or within_session.")
        work[target][1].append((test, kept))
    return targets, work


def _run_transfer_units(units: dict[str, tuple], data: str | None, checkpoint: Checkpoint | None,
                        describe: Callable[[str], str], on_fit: Callable[[str], None] | None) -> dict[str, UnitResult]:
    """Every subject's :func:`transfer_unit`: from the checkpoint when it holds it, else on the
    current execution backend (and into the checkpoint as it finishes)."""
    keys = {t: unit_key(data, "transfer", u[0], u[3], u[4]) for t, u in units.items()} if checkpoint is not None else {}
    targets = list(units)
    done = run_kept(transfer_unit, [units[t] for t in targets], [keys.get(t) for t in targets],
                    [describe(t) for t in targets], checkpoint, on_fit, [len(units[t][3]) for t in targets])
    return dict(zip(targets, done, strict=True))


def _one_subject(subjects: np.ndarray, protocol: str) -> str:
    found = pd.unique(subjects)
    if len(found) != 1:
        raise ConfigError(f"evaluation.transfer: protocol {protocol!r} tests {len(found)} subjects in one fold; transfer "
                          "learning needs folds that test one subject each (cross_session, within_session).")
    return str(found[0])

