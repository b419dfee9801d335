"""The PyTorch modules behind :mod:`bmelearn.models.deep` (imported only when a network is
trained, so that bmelearn works without PyTorch), and what trains them beyond skorch's own
loop: augmented training windows, epoch reports and domain-adversarial training."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import skorch
import torch
from torch import nn

from bmelearn.evaluation.robustness import electrode_shift

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
TCN_KERNEL = 5  # samples of each dilated convolution of a temporal block
TOKENS = 25  # about this many patches of a window become the transformer's tokens
HEADS = (4, 2, 1)  # the transformer's attention heads: the most of these that divide its width
DOMAIN_WIDTH = 64  # ReLU units of the hidden layer of the domain head of adversarial training


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


class TemporalBlock(nn.Module):
    """A residual block of a temporal convolutional network (Bai, Kolter & Koltun 2018, arXiv:1803.01271):
    two causal convolutions of ``TCN_KERNEL`` samples dilated by ``dilation`` (padded on the past side
    only, so that an output never sees later samples), each followed by batch normalization, ReLU and
    dropout, added to the input (through a 1x1 convolution where the widths differ), then ReLU."""

    def __init__(self, n_inputs: int, width: int, dilation: int, dropout: float):
        super().__init__()
        layers, channels = [], n_inputs
        for _ in range(2):
            layers += [nn.ConstantPad1d(((TCN_KERNEL - 1) * dilation, 0), 0.0),
                       nn.Conv1d(channels, width, TCN_KERNEL, dilation=dilation), nn.BatchNorm1d(width), nn.ReLU(),
                       nn.Dropout(dropout)]
            channels = width
        self.path = nn.Sequential(*layers)
        self.residual = nn.Conv1d(n_inputs, width, 1) if n_inputs != width else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.path(x) + self.residual(x))


class Transformer(nn.Module):
    """A small transformer encoder over time (Vaswani et al. 2017; patches of the window as
    tokens, as the vision transformer of Dosovitskiy et al. 2021 cuts images): a convolution of
    kernel and stride ``patch_samples`` embeds each patch of the window in ``width`` dimensions
    (samples after the last whole patch are left out), a learned positional embedding per token
    is added, ``blocks`` pre-norm encoder layers (GELU feed-forward of twice the width, the most
    of ``HEADS`` that divide the width) follow, then layer normalization, the mean over tokens,
    dropout and a linear layer."""

    def __init__(self, n_inputs: int, n_times: int, width: int, blocks: int, n_outputs: int, dropout: float):
        super().__init__()
        self.patch_samples = max(1, round(n_times / TOKENS))
        n_tokens = n_times // self.patch_samples
        self.embed = nn.Conv1d(n_inputs, width, self.patch_samples, stride=self.patch_samples)
        self.position = nn.Parameter(nn.init.trunc_normal_(torch.empty(1, n_tokens, width), std=0.02))
        heads = next(h for h in HEADS if width % h == 0)
        self.encoder = nn.Sequential(*(nn.TransformerEncoderLayer(width, heads, 2 * width, dropout, "gelu", batch_first=True,
                                                                  norm_first=True) for _ in range(blocks)))
        self.norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(width, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x).transpose(1, 2) + self.position
        return self.out(self.dropout(self.norm(self.encoder(tokens)).mean(dim=1)))


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
    if architecture == "tcn":
        channels, layers = shape[0], []
        for i in range(blocks):
            out = hidden[min(i, len(hidden) - 1)]
            layers.append(TemporalBlock(channels, out, 2**i, dropout))
            channels = out
        return nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(channels, n_outputs))
    if architecture == "transformer":
        return Transformer(shape[0], shape[1], hidden[0], blocks, n_outputs, dropout)
    cell = nn.LSTM if architecture == "lstm" else nn.GRU
    return Recurrent(cell, shape[0], hidden[0], n_outputs, dropout)


class Augmented(torch.utils.data.Dataset):
    """Training windows (n, channels, time), each drawn with fresh random augmentations:

    - ``shift``: the armband rotated by an amount drawn uniformly in [−shift, shift] electrodes
      (an armband put back rotated), a fractional amount interpolated between neighbouring
      channels as :func:`bmelearn.evaluation.robustness.electrode_shift` does (real amounts for
      an integer ``shift`` too);
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
            x = electrode_shift(x[None], rng.uniform(-a["shift"], a["shift"]))[0]
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


def output_layer(module: nn.Module) -> nn.Linear:
    """The final linear layer of a module made by :func:`build` (its input is the network's
    penultimate representation, the features the outputs are read from)."""
    layer = module.out if isinstance(module, (Recurrent, Transformer)) else module[-1]
    if not isinstance(layer, nn.Linear):  # every architecture of build ends in one
        raise TypeError(f"the network {type(module).__name__} does not end in a linear layer")
    return layer


class GradientReversal(torch.autograd.Function):
    """The gradient reversal layer of domain-adversarial training (Ganin et al., JMLR 17(59),
    2016): the identity forward; backward, the gradient multiplied by −1, so that what lies
    before it learns to make the loss after it worse while what lies after it learns to make
    it better."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return -grad


class DomainAdversarial(nn.Module):
    """A network of :func:`build` during domain-adversarial training: its forward pass is the
    network's, and a forward pre-hook on its final linear layer keeps the penultimate
    representation, from which :meth:`domain_logits` tells the domain (labelled training
    windows 0, unlabelled windows of the new condition 1) with a small MLP (one hidden layer
    of ``DOMAIN_WIDTH`` ReLU units) behind a :class:`GradientReversal`. The domain head is for
    training only: :meth:`release` gives the network back without it (and without the hook)."""

    def __init__(self, network: nn.Module, width: int = DOMAIN_WIDTH):
        super().__init__()
        self.network = network
        final = output_layer(network)
        self.domain = nn.Sequential(nn.Linear(final.in_features, width), nn.ReLU(), nn.Linear(width, 1))
        self.features: torch.Tensor | None = None
        self._hook = final.register_forward_pre_hook(self._keep)

    def _keep(self, layer: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        self.features = inputs[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)

    def domain_logits(self) -> torch.Tensor:
        """The domain head's logit (of the new condition) for each window of the last forward pass."""
        return self.domain(GradientReversal.apply(self.features))[:, 0]

    def release(self) -> nn.Module:
        """The trained network alone, as :func:`build` made it."""
        self._hook.remove()
        self.features = None
        return self.network


def domain_weight(adversarial: float, progress: float) -> float:
    """The weight of the domain loss at ``progress`` (0 to 1) through training: Ganin et al.'s
    schedule ``adversarial · (2 / (1 + exp(−10 p)) − 1)``, from 0 up towards ``adversarial``, so
    that the domain head's noisy early gradients do not disturb the first epochs."""
    return adversarial * (2.0 / (1.0 + np.exp(-10.0 * progress)) - 1.0)


class DomainAdversarialTraining:
    """What turns a skorch net into one of domain-adversarial training (DANN: Ganin et al., JMLR
    17(59), 2016; for EMG across days and people, Côté-Allard et al., Front. Bioeng. Biotechnol. 8,
    2020), its module a :class:`DomainAdversarial`. Each training batch of labelled windows goes
    through the network together with as many ``unlabelled`` windows (standardized like them),
    drawn in turn from shuffled passes over them (``seed``); the loss is the network's loss of
    the labelled windows plus λ times the binary cross-entropy of the domain head over both,
    λ = :func:`domain_weight` at the share of ``total_steps`` done. ``train_loss`` stays the
    network's loss alone; the history gets ``domain_loss`` (per batch; per epoch through a
    PassthroughScoring) and ``domain_weight`` (λ of the epoch's last batch). Validation is as
    without it."""

    def __init__(self, *args, unlabelled: np.ndarray, adversarial: float, total_steps: int, seed: int | None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.unlabelled, self.adversarial, self.total_steps, self.seed = unlabelled, adversarial, total_steps, seed
        self.steps_done, self.rng = 0, np.random.default_rng(seed)
        self.order, self.position = np.empty(0, dtype=np.int64), 0

    def unlabelled_batch(self, n: int) -> np.ndarray:
        """The next ``n`` unlabelled windows: on through a shuffled order of them, a new order
        when one is used up."""
        parts = []
        while n > 0:
            if self.position >= len(self.order):
                self.order, self.position = self.rng.permutation(len(self.unlabelled)), 0
            part = self.order[self.position : self.position + n]
            self.position, n = self.position + len(part), n - len(part)
            parts.append(part)
        return self.unlabelled[np.concatenate(parts)]

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = skorch.dataset.unpack_data(batch)
        n = len(Xi)
        new = torch.as_tensor(self.unlabelled_batch(n), dtype=Xi.dtype)
        outputs = self.infer(torch.cat([Xi, new.to(Xi.device)]), **fit_params)
        y_pred = outputs[:n]
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        logits = self.module_.domain_logits()
        domain = torch.cat([torch.zeros(n), torch.ones(len(new))]).to(logits.device)
        domain_loss = nn.functional.binary_cross_entropy_with_logits(logits, domain)
        weight = domain_weight(self.adversarial, self.steps_done / self.total_steps)
        (loss + weight * domain_loss).backward()
        self.steps_done += 1
        self.history.record_batch("domain_loss", domain_loss.item())
        self.history.record("domain_weight", float(weight))
        return {"loss": loss, "y_pred": y_pred}


class DomainAdversarialClassifier(DomainAdversarialTraining, skorch.NeuralNetClassifier):
    """skorch's classifier net with domain-adversarial training."""


class DomainAdversarialRegressor(DomainAdversarialTraining, skorch.NeuralNetRegressor):
    """skorch's regressor net with domain-adversarial training."""


#: skorch's nets and their domain-adversarial counterparts.
DOMAIN_ADVERSARIAL = {skorch.NeuralNetClassifier: DomainAdversarialClassifier,
                      skorch.NeuralNetRegressor: DomainAdversarialRegressor}
