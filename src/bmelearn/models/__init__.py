"""Model factories by name: classic scikit-learn models, and neural networks (PyTorch via
skorch) on the features (``mlp``) or on the raw windows (``cnn``, ``lstm``, ``gru``, ``tcn``,
``transformer``), and ROCKET-family classifiers on the raw windows (aeon); regressors of a continuous target
(``ridge``, ``rf_regressor``, ``mlp_regressor``, ``cnn_regressor``). Each entry's
``metadata["task"]`` (:func:`model_task`) is read from its estimator's tags."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sklearn.base import BaseEstimator, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from bmelearn.errors import ConfigError
from bmelearn.models.calibration import with_calibration
from bmelearn.models.capabilities import Capabilities, capabilities
from bmelearn.models.classic import CLASSIC, make_classic
from bmelearn.models.deep import ARCHITECTURES, REGRESSION_NETWORKS, BaseNeuralNetwork, NeuralNetwork, NeuralNetworkRegressor
from bmelearn.models.rocket import ROCKETS, make_rocket
from bmelearn.registry import Entry, Registry


def _network(name: str, random_state: int | None = None) -> Pipeline:
    return Pipeline([(name, NeuralNetwork(name, random_state=random_state))])


def _network_regressor(name: str, random_state: int | None = None) -> Pipeline:
    architecture, _ = REGRESSION_NETWORKS[name]
    return Pipeline([(name, NeuralNetworkRegressor(architecture, random_state=random_state))])


def _model(name: str, description: str, build: Callable[[int | None], Pipeline], **metadata: Any) -> Entry:
    """An entry whose ``obj`` builds the model from a random state, whose parameters are those of
    its estimator (the pipeline's last step), with bmelearn's defaults, and whose
    ``metadata["task"]`` is the estimator's (classification or regression, from its tags)."""
    model = build(None)
    return Entry(name, description, model.steps[-1][1].get_params(deep=False),
                 {"task": capabilities(model).task, **metadata}, build)


#: The models by name: classic (scikit-learn), neural networks (PyTorch) and ROCKETs (aeon).
MODELS: Registry[Entry] = Registry("model", [
    *(_model(name, description, partial(make_classic, name)) for name, (description, _, _) in CLASSIC.items()),
    *(_model(name, description, partial(_network, name), requires=("skorch", "bmelearn[deep]"))
      for name, description in ARCHITECTURES.items()),
    *(_model(name, description, partial(_network_regressor, name), requires=("skorch", "bmelearn[deep]"))
      for name, (_, description) in REGRESSION_NETWORKS.items()),
    *(_model(name, description, partial(make_rocket, name), requires=("aeon", "bmelearn[rocket]"))
      for name, description in ROCKETS.items()),
])


def model_task(name: str, where: str = "models") -> str:
    """The task of the named model of :data:`MODELS`, ``"classification"`` or ``"regression"``
    (known without its packages installed); a ConfigError naming ``where`` and the choices for
    an unknown name."""
    if name not in MODELS:
        raise ConfigError(f"{where}: unknown model {name!r}; choose from {sorted(MODELS)}.")
    return MODELS[name].metadata["task"]


def make_model(name: str, random_state: int | None = None, where: str = "models", **params: Any) -> Pipeline:
    """Build the named model of :data:`MODELS` with the estimator's own parameters, each checked
    as the estimator declares it (scikit-learn's ``_parameter_constraints``), without data; a
    ConfigError names the config key ``where`` (``models.0``) or ``where.params.KEY``."""
    model = MODELS.check_parameters(name, params, where).obj(random_state)
    estimator: BaseEstimator = model.steps[-1][1]
    if isinstance(params.get("hidden"), list):  # YAML lists: layer widths
        params = params | {"hidden": tuple(params["hidden"])}
    for key, value in params.items():  # one at a time, so that the error names the one at fault
        try:
            clone(estimator).set_params(**{key: value})._validate_params()
        except InvalidParameterError as exc:
            raise ConfigError(f"{where}.params.{key}: {exc}") from None
    estimator.set_params(**params)
    return model


def trained_network(model: BaseEstimator) -> BaseNeuralNetwork | None:
    """The fitted neural network (classifier or regressor) inside a fitted pipeline (also one
    with a tuned operating point or calibrated), or None if it holds none."""
    inner = getattr(model, "estimator_", model)
    last = inner.steps[-1][1] if isinstance(inner, Pipeline) else inner
    if isinstance(last, CalibratedClassifierCV):  # ensemble=False: one model, refit on all the training data
        return trained_network(last.calibrated_classifiers_[0].estimator)
    return last if isinstance(last, BaseNeuralNetwork) else None


__all__ = ["MODELS", "Capabilities", "capabilities", "make_model", "model_task", "trained_network", "with_calibration"]
