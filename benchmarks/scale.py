"""The 3DC evaluation grid on each execution backend: wall time, speed-up, identical results.

    python benchmarks/scale.py [--data ../shared/data] [--workers 2] [--subjects 1 2 3 4]

Participants 1-4, 200 ms windows every 100 ms, LS9 features (computed once, outside the
timing), three models (LDA, SVM, random forest) × three protocols (within-session 4-fold,
cross-session, leave-one-subject-out): 3 × (32 + 4 + 4) = 120 fits. The grid is evaluated
(fits, out-of-fold predictions, per-subject bootstrap intervals) sequentially, on
``--workers`` local processes, and on a Dask local cluster of ``--workers`` single-threaded
workers on loopback. Prints each wall time, the speed-up over sequential, and whether the
results tables are identical.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from bmelearn.compute.backends import Execution, running
from bmelearn.datasets.threedc import load_3dc
from bmelearn.evaluation import evaluate, make_protocol
from bmelearn.features import FeatureExtractor
from bmelearn.models import make_model
from bmelearn.signals.windowing import cut_windows

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"lda": {}, "svm": {}, "rf": {"n_estimators": 100}}
PROTOCOLS = {"within_session": {"n_splits": 4}, "cross_session": {"train": ["train"], "test": ["test"]}, "loso": {}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--subjects", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()

    windows = cut_windows(load_3dc(args.data / "3dc", subjects=args.subjects), 0.2, 0.1)
    X = FeatureExtractor(["LS9"], fs=windows.fs["emg"], ch_names=windows.ch_names["emg"]).fit_transform(windows.X)
    pipelines = {name: make_model(name, random_state=0, **params) for name, params in MODELS.items()}
    protocols = {name: make_protocol(name, **params) for name, params in PROTOCOLS.items()}
    n_fits = len(pipelines) * sum(p.get_n_splits(groups=windows.meta) for p in protocols.values())
    print(f"3DC participants {args.subjects}: {len(windows)} windows × {X.shape[1]} LS9 features; "
          f"{len(pipelines)} models × {len(protocols)} protocols = {n_fits} fits")

    timings, results = {}, {}
    for execution in (Execution("sequential"), Execution("processes", args.workers), Execution("dask", args.workers)):
        with running(execution, announce=print):
            started = time.perf_counter()
            evaluation = evaluate(X, windows.meta, pipelines, protocols, windows.classes, "3dc", n_boot=args.n_boot)
            timings[execution.backend] = time.perf_counter() - started
        results[execution.backend] = evaluation.results
        print(f"{execution.backend:>10} ({execution.n_workers} worker(s)): {timings[execution.backend]:7.1f} s, "
              f"sum of fit times {evaluation.timings['fit_seconds'].sum():.1f} s")

    base = timings["sequential"]
    for backend in ("processes", "dask"):
        same = results[backend].equals(results["sequential"])
        print(f"{backend:>10}: speed-up {base / timings[backend]:.2f}× over sequential; "
              f"results {'identical' if same else 'DIFFERENT'}")
    mean = results["sequential"].query("metric == 'accuracy'").groupby(["protocol", "pipeline"])["value"].mean()
    print(pd.DataFrame({"mean accuracy %": (100 * mean).round(1)}).to_string())


if __name__ == "__main__":
    main()
