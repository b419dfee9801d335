"""A whole study, end to end: bmelearn's ``bmelearn run`` cold (no caches) and warm (its caches
from the cold run) against LibEMG's own script on the same work, in one invocation.

    python benchmarks/end_to_end.py [--data ../shared/data] [--subjects 1-4] [--features HTD]
                                    [--libemg-python ../libemg-venv/bin/python] [--stand-ins]

The study is ``examples/3dc.yaml``: 3DC participants (``--subjects``), 200 ms windows every
100 ms, the features, LDA, trained on the ``train`` session and tested on ``test``. bmelearn
runs it as a user does, with its defaults (1000-resample intervals, statistics, final models,
the report), in a fresh process each time; the wall time is the process's, and the stage
table is the run's own (``run.json``: seconds and peak memory of its processes). LibEMG
(``libemg_end_to_end.py`` in LibEMG's environment, see benchmarks/README.md) loads the same
files, cuts the same windows, extracts the same features and fits LDA, with accuracy only.
Prints each side's wall time and the ratios, and checks that the accuracies agree.

``--stand-ins`` lets ``--subjects`` go beyond the participants in ``--data`` (``../shared/data``
holds 1-4 of the 22): participant k is then a stand-in, participant ((k - 1) mod n) + 1 of the n
there with the lines of every EMG file rotated by 37 samples per round, so that each file is new
to both tools (no cache reuses another participant's work) while the amount of data and work is
that of k real participants. Both tools read the same stand-ins; their accuracies are not the
published ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def subjects(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def stand_ins(data: Path, chosen: list[int], scratch: Path) -> Path:
    """A 3DC folder with the ``chosen`` participants: those in ``data`` linked, the others stand-ins
    (see the module text). Returns the folder that holds ``3dc``."""
    real = sorted(int(p.name.removeprefix("Participant")) for p in (data / "3dc").glob("Participant*"))
    folder = scratch / "data" / "3dc"
    folder.mkdir(parents=True)
    for k in chosen:  # file by file: LibEMG's reader does not follow a linked folder
        source = data / "3dc" / f"Participant{k if k in real else real[(k - 1) % len(real)]}"
        shift = 0 if k in real else 37 * ((k - 1) // len(real))
        for file in source.glob("*/EMG/*.txt"):
            target = folder / f"Participant{k}" / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            if shift:
                lines = file.read_bytes().splitlines()
                target.write_bytes(b"\n".join(lines[shift:] + lines[:shift]) + b"\n")
            else:
                target.symlink_to(file)
    os.sync()  # written out now, not while a tool is timed
    return folder.parent


def bmelearn_run(data: Path, chosen: list[int], features: str, out: Path, cache: Path) -> tuple[float, dict]:
    """Wall seconds of ``bmelearn run`` in a fresh process, and the run's run.json."""
    command = [sys.executable, "-m", "bmelearn.cli", "run", str(ROOT / "examples" / "3dc.yaml"), "--out", str(out),
               "--set", f"dataset.path={data / '3dc'}", "--set", f"dataset.subjects={chosen}",
               "--set", f"features=[{features}]", "--set", f"execution.cache={cache}"]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started, json.loads((out / "run.json").read_text())


def accuracies(folder: Path) -> dict[str, float]:
    summary = json.loads((folder / "summary.json").read_text())
    per_subject = summary["protocols"]["cross_session"]["lda"]["accuracy"]["per_subject"]
    return {s: v["value"] for s, v in per_subject.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--subjects", type=subjects, default=subjects("1-4"), help="e.g. 1-4 or 1-22")
    parser.add_argument("--features", default="HTD")
    parser.add_argument("--libemg-python", type=Path, help="LibEMG's environment (LibEMG side skipped without it)")
    parser.add_argument("--stand-ins", action="store_true", help="stand-ins for participants not in --data")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        if args.stand_ins:
            args.data = stand_ins(args.data.resolve(), args.subjects, scratch)
        results = {}
        if args.libemg_python:
            command = [str(args.libemg_python), str(ROOT / "benchmarks" / "libemg_end_to_end.py"), str(args.data / "3dc"),
                       ",".join(map(str, args.subjects)), args.features]
            started = time.perf_counter()
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            results["LibEMG"] = (time.perf_counter() - started, json.loads(done.stdout.splitlines()[-1]))
        for kind in ("cold", "warm"):
            seconds, info = bmelearn_run(args.data, args.subjects, args.features, scratch / kind, scratch / "cache")
            results[f"bmelearn {kind}"] = (seconds, info)

        print(f"3DC participants {args.subjects[0]}-{args.subjects[-1]}, {args.features}, LDA, cross-session")
        for name, (seconds, info) in results.items():
            peak = max((s["peak_mb"] for s in info.get("stages", [])), default=float("nan"))
            print(f"  {name:14s} {seconds:7.1f} s wall" + (f", peak {peak:.0f} MB" if name != "LibEMG" else ""))
        for kind in ("cold", "warm"):
            stages = results[f"bmelearn {kind}"][1]["stages"]
            print(f"  bmelearn {kind} stages: " + ", ".join(f"{s['stage']} {s['seconds']:.1f} s" for s in stages))
        if "LibEMG" in results:
            libemg_seconds, libemg_accuracy = results["LibEMG"]
            for kind in ("cold", "warm"):
                print(f"  LibEMG / bmelearn {kind}: {libemg_seconds / results[f'bmelearn {kind}'][0]:.2f}x")
            ours = accuracies(scratch / "cold")
            gaps = [abs(100 * ours[str(s)] - libemg_accuracy[str(s)]) for s in args.subjects]
            print(f"  accuracy, largest difference per participant: {max(gaps):.2f} points")


if __name__ == "__main__":
    main()
