"""Size, training time and latency of the raw-window networks, on the CPU and, when CUDA is
present, on the GPU.

Trains the CNN of ``examples/3dc-deep.yaml``, an LSTM, a TCN and a transformer on the training
session of one 3DC participant, on each available device, and prints each network's number of
trainable parameters, seconds per epoch, the speed-up of the GPU over the CPU in the same run,
the test accuracy on each device, and the time the CPU-trained network takes to ``predict``
one window (the median over ``--calls`` calls, in ms: a decision's latency when decoding live).

    python benchmarks/deep.py --data ../shared/data/3dc --participant 1 --epochs 10
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bmelearn.datasets import load_dataset
from bmelearn.models import make_model, trained_network
from bmelearn.signals.windowing import cut_windows

AUGMENT = {"scale": 0.2, "noise": 0.05, "time_shift": 0.2}
NETWORKS = {
    "cnn": {"hidden": [32, 64, 64], "blocks": 3, "augment": AUGMENT},
    "lstm": {"hidden": [64]},
    "tcn": {"hidden": [32, 64, 64], "blocks": 3, "dropout": 0.1, "augment": AUGMENT},
    "transformer": {"hidden": [64], "blocks": 2, "dropout": 0.1, "augment": AUGMENT},
}


def window_ms(model, window: np.ndarray, calls: int = 200) -> float:
    """The median time in ms of ``model.predict`` on one window (n_channels, n_times), after
    ten calls that are not counted."""
    one = window[None]
    for _ in range(10):
        model.predict(one)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        model.predict(one)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/3dc")
    parser.add_argument("--participant", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--calls", type=int, default=200, help="predictions of one window timed per network")
    args = parser.parse_args()
    windows = cut_windows(load_dataset("3dc", path=args.data, subjects=[args.participant], modalities=["emg"]), 0.2, 0.1)
    X, y = windows.arrays["emg"].astype(np.float32), windows.y.astype(str)
    train = (windows.meta["session"] == "train").to_numpy()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"{train.sum()} training windows {X.shape[1:]}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads, devices: {devices}")
    for name, params in NETWORKS.items():
        per_epoch = {}
        for device in devices:
            model = make_model(name, 0, max_epochs=args.epochs, validation=0, device=device, **params)
            started = time.perf_counter()
            model.fit(X[train], y[train])
            per_epoch[device] = (time.perf_counter() - started) / args.epochs
            accuracy = np.mean(model.predict(X[~train]) == y[~train])
            print(f"{name:11s} {device:5s} {per_epoch[device]:7.3f} s/epoch   test accuracy {accuracy:.1%}")
            if device == "cpu":
                network = trained_network(model)
                print(f"{name:11s} {network.n_parameters_:,} parameters, one window predicted in "
                      f"{window_ms(model, X[~train][0], args.calls):.2f} ms (CPU, median of {args.calls})")
        if "cuda" in per_epoch:
            print(f"{name:11s} GPU speed-up over CPU: {per_epoch['cpu'] / per_epoch['cuda']:.1f}x")
        else:
            print(f"{name:11s} no CUDA device here: CPU only")


if __name__ == "__main__":
    main()
