"""Features of a simulated high-density EMG dataset larger than memory, with peak memory.

    python benchmarks/bigdata.py [--folder /tmp/bmelearn-hd] [--gigabytes 20] [--keep]

1. Writes ``--gigabytes`` of simulated 64-channel, 4 kHz surface EMG as float32 ``.npy``
   files of 256 MiB (about 17 min of signal each), generated 10 s at a time: Gaussian noise
   under a per-channel activation envelope (bursts of contraction over a resting level).
2. In a child process, memory-maps each file and computes HTD + RMS features (200 ms
   windows every 100 ms) chunk by chunk (:func:`bmelearn.streaming.stream_features`),
   writing one feature file per recording.
3. Prints the data volume, the wall time and throughput (MB/s of float32 signal) of the
   feature step, and its peak resident memory (the child's maximum RSS, as ``/usr/bin/time
   -v`` reports it), against the 4 GB budget.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FS = 4000.0
CHANNELS = 64
FILE_BYTES = 256 * 2**20
FEATURES = ["HTD", "RMS"]


def generate(folder: Path, gigabytes: float, seed: int = 0) -> list[Path]:
    """Simulated recordings until ``gigabytes`` (10^9 bytes) of float32 are written."""
    folder.mkdir(parents=True, exist_ok=True)
    samples = FILE_BYTES // (4 * CHANNELS)
    n_files = int(np.ceil(gigabytes * 1e9 / FILE_BYTES))
    rng = np.random.default_rng(seed)
    block = int(10 * FS)
    paths = []
    for i in range(n_files):
        path = folder / f"hd_{i:03d}.npy"
        paths.append(path)
        if path.is_file() and path.stat().st_size > FILE_BYTES:
            continue
        out = np.lib.format.open_memmap(folder / f".{path.name}", mode="w+", dtype=np.float32, shape=(CHANNELS, samples))
        phase = rng.uniform(0, 2 * np.pi, CHANNELS)[:, None]
        for start in range(0, samples, block):
            n = min(block, samples - start)
            t = (start + np.arange(n)) / FS
            envelope = 0.05 + np.clip(np.sin(2 * np.pi * 0.2 * t + phase), 0, None) ** 2
            out[:, start:start + n] = rng.standard_normal((CHANNELS, n), dtype=np.float32) * envelope.astype(np.float32)
        out.flush()
        del out
        (folder / f".{path.name}").rename(path)
    return paths


def extract(folder: Path) -> None:
    """The feature step (run in a child process, so that its peak memory is its own)."""
    from bmelearn.streaming import open_signal, stream_features

    names = [f"HD{i + 1}" for i in range(CHANNELS)]
    n_windows = 0
    for path in sorted(folder.glob("hd_*.npy")):
        signal = open_signal(path)
        X, _ = stream_features(signal, FS, 0.2, 0.1, FEATURES, names)
        np.save(folder / "features" / path.name, X)
        n_windows += len(X)
        del signal
    print(n_windows)


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
    paths = generate(args.folder, args.gigabytes)
    volume = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} recordings, {volume / 1e9:.1f} GB of float32 ({CHANNELS} channels at {FS:g} Hz, "
          f"{volume / 4 / CHANNELS / FS / 3600:.1f} h of signal), written in {time.perf_counter() - started:.0f} s")
    (args.folder / "features").mkdir(exist_ok=True)
    started = time.perf_counter()
    child = subprocess.run([sys.executable, __file__, "--folder", str(args.folder), "--extract"],
                           capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: kB
    n_windows = int(child.stdout.split()[-1])
    print(f"features {'+'.join(FEATURES)} of {n_windows} windows (200 ms, step 100 ms) in {seconds:.0f} s: "
          f"{volume / 1e6 / seconds:.0f} MB/s, {n_windows / seconds:.0f} windows/s")
    print(f"peak resident memory of the feature step: {peak / 1e9:.2f} GB "
          f"({'under' if peak < 4e9 else 'OVER'} the 4 GB budget)")
    if not args.keep:
        shutil.rmtree(args.folder)


if __name__ == "__main__":
    main()
