"""The PyTorch modules behind :mod:`bmelearn.models.deep` (imported only when a network is
trained, so that bmelearn works without PyTorch)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import skorch
import torch
from torch import nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class Recurrent(nn.Module):
    """An LSTM or GRU over the time steps of (batch, channels, time) inputs, read at the last step."""

    def __init__(self, cell: type[nn.Module], n_inputs: int, width: int, n_outputs: int, dropout: float):
        super().__init__()
        self.rnn = cell(n_inputs, width, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(width, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sequence, _ = self.rnn(x.transpose(1, 2))
        return self.out(self.dropout(sequence[:, -1]))


def build(architecture: str, shape: tuple[int, ...], n_outputs: int, hidden: tuple[int, ...], activation: str,
          blocks: int, dropout: float) -> nn.Module:
    """The module for inputs of ``shape`` (without the batch axis) with ``n_outputs`` linear outputs
    (one per class of a classifier, one for a regressor)."""
    if architecture == "mlp":
        layers, width = [nn.Flatten()], int(np.prod(shape))
        for size in hidden:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation](), nn.Dropout(dropout)]
            width = size
        return nn.Sequential(*layers, nn.Linear(width, n_outputs))
    if architecture == "cnn":
        channels, layers = shape[0], []
        for i in range(blocks):
            out = hidden[min(i, len(hidden) - 1)]
            layers += [nn.Conv1d(channels, out, kernel_size=5, padding=2), nn.BatchNorm1d(out), nn.ReLU(), nn.MaxPool1d(2)]
            channels = out
        return nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, n_outputs))
    cell = nn.LSTM if architecture == "lstm" else nn.GRU
    return Recurrent(cell, shape[0], hidden[0], n_outputs, dropout)


class Augmented(torch.utils.data.Dataset):
    """Training windows (n, channels, time), each drawn with fresh random augmentations:

    - ``shift``: the electrodes rolled by up to this many positions either way (an armband put
      back rotated);
    - ``scale``: every channel multiplied by one factor in [1 − scale, 1 + scale];
    - ``noise``: white noise of this standard deviation (the windows are standardized, so in
      units of the signal's standard deviation);
    - ``time_shift``: the window moved circularly by up to this share of its length;
    - ``dropout``: up to this many channels set to zero.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, augment: dict, seed: int | None):
        self.X, self.y, self.augment = X, y, augment
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        x, a, rng = self.X[i], self.augment, self.rng
        n_channels, n_times = x.shape
        if a.get("shift"):
            x = np.roll(x, int(rng.integers(-a["shift"], a["shift"] + 1)), axis=0)
        if a.get("time_shift"):
            most = int(a["time_shift"] * n_times)
            x = np.roll(x, int(rng.integers(-most, most + 1)), axis=1)
        if a.get("scale"):
            x = x * np.float32(rng.uniform(1 - a["scale"], 1 + a["scale"]))
        if a.get("noise"):
            x = x + a["noise"] * rng.standard_normal(x.shape).astype(np.float32)
        if a.get("dropout"):
            x = x.copy()
            x[rng.choice(n_channels, int(rng.integers(0, a["dropout"] + 1)), replace=False)] = 0.0
        return np.ascontiguousarray(x, dtype=np.float32), self.y[i]


class EpochReport(skorch.callbacks.Callback):
    """Tells ``listener`` after every epoch: network, stage, epoch, max_epochs, train_loss and,
    with a validation split, valid_loss and (a classifier's) valid_acc (for a progress bar)."""

    def __init__(self, listener: Callable[[dict], None], network: str, stage: str, max_epochs: int):
        self.listener, self.network, self.stage, self.max_epochs = listener, network, stage, max_epochs

    def on_epoch_end(self, net, **kwargs) -> None:
        last = net.history[-1]
        self.listener({"network": self.network, "stage": self.stage, "epoch": last["epoch"], "max_epochs": self.max_epochs}
                      | {k: last[k] for k in ("train_loss", "valid_loss", "valid_acc") if k in last})
