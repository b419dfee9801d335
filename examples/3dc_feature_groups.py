"""Accuracy of every feature group on 3DC participants 1–4, LibEMG's feature-showcase pipeline:
no filtering, 200 ms windows every 100 ms, LDA, trained on ``train/`` and tested on ``test/``.

    python examples/3dc_feature_groups.py [--data ../shared/data] [--groups HTD,LS9]

Prints a Markdown table (accuracy % per participant and mean) and, where LibEMG publishes
one, the reference value (LibEMG feature showcase).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bmelearn.datasets import load_dataset
from bmelearn.evaluation.evaluate import evaluate
from bmelearn.evaluation.protocols import CrossSession
from bmelearn.features import GROUPS, FeatureExtractor
from bmelearn.models import make_model
from bmelearn.signals.windowing import cut_windows

SUBJECTS = [1, 2, 3, 4]
PUBLISHED = {
    "HTD": (90.3, 81.3, 78.6, 88.7),
    "LS9": (92.1, 86.8, 79.9, 89.8),
    "TDPSD": (90.8, 83.9, 78.1, 91.2),
    "TDAR": (90.8, 84.5, 80.0, 91.5),
}
EMG_GROUPS = ["HTD", "LS4", "LS9", "TDPSD", "TDAR", "TSTD", "DFTR", "ITD", "HJORTH", "COMB", "MSWT"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--groups", default=",".join(EMG_GROUPS))
    args = parser.parse_args()
    rs = load_dataset("3dc", path=str(args.data / "3dc"), subjects=SUBJECTS)
    windows = cut_windows(rs, 0.2, 0.1)
    X, meta = windows.X, windows.meta
    print("| group | " + " | ".join(f"P{s}" for s in SUBJECTS) + " | mean | LibEMG (published) | extraction s |")
    print("|---" * (len(SUBJECTS) + 4) + "|")
    for group in args.groups.split(","):
        assert group in GROUPS, group
        start = time.perf_counter()
        F = FeatureExtractor([group], fs=windows.fs["emg"]).fit_transform(X)
        seconds = time.perf_counter() - start
        results = evaluate(F, meta, {"lda": make_model("lda", random_state=0)}, {"cross_session": CrossSession(["train"], ["test"])},
                           windows.classes, n_boot=0).results
        acc = results[(results.metric == "accuracy")].groupby("subject")["value"].mean()
        acc = acc.set_axis(acc.index.astype(str)).reindex([str(s) for s in SUBJECTS])
        values = 100 * acc.to_numpy(dtype=float)
        published = PUBLISHED.get(group)
        ref = " / ".join(f"{v:.1f}" for v in published) + f" (mean {np.mean(published):.1f})" if published else "–"
        print(f"| {group} | " + " | ".join(f"{v:.1f}" for v in values) + f" | {values.mean():.1f} | {ref} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
