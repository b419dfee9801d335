"""Times LibEMG's FeatureExtractor; run by features.py inside LibEMG's own environment.

Usage: python libemg_worker.py IN.npz OUTDIR. IN holds ``windows`` (n, ch, t), ``fs`` and
``budget`` (seconds per job). The worker then reads job names (a feature or group), one per
line, from standard input; for each it times LibEMG, writes OUTDIR/JOB.npz (the seconds per
window, the number of windows timed and their features) and answers the job's name on
standard output. It stays alive between jobs so that features.py can time bmelearn right
after LibEMG on each job: on a shared machine, both then see the same conditions.
"""

import contextlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

with contextlib.redirect_stdout(sys.stderr):  # standard output carries the answers only
    from libemg.feature_extractor import FeatureExtractor

FS_PARAMS = ("MDF_fs", "MNF_fs", "SM_fs", "DFTR_fs", "WENG_fs", "WV_fs", "WWL_fs", "WENT_fs")


def time_job(fe: FeatureExtractor, features: list[str], windows: np.ndarray, fs: float, budget: float) -> dict:
    """Best of repeated calls on as many windows as one call can handle within ``budget``."""
    # only the sampling rates of this job's features: LibEMG matches parameters by substring
    # ("WL_" also picks "WWL_fs"), so a full dictionary breaks WL
    params = {p: fs for p in FS_PARAMS if p.split("_")[0] in features}
    start = time.perf_counter()
    fe.extract_features(features, windows[:1], params)  # one window first, to size the batch
    one = time.perf_counter() - start
    n = int(min(len(windows), max(1, budget / max(one, 1e-9))))
    best, spent, values = np.inf, 0.0, None
    while values is None or spent < budget:
        start = time.perf_counter()
        values = fe.extract_features(features, windows[:n], params)
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
    out = {"seconds": np.array(best / n), "n": np.array(n)}
    out.update({name: np.asarray(value, dtype=np.float64).reshape(n, -1) for name, value in values.items()})
    return out


def main(src: str, dst: str) -> None:
    data = np.load(src)
    windows, fs, budget = data["windows"], float(data["fs"]), float(data["budget"])
    fe = FeatureExtractor()
    groups = fe.get_feature_groups()
    warnings.simplefilter("ignore")
    for line in sys.stdin:
        job = line.strip()
        result = time_job(fe, groups.get(job, [job]), windows, fs, budget)
        np.savez(Path(dst) / f"{job}.npz", **result)
        print(json.dumps(job), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
