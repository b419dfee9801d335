"""Speed of the bootstrap scoring of one participant: ROC AUC and PR AUC over the replicates.

    python benchmarks/scoring.py [--classes 11] [--windows 1000] [--n-boot 1000] [--large 20000] [--repeat 3]

Simulates the test windows of one participant (``--classes`` gestures, ``--windows`` windows in
trials of 12 windows, class probabilities of a softmax, rounded to 4 decimals so that some scores
tie) and the replicate weights a run draws for them (:func:`replicate_weights`: the estimate,
``--n-boot`` resamples of the trials within each class, the jackknife over the trials). Then a
larger, pooled case: ``--large`` windows of 20 subjects, resampled by subject. For each case it
times, in the same invocation and on one thread (as a run scores a participant),
the ROC AUC and PR AUC of every class with the implementation before issue 18
(tests/evaluation/reference_auc.py: per-level sums through ``np.add.reduceat``) and with the
current one (the scores sorted once, one compiled pass for a block of replicates side by side,
one weight per resampled trial or subject), then every metric of
:func:`metric_replicates` with each, and prints the seconds (best of ``--repeat``), the
speed-up, and the largest difference between the two (0: the same numbers).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from bmelearn.evaluation import metrics
from bmelearn.evaluation.bootstrap import replicate_weights

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "evaluation"))
from reference_auc import reference_auc_and_ap  # noqa: E402  (the one copy of the old code, shared with the tests)

WINDOWS_PER_TRIAL = 12


def participant(rng: np.random.Generator, n_classes: int, n_windows: int, n_subjects: int = 1):
    """Labels, predictions, probabilities (n_windows, n_classes), trial and subject of each window."""
    classes = [f"gesture {i}" for i in range(n_classes)]
    trial = np.arange(n_windows) // WINDOWS_PER_TRIAL
    label = trial % n_classes
    logits = rng.normal(size=(n_windows, n_classes)) + 2.0 * np.eye(n_classes)[label]
    scores = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).round(4)
    names = np.array(classes)
    subject = trial * n_subjects // (trial.max() + 1)
    return names[label], names[scores.argmax(axis=1)], scores, trial.astype(str), subject.astype(str), classes


def best_of(repeat: int, function, *args):
    """The smallest wall time of ``repeat`` calls, and the last result."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - started)
    return min(times), result


def all_classes(auc_and_ap, truth, scores, classes, weights, clusters):
    return [auc_and_ap(scores[:, i], truth == c, weights, clusters) for i, c in enumerate(classes)]


def reference(score, positive, weights, clusters=None):
    """The implementation before issue 18; it reads every window's weight (no clusters)."""
    return reference_auc_and_ap(score, positive, weights)


def with_auc(auc_and_ap, *args):
    saved, metrics._auc_and_ap = metrics._auc_and_ap, auc_and_ap
    try:
        return metrics.metric_replicates(*args)
    finally:
        metrics._auc_and_ap = saved


def largest_difference(old, new) -> float:
    old, new = np.concatenate([np.ravel(v) for v in old]), np.concatenate([np.ravel(v) for v in new])
    if not np.array_equal(np.isnan(old), np.isnan(new)):
        return np.inf
    return float(np.nanmax(np.abs(old - new), initial=0.0))


def case(title: str, truth, predicted, scores, classes, weights, clusters, repeat: int) -> None:
    print(f"\n{title}: {len(truth)} windows, {len(classes)} classes, {weights.shape[0]} weight rows "
          f"(estimate, resamples, jackknife)")
    started = time.perf_counter()
    metrics._auc_and_ap(scores[:, 0], truth == classes[0], weights[:2])
    print(f"  first call of the compiled pass (compiling or loading Numba's cache): {time.perf_counter() - started:.2f} s")
    codes = np.unique(clusters, return_inverse=True)[1].ravel()
    old_t, old = best_of(repeat, all_classes, reference, truth, scores, classes, weights, codes)
    new_t, new = best_of(repeat, all_classes, metrics._auc_and_ap, truth, scores, classes, weights, codes)
    diff = largest_difference([v for pair in old for v in pair], [v for pair in new for v in pair])
    print(f"  ROC AUC + PR AUC, all classes: before {old_t:8.3f} s   now {new_t:8.3f} s   "
          f"speed-up {old_t / new_t:6.1f}×   largest difference {diff:.3g}")
    args = (truth, predicted, classes, weights, scores, codes)
    old_t, old = best_of(repeat, with_auc, reference, *args)
    new_t, new = best_of(repeat, with_auc, metrics._auc_and_ap, *args)
    diff = largest_difference(old.values(), [new[k] for k in old])
    print(f"  every metric (metric_replicates): before {old_t:8.3f} s   now {new_t:8.3f} s   "
          f"speed-up {old_t / new_t:6.1f}×   largest difference {diff:.3g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, default=11)
    parser.add_argument("--windows", type=int, default=1000)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--large", type=int, default=20_000, help="windows of the pooled case (0: skip it)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        truth, predicted, scores, trial, _, classes = participant(rng, args.classes, args.windows)
        weights = replicate_weights(trial, truth, args.n_boot, rng)
        case("One participant, trials resampled within each class", truth, predicted, scores, classes, weights, trial,
             args.repeat)
        if args.large:
            truth, predicted, scores, _, subject, classes = participant(rng, args.classes, args.large, n_subjects=20)
            weights = replicate_weights(subject, np.zeros(len(truth)), args.n_boot, rng)
            case("Pooled subjects, resampled by subject", truth, predicted, scores, classes, weights, subject,
                 args.repeat)


if __name__ == "__main__":
    main()
