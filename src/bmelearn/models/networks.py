"""The PyTorch modules behind :mod:`bmelearn.models.deep` (imported only when a network is
trained, so that bmelearn works without PyTorch)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class Recurrent(nn.Module):
    """An LSTM or GRU over the time steps of (batch, channels, time) inputs, read at the last step."""

    def __init__(self, cell: type[nn.Module], n_inputs: int, width: int, n_classes: int, dropout: float):
        super().__init__()
        self.rnn = cell(n_inputs, width, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sequence, _ = self.rnn(x.transpose(1, 2))
        return self.out(self.dropout(sequence[:, -1]))


def build(architecture: str, shape: tuple[int, ...], n_classes: int, hidden: tuple[int, ...], activation: str,
          blocks: int, dropout: float) -> nn.Module:
    """The module for inputs of ``shape`` (without the batch axis)."""
    if architecture == "mlp":
        layers, width = [nn.Flatten()], int(np.prod(shape))
        for size in hidden:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation](), nn.Dropout(dropout)]
            width = size
        return nn.Sequential(*layers, nn.Linear(width, n_classes))
    if architecture == "cnn":
        channels, layers = shape[0], []
        for i in range(blocks):
            out = hidden[min(i, len(hidden) - 1)]
            layers += [nn.Conv1d(channels, out, kernel_size=5, padding=2), nn.BatchNorm1d(out), nn.ReLU(), nn.MaxPool1d(2)]
            channels = out
        return nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, n_classes))
    cell = nn.LSTM if architecture == "lstm" else nn.GRU
    return Recurrent(cell, shape[0], hidden[0], n_classes, dropout)
