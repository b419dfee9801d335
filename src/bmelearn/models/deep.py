"""Neural networks behind the scikit-learn interface (PyTorch, trained by skorch): classifiers
(:class:`NeuralNetwork`) and regressors of a continuous target (:class:`NeuralNetworkRegressor`).

- ``mlp``: a multilayer perceptron on feature vectors (n_windows, n_features): ``hidden``
  layer widths and an ``activation`` of sigmoid, tanh or relu.
- ``cnn``: a 1-D convolutional network on raw windows (n_windows, n_channels, n_times):
  ``blocks`` of convolution, batch normalization, ReLU and max-pooling, then global average
  pooling and a linear layer.
- ``lstm`` / ``gru``: a recurrent network over the time steps of raw windows (or of sequences
  of feature vectors), read out from its last hidden state.
- ``tcn``: a temporal convolutional network on raw windows (Bai, Kolter & Koltun 2018):
  ``blocks`` residual blocks of two dilated causal convolutions (dilation 2**i), batch
  normalization, ReLU and dropout, then global average pooling and a linear layer.
- ``transformer``: a transformer encoder over the patches of raw windows (about 25 tokens
  a window, whatever its length), a learned positional embedding, ``blocks`` encoder layers
  of width ``hidden[0]``, the mean over tokens and a linear layer.

The convolutional networks (cnn, tcn) take the width of block i from ``hidden`` (its last
width for the blocks beyond). Training windows of the raw-window networks can be
``augment``-ed afresh at every epoch: electrode shift (by real amounts, interpolated),
amplitude scaling, noise, time shift, channel dropout (see
:class:`bmelearn.models.networks.Augmented`). The ``optimizer`` is sgd, momentum (SGD with
momentum 0.9), rmsprop or adam, with a cosine learning-rate schedule over ``max_epochs``;
early stopping on a validation split of the training data with ``patience`` epochs. The validation windows are the last
``validation`` share of each class in time order (for a regressor, of all the windows), so
that they come from other trials than the ones trained on (windows of one trial are
consecutive), never a random window-level split; ``validation: 0`` trains on everything for
``max_epochs``. Inputs are standardized with statistics of the training data. A classifier
minimises the cross-entropy of its softmax outputs; a regressor has one output and minimises
the mean squared error of the target standardized with the training targets' mean and SD
(its predictions are in the target's units). The GPU is used when one is present
(``device="auto"``); the same ``random_state`` gives the same model on CPU.

A fitted network can be :meth:`~BaseNeuralNetwork.fine_tune`-d on another subject's windows
(transfer learning, :mod:`bmelearn.evaluation.transfer`), or :meth:`~BaseNeuralNetwork.adapt_to`
unlabelled windows of a new condition without changing its weights (adaptive batch
normalization); within :func:`training_progress` every epoch is reported (the command line
shows it as a progress bar). ``n_parameters_`` counts a fitted network's trainable weights.

Domain-adversarial training (DANN: Ganin et al., JMLR 17(59), 2016; for EMG across days and
people, Côté-Allard et al., Front. Bioeng. Biotechnol. 8:158, 2020): ``fit(X, y,
unlabelled=X_new)`` with ``adversarial`` > 0 also takes windows of the condition the network
will be used in (a new day's or person's first recordings, labels unknown; in a pipeline,
``pipeline.fit(X, y, cnn__unlabelled=X_new)``), standardized with the training statistics. A
domain head (an MLP of one hidden layer of 64 ReLU units) learns to tell them from the labelled
windows on the network's penultimate representation (the input of its final linear layer),
behind a gradient reversal layer, so that the network learns features that do not tell the two
conditions apart. Each batch adds λ times the domain head's binary cross-entropy over the
labelled batch and as many unlabelled windows (drawn in turn from shuffled passes over them) to
the network's loss, λ rising from 0 to ``adversarial`` over ``max_epochs`` as Ganin et al.'s
``2 / (1 + exp(−10 p)) − 1`` of the training progress p. Augmentation applies to the labelled
windows only; validation and early stopping are as without it; ``history_`` gains
``domain_loss`` and ``domain_weight`` (λ at the epoch's end). The domain head is for training
only: the fitted ``module_`` is the network alone (saved, loaded and counted in
``n_parameters_`` as any other). Without ``unlabelled`` windows, or with ``adversarial`` 0, the
training is the plain one, to the last digit. Classifier and regressor alike (the regressor's
loss being its mean squared error); :meth:`~BaseNeuralNetwork.fine_tune` trains without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import assert_all_finite, check_consistent_length, column_or_1d
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import check_is_fitted

from bmelearn.compute.backends import torch_threads
from bmelearn.errors import ConfigError
from bmelearn.models.capabilities import BmelearnTags, Probabilities, bmelearn_tags

#: The architectures by name, with their descriptions (the modules are built by
#: :func:`bmelearn.models.networks.build`); the classifiers of :data:`bmelearn.models.MODELS`.
ARCHITECTURES = {
    "mlp": "multilayer perceptron on the features (PyTorch): hidden widths, sigmoid/tanh/relu, sgd/momentum/rmsprop/adam",
    "cnn": "1-D convolutional network on the raw windows (PyTorch)",
    "lstm": "LSTM recurrent network on the raw windows (PyTorch)",
    "gru": "GRU recurrent network on the raw windows (PyTorch)",
    "tcn": "temporal convolutional network (dilated causal residual blocks) on the raw windows (PyTorch)",
    "transformer": "transformer encoder over patches of the raw windows (PyTorch)",
}
#: The network regressors of :data:`bmelearn.models.MODELS` by name: (architecture, description).
REGRESSION_NETWORKS = {
    "mlp_regressor": ("mlp", "multilayer perceptron regression of a continuous target from the features (PyTorch)"),
    "cnn_regressor": ("cnn", "1-D convolutional network regression of a continuous target from the raw windows (PyTorch)"),
}
ACTIVATIONS = ("sigmoid", "tanh", "relu")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
AUGMENTATIONS = {"shift", "scale", "noise", "time_shift", "dropout"}
COUNTS = {"dropout"}  # augmentations in numbers of channels: integers
PREDICTION_BATCH = 1024  # windows per forward pass when predicting
_EPOCH_LISTENER: ContextVar[Callable[[dict], None] | None] = ContextVar("epoch_listener", default=None)


@contextmanager
def training_progress(listener: Callable[[dict], None]) -> Iterator[None]:
    """Within this block, every network calls ``listener`` after each training epoch with a dict:
    network, stage (fit or fine_tune), epoch, max_epochs, train_loss and, with a validation
    split, valid_loss (and valid_acc for a classifier)."""
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


class BaseNeuralNetwork(BaseEstimator):
    """What the network classifier and regressor share (see the module text): the parameters and
    their checks, input standardization, the training loop, fine-tuning, batched forward passes
    and saving. A subclass says how targets become training outputs (``_learn_targets``,
    ``_check_new_targets``, ``_encode``, ``_validation_mask``), how many outputs the network has,
    and its skorch net and loss (``_net_and_loss``).

    After ``fit``: ``history_`` (per epoch: stage (fit or fine_tune), epoch, train_loss,
    valid_loss, valid_acc for a classifier, dur in s; with domain-adversarial training also
    domain_loss and domain_weight), ``train_seconds_``, the trained
    ``module_`` and its number of trainable parameters ``n_parameters_``; after
    :meth:`adapt_to`, ``adapted_windows_``. Saved with skops, a network is its parameters and
    its weights as NumPy arrays; loading rebuilds the architecture and loads them.
    """

    #: What ``predict_proba`` gives (the ``probabilities`` capability).
    _PROBABILITIES: ClassVar[Probabilities] = "none"

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
        "adversarial": [Interval(Real, 0, None, closed="left")],
        "device": [str],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
        "verbose": ["verbose"],
    }

    def __init__(self, architecture: str = "mlp", hidden: tuple[int, ...] = (64,), activation: str = "relu",
                 blocks: int = 3, dropout: float = 0.0, optimizer: str = "adam", lr: float = 1e-3,
                 max_epochs: int = 50, batch_size: int = 64, patience: int = 10, validation: float = 0.2,
                 augment: dict | None = None, adversarial: float = 0.0, device: str = "auto",
                 random_state: int | None = 0, verbose: int = 0):
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
        self.adversarial = adversarial
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @property
    def _model_name(self) -> str:
        """The network's name in messages and progress reports (its architecture)."""
        return self.architecture

    def _validate_params(self) -> None:
        """scikit-learn's check of every parameter against :attr:`_parameter_constraints`, then of
        the layer widths and the augmentations: an InvalidParameterError naming the parameter."""
        super()._validate_params()
        estimator = type(self).__name__
        widths = list(self.hidden)
        if not all(isinstance(w, Integral) and not isinstance(w, bool) and w >= 1 for w in widths) or (
                not widths and self.architecture != "mlp"):
            least = "" if self.architecture == "mlp" else f", at least one for {self.architecture}"
            raise InvalidParameterError(f"The 'hidden' parameter of {estimator} must be a list of layer widths "
                                        f"(integers >= 1{least}). Got {self.hidden!r} instead.")
        augment = self.augment or {}
        unknown = sorted(set(augment) - AUGMENTATIONS)
        bad = [k for k, v in augment.items() if isinstance(v, bool) or not isinstance(v, Integral if k in COUNTS else Real)
               or not 0 <= v < float("inf")]
        if unknown or bad:
            raise InvalidParameterError(f"The 'augment' parameter of {estimator} must be a mapping of {sorted(AUGMENTATIONS)} "
                                        f"to amounts >= 0 (integers for {sorted(COUNTS)}). Got {self.augment!r} instead.")
        if augment and self.architecture == "mlp":
            raise InvalidParameterError(f"The 'augment' parameter of {estimator} must be None for mlp: augmentation applies "
                                        f"to raw windows (cnn, lstm, gru, tcn, transformer), not to features. "
                                        f"Got {self.augment!r} instead.")

    def _check_params(self) -> None:
        try:
            self._validate_params()
        except InvalidParameterError as exc:
            raise ConfigError(f"models.{self._model_name}: {exc}") from None

    # What a subclass says about its targets, outputs and loss.
    def _learn_targets(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Learn how the training targets ``y`` become outputs (fit); returns ``y``, checked."""
        raise NotImplementedError

    def _check_new_targets(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``y`` of fine-tuning, checked against what the network was fitted on."""
        raise NotImplementedError

    def _encode(self, y: np.ndarray) -> np.ndarray:
        """The training targets of ``y`` as the loss takes them."""
        raise NotImplementedError

    def _validation_mask(self, target: np.ndarray) -> np.ndarray:
        """The windows held out for early stopping (none when ``validation`` is 0)."""
        raise NotImplementedError

    @property
    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _net_and_loss(self, torch, skorch) -> tuple[type, type]:
        """The skorch net class and the torch loss class."""
        raise NotImplementedError

    def fit(self, X: np.ndarray, y: np.ndarray, unlabelled: np.ndarray | None = None) -> BaseNeuralNetwork:
        """Train a new network on windows ``X`` and targets ``y``; with ``unlabelled`` windows
        of the condition it will be used in (shaped as ``X``) and ``adversarial`` > 0,
        domain-adversarially (see the module text). Returns self."""
        torch, _, networks = _torch()
        self._check_params()
        X = np.asarray(X, dtype=np.float32)
        if self.architecture != "mlp" and X.ndim != 3:
            raise ConfigError(f"models.{self._model_name} takes raw windows (n_windows, n_channels, n_times); "
                              f"got an array of shape {X.shape}.")
        if unlabelled is not None:
            unlabelled = np.asarray(unlabelled, dtype=np.float32)
            if len(unlabelled) == 0 or unlabelled.shape[1:] != X.shape[1:]:
                raise ConfigError(f"models.{self._model_name}: the unlabelled windows of domain-adversarial training "
                                  f"must be windows of the training shape {X.shape[1:]}; got an array of shape "
                                  f"{unlabelled.shape}.")
        y = self._learn_targets(X, y)
        self._standardize_like(X)
        self.input_shape_ = X.shape[1:]
        self.device_ = ("cuda" if torch.cuda.is_available() else "cpu") if self.device == "auto" else self.device
        if self.random_state is not None:
            torch.manual_seed(self.random_state)
        module = self._build(networks)
        self.n_parameters_ = sum(p.numel() for p in module.parameters() if p.requires_grad)
        self.history_, self.train_seconds_ = [], 0.0
        return self._train(module, X, y, self.lr, self.max_epochs, "fit", unlabelled if self.adversarial > 0 else None)

    def fine_tune(self, X: np.ndarray, y: np.ndarray, lr: float | None = None,
                  max_epochs: int | None = None) -> BaseNeuralNetwork:
        """Go on training the fitted network on new windows (transfer learning: a network
        pretrained on other subjects, fine-tuned on the target subject), all layers, from the
        current weights; the inputs are standardized anew with the statistics of ``X``, since
        amplitudes differ between subjects. ``lr`` defaults to the network's ``lr``. A
        classifier's classes must be among those it was fitted on; a regressor keeps the target's
        mean and SD of the first fit (its output stays in those units). Returns self;
        ``history_`` and ``train_seconds_`` grow by the new epochs."""
        check_is_fitted(self, "module_")
        y = self._check_new_targets(X, y)
        X = np.asarray(X, dtype=np.float32)
        self._standardize_like(X)
        if self.random_state is not None:
            _torch()[0].manual_seed(self.random_state + 1)
        return self._train(self.module_.train(), X, y,
                           self.lr if lr is None else lr, self.max_epochs if max_epochs is None else max_epochs,
                           "fine_tune")

    def adapt_to(self, X: np.ndarray) -> BaseNeuralNetwork:
        """Unsupervised adaptation of the fitted network to unlabelled windows ``X`` of a new
        condition (another day or person): adaptive batch normalization (AdaBN: Li et al., Pattern
        Recognition 80, 2018; for EMG, Du et al., Sensors 17(3), 2017). The inputs are standardized
        anew with the statistics of ``X``, and every batch normalization layer's running mean and
        variance are re-estimated on ``X`` as the cumulative average over forward passes (only those
        layers in training mode, so no dropout; no gradient), in shuffled batches of nearly equal
        size, at most ``PREDICTION_BATCH`` windows. The weights stay as they are; a network without
        batch normalization (mlp, lstm, gru, transformer) only re-standardizes its inputs. Returns
        self, with ``adapted_windows_`` the number of windows adapted to."""
        check_is_fitted(self, "module_")
        torch, _, _ = _torch()
        X = np.asarray(X, dtype=np.float32)
        if len(X) == 0 or X.shape[1:] != tuple(self.input_shape_):
            raise ConfigError(f"models.{self._model_name}: adaptation needs windows of the training shape "
                              f"{tuple(self.input_shape_)}; got an array of shape {X.shape}.")
        self._standardize_like(X)
        norms = [m for m in self.module_.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        if norms:
            X = ((X - self.mean_) / self.scale_).astype(np.float32)
            order = np.random.default_rng(self.random_state).permutation(len(X))
            momenta = [m.momentum for m in norms]
            for norm in norms:
                norm.reset_running_stats()
                norm.momentum = None  # running statistics: the average over all the batches seen
                norm.train()
            try:
                with torch.no_grad(), torch_threads():
                    for batch in np.array_split(order, -(-len(X) // PREDICTION_BATCH)):
                        self.module_(torch.from_numpy(X[batch]).to(self.device_))
            finally:
                for norm, momentum in zip(norms, momenta, strict=True):
                    norm.momentum = momentum
                    norm.eval()
        self.adapted_windows_ = len(X)
        return self

    def _build(self, networks):
        """A new module of this architecture for inputs of ``input_shape_``, in single precision as
        the inputs are (whatever PyTorch's default dtype, which a notebook may have set to double)."""
        return networks.build(self.architecture, tuple(self.input_shape_), self._n_outputs, tuple(self.hidden),
                              self.activation, self.blocks, self.dropout).float()

    def _standardize_like(self, X: np.ndarray) -> None:
        """Inputs will be standardized (per feature, or per channel of raw windows) with the
        mean and standard deviation of ``X``."""
        axes = (0,) if X.ndim == 2 else (0, 2)
        self.mean_ = X.mean(axis=axes, keepdims=True)[0]
        std = X.std(axis=axes, keepdims=True)[0]
        self.scale_ = np.where(std > 0, std, 1.0)

    def _train(self, module, X: np.ndarray, y: np.ndarray, lr: float, max_epochs: int, stage: str,
               unlabelled: np.ndarray | None = None) -> BaseNeuralNetwork:
        """Train ``module`` on standardized ``X`` (the validation windows held out for early
        stopping, if any) and keep it as ``module_``; with ``unlabelled`` windows,
        domain-adversarially against them (standardized here too)."""
        torch, skorch, networks = _torch()
        X = (X - self.mean_) / self.scale_
        target = self._encode(y)
        valid = self._validation_mask(target)
        optimizer, extra = {"sgd": (torch.optim.SGD, {}), "momentum": (torch.optim.SGD, {"optimizer__momentum": 0.9}),
                            "rmsprop": (torch.optim.RMSprop, {}), "adam": (torch.optim.Adam, {})}[self.optimizer]
        callbacks = [skorch.callbacks.LRScheduler(torch.optim.lr_scheduler.CosineAnnealingLR, T_max=max_epochs)]
        if (listener := _EPOCH_LISTENER.get()) is not None:
            callbacks.append(networks.EpochReport(listener, self._model_name, stage, max_epochs))
        split = None
        if valid.any():
            callbacks.append(skorch.callbacks.EarlyStopping(patience=self.patience, load_best=True))
            split = skorch.helper.predefined_split(skorch.dataset.Dataset(X[valid], target[valid]))
        net_class, loss = self._net_and_loss(torch, skorch)
        if unlabelled is not None:
            module, net_class = networks.DomainAdversarial(module), networks.DOMAIN_ADVERSARIAL[net_class]
            callbacks.append(skorch.callbacks.PassthroughScoring("domain_loss", on_train=True))
            extra = extra | {"unlabelled": ((unlabelled - self.mean_) / self.scale_).astype(np.float32),
                             "adversarial": self.adversarial, "seed": self.random_state,
                             "total_steps": max_epochs * -(-int((~valid).sum()) // self.batch_size)}
        net = net_class(
            module, criterion=loss, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
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
        keys = ("epoch", "train_loss", "valid_loss", "valid_acc", "domain_loss", "domain_weight", "dur")
        self.history_ = self.history_ + [{"stage": stage} | {k: row[k] for k in keys if k in row} for row in net.history]
        self.module_ = (net.module_.release() if unlabelled is not None else net.module_).eval()
        return self

    def _outputs(self, X: np.ndarray, softmax: bool = False) -> np.ndarray:
        """The fitted network's outputs for ``X`` (standardized here), ``PREDICTION_BATCH`` windows
        at a time; with ``softmax``, as probabilities over the outputs."""
        check_is_fitted(self, "module_")
        torch, _, _ = _torch()
        X = ((np.asarray(X, dtype=np.float32) - self.mean_) / self.scale_).astype(np.float32)
        batches = []
        with torch.no_grad(), torch_threads():
            for i in range(0, len(X), PREDICTION_BATCH):
                outputs = self.module_(torch.from_numpy(X[i : i + PREDICTION_BATCH]).to(self.device_))
                batches.append((torch.softmax(outputs, dim=1) if softmax else outputs).cpu().numpy())
        return np.concatenate(batches) if batches else np.empty((0, self._n_outputs))

    def __sklearn_tags__(self) -> BmelearnTags:
        """Raw windows (3-D) for every architecture but mlp, feature vectors (2-D) for mlp; the
        subclass's ``_PROBABILITIES``; fine-tunable."""
        tags = super().__sklearn_tags__()
        windows = self.architecture != "mlp"
        tags.input_tags.two_d_array = not windows
        tags.input_tags.three_d_array = windows
        return bmelearn_tags(tags, probabilities=self._PROBABILITIES, fine_tunable=True)

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
            module = self._build(networks)
            module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})
            if self.__dict__.get("device_") != "cpu" and not torch.cuda.is_available():
                self.device_ = "cpu"
            self.module_ = module.to(self.device_).eval()


class NeuralNetwork(ClassifierMixin, BaseNeuralNetwork):
    """A neural network classifier (see the module text) with scikit-learn's interface: softmax
    outputs, one per class, trained with the cross-entropy; after ``fit`` also ``classes_``."""

    _PROBABILITIES: ClassVar[Probabilities] = "uncalibrated"

    def _learn_targets(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.encoder_ = LabelEncoder().fit(y)
        return y

    def _check_new_targets(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        known = [str(c) for c in self.classes_]
        unknown = sorted({str(c) for c in np.unique(y)} - set(known))
        if unknown:
            raise ConfigError(f"fine-tuning: classes {unknown} were not in the pretraining data {known}.")
        return y

    def _encode(self, y: np.ndarray) -> np.ndarray:
        return self.encoder_.transform(y).astype(np.int64)

    def _validation_mask(self, target: np.ndarray) -> np.ndarray:
        """The last ``validation`` share of the windows of each class, in their order (none for 0)."""
        mask = np.zeros(len(target), dtype=bool)
        for c in np.unique(target) if self.validation > 0 else []:
            rows = np.flatnonzero(target == c)
            mask[rows[len(rows) - max(1, int(round(self.validation * len(rows)))) :]] = True
        return mask

    @property
    def _n_outputs(self) -> int:
        return len(self.encoder_.classes_)

    def _net_and_loss(self, torch, skorch) -> tuple[type, type]:
        return skorch.NeuralNetClassifier, torch.nn.CrossEntropyLoss

    @property
    def classes_(self) -> np.ndarray:
        check_is_fitted(self, "encoder_")
        return self.encoder_.classes_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self._outputs(X, softmax=True)

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "module_")
        return self.encoder_.inverse_transform(self.predict_proba(X).argmax(axis=1))


class NeuralNetworkRegressor(RegressorMixin, BaseNeuralNetwork):
    """A neural network regressor of one continuous target (see the module text) with
    scikit-learn's interface: one linear output, trained with the mean squared error of the
    target standardized by the training targets' mean and SD (``target_mean_``,
    ``target_scale_``, in the target's units); ``predict`` gives the target's units back;
    ``score`` is R² (scikit-learn's). No ``predict_proba``."""

    @property
    def _model_name(self) -> str:
        """Its name in :data:`bmelearn.models.MODELS`: ``cnn_regressor``."""
        return f"{self.architecture}_regressor"

    def _check_new_targets(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``y`` as a 1-D float array as long as ``X``, finite; a ValueError otherwise (a column
        vector is taken with scikit-learn's DataConversionWarning)."""
        y = column_or_1d(y, warn=True).astype(np.float64)
        check_consistent_length(X, y)
        assert_all_finite(y, input_name="y")
        return y

    def _learn_targets(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        y = self._check_new_targets(X, y)
        self.target_mean_, sd = float(y.mean()), float(y.std())
        self.target_scale_ = sd if sd > 0 else 1.0
        return y

    def _encode(self, y: np.ndarray) -> np.ndarray:
        return ((y - self.target_mean_) / self.target_scale_).astype(np.float32)[:, None]

    def _validation_mask(self, target: np.ndarray) -> np.ndarray:
        """The last ``validation`` share of the windows, in their order (none for 0)."""
        mask = np.zeros(len(target), dtype=bool)
        if self.validation > 0:
            mask[len(target) - max(1, int(round(self.validation * len(target)))) :] = True
        return mask

    @property
    def _n_outputs(self) -> int:
        return 1

    def _net_and_loss(self, torch, skorch) -> tuple[type, type]:
        return skorch.NeuralNetRegressor, torch.nn.MSELoss

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The target predicted for each window of ``X``, in the units of the training target."""
        return self._outputs(X)[:, 0].astype(np.float64) * self.target_scale_ + self.target_mean_
