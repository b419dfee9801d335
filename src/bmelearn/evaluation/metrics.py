"""Classification metrics from a confusion matrix: accuracy, balanced accuracy, per-class
sensitivity (recall) and specificity."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> list[tuple[str, str, float]]:
    """Rows ``(metric, class, value)``; class is "" for overall metrics.

    Sensitivity of class c = TP / (TP + FN); specificity = TN / (TN + FP). Balanced accuracy
    is the mean sensitivity over the classes present in ``y_true``. Classes absent from
    ``y_true`` get no sensitivity row (it is undefined).
    """
    cm = confusion_matrix(y_true, y_pred, labels=list(classes)).astype(np.float64)
    total = cm.sum()
    tp = np.diag(cm)
    positives = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    negatives = total - positives
    rows = [("accuracy", "", float(tp.sum() / total))]
    present = positives > 0
    sensitivity = np.divide(tp, positives, out=np.full_like(tp, np.nan), where=present)
    rows.append(("balanced_accuracy", "", float(np.nanmean(sensitivity))))
    specificity = np.divide(negatives - (predicted - tp), negatives, out=np.full_like(tp, np.nan), where=negatives > 0)
    for i, c in enumerate(classes):
        if present[i]:
            rows.append(("sensitivity", str(c), float(sensitivity[i])))
        if negatives[i] > 0:
            rows.append(("specificity", str(c), float(specificity[i])))
    return rows
