"""Speed of every feature and group, against LibEMG's FeatureExtractor on the same windows.

    python benchmarks/features.py [--data ../shared/data] [--libemg-python PATH] [--windows 400]

Two sets of windows: real 3DC windows (participant 1, 200 ms, 10 channels, 1 kHz, from
``--data``) and high-density windows (200 ms, 64 channels, 4 kHz, from bmelearn's EMG
simulator: no real recording of that size ships with the project). For each feature and
group it prints bmelearn's µs per window and windows per second and, when LibEMG's Python
is given (see benchmarks/README.md), LibEMG's µs per window on the same windows, timed just
before bmelearn's on each job and in the same way (best of repeated calls), the ratio (how
many times faster bmelearn is), and whether the values agree. Last, the real-time
check: HTD + LS9 + TDPSD on a single 64-channel 4 kHz window, median of many calls.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bmelearn.datasets import load_dataset
from bmelearn.features import FEATURES, GROUPS, FeatureExtractor, resolve
from bmelearn.signals.windowing import cut_windows

ROOT = Path(__file__).resolve().parent.parent
REALTIME_SET = ["HTD", "LS9", "TDPSD"]


def threedc_windows(data: Path, n: int) -> np.ndarray:
    rs = load_dataset("3dc", path=str(data / "3dc"), subjects=[1], sessions=["train"])
    X = cut_windows(rs, 0.2, 0.1).X
    return np.ascontiguousarray(X[np.random.default_rng(0).choice(len(X), min(n, len(X)), replace=False)])


def hd_windows(n: int) -> np.ndarray:
    rs = load_dataset("simulator", n_subjects=1, n_sessions=1, n_repetitions=1, duration=3.0, fs=4000.0, n_channels=64).select(modalities="emg")
    X = cut_windows(rs, 0.2, 0.1).X
    return np.ascontiguousarray(X[np.random.default_rng(0).choice(len(X), min(n, len(X)), replace=False)])


def time_ours(features: list[str], X: np.ndarray, fs: float, budget: float) -> tuple[float, np.ndarray]:
    """Seconds per window for bmelearn on all of X (best of repeated calls within ``budget``
    seconds, as LibEMG's), and the values."""
    fe = FeatureExtractor(features, fs=fs).fit(X)
    fe.transform(X[:2])  # compile Numba kernels before timing
    best, spent, values = np.inf, 0.0, None
    while spent < budget or values is None:
        start = time.perf_counter()
        values = fe.transform(X)
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
    return best / len(X), values


class LibEMG:
    """LibEMG's FeatureExtractor in its own environment (libemg_worker.py), one job at a time."""

    def __init__(self, python: str, X: np.ndarray, fs: float, budget: float):
        self.tmp = tempfile.TemporaryDirectory()
        src = Path(self.tmp.name) / "in.npz"
        np.savez(src, windows=X, fs=fs, budget=budget)
        worker = Path(__file__).with_name("libemg_worker.py")
        self.process = subprocess.Popen([python, str(worker), str(src), self.tmp.name], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def time(self, job: str) -> dict[str, np.ndarray]:
        """Seconds per window (``seconds``), windows timed (``n``) and each feature's values."""
        self.process.stdin.write(job + "\n")
        self.process.stdin.flush()
        if json.loads(self.process.stdout.readline() or "null") != job:
            raise RuntimeError(f"the LibEMG worker failed on {job} (its error is above)")
        with np.load(Path(self.tmp.name) / f"{job}.npz") as out:
            return dict(out)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()
        self.tmp.cleanup()


# LibEMG reports the prediction-error polynomial (x_n + Σ α_k x_{n−k} = e_n); bmelearn the AR
# coefficients of x_n = Σ a_k x_{n−k} + e_n, so a_k = −α_k.
SIGN = {"AR": -1.0}
LIBEMG_PART_MAJOR = {"DFTR", "WENG", "WV", "WWL", "WENT"}  # one block of channels per band or level


def agreement(ours: np.ndarray, theirs: np.ndarray, n_channels: int | None) -> str:
    """'same' when the values agree to 1e-6 (relative), else the median relative difference.
    Several values per channel are part-major in bmelearn and channel-major in LibEMG except
    for the features in LIBEMG_PART_MAJOR (``n_channels``: None where the layouts agree)."""
    if ours.shape != theirs.shape:
        return "layout"
    n_parts = ours.shape[1] // n_channels if n_channels else 1
    if n_parts > 1:
        ours = ours.reshape(len(ours), n_parts, n_channels).transpose(0, 2, 1).reshape(len(ours), -1)
    scale = np.maximum(np.abs(theirs), 1e-12)
    rel = np.abs(ours - theirs) / scale
    finite = np.isfinite(rel)
    if finite.all() and rel.max() < 1e-6:
        return "same"
    return f"{np.median(rel[finite]):.1e}" if finite.any() else "nonfinite"


def bench(name: str, X: np.ndarray, fs: float, jobs: list[str], libemg_python: str | None, budget: float) -> list[dict]:
    """Per job, LibEMG's time and then bmelearn's, one right after the other."""
    print(f"\n{name}: {X.shape[0]} windows of {X.shape[1]} channels x {X.shape[2]} samples at {fs:g} Hz")
    libemg = LibEMG(libemg_python, X, fs, budget) if libemg_python else None
    rows = []
    header = f"{'job':10s} {'bmelearn us/win':>15s} {'windows/s':>11s}"
    print(header + (f" {'LibEMG us/win':>14s} {'speed-up':>9s}  agreement" if libemg else ""), flush=True)
    for job in jobs:
        members = resolve([job])
        theirs = libemg.time(job) if libemg else {}
        seconds, values = time_ours(members, X, fs, budget)
        row = {"set": name, "job": job, "us_per_window": seconds * 1e6, "windows_per_s": 1 / seconds}
        line = f"{job:10s} {seconds * 1e6:15.1f} {1 / seconds:11.0f}"
        if libemg:
            n = int(theirs["n"])
            row["libemg_us_per_window"] = float(theirs["seconds"]) * 1e6
            row["speedup"] = row["libemg_us_per_window"] / row["us_per_window"]
            names = FeatureExtractor(members, fs=fs).fit(X).feature_names_out_
            agree = []
            for f in members:
                if f in theirs:
                    cols = [i for i, c in enumerate(names) if c.split("_")[0] == f]
                    per_channel = X.shape[1] if FEATURES[f].over == "channel" and f not in LIBEMG_PART_MAJOR else None
                    agree.append(f"{f} {agreement(SIGN.get(f, 1.0) * values[:n, cols], theirs[f], per_channel)}")
            row["agreement"] = agree
            line += f" {row['libemg_us_per_window']:14.1f} {row['speedup']:8.1f}x  {', '.join(agree)}"
        print(line, flush=True)
        rows.append(row)
    if libemg:
        libemg.close()
    return rows


def realtime(X: np.ndarray, fs: float, repeats: int = 500) -> float:
    """Median µs of HTD + LS9 + TDPSD on one window, one call at a time (the online case)."""
    fe = FeatureExtractor(REALTIME_SET, fs=fs).fit(X[:1])
    times = []
    for i in range(repeats):
        window = X[i % len(X)][None]
        start = time.perf_counter()
        fe.transform(window)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--libemg-python", help="the python of a virtual environment with libemg installed")
    parser.add_argument("--windows", type=int, default=400, help="windows per set (default 400)")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds spent timing each job (default 1)")
    parser.add_argument("--only", help="comma-separated features or groups (default: every group, then every feature)")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()
    jobs = args.only.split(",") if args.only else list(GROUPS) + [f for f in FEATURES if f not in GROUPS]
    if args.libemg_python:  # LibEMG has no IMU/quaternion features or AR9 (its COMB silently drops AR9)
        jobs = [j for j in jobs if all(FEATURES[f].family not in ("motion", "quaternion") for f in resolve([j]))]
        jobs = [j for j in jobs if j not in ("AR9", "DOMFREQ", "SPECENT", "ENERGY", "IMU", "QUAT", "COMB")]
    rows = []
    if (args.data / "3dc").is_dir():
        rows += bench("3DC", threedc_windows(args.data, args.windows), 1000.0, jobs, args.libemg_python, args.budget)
    else:
        print(f"{args.data / '3dc'} not found: skipping the real 3DC windows (give --data)", file=sys.stderr)
    hd = hd_windows(args.windows)
    rows += bench("HD-EMG", hd, 4000.0, jobs, args.libemg_python, args.budget)
    us = realtime(hd, 4000.0)
    verdict = "within" if us < 1000 else "OVER"
    print(f"\nreal time: {' + '.join(REALTIME_SET)} on one 64-channel 4 kHz 200 ms window: {us:.0f} us ({verdict} the 1 ms budget)")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "realtime_us": us}, indent=1))


if __name__ == "__main__":
    main()
