"""One pattern for every kind of named thing: preprocessing steps, features, protocols, models,
datasets, perturbations and metrics are each a :class:`Registry` of :class:`Entry` objects.

An entry has a name, a one-line description (what ``bmelearn list`` and the report say), its
parameters (name → default; :data:`REQUIRED` when there is none) and free metadata. Lookups
and parameter checks raise a :class:`~bmelearn.errors.ConfigError` that names the config key
(``where``) and the allowed values.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bmelearn.errors import ConfigError

#: The default of a parameter that must be given.
REQUIRED = inspect.Parameter.empty


def first_line(doc: str | None) -> str:
    """The first line of a docstring (its summary), without the ``code`` marks."""
    return (doc or "").strip().split("\n", 1)[0].replace("``", "")


@dataclass(frozen=True)
class Entry:
    """A named thing. ``obj`` is the function or class behind it (None when there is none, as
    for a metric computed with the others). ``metadata["requires"]``, if set, is the
    ``(module, pip requirement)`` that the entry needs installed."""

    name: str
    description: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    obj: Any = None

    @classmethod
    def of(cls, obj: Any, name: str | None = None, description: str | None = None,
           parameters: Mapping[str, Any] | None = None, data_args: int = 0, **metadata: Any) -> Entry:
        """An entry for a function or class. Unless given, the name is ``obj``'s, the description
        the first line of its docstring and the parameters those of its signature after the first
        ``data_args`` arguments (which take the data, e.g. a Recording)."""
        if parameters is None:
            args = list(inspect.signature(obj).parameters.values())[data_args:]
            parameters = {p.name: p.default for p in args if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        return cls(name or obj.__name__, description or first_line(obj.__doc__), parameters, metadata, obj)


E = TypeVar("E", bound=Entry)


class Registry(Generic[E]):
    """Entries by name, in the order they were added; ``kind`` names one in messages (``step``)."""

    def __init__(self, kind: str, entries: Iterable[E] = ()):
        self.kind = kind
        self._entries: dict[str, E] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: E) -> E:
        if entry.name in self._entries:
            raise ValueError(f"{self.kind} {entry.name!r} registered twice")
        self._entries[entry.name] = entry
        return entry

    def get(self, name: str, where: str) -> E:
        """The entry ``name``; a ConfigError naming the config key ``where`` and the choices when
        there is none, or the package to install when it needs one that is missing."""
        if name not in self._entries:
            raise ConfigError(f"{where}: unknown {self.kind} {name!r}; choose from {sorted(self._entries)}.")
        entry = self._entries[name]
        if "requires" in entry.metadata:
            module, requirement = entry.metadata["requires"]
            if importlib.util.find_spec(module) is None:
                raise ConfigError(f"{where}: {self.kind} {name} needs {module}: pip install \"{requirement}\".")
        return entry

    def check_parameters(self, name: str, params: Mapping[str, Any], where: str) -> E:
        """The entry ``name`` (see :meth:`get`) once every key of ``params`` is one of its parameters
        and every :data:`REQUIRED` one is given; else a ConfigError naming ``where``, the unknown
        or missing parameters and the allowed ones."""
        entry = self.get(name, where)
        unknown = sorted(set(params) - set(entry.parameters))
        if unknown:
            raise ConfigError(f"{where}: {self.kind} {name} has no parameter(s) {unknown}; "
                              f"allowed: {list(entry.parameters) or 'none'}.")
        missing = [p for p, default in entry.parameters.items() if default is REQUIRED and p not in params]
        if missing:
            raise ConfigError(f"{where}: {self.kind} {name} needs the parameter(s) {missing}, e.g. "
                              f"{{{name}: {{{missing[0]}: ...}}}}.")
        return entry

    def __getitem__(self, name: str) -> E:
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def values(self) -> Iterable[E]:
        return self._entries.values()

    def items(self) -> Iterable[tuple[str, E]]:
        return self._entries.items()
