"""What a zero-phase model loses online: 3DC participants, trained on their train session,
decided on their held-out test session three ways.

    python benchmarks/online_cost.py [--data ../shared/data/3dc] [--subjects 1-4]

For each participant, LDA on HTD features of 200 ms windows every 100 ms (as
``examples/3dc.yaml``) behind a 20-450 Hz band-pass, and the test session's trials decided

- offline, by the model trained with the zero-phase band-pass (what the report validates);
- online, by the same model, its band-pass running forward only (what ``bmelearn online``
  does with it, :func:`~bmelearn.serving.online.online_agreement`);
- online, by a model trained with the causal band-pass (which decides online exactly as
  offline).

Prints the window accuracy of each and the share of windows on which the first two agree.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bmelearn.datasets import load_dataset
from bmelearn.models import make_model
from bmelearn.pipeline import SignalPipeline
from bmelearn.serving import DeployableModel
from bmelearn.serving.online import online_agreement


def trained(train, causal: bool) -> DeployableModel:
    """LDA on HTD features of the train session behind a 20-450 Hz band-pass."""
    emg = [r for r in train if r.modality == "emg"]
    pipeline = SignalPipeline.fit({"emg": emg[0]}, [{"bandpass": {"low": 20, "high": 450, "causal": causal}}], {},
                                  0.2, 0.1, False, {"emg": ["HTD"]})
    parts = [pipeline.transform({"emg": r})[0] for r in emg]
    labels = np.concatenate([[str(r.meta["label"])] * len(x) for r, x in zip(emg, parts, strict=True)])
    return DeployableModel(pipeline, make_model("lda").fit(np.vstack(parts), labels), sorted(set(labels)), {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data/3dc")
    parser.add_argument("--subjects", default="1-4", help="participants, e.g. 1-4 or 1,3")
    args = parser.parse_args()
    first, _, last = args.subjects.partition("-")
    subjects = list(range(int(first), int(last) + 1)) if last else [int(s) for s in args.subjects.split(",")]
    print("3DC, LDA on HTD, 20-450 Hz band-pass; trained on the train session, decided on the test session")
    print(f"{'participant':>11} {'windows':>8} {'zero-phase offline':>19} {'same model online':>18} {'agreement':>10}"
          f" {'causal model':>13}")
    rows = []
    for subject in subjects:
        data = load_dataset("3dc", path=str(args.data), subjects=[subject])
        test = [({"emg": r}, str(r.meta["label"])) for r in data.select(session="test") if r.modality == "emg"]
        zero_phase = online_agreement(trained(data.select(session="train"), causal=False), test)
        causal = trained(data.select(session="train"), causal=True)
        right = sum(int((causal.predict(t)["predicted"] == label).sum()) for t, label in test)
        row = (zero_phase["accuracy_offline"], zero_phase["accuracy_online"], zero_phase["agreement"],
               right / zero_phase["windows"])
        rows.append(row)
        print(f"{subject:>11} {zero_phase['windows']:>8} {100 * row[0]:18.1f}% {100 * row[1]:17.1f}% {100 * row[2]:9.1f}%"
              f" {100 * row[3]:12.1f}%")
    mean = np.mean(rows, axis=0)
    print(f"{'mean':>11} {'':>8} {100 * mean[0]:18.1f}% {100 * mean[1]:17.1f}% {100 * mean[2]:9.1f}% {100 * mean[3]:12.1f}%")


if __name__ == "__main__":
    main()
