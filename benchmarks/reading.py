"""Reading the 3DC EMG text files: pandas (before), pyarrow (now), and the cache of parsed recordings.

    python benchmarks/reading.py [--data ../shared/data] [--subjects 1 2 3 4] [--repeat 3]

Reads every EMG file of the 3DC participants (``ParticipantN/{train,test}/EMG/*.txt``: one
sample per line, 10 comma-separated integers) in one process, each way ``--repeat`` times in
turn, and prints the best MB/s (of the text files' size) of each, wall clock and per second of
CPU time (less sensitive to a shared machine), and its ratio to the reader before:

- ``pandas (before)``: the reader as it was (the text decoded and split into lines, then
  ``pandas.read_csv`` with pandas' default converter);
- ``pandas (fallback)``: today's fallback, the same call with the correctly rounded converter
  (``float_precision="round_trip"``), which reads what pyarrow refuses and words the errors;
- ``pyarrow``: :func:`bmelearn.io.read_matrix` (the file's bytes to pyarrow's CSV reader);
- ``pyarrow in a unit``: the same inside :func:`~bmelearn.compute.backends.single_threaded`;
- ``cache, cold``: :func:`~bmelearn.io.read_matrix` with an empty cache folder (parse + write);
- ``cache, warm``: the same with every file in the cache (no text parsed).

Every way's arrays are checked equal to the bit to the reader before. Last, one large file
(every file of the first participant, one after the other) is parsed on pyarrow's threads
against one thread, as in a unit of work; the machine's cores bound that ratio. Files are read
from the page cache after the first pass, so the numbers are the parsers', not the disk's.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from bmelearn.compute.backends import single_threaded
from bmelearn.io import read_matrix
from bmelearn.io import text as text_module
from bmelearn.io.text import _parse_pandas, parse_bytes, recordings_cache

ROOT = Path(__file__).resolve().parents[1]


def before(path: Path) -> np.ndarray:
    """The reader before pyarrow, on a well-formed comma-separated file: the whole text decoded and
    split into lines (for the delimiter and the header), then pandas' default converter."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    lines = text.lstrip().splitlines()
    assert "," in lines[0]
    data = pd.read_csv(io.StringIO(text.lstrip()), sep=",", header=None, dtype=np.float64, engine="c",
                       skip_blank_lines=True).to_numpy()
    assert not np.isnan(data).any()
    return data


def fallback(path: Path) -> np.ndarray:
    return _parse_pandas(path.read_bytes().decode("utf-8-sig", errors="replace"), path)


def timed(read: Callable[[Path], object], files: list[Path], setup: Callable[[], None] | None = None) -> tuple[float, float, list]:
    if setup is not None:
        setup()
    wall, cpu = time.perf_counter(), time.process_time()
    out = [read(path) for path in files]
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--subjects", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    files = sorted(p for s in args.subjects for p in (args.data / "3dc" / f"Participant{s}").glob("*/EMG/*.txt"))
    if not files:
        raise SystemExit(f"no 3DC EMG file under {args.data / '3dc'} for participants {args.subjects}")
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    print(f"3DC participants {args.subjects}: {len(files)} EMG files, {megabytes:.1f} MB of text")

    cache = Path(tempfile.mkdtemp(prefix="bmelearn-reading-"))
    cold = cache / "cold"

    def in_cache(folder: Path) -> Callable[[Path], np.ndarray]:
        def read(path: Path) -> np.ndarray:
            with recordings_cache(folder):
                return read_matrix(path)[0]
        return read

    def in_unit(path: Path) -> np.ndarray:
        with single_threaded():
            return read_matrix(path)[0]

    ways: dict[str, tuple[Callable[[Path], object], Callable[[], None] | None]] = {
        "pandas (before)": (before, None),
        "pandas (fallback)": (fallback, None),
        "pyarrow": (lambda p: read_matrix(p)[0], None),
        "pyarrow in a unit": (in_unit, None),
        "cache, cold": (in_cache(cold), lambda: shutil.rmtree(cold, ignore_errors=True)),
        "cache, warm": (in_cache(cache / "warm"), None),
    }
    try:
        for path in files:  # the warm cache filled before anything is timed
            in_cache(cache / "warm")(path)
        reference = [before(p) for p in files]  # also brings the files into the page cache
        best: dict[str, tuple[float, float]] = {}
        for _ in range(args.repeat):
            for name, (read, setup) in ways.items():
                wall, cpu, out = timed(read, files, setup)
                for path, a, b in zip(files, reference, out, strict=True):
                    if a.shape != b.shape or not np.array_equal(a.view(np.uint64), b.view(np.uint64)):
                        raise SystemExit(f"{name}: {path} differs from the reader before")
                previous = best.get(name, (np.inf, np.inf))
                best[name] = (min(previous[0], wall), min(previous[1], cpu))
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    base_wall, base_cpu = best["pandas (before)"]
    print(f"{'':>20} {'MB/s':>8} {'MB/cpu-s':>9} {'× before':>9}   (best of {args.repeat}; arrays equal to the bit)")
    for name, (wall, cpu) in best.items():
        print(f"{name:>20} {megabytes / wall:8.0f} {megabytes / cpu:9.0f} {base_wall / wall:8.1f}×")

    first = sorted(args.data.glob(f"3dc/Participant{args.subjects[0]}/*/EMG/*.txt"))
    big = b"\n".join(p.read_bytes().rstrip(b"\n") for p in first) + b"\n"
    size = len(big) / 1e6
    times: dict[str, float] = {}
    for _ in range(args.repeat):
        for name in ("threads", "one thread"):
            with single_threaded() if name == "one thread" else contextlib.nullcontext():
                assert text_module._threads(len(big))[0] == (name == "threads")
                started = time.perf_counter()
                parse_bytes(big, "big")
                times[name] = min(times.get(name, np.inf), time.perf_counter() - started)
    print(f"one file of {size:.1f} MB: pyarrow's threads {size / times['threads']:.0f} MB/s, "
          f"one thread (a unit of work) {size / times['one thread']:.0f} MB/s: "
          f"{times['one thread'] / times['threads']:.1f}×")


if __name__ == "__main__":
    main()
