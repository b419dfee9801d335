"""Clinical classification metrics, computed for many weightings of the windows at once.

Every metric is a function of per-window weights, so that a bootstrap replicate (each window
weighted by how many times its trial was drawn) costs one row of a weight matrix, not a
Python loop: :func:`metric_replicates` takes weights (n_replicates, n_windows) and returns
one value per replicate. The plain metrics are the case of one row of ones.

Per class c, one-vs-rest (TP, FN, FP, TN counted with c as the positive class):
sensitivity TP/(TP+FN), specificity TN/(TN+FP), PPV TP/(TP+FP), NPV TN/(TN+FN),
F1 2TP/(2TP+FP+FN); with class probabilities also ROC AUC (the probability that a window of
c scores higher than one of another class, ties counting ½), PR AUC (average precision,
Σ ΔRecall·Precision over the score thresholds, as scikit-learn) and the Brier score
mean (p_c − [y = c])². Overall: accuracy, balanced accuracy (mean sensitivity over the
classes present), Cohen's kappa (p_o − p_e)/(1 − p_e) and macro F1 (mean F1 over the classes
present in truth or prediction); with class probabilities also the expected calibration error
of the predicted class (top-label ECE, :func:`calibration_error`). A metric that is undefined
(no window of the class) is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from bmelearn.registry import Entry, Registry


def _metric(name: str, label: str, scope: str, description: str) -> Entry:
    return Entry(name, description, metadata={"label": label, "scope": scope})


#: The metrics :func:`metric_replicates` computes: ``label`` is the report's name, ``scope`` is
#: ``overall``, ``per_class``, ``scored`` (per class, needing class probabilities) or
#: ``calibration`` (overall, needing class probabilities; lower is better), and the description
#: says in plain words what the metric measures.
METRICS: Registry[Entry] = Registry("metric", [
    _metric("accuracy", "accuracy", "overall", "The share of all test windows whose class was recognised correctly."),
    _metric("balanced_accuracy", "balanced accuracy", "overall",
            "The average of the sensitivities of all classes. Unlike accuracy it is not inflated when some classes "
            "have many more windows than others."),
    _metric("kappa", "Cohen's kappa", "overall",
            "The agreement between the model and the truth beyond the agreement expected by chance: 0 is guessing, 1 is "
            "perfect."),
    _metric("macro_f1", "macro F1", "overall", "The average over the classes of their F1."),
    _metric("sensitivity", "sensitivity", "per_class",
            "The share of the true cases of that class that were recognised as that class (missed cases lower it)."),
    _metric("specificity", "specificity", "per_class",
            "The share of the other cases that were correctly not labelled as that class (false alarms lower it)."),
    _metric("ppv", "positive predictive value", "per_class",
            "The share of the windows labelled as that class that truly belong to it (false alarms lower it)."),
    _metric("npv", "negative predictive value", "per_class",
            "The share of the windows not labelled as that class that truly do not belong to it (missed cases lower it)."),
    _metric("f1", "F1", "per_class", "The harmonic mean of the sensitivity and the positive predictive value of that class."),
    _metric("roc_auc", "ROC AUC", "scored",
            "The probability that a window of that class gets a higher probability of it than a window of another class."),
    _metric("pr_auc", "PR AUC", "scored",
            "The average precision (positive predictive value) over the thresholds on the probability of that class."),
    _metric("brier", "Brier score", "scored",
            "The mean squared difference between the probability given to that class and the truth (0 is perfect)."),
    _metric("ece", "expected calibration error", "calibration",
            "How far the probability given to the predicted class is from how often it is right, on average over the "
            "windows (0 is perfect: of the windows predicted at 70 %, 70 % are right)."),
])
#: The metrics of the whole test set (not of one class): those a comparison of pipelines can use.
OVERALL = tuple(name for name, entry in METRICS.items() if entry.metadata["scope"] == "overall")


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)


def _segment_sums(values: np.ndarray, codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Σ of the columns of ``values`` (B, n) that share a code, for codes 0 … n_codes − 1: (B, n_codes)."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    out = np.zeros((values.shape[0], n_codes))
    if len(order):
        out[:, sorted_codes[starts]] = np.add.reduceat(values[:, order], starts, axis=1)
    return out


#: Equal-width bins of the probability, for the calibration error and the reliability curves.
CALIBRATION_BINS = 10


def calibration_bins(probability: np.ndarray) -> np.ndarray:
    """The bin (0 … CALIBRATION_BINS − 1) of each probability; 1 falls in the last bin."""
    return np.minimum((np.asarray(probability) * CALIBRATION_BINS).astype(np.int64), CALIBRATION_BINS - 1)


def calibration_error(probability: np.ndarray, hit: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Expected calibration error per replicate: Σ_b (n_b/N)·|observed_b − predicted_b| over the
    :func:`calibration_bins` of ``probability``, with ``hit`` (0/1) the observed outcome and the
    windows weighted by each row of ``weights`` (Naeini et al., AAAI 2015)."""
    weights = np.atleast_2d(weights)
    gaps = _segment_sums(weights * (np.asarray(hit, dtype=np.float64) - probability), calibration_bins(probability),
                         CALIBRATION_BINS)
    return _ratio(np.abs(gaps).sum(axis=1), weights.sum(axis=1))


#: Bytes of the per-replicate buffer of average-precision terms: the replicates are scored in
#: chunks of rows so that a large test set (50,000 windows × 1000 replicates) stays bounded.
_AP_BUFFER_BYTES = 8 << 20
#: Replicates that one pass of :func:`_ranked_auc` carries side by side (SIMD lanes, in cache).
_REPLICATE_BLOCK = 64


@numba.njit(cache=True, nogil=True)
def _ranked_auc(draws: np.ndarray, cluster: np.ndarray, closes: np.ndarray, positive: np.ndarray,
                auc_num: np.ndarray, n_pos: np.ndarray, n_neg: np.ndarray, ap_terms: np.ndarray) -> None:
    """One pass along the windows in ascending score order, for every replicate.

    A replicate weights each window by its cluster's draw: ``draws`` holds the replicates in
    blocks of _REPLICATE_BLOCK (blocks, clusters, _REPLICATE_BLOCK; the last block padded),
    ``cluster`` is the cluster of each window, ``positive`` whether it is of the class and
    ``closes`` whether it ends a level (a group of tied scores), all three in score order.
    Writes per replicate b the AUC numerator Σ_l pos_l·(neg below l + ½·neg_l), the total
    weights of positives and negatives, and ap_terms[b, r] = pos·TP/(TP + FP) at the r-th level
    from the top where pos ≠ 0 (``ap_terms`` comes filled with zeros: 0 where pos = 0). TP and FP
    at a level are the totals less what lies below it. The replicates of a block go side by
    side (SIMD lanes). Every sum, count and numerator is exact for integer weights (bootstrap
    counts), so the numbers do not depend on the order of summation.
    """
    n_levels = ap_terms.shape[1]
    n_rows = ap_terms.shape[0]
    width = draws.shape[2]
    n_marked = 0  # levels that hold a window of the class: the only ones with AP terms
    has = False
    for j in range(cluster.shape[0]):
        has = has or positive[j]
        if closes[j]:
            n_marked += has
            has = False
    pos_at = np.empty((n_marked, width))
    pos_below = np.empty((n_marked, width))
    neg_below = np.empty((n_marked, width))
    level_of = np.empty(n_marked, dtype=np.int64)
    p = np.zeros(width)
    q = np.zeros(width)
    below = np.zeros(width)  # negatives scoring strictly lower
    num = np.zeros(width)
    total = np.zeros(width)  # positives scoring strictly lower, then all
    for block in range(draws.shape[0]):
        p[:] = 0.0
        q[:] = 0.0
        below[:] = 0.0
        num[:] = 0.0
        total[:] = 0.0
        level = 0
        k = 0
        has = False
        for j in range(cluster.shape[0]):
            w = draws[block, cluster[j]]
            if positive[j]:
                has = True
                for b in range(width):
                    p[b] += w[b]
            else:
                for b in range(width):
                    q[b] += w[b]
            if closes[j]:
                if has:
                    level_of[k] = level
                    for b in range(width):
                        pos_at[k, b] = p[b]
                        pos_below[k, b] = total[b]
                        neg_below[k, b] = below[b]
                        num[b] += p[b] * (below[b] + 0.5 * q[b])
                        total[b] += p[b]
                        p[b] = 0.0
                    k += 1
                for b in range(width):
                    below[b] += q[b]
                    q[b] = 0.0
                has = False
                level += 1
        first = block * width
        for b in range(min(width, n_rows - first)):
            auc_num[first + b] = num[b]
            n_pos[first + b] = total[b]
            n_neg[first + b] = below[b]
            for i in range(n_marked):
                here = pos_at[i, b]
                if here != 0.0:
                    tp = total[b] - pos_below[i, b]
                    fp = below[b] - neg_below[i, b]
                    ap_terms[first + b, n_levels - 1 - level_of[i]] = here * (tp / (tp + fp))


def _auc_and_ap(score: np.ndarray, positive: np.ndarray, weights: np.ndarray,
                clusters: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ROC AUC and average precision of one score against a binary truth, per replicate.

    ``weights`` (replicates, windows); ``clusters`` (codes 0 … C − 1), when given, says which
    windows always share a weight (a trial's windows, as the bootstrap draws them), so that a
    replicate is read from one weight per cluster. The scores are sorted once, into levels of
    tied scores; the replicates are then one compiled pass along that order (:func:`_ranked_auc`).
    Its numbers are those of the previous implementation (per-level sums of the weights through
    ``np.add.reduceat``, kept in tests/evaluation/reference_auc.py) bit for bit with integer
    weights, as the bootstrap draws: the per-level sums, counts and AUC numerator are exact
    integers or halves, divisions are correctly rounded, and the average precision's
    Σ ΔRecall·Precision is summed by ``np.sum`` over the same row of terms as before. The
    replicates go in chunks, their terms in a buffer of at most ``_AP_BUFFER_BYTES``."""
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    clusters = np.arange(weights.shape[1]) if clusters is None else np.asarray(clusters, dtype=np.int64)
    one_each = _one_of_each(clusters)
    _, group = np.unique(score, return_inverse=True)  # ascending score levels; ties share one
    group = group.ravel()
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    closes = np.r_[sorted_group[1:] != sorted_group[:-1], True][: len(order)]
    positive = np.asarray(positive, dtype=bool)[order]
    n_rows, n_levels = weights.shape[0], int(closes.sum())
    auc_num, n_pos, n_neg, ap_sum = (np.empty(n_rows) for _ in range(4))
    rows = _REPLICATE_BLOCK * max(1, _AP_BUFFER_BYTES // (8 * _REPLICATE_BLOCK * max(1, n_levels)))
    terms = np.empty((min(rows, n_rows), n_levels))
    for first in range(0, n_rows, rows):
        last = min(n_rows, first + rows)
        draws = _blocks(weights[first:last, one_each])
        block = terms[: last - first]
        block.fill(0.0)
        _ranked_auc(draws, clusters[order], closes, positive, auc_num[first:last], n_pos[first:last],
                    n_neg[first:last], block)
        ap_sum[first:last] = np.sum(block, axis=1)
    return _ratio(auc_num, n_pos * n_neg), _ratio(ap_sum, n_pos)


def _blocks(draws: np.ndarray) -> np.ndarray:
    """Replicates × clusters as blocks of _REPLICATE_BLOCK replicates: (blocks, clusters, _REPLICATE_BLOCK),
    the last block padded with zeros."""
    n_rows, n_clusters = draws.shape
    n_blocks = -(-n_rows // _REPLICATE_BLOCK)
    out = np.zeros((n_blocks * _REPLICATE_BLOCK, n_clusters))
    out[:n_rows] = draws
    return np.ascontiguousarray(out.reshape(n_blocks, _REPLICATE_BLOCK, n_clusters).transpose(0, 2, 1))


def metric_replicates(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    classes: Sequence[str],
    weights: np.ndarray,
    scores: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
) -> dict[tuple[str, str], np.ndarray]:
    """Every metric for every weighting: {(metric, class): values (n_replicates,)}; class "" is overall.

    ``y_true``/``y_pred`` are labels (n_windows,), ``weights`` (n_replicates, n_windows) and
    ``scores`` optional class probabilities (n_windows, n_classes) in the order of ``classes``;
    ``clusters`` (codes 0 … C − 1 per window), when given, groups the windows that every row of
    ``weights`` weights alike (the bootstrap's trials or subjects), which makes the AUCs cheaper.
    """
    classes = [str(c) for c in classes]
    k = len(classes)
    index = {c: i for i, c in enumerate(classes)}
    t = np.array([index[str(v)] for v in y_true], dtype=np.int64)
    p = np.array([index[str(v)] for v in y_pred], dtype=np.int64)
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    cm = _confusion_counts(weights, t * k + p, k * k, clusters).reshape(-1, k, k)  # (B, true, predicted)
    total = cm.sum(axis=(1, 2))[:, None]
    tp = np.diagonal(cm, axis1=1, axis2=2)
    actual, predicted = cm.sum(axis=2), cm.sum(axis=1)
    tn = total - actual - predicted + tp
    per_class = {
        "sensitivity": _ratio(tp, actual),
        "specificity": _ratio(tn, total - actual),
        "ppv": _ratio(tp, predicted),
        "npv": _ratio(tn, total - predicted),
        "f1": _ratio(2 * tp, actual + predicted),
    }
    with np.errstate(invalid="ignore"):
        accuracy = _ratio(tp.sum(axis=1), total[:, 0])
        expected = _ratio((actual * predicted).sum(axis=1), total[:, 0] ** 2)
        present = actual > 0
        out = {
            ("accuracy", ""): accuracy,
            ("balanced_accuracy", ""): _masked_mean(per_class["sensitivity"], present),
            ("kappa", ""): _ratio(accuracy - expected, 1 - expected),
            ("macro_f1", ""): _masked_mean(per_class["f1"], present | (predicted > 0)),
        }
    for name, values in per_class.items():
        out.update({(name, c): values[:, i] for i, c in enumerate(classes)})
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        for i, c in enumerate(classes):
            truth = t == i
            out[("roc_auc", c)], out[("pr_auc", c)] = _auc_and_ap(scores[:, i], truth, weights, clusters)
            out[("brier", c)] = _ratio(weights @ (scores[:, i] - truth) ** 2, total[:, 0])
        out[("ece", "")] = calibration_error(scores[np.arange(len(p)), p], t == p, weights)
    return out


def _confusion_counts(weights: np.ndarray, cells: np.ndarray, n_cells: int, clusters: np.ndarray | None) -> np.ndarray:
    """The weighted count of windows in each cell (B, n_cells), ``cells`` the cell of each window.
    With ``clusters`` (windows weighted alike), one count per cluster and cell, weighted by one
    draw per cluster: a product of integer counts, exact as the per-window sums are."""
    if clusters is None:
        return _segment_sums(weights, cells, n_cells)
    clusters = np.asarray(clusters, dtype=np.int64)
    counts = np.zeros((clusters.max() + 1 if len(clusters) else 0, n_cells))
    np.add.at(counts, (clusters, cells), 1.0)
    return weights[:, _one_of_each(clusters)] @ counts


def _one_of_each(clusters: np.ndarray) -> np.ndarray:
    """A window of each cluster (codes 0 … C − 1): its index."""
    index = np.zeros(clusters.max() + 1 if len(clusters) else 0, dtype=np.int64)
    index[clusters] = np.arange(len(clusters))
    return index


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the classes in ``mask`` (NaN values, e.g. undefined in one replicate, ignored)."""
    kept = np.where(mask, values, np.nan)
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(kept), axis=1)
        return _ratio(np.nansum(kept, axis=1), counts)


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str], scores: np.ndarray | None = None
) -> list[tuple[str, str, float]]:
    """Rows ``(metric, class, value)`` of every defined metric; class is "" for overall metrics."""
    values = metric_replicates(y_true, y_pred, classes, np.ones((1, len(y_true))), scores)
    return [(metric, cls, float(v[0])) for (metric, cls), v in values.items() if np.isfinite(v[0])]
