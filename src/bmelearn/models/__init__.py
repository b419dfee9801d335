"""Model factories by name: classic scikit-learn models, and neural networks (PyTorch via
skorch) on the features (``mlp``) or on the raw windows (``cnn``, ``lstm``, ``gru``); ROCKET
models join this registry."""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from bmelearn.errors import ConfigError
from bmelearn.models.classic import CLASSIC, make_classic
from bmelearn.models.deep import NeuralNetwork

NETWORKS = {
    "mlp": "multilayer perceptron on the features (PyTorch): hidden widths, sigmoid/tanh/relu, sgd/momentum/rmsprop/adam",
    "cnn": "1-D convolutional network on the raw windows (PyTorch)",
    "lstm": "LSTM recurrent network on the raw windows (PyTorch)",
    "gru": "GRU recurrent network on the raw windows (PyTorch)",
}
RAW_INPUT = {"cnn", "lstm", "gru"}  # models that take the raw windows, not the features
MODELS = {name: description for name, (description, _, _) in CLASSIC.items()} | NETWORKS


def make_model(name: str, random_state: int | None = None, **params: Any) -> Pipeline:
    """Build the named model (see ``MODELS``) with the estimator's own parameters."""
    if name not in MODELS:
        raise ConfigError(f"models: unknown model {name!r}; choose from {sorted(MODELS)}.")
    model = make_classic(name, random_state) if name in CLASSIC else Pipeline([(name, NeuralNetwork(name, random_state=random_state))])
    estimator: BaseEstimator = model.steps[-1][1]
    allowed = estimator.get_params(deep=False)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"models.{name}: unknown parameter(s) {unknown}; {name} takes {sorted(allowed)}.")
    if isinstance(params.get("hidden"), list):  # YAML lists: layer widths
        params = params | {"hidden": tuple(params["hidden"])}
    estimator.set_params(**params)
    return model


__all__ = ["MODELS", "RAW_INPUT", "make_model"]
