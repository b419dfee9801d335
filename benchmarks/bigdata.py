"""Features of a simulated high-density EMG dataset larger than memory, with peak memory.

    python benchmarks/bigdata.py [--folder /tmp/bmelearn-hd] [--gigabytes 20] [--keep]

1. Writes ``--gigabytes`` of simulated 64-channel, 4 kHz surface EMG as float32 ``.npy``
   files of 256 MiB (about 4.4 min of signal each), generated 10 s at a time: Gaussian noise
   under a per-channel activation envelope, whose muscles (channels) depend on the class.
   The files are laid out as ``S{subject}/s1/{label}_{repetition}.npy``: 5 subjects × 3
   classes × repetitions.
2. In a child process, memory-maps each file and computes HTD + RMS features (200 ms
   windows every 100 ms) a block of windows at a time (:meth:`bmelearn.pipeline.SignalPipeline.transform`).
3. Runs the whole experiment on the files, as ``bmelearn run`` does (dataset ``files``:
   lazily read; quality checks and per-trial features as units on 2 local processes; LDA
   under leave-one-subject-out), in a child process.
4. Prints the data volume, each step's wall time and throughput (MB/s of float32 signal),
   and its peak memory against the 4 GB budget: for step 2 the child's maximum RSS (as
   ``/usr/bin/time -v`` reports it); for step 3, whose work is spread over processes, the
   peak of the summed proportional set size (PSS: shared pages split between the processes
   that map them) of the run's whole process tree, sampled every 0.5 s, while it computes
   the features (until its feature cache holds every trial) and over the whole run.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil

FS = 4000.0
CHANNELS = 64
FILE_BYTES = 256 * 2**20
FEATURES = ["HTD", "RMS"]
SUBJECTS = 5
CLASSES = ["rest", "flexion", "extension"]
PATTERN = "S{subject}/{session}/{label}_{repetition}.npy"
NAMES = [f"HD{i + 1}" for i in range(CHANNELS)]


def generate(folder: Path, gigabytes: float, seed: int = 0) -> list[Path]:
    """Simulated recordings until ``gigabytes`` (10^9 bytes) of float32 are written: in turn each
    subject, class and repetition. Rest activates no channel; flexion the first half of the
    grid, extension the second half, each subject with a gain of its own."""
    samples = FILE_BYTES // (4 * CHANNELS)
    n_files = int(np.ceil(gigabytes * 1e9 / FILE_BYTES))
    rng = np.random.default_rng(seed)
    gains = rng.uniform(0.5, 1.5, SUBJECTS)
    block = int(10 * FS)
    paths = []
    for i in range(n_files):
        subject, label, repetition = i % SUBJECTS, (i // SUBJECTS) % len(CLASSES), i // (SUBJECTS * len(CLASSES))
        path = folder / PATTERN.format(subject=subject + 1, session="s1", label=CLASSES[label], repetition=repetition)
        paths.append(path)
        if path.is_file() and path.stat().st_size > FILE_BYTES:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        active = np.zeros((CHANNELS, 1), dtype=np.float32)
        if label:
            active[(label - 1) * CHANNELS // 2:label * CHANNELS // 2] = gains[subject]
        temporary = path.with_name(f".{path.name}")
        out = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.float32, shape=(CHANNELS, samples))
        phase = rng.uniform(0, 2 * np.pi, CHANNELS)[:, None]
        for start in range(0, samples, block):
            n = min(block, samples - start)
            t = (start + np.arange(n)) / FS
            envelope = 0.05 + active * np.clip(np.sin(2 * np.pi * 0.2 * t + phase), 0, None) ** 2
            out[:, start:start + n] = rng.standard_normal((CHANNELS, n), dtype=np.float32) * envelope.astype(np.float32)
        out.flush()
        del out
        temporary.rename(path)
    return paths


def extract(folder: Path) -> None:
    """Step 2 (in a child process, so that its peak memory is its own)."""
    from bmelearn.io import map_npy
    from bmelearn.pipeline import SignalPipeline
    from bmelearn.signals.recording import Recording

    n_windows, pipeline = 0, None
    for path in sorted(folder.glob("S*/s1/*.npy")):
        recording = {"emg": Recording(map_npy(path), FS, NAMES, ("emg",) * len(NAMES), (), "emg", {"source": str(path)})}
        pipeline = pipeline or SignalPipeline.fit(recording, [], {}, 0.2, 0.1, False, {"emg": FEATURES})
        X, _ = pipeline.transform(recording)
        n_windows += len(X)
    print(n_windows)


def experiment(folder: Path, out: Path, n_trials: int) -> dict:
    """Step 3: ``bmelearn run`` on the files, in a child process: its wall time, the peak summed
    PSS of its process tree while it computes the features (until the feature cache holds
    every trial) and over the whole run, and the run's summary."""
    cache = out.with_name("cache")
    shutil.rmtree(cache, ignore_errors=True)
    config = {
        "name": "hd-emg", "seed": 0,
        "dataset": {"name": "files", "path": str(folder), "pattern": PATTERN, "fs": FS, "ch_names": NAMES,
                    "classes": CLASSES},
        "windows": {"length": 0.2, "step": 0.1}, "features": FEATURES, "models": ["lda"], "protocols": ["loso"],
        "evaluation": {"n_boot": 200}, "execution": {"backend": "processes", "workers": 2, "cache": str(cache)},
    }
    path = out.with_suffix(".yaml")
    path.write_text(json.dumps(config))  # JSON is YAML
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", "from bmelearn.cli import app; app()", "run", str(path), "--out", str(out),
                              "--overwrite"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root, peak, features = psutil.Process(child.pid), {"features": 0, "run": 0}, None
    while child.poll() is None:
        total = 0
        for process in [root, *root.children(recursive=True)]:
            try:
                total += process.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        peak["run"] = max(peak["run"], total)
        if features is None:
            peak["features"] = max(peak["features"], total)
            if len(list(cache.glob("*.npz"))) == n_trials:
                features = time.perf_counter() - started
        time.sleep(0.5)
    if child.returncode:
        raise SystemExit(f"bmelearn run failed:\n{child.stderr.read()[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {"seconds": time.perf_counter() - started, "features": features, "peak": peak, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/bmelearn-hd"))
    parser.add_argument("--gigabytes", type=float, default=20.0)
    parser.add_argument("--keep", action="store_true", help="keep the simulated files")
    parser.add_argument("--extract", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.extract:
        extract(args.folder)
        return

    started = time.perf_counter()
    paths = generate(args.folder / "data", args.gigabytes)
    volume = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} recordings, {volume / 1e9:.1f} GB of float32 ({CHANNELS} channels at {FS:g} Hz, "
          f"{volume / 4 / CHANNELS / FS / 3600:.1f} h of signal), written in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    child = subprocess.run([sys.executable, __file__, "--folder", str(args.folder / "data"), "--extract"],
                           capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: kB
    n_windows = int(child.stdout.split()[-1])
    print(f"streaming: features {'+'.join(FEATURES)} of {n_windows} windows (200 ms, step 100 ms) in {seconds:.0f} s: "
          f"{volume / 1e6 / seconds:.0f} MB/s, {n_windows / seconds:.0f} windows/s; peak RSS {peak / 1e9:.2f} GB "
          f"({'under' if peak < 4e9 else 'OVER'} the 4 GB budget)")

    run = experiment(args.folder / "data", args.folder / "run", len(paths))
    accuracy = run["summary"]["protocols"]["loso"]["lda"]["accuracy"]
    budget = {k: "under" if v < 4e9 else "OVER" for k, v in run["peak"].items()}
    print(f"bmelearn run (files dataset, 2 processes, LDA, leave-one-subject-out, {run['summary']['n_windows']} windows): "
          f"loading, quality checks and features in {run['features']:.0f} s ({volume / 1e6 / run['features']:.0f} MB/s), "
          f"peak PSS of the process tree {run['peak']['features'] / 1e9:.2f} GB ({budget['features']} the 4 GB budget); "
          f"whole run {run['seconds']:.0f} s, peak PSS {run['peak']['run'] / 1e9:.2f} GB ({budget['run']} the 4 GB budget); "
          f"accuracy {100 * accuracy['mean']:.1f} % [{100 * accuracy['ci_low']:.1f}, {100 * accuracy['ci_high']:.1f}]")
    if not args.keep:
        shutil.rmtree(args.folder)


if __name__ == "__main__":
    main()
