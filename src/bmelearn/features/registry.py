"""The feature registry: every feature by its literature name, and named groups of features.

A feature is a function ``f(ctx, **params) -> array (n_windows, n_channels)`` computed from
a :class:`FeatureContext`, which holds the windows and computes intermediates shared by
several features (first difference, ...) once per extraction call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from bmelearn.errors import ConfigError


@dataclass
class FeatureContext:
    """Windows ``X`` (n_windows, n_channels, n_times) sampled at ``fs`` Hz, with shared intermediates."""

    X: np.ndarray
    fs: float

    @cached_property
    def diff(self) -> np.ndarray:
        """First difference along time, (n_windows, n_channels, n_times - 1)."""
        return np.diff(self.X, axis=-1)


@dataclass(frozen=True)
class Feature:
    """One feature: its name, family, function, default parameters and documentation."""

    name: str
    family: str
    func: Callable[..., np.ndarray]
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def doc(self) -> str:
        return (self.func.__doc__ or "").strip()

    def __call__(self, ctx: FeatureContext, **params: Any) -> np.ndarray:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ConfigError(f"features: {self.name} has no parameter(s) {unknown}; its parameters are {sorted(self.defaults)}.")
        return self.func(ctx, **(self.defaults | params))


FEATURES: dict[str, Feature] = {}
GROUPS: dict[str, tuple[str, ...]] = {}


def register(name: str, family: str, **defaults: Any) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    """Decorator adding a feature function to the registry under ``name``."""

    def add(func: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        if name in FEATURES:
            raise ValueError(f"feature {name} registered twice")
        FEATURES[name] = Feature(name, family, func, defaults)
        return func

    return add


def register_group(name: str, members: tuple[str, ...]) -> None:
    """Name a group of features (e.g. HTD = MAV, ZC, SSC, WL; Hudgins et al. 1993)."""
    GROUPS[name] = members


def resolve(names: list[str] | tuple[str, ...]) -> list[str]:
    """Expand group names into features, keeping the first occurrence of each feature."""
    out: list[str] = []
    for name in names:
        key = name.upper()
        members = GROUPS.get(key, (key,))
        for member in members:
            if member not in FEATURES:
                raise ConfigError(
                    f"features: unknown feature or group {name!r}; features: {sorted(FEATURES)}, groups: {sorted(GROUPS)}."
                )
            if member not in out:
                out.append(member)
    return out
