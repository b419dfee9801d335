"""Model factories by name. Classic scikit-learn models now; deep and ROCKET models join this registry."""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from bmelearn.errors import ConfigError
from bmelearn.models.classic import CLASSIC, make_classic

MODELS = {name: description for name, (description, _, _) in CLASSIC.items()}


def make_model(name: str, random_state: int | None = None, **params: Any) -> Pipeline:
    """Build the named model (see ``MODELS``) with the estimator's own parameters."""
    if name not in CLASSIC:
        raise ConfigError(f"models: unknown model {name!r}; choose from {sorted(MODELS)}.")
    model = make_classic(name, random_state)
    estimator: BaseEstimator = model.steps[-1][1]
    allowed = estimator.get_params(deep=False)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"models.{name}: unknown parameter(s) {unknown}; {name} takes {sorted(allowed)}.")
    estimator.set_params(**params)
    return model


__all__ = ["MODELS", "make_model"]
