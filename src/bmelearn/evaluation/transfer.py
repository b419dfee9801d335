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

The network is pretrained once per test subject. Results have the columns of
:func:`bmelearn.evaluation.evaluate` plus ``training`` and ``repetitions``, with intervals over
the subject's test trials.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from bmelearn.errors import ConfigError
from bmelearn.evaluation.bootstrap import CONFIDENCE, N_BOOT
from bmelearn.evaluation.evaluate import (
    RESULT_COLUMNS,
    class_scores,
    score_rows,
    trial_ids,
)
from bmelearn.evaluation.leakage import check_split
from bmelearn.evaluation.protocols import MetadataSplitter, first_repetitions
from bmelearn.models.capabilities import capabilities

TRANSFER_COLUMNS = [*RESULT_COLUMNS, "training", "repetitions"]


def transfer_curve(
    X: np.ndarray,
    meta: pd.DataFrame,
    networks: Mapping[str, Pipeline],
    protocols: Mapping[str, MetadataSplitter],
    repetitions: Sequence[int],
    classes: Sequence[str],
    dataset: str = "dataset",
    on_fit: Callable[[str], None] | None = None,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> pd.DataFrame:
    """Accuracy and the other metrics against k for the three trainings (see the module text).
    ``networks`` are pipelines whose last step can ``fine_tune``; ``X`` is row-aligned with ``meta``."""
    meta = meta.reset_index(drop=True)
    y = meta["label"].astype(str).to_numpy()
    subjects = meta["subject"].astype(str).to_numpy()
    trials = trial_ids(meta)
    classes = [str(c) for c in classes]
    rng = np.random.default_rng(seed)
    rows = []
    for protocol_name, protocol in protocols.items():
        folds = list(protocol.split(X, y, groups=meta))
        for name, pipeline in networks.items():
            if not capabilities(pipeline).fine_tunable:
                raise ConfigError(f"evaluation.transfer: {name!r} cannot be fine-tuned; transfer learning applies to "
                                  "the neural networks (mlp, cnn, lstm, gru).")
            pretrained: dict[str, Pipeline] = {}
            collected: dict[tuple[str, int], list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]] = {}

            for fold, (train, test) in enumerate(folds):
                check_split(meta, train, test, protocol_name)
                target = _one_subject(subjects[test], protocol_name)
                if target not in pretrained:
                    others = np.flatnonzero(subjects != target)
                    if not len(others):
                        raise ConfigError(f"evaluation.transfer: subject {target} is the only subject; pretraining needs others.")
                    pretrained[target] = clone(pipeline).fit(X[others], y[others])
                    _done(on_fit, f"{protocol_name} {name}: pretrained without subject {target}")
                collected.setdefault(("subject-independent", 0), []).append(_tested(pretrained[target], X, test, classes))
                own = np.zeros(len(meta), dtype=bool)
                own[train[subjects[train] == target]] = True
                for k in repetitions:
                    kept = np.flatnonzero(first_repetitions(meta, own, k))
                    if not len(kept):
                        raise ConfigError(f"evaluation.transfer: protocol {protocol_name!r} trains on no window of the test "
                                          f"subject {target} (fold {fold}); use a protocol that trains and tests within "
                                          "each subject, such as cross_session or within_session.")
                    scratch = clone(pipeline).fit(X[kept], y[kept])
                    collected.setdefault(("from scratch", k), []).append(_tested(scratch, X, test, classes))
                    tuned = copy.deepcopy(pretrained[target])
                    inputs = tuned[:-1].transform(X[kept]) if len(tuned.steps) > 1 else X[kept]
                    tuned[-1].fine_tune(inputs, y[kept])
                    collected.setdefault(("fine-tuned", k), []).append(_tested(tuned, X, test, classes))
                    _done(on_fit, f"{protocol_name} {name}: subject {target}, {k} repetition(s)")
            for (training, k), parts in collected.items():
                windows = np.concatenate([p[0] for p in parts])
                predicted = np.concatenate([p[1] for p in parts])
                scores = None if any(p[2] is None for p in parts) else np.concatenate([p[2] for p in parts])
                for subject in pd.unique(subjects[windows]):
                    mine = subjects[windows] == subject
                    for row in score_rows(y[windows][mine], predicted[mine], None if scores is None else scores[mine],
                                          trials[windows][mine], y[windows][mine], classes, n_boot, confidence, rng):
                        rows.append((dataset, name, protocol_name, subject, *row, training, k))
    return pd.DataFrame(rows, columns=TRANSFER_COLUMNS)


def count_transfer_fits(meta: pd.DataFrame, networks: Mapping, protocols: Mapping[str, MetadataSplitter],
                        repetitions: Sequence[int]) -> int:
    """How many progress steps :func:`transfer_curve` reports: per network and protocol, one
    pretraining per subject and one step per fold and k."""
    steps = 0
    for protocol in protocols.values():
        folds = list(protocol.split(None, None, groups=meta))
        subjects = {str(s) for _, test in folds for s in pd.unique(meta["subject"].iloc[test])}
        steps += len(subjects) + len(folds) * len(repetitions)
    return steps * len(networks)


def _tested(model: Pipeline, X: np.ndarray, test: np.ndarray, classes: list[str]) -> tuple:
    """The test windows, the model's predictions on them and its class scores (or None)."""
    return test, model.predict(X[test]).astype(str), class_scores(model, X[test], classes)


def _one_subject(subjects: np.ndarray, protocol: str) -> str:
    found = pd.unique(subjects)
    if len(found) != 1:
        raise ConfigError(f"evaluation.transfer: protocol {protocol!r} tests {len(found)} subjects in one fold; transfer "
                          "learning needs folds that test one subject each (cross_session, within_session).")
    return str(found[0])


def _done(on_fit: Callable[[str], None] | None, description: str) -> None:
    if on_fit is not None:
        on_fit(description)
