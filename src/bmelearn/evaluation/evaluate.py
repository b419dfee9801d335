"""Run pipelines under protocols and collect one tidy results table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from bmelearn.evaluation.metrics import classification_metrics
from bmelearn.evaluation.protocols import MetadataSplitter

RESULT_COLUMNS = ["dataset", "pipeline", "protocol", "fold", "subject", "metric", "class", "value"]
CONFUSION_COLUMNS = ["pipeline", "protocol", "subject", "true", "predicted", "count"]


def evaluate(
    X: np.ndarray,
    meta: pd.DataFrame,
    pipelines: Mapping[str, BaseEstimator],
    protocols: Mapping[str, MetadataSplitter],
    classes: Sequence[str],
    dataset: str = "dataset",
    on_fit: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit and score every pipeline on every fold of every protocol.

    ``X`` is row-aligned with ``meta`` (labels in ``meta["label"]``). Each pipeline is
    cloned and fit on the training windows only. Returns the tidy results table (one row
    per pipeline × protocol × fold × test subject × metric [× class]) and the confusion
    counts (pipeline, protocol, subject, true, predicted, count), summed over folds.
    ``on_fit(description)`` is called after each fit (for progress bars).
    """
    meta = meta.reset_index(drop=True)
    y = meta["label"].astype(str).to_numpy()
    classes = [str(c) for c in classes]
    results, confusion = [], []
    for protocol_name, protocol in protocols.items():
        for fold, (train, test) in enumerate(protocol.split(X, y, groups=meta)):
            for pipeline_name, pipeline in pipelines.items():
                model = clone(pipeline).fit(X[train], y[train])
                predicted = model.predict(X[test])
                test_subjects = meta["subject"].to_numpy()[test]
                for subject in pd.unique(test_subjects):
                    mine = test_subjects == subject
                    y_true, y_pred = y[test][mine], predicted[mine]
                    for metric, cls, value in classification_metrics(y_true, y_pred, classes):
                        results.append((dataset, pipeline_name, protocol_name, fold, subject, metric, cls, value))
                    pairs = pd.DataFrame({"true": y_true, "predicted": y_pred}).value_counts()
                    confusion.extend(
                        (pipeline_name, protocol_name, subject, t, p, int(n)) for (t, p), n in pairs.items()
                    )
                if on_fit is not None:
                    on_fit(f"{protocol_name} fold {fold} {pipeline_name}")
    results_table = pd.DataFrame(results, columns=RESULT_COLUMNS)
    confusion_table = (
        pd.DataFrame(confusion, columns=CONFUSION_COLUMNS)
        .groupby(CONFUSION_COLUMNS[:-1], sort=False, as_index=False)["count"]
        .sum()
    )
    return results_table, confusion_table


def count_fits(meta: pd.DataFrame, pipelines: Mapping, protocols: Mapping[str, MetadataSplitter]) -> int:
    """How many fits :func:`evaluate` will make (for a progress bar)."""
    return len(pipelines) * sum(p.get_n_splits(groups=meta) for p in protocols.values())


def summarize(results: pd.DataFrame) -> dict:
    """Mean and per-subject figures of every overall metric, per protocol and pipeline.

    Folds are averaged within a subject first, then subjects are averaged, so every subject
    weighs the same whatever its number of folds or windows.
    """
    overall = results[results["class"] == ""]
    per_subject = overall.groupby(["protocol", "pipeline", "metric", "subject"], sort=False)["value"].mean()
    summary: dict = {}
    for (protocol, pipeline, metric), values in per_subject.groupby(level=[0, 1, 2], sort=False):
        values = values.droplevel([0, 1, 2])
        summary.setdefault(protocol, {}).setdefault(pipeline, {})[metric] = {
            "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "min": float(values.min()),
            "max": float(values.max()),
            "per_subject": {str(k): float(v) for k, v in values.items()},
        }
    return summary
