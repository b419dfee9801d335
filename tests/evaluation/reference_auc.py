"""The ROC AUC and average precision of bmelearn before issue 18, kept verbatim as the reference.

``reference_auc_and_ap`` is ``bmelearn.evaluation.metrics._auc_and_ap`` as it was (its helpers
``_segment_sums`` and ``_ratio``, which other metrics still use, come from there): per-level sums of the replicate weights through
``np.add.reduceat``, then cumulative sums over the score levels. The compiled version that
replaced it must give the same numbers (tests/evaluation/test_auc_replicates.py), and
benchmarks/scoring.py times one against the other. Do not "improve" this file.
"""

from __future__ import annotations

import numpy as np

from bmelearn.evaluation.metrics import _ratio, _segment_sums  # still those of the metrics


def reference_auc_and_ap(score: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ROC AUC and average precision of one score against a binary truth, per replicate."""
    levels, group = np.unique(score, return_inverse=True)  # ascending score levels; ties share one
    pos = _segment_sums(weights * positive, group, len(levels))
    neg = _segment_sums(weights * ~positive, group, len(levels))
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    below = np.cumsum(neg, axis=1) - neg  # negatives scoring strictly lower
    auc = _ratio(np.sum(pos * (below + 0.5 * neg), axis=1), n_pos * n_neg)
    tp, fp = np.cumsum(pos[:, ::-1], axis=1), np.cumsum(neg[:, ::-1], axis=1)  # thresholds from the top
    precision = _ratio(tp, tp + fp)
    ap = _ratio(np.nansum(pos[:, ::-1] * precision, axis=1), n_pos)
    return auc, ap
