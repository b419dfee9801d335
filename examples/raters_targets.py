"""Which target to learn from raters who disagree? Simulated data and simulated raters.

Runs ``examples/raters.yaml`` (the simulator; five simulated raters of accuracy 0.9, 0.8,
0.7, 0.6 and 0.55) once per seed and target: the majority, the Dawid–Skene latent truth and
the soft labels, and, as the ceiling, the true labels themselves (no raters). Each model is
scored against the hidden truth the raters were drawn from (the "dataset labels" row of
rater_scores.csv: accuracy over all test windows).

    python examples/raters_targets.py [--seeds 0 1 2 3 4] [--models lda] [--per-item 3]

Prints a Markdown table (mean accuracy over seeds, and each target's difference from the
majority, paired by seed, with its smallest and largest value); its first row is the share of
trials whose learnt label is the true one (soft labels: their majority).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from bmelearn.runs import folder as run_folder
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run

EXAMPLE = Path(__file__).with_name("raters.yaml")
TARGETS = ("majority", "dawid-skene", "soft", "truth")


def accuracy_against_truth(folder: Path, target: str) -> pd.Series:
    """Accuracy against the true labels of each (pipeline, protocol), over all test windows."""
    if target == "truth":
        predictions = pd.read_parquet(folder / run_folder.PREDICTIONS)
        return (predictions["true"] == predictions["predicted"]).groupby([predictions["pipeline"],
                                                                          predictions["protocol"]]).mean()
    scores = run_folder.read_table(folder, run_folder.RATER_SCORES)
    truth = scores[(scores["reference"] == "dataset labels") & scores["metric"].isin(["accuracy", "target accuracy"])]
    return truth.set_index(["pipeline", "protocol"])["value"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--models", default="lda", help="models, as the experiment's models list: lda,logreg")
    parser.add_argument("--per-item", type=int, default=None, help="raters per trial (default: all five)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            for target in TARGETS:
                labels = ["labels=null"] if target == "truth" else [f"labels.target={target}"] + (
                    [f"labels.per_item={args.per_item}"] if args.per_item else [])
                config = load_config(EXAMPLE, [f"seed={seed}", f"models=[{args.models}]", *labels,
                                               "evaluation.n_boot=0", "execution.cache=false"])
                folder = run(config, Path(scratch) / f"{target}-{seed}").folder
                for (pipeline, protocol), value in accuracy_against_truth(folder, target).items():
                    rows.append({"seed": seed, "target": target, "pipeline": pipeline or "(the labels learnt)",
                                 "protocol": protocol, "accuracy": 100 * value})
                print(f"seed {seed}, {target}: done", flush=True)
    table = pd.DataFrame(rows).pivot_table(index=["pipeline", "protocol", "seed"], columns="target", values="accuracy")
    table["truth"] = table["truth"].fillna(100.0)  # the true labels are right on every trial
    raters = f"{args.per_item} of 5" if args.per_item else "all 5"
    print(f"\nAccuracy (%) against the hidden truth, {len(args.seeds)} seeds, {raters} raters per trial "
          "(simulated data, simulated raters)\n")
    print("| model | evaluation | " + " | ".join(TARGETS) + " | DS − majority (min, max) | soft − majority (min, max) |")
    print("|---" * (len(TARGETS) + 4) + "|")
    for (pipeline, protocol), block in table.groupby(level=[0, 1]):
        means = " | ".join(f"{block[t].mean():.1f}" for t in TARGETS)
        differences = [block[t] - block["majority"] for t in ("dawid-skene", "soft")]
        said = " | ".join(f"{d.mean():+.1f} ({d.min():+.1f}, {d.max():+.1f})" for d in differences)
        print(f"| {pipeline} | {protocol} | {means} | {said} |")


if __name__ == "__main__":
    main()
