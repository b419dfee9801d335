"""Model factories by name: classic scikit-learn models, and neural networks (PyTorch via
skorch) on the features (``mlp``) or on the raw windows (``cnn``, ``lstm``, ``gru``), and
ROCKET-family classifiers on the raw windows (aeon)."""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from bmelearn.errors import ConfigError
from bmelearn.models.capabilities import Capabilities, capabilities
from bmelearn.models.classic import CLASSIC, make_classic
from bmelearn.models.deep import NeuralNetwork
from bmelearn.models.rocket import ROCKETS, make_rocket

NETWORKS = {
    "mlp": "multilayer perceptron on the features (PyTorch): hidden widths, sigmoid/tanh/relu, sgd/momentum/rmsprop/adam",
    "cnn": "1-D convolutional network on the raw windows (PyTorch)",
    "lstm": "LSTM recurrent network on the raw windows (PyTorch)",
    "gru": "GRU recurrent network on the raw windows (PyTorch)",
}
MODELS = {name: description for name, (description, _, _) in CLASSIC.items()} | NETWORKS | ROCKETS


def make_model(name: str, random_state: int | None = None, **params: Any) -> Pipeline:
    """Build the named model (see ``MODELS``) with the estimator's own parameters."""
    if name not in MODELS:
        raise ConfigError(f"models: unknown model {name!r}; choose from {sorted(MODELS)}.")
    if name in CLASSIC:
        model = make_classic(name, random_state)
    elif name in ROCKETS:
        model = make_rocket(name, random_state)
    else:
        model = Pipeline([(name, NeuralNetwork(name, random_state=random_state))])
    estimator: BaseEstimator = model.steps[-1][1]
    allowed = estimator.get_params(deep=False)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"models.{name}: unknown parameter(s) {unknown}; {name} takes {sorted(allowed)}.")
    if isinstance(params.get("hidden"), list):  # YAML lists: layer widths
        params = params | {"hidden": tuple(params["hidden"])}
    estimator.set_params(**params)
    return model


def trained_network(model: BaseEstimator) -> NeuralNetwork | None:
    """The fitted neural network inside a fitted pipeline (also one with a tuned operating
    point), or None if it holds none."""
    inner = getattr(model, "estimator_", model)
    last = inner.steps[-1][1] if isinstance(inner, Pipeline) else inner
    return last if isinstance(last, NeuralNetwork) else None


__all__ = ["MODELS", "Capabilities", "capabilities", "make_model", "trained_network"]
