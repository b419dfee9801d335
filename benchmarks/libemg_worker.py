"""Times LibEMG's FeatureExtractor; run by features.py inside LibEMG's own environment.

Usage: python libemg_worker.py IN.npz OUT.npz. IN holds ``windows`` (n, ch, t), ``fs`` and
``jobs`` (names of features or groups, one per job) and ``budget`` (seconds per job).
OUT holds, per job, the seconds per window and the features of the windows it timed.
"""

import json
import sys
import time
import warnings

import numpy as np
from libemg.feature_extractor import FeatureExtractor

FS_PARAMS = ("MDF_fs", "MNF_fs", "SM_fs", "DFTR_fs", "WENG_fs", "WV_fs", "WWL_fs", "WENT_fs")


def main(src: str, dst: str) -> None:
    data = np.load(src)
    windows, fs, budget = data["windows"], float(data["fs"]), float(data["budget"])
    jobs = json.loads(str(data["jobs"]))
    fe = FeatureExtractor()
    groups = fe.get_feature_groups()
    out = {}
    warnings.simplefilter("ignore")
    for job in jobs:
        features = groups.get(job, [job])
        # only the sampling rates of this job's features: LibEMG matches parameters by substring
        # ("WL_" also picks "WWL_fs"), so a full dictionary breaks WL
        params = {p: fs for p in FS_PARAMS if p.split("_")[0] in features}
        start = time.perf_counter()
        fe.extract_features(features, windows[:1], params)  # one window first, to size the batch
        one = time.perf_counter() - start
        n = int(min(len(windows), max(1, budget / max(one, 1e-9))))
        start = time.perf_counter()
        values = fe.extract_features(features, windows[:n], params)
        seconds = (time.perf_counter() - start) / n
        out[f"{job}:seconds"] = np.array(seconds)
        out[f"{job}:n"] = np.array(n)
        for name, value in values.items():
            out[f"{job}:{name}"] = np.asarray(value, dtype=np.float64).reshape(n, -1)
        print(f"  LibEMG {job:10s} {n:5d} windows {seconds * 1e6:12.1f} us/window", file=sys.stderr, flush=True)
    np.savez(dst, **out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
