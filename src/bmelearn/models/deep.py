"""Neural networks behind the scikit-learn interface (PyTorch, trained by skorch).

- ``mlp``: a multilayer perceptron on feature vectors (n_windows, n_features): ``hidden``
  layer widths and an ``activation`` of sigmoid, tanh or relu.
- ``cnn``: a 1-D convolutional network on raw windows (n_windows, n_channels, n_times):
  ``blocks`` of convolution, batch normalization, ReLU and max-pooling, then global average
  pooling and a linear layer.
- ``lstm`` / ``gru``: a recurrent network over the time steps of raw windows (or of sequences
  of feature vectors), classified from its last hidden state.

Training windows of the raw-window networks can be ``augment``-ed afresh at every epoch:
electrode shift, amplitude scaling, noise, time shift, channel dropout (see
:class:`bmelearn.models.networks.Augmented`). The ``optimizer`` is sgd, momentum (SGD with momentum 0.9), rmsprop or adam, with
a cosine learning-rate schedule over ``max_epochs``; early stopping on a validation split
of the training data with ``patience`` epochs. The validation windows are the last
``validation`` share of each class in time order, so that they come from other trials than
the ones trained on (windows of one trial are consecutive), never a random window-level
split; ``validation: 0`` trains on everything for ``max_epochs``. Inputs are standardized
with statistics of the training data. The GPU is used when one is present
(``device="auto"``); the same ``random_state`` gives the same model on CPU.

A fitted network can be :meth:`~NeuralNetwork.fine_tune`-d on another subject's windows
(transfer learning, :mod:`bmelearn.evaluation.transfer`); within :func:`training_progress`
every epoch is reported (the command line shows it as a progress bar).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import check_is_fitted

from bmelearn.compute.backends import torch_threads
from bmelearn.errors import ConfigError
from bmelearn.models.capabilities import BmelearnTags, bmelearn_tags

#: The architectures by name, with their descriptions (the modules are built by
#: :func:`bmelearn.models.networks.build`).
ARCHITECTURES = {
    "mlp": "multilayer perceptron on the features (PyTorch): hidden widths, sigmoid/tanh/relu, sgd/momentum/rmsprop/adam",
    "cnn": "1-D convolutional network on the raw windows (PyTorch)",
    "lstm": "LSTM recurrent network on the raw windows (PyTorch)",
    "gru": "GRU recurrent network on the raw windows (PyTorch)",
}
ACTIVATIONS = ("sigmoid", "tanh", "relu")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
AUGMENTATIONS = {"shift", "scale", "noise", "time_shift", "dropout"}
COUNTS = {"shift", "dropout"}  # augmentations in electrodes or channels: integers
_EPOCH_LISTENER: ContextVar[Callable[[dict], None] | None] = ContextVar("epoch_listener", default=None)


@contextmanager
def training_progress(listener: Callable[[dict], None]) -> Iterator[None]:
    """Within this block, every network calls ``listener`` after each training epoch with a dict:
    network, stage (fit or fine_tune), epoch, max_epochs, train_loss and, with a validation
    split, valid_loss and valid_acc."""
    token = _EPOCH_LISTENER.set(listener)
    try:
        yield
    finally:
        _EPOCH_LISTENER.reset(token)


def _torch():
    try:
        import skorch
        import skorch.helper
        import torch

        from bmelearn.models import networks
    except ImportError:
        raise ConfigError("models: neural networks need PyTorch and skorch: pip install \"bmelearn[deep]\".") from None
    return torch, skorch, networks


class NeuralNetwork(ClassifierMixin, BaseEstimator):
    """A neural network classifier (see the module text) with scikit-learn's interface.

    After ``fit``: ``classes_``, ``history_`` (per epoch: stage (fit or fine_tune), epoch,
    train_loss, valid_loss, valid_acc, dur in s), ``train_seconds_`` and the trained ``module_``. Saved with skops, a network is its
    parameters and its weights as NumPy arrays; loading rebuilds the architecture and loads them.
    """

    #: What each parameter may be (scikit-learn's parameter validation); :meth:`_validate_params`
    #: also checks the layer widths in ``hidden`` and the ``augment`` mapping.
    _parameter_constraints: ClassVar[dict] = {
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "hidden": [tuple, list],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "blocks": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "validation": [Interval(Real, 0, 1, closed="left")],
        "augment": [dict, None],
        "device": [str],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
        "verbose": ["verbose"],
    }

    def __init__(self, architecture: str = "mlp", hidden: tuple[int, ...] = (64,), activation: str = "relu",
                 blocks: int = 3, dropout: float = 0.0, optimizer: str = "adam", lr: float = 1e-3,
                 max_epochs: int = 50, batch_size: int = 64, patience: int = 10, validation: float = 0.2,
                 augment: dict | None = None, device: str = "auto", random_state: int | None = 0, verbose: int = 0):
        self.architecture = architecture
        self.hidden = hidden
        self.activation = activation
        self.blocks = blocks
        self.dropout = dropout
        self.optimizer = optimizer
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation = validation
        self.augment = augment
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _validate_params(self) -> None:
        """scikit-learn's check of every parameter against :attr:`_parameter_constraints`, then of
        the layer widths and the augmentations: an InvalidParameterError naming the parameter."""
        super()._validate_params()
        widths = list(self.hidden)
        if not all(isinstance(w, Integral) and not isinstance(w, bool) and w >= 1 for w in widths) or (
                not widths and self.architecture != "mlp"):
            least = "" if self.architecture == "mlp" else f", at least one for {self.architecture}"
            raise InvalidParameterError(f"The 'hidden' parameter of NeuralNetwork must be a list of layer widths "
                                        f"(integers >= 1{least}). Got {self.hidden!r} instead.")
        augment = self.augment or {}
        unknown = sorted(set(augment) - AUGMENTATIONS)
        bad = [k for k, v in augment.items() if isinstance(v, bool) or not isinstance(v, Integral if k in COUNTS else Real)
               or not 0 <= v < float("inf")]
        if unknown or bad:
            raise InvalidParameterError(f"The 'augment' parameter of NeuralNetwork must be a mapping of {sorted(AUGMENTATIONS)} "
                                        f"to amounts >= 0 (integers for {sorted(COUNTS)}). Got {self.augment!r} instead.")
        if augment and self.architecture == "mlp":
            raise InvalidParameterError("The 'augment' parameter of NeuralNetwork must be None for mlp: augmentation "
                                        f"applies to raw windows (cnn, lstm, gru), not to features. Got {self.augment!r} instead.")

    def _check_params(self) -> None:
        try:
            self._validate_params()
        except InvalidParameterError as exc:
            raise ConfigError(f"models.{self.architecture}: {exc}") from None

    def _validation_mask(self, y: np.ndarray) -> np.ndarray:
        """The last ``validation`` share of the windows of each class, in their order (none for 0)."""
        mask = np.zeros(len(y), dtype=bool)
        for c in np.unique(y) if self.validation > 0 else []:
            rows = np.flatnonzero(y == c)
            mask[rows[len(rows) - max(1, int(round(self.validation * len(rows)))) :]] = True
        return mask

    def fit(self, X: np.ndarray, y: np.ndarray) -> NeuralNetwork:
        torch, _, networks = _torch()
        self._check_params()
        X = np.asarray(X, dtype=np.float32)
        if self.architecture != "mlp" and X.ndim != 3:
            raise ConfigError(f"models.{self.architecture} takes raw windows (n_windows, n_channels, n_times); "
                              f"got an array of shape {X.shape}.")
        self.encoder_ = LabelEncoder().fit(y)
        self._standardize_like(X)
        self.input_shape_ = X.shape[1:]
        self.device_ = ("cuda" if torch.cuda.is_available() else "cpu") if self.device == "auto" else self.device
        if self.random_state is not None:
            torch.manual_seed(self.random_state)
        module = networks.build(self.architecture, X.shape[1:], len(self.encoder_.classes_), tuple(self.hidden),
                                self.activation, self.blocks, self.dropout)
        self.history_, self.train_seconds_ = [], 0.0
        return self._train(module, X, y, self.lr, self.max_epochs, "fit")

    def fine_tune(self, X: np.ndarray, y: np.ndarray, lr: float | None = None, max_epochs: int | None = None) -> NeuralNetwork:
        """Go on training the fitted network on new windows (transfer learning: a network
        pretrained on other subjects, fine-tuned on the target subject), all layers, from the
        current weights; the inputs are standardized anew with the statistics of ``X``, since
        amplitudes differ between subjects. ``lr`` defaults to the network's ``lr``. The classes
        must be among those it was fitted on. Returns self; ``history_`` and ``train_seconds_``
        grow by the new epochs."""
        check_is_fitted(self, "module_")
        known = [str(c) for c in self.classes_]
        unknown = sorted({str(c) for c in np.unique(y)} - set(known))
        if unknown:
            raise ConfigError(f"fine-tuning: classes {unknown} were not in the pretraining data {known}.")
        X = np.asarray(X, dtype=np.float32)
        self._standardize_like(X)
        if self.random_state is not None:
            _torch()[0].manual_seed(self.random_state + 1)
        return self._train(self.module_.train(), X, y,
                           self.lr if lr is None else lr, self.max_epochs if max_epochs is None else max_epochs,
                           "fine_tune")

    def _standardize_like(self, X: np.ndarray) -> None:
        """Inputs will be standardized (per feature, or per channel of raw windows) with the
        mean and standard deviation of ``X``."""
        axes = (0,) if X.ndim == 2 else (0, 2)
        self.mean_ = X.mean(axis=axes, keepdims=True)[0]
        std = X.std(axis=axes, keepdims=True)[0]
        self.scale_ = np.where(std > 0, std, 1.0)

    def _train(self, module, X: np.ndarray, y: np.ndarray, lr: float, max_epochs: int, stage: str) -> NeuralNetwork:
        """Train ``module`` on standardized ``X`` (the last ``validation`` share of each class held
        out for early stopping, if any) and keep it as ``module_``."""
        torch, skorch, networks = _torch()
        X = (X - self.mean_) / self.scale_
        target = self.encoder_.transform(y).astype(np.int64)
        valid = self._validation_mask(target)
        optimizer, extra = {"sgd": (torch.optim.SGD, {}), "momentum": (torch.optim.SGD, {"optimizer__momentum": 0.9}),
                            "rmsprop": (torch.optim.RMSprop, {}), "adam": (torch.optim.Adam, {})}[self.optimizer]
        callbacks = [skorch.callbacks.LRScheduler(torch.optim.lr_scheduler.CosineAnnealingLR, T_max=max_epochs)]
        if (listener := _EPOCH_LISTENER.get()) is not None:
            callbacks.append(networks.EpochReport(listener, self.architecture, stage, max_epochs))
        split = None
        if valid.any():
            callbacks.append(skorch.callbacks.EarlyStopping(patience=self.patience, load_best=True))
            split = skorch.helper.predefined_split(skorch.dataset.Dataset(X[valid], target[valid]))
        net = skorch.NeuralNetClassifier(
            module, criterion=torch.nn.CrossEntropyLoss, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=self.batch_size, device=self.device_, callbacks=callbacks, verbose=self.verbose,
            train_split=split, iterator_train__shuffle=True, **extra,
        )
        start = time.perf_counter()
        with torch_threads():
            if self.augment:
                net.fit(networks.Augmented(X[~valid], target[~valid], self.augment, self.random_state), y=None)
            else:
                net.fit(X[~valid], target[~valid])
        self.train_seconds_ += time.perf_counter() - start
        keys = ("epoch", "train_loss", "valid_loss", "valid_acc", "dur")
        self.history_ = self.history_ + [{"stage": stage} | {k: row[k] for k in keys if k in row} for row in net.history]
        self.module_ = net.module_.eval()
        return self

    @property
    def classes_(self) -> np.ndarray:
        check_is_fitted(self, "encoder_")
        return self.encoder_.classes_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "module_")
        torch, _, _ = _torch()
        X = ((np.asarray(X, dtype=np.float32) - self.mean_) / self.scale_).astype(np.float32)
        with torch.no_grad(), torch_threads():
            batches = [torch.softmax(self.module_(torch.from_numpy(X[i : i + 1024]).to(self.device_)), dim=1).cpu().numpy()
                       for i in range(0, len(X), 1024)]
        return np.concatenate(batches) if batches else np.empty((0, len(self.classes_)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "module_")
        return self.encoder_.inverse_transform(self.predict_proba(X).argmax(axis=1))

    def __sklearn_tags__(self) -> BmelearnTags:
        """Raw windows (3-D) for cnn, lstm and gru, feature vectors (2-D) for mlp; softmax
        probabilities (uncalibrated); fine-tunable."""
        tags = super().__sklearn_tags__()
        windows = self.architecture != "mlp"
        tags.input_tags.two_d_array = not windows
        tags.input_tags.three_d_array = windows
        return bmelearn_tags(tags, probabilities="uncalibrated", fine_tunable=True)

    def __getstate__(self) -> dict:
        """For saving (skops): the weights as NumPy arrays, never a pickled torch object."""
        state = self.__dict__.copy()
        module = state.pop("module_", None)
        if module is not None:
            state["weights_"] = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
        return state

    def __setstate__(self, state: dict) -> None:
        """The architecture rebuilt from the parameters, then the weights loaded into it, on the
        device it was trained on if that is available here, else on the CPU."""
        weights = state.pop("weights_", None)
        self.__dict__.update(state)
        if weights is not None:
            torch, _, networks = _torch()
            module = networks.build(self.architecture, tuple(self.input_shape_), len(self.encoder_.classes_),
                                    tuple(self.hidden), self.activation, self.blocks, self.dropout)
            module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})
            if self.__dict__.get("device_") != "cpu" and not torch.cuda.is_available():
                self.device_ = "cpu"
            self.module_ = module.to(self.device_).eval()
