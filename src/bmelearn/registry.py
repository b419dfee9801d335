"""One pattern for every kind of named thing: preprocessing steps, features, protocols, models,
datasets, perturbations and metrics are each a :class:`Registry` of :class:`Entry` objects.

An entry has a name, a one-line description (what ``bmelearn list`` and the report say), its
parameters (name → default; :data:`REQUIRED` when there is none), their types (the annotations
of its function's signature, e.g. ``float``, ``Sequence[int] | None`` or a constrained type
such as :data:`PositiveFloat`) and free metadata. Lookups and parameter checks raise a
:class:`~bmelearn.errors.ConfigError` that names the config key (``where``) and the allowed values.
"""

from __future__ import annotations

import importlib.util
import inspect
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, Generic, TypeVar

from pydantic import Field, TypeAdapter, ValidationError

from bmelearn.errors import ConfigError

#: The default of a parameter that must be given.
REQUIRED = inspect.Parameter.empty

#: Constrained parameter types for signatures (finite: no inf or NaN).
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]


def first_line(doc: str | None) -> str:
    """The first line of a docstring (its summary), without the ``code`` marks."""
    return (doc or "").strip().split("\n", 1)[0].replace("``", "")


@dataclass(frozen=True)
class Entry:
    """A named thing. ``obj`` is the function or class behind it (None when there is none, as
    for a metric computed with the others). ``metadata["requires"]``, if set, is the
    ``(module, pip requirement)`` that the entry needs installed. ``types`` holds the type of each
    parameter that has one (what :meth:`Registry.check_parameters` checks values against)."""

    name: str
    description: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    obj: Any = None
    types: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, obj: Any, name: str | None = None, description: str | None = None,
           parameters: Mapping[str, Any] | None = None, data_args: int = 0, **metadata: Any) -> Entry:
        """An entry for a function or class. Unless given, the name is ``obj``'s, the description
        the first line of its docstring and the parameters those of its signature after the first
        ``data_args`` arguments (which take the data, e.g. a Recording); their types are the
        annotations of the signature."""
        if parameters is None:
            args = list(inspect.signature(obj).parameters.values())[data_args:]
            parameters = {p.name: p.default for p in args if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        return cls(name or obj.__name__, description or first_line(obj.__doc__), parameters, metadata, obj,
                   parameter_types(obj, parameters))


def parameter_types(obj: Any, parameters: Iterable[str]) -> dict[str, Any]:
    """The annotated types of the ``parameters`` of function or class ``obj`` (those annotated)."""
    hints = typing.get_type_hints(obj.__init__ if inspect.isclass(obj) else obj, include_extras=True)
    return {p: hints[p] for p in parameters if p in hints}


@cache
def _adapter(hint: Any) -> TypeAdapter:
    return TypeAdapter(hint)


def check_value(value: Any, hint: Any, key: str) -> None:
    """A ConfigError naming ``key``, ``value`` and what is allowed unless ``value`` is of type
    ``hint``, strictly: no text for a number, no number for a text or a list, no true for 1."""
    try:
        _adapter(hint).validate_python(value, strict=True)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        at = "".join(f"[{p}]" for p in error["loc"] if isinstance(p, int))  # an item of a list
        if error["type"] == "value_error":  # a check of the type's own, whose message says it all
            raise ConfigError(f"{key}{at}: {error['msg'].removeprefix('Value error, ')}.") from None
        problem = error["msg"][:1].lower() + error["msg"][1:]
        value = repr(error["input"]) if len(repr(error["input"])) <= 60 else f"{repr(error['input'])[:57]}..."
        raise ConfigError(f"{key}{at}: {value} is not valid ({problem}); expected {type_name(hint)}.") from None


def type_name(hint: Any) -> str:
    """A short name of a parameter type for messages: ``list[integer] | null``, ``finite number > 0``."""
    if hint is NoneType or hint is None:
        return "null"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        metadata = getattr(args[1], "metadata", ())
        bounds = [f"{word} {getattr(m, attr)}" for m in metadata
                  for attr, word in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")) if hasattr(m, attr)]
        finite = ["finite"] if any(getattr(m, "allow_inf_nan", None) is False for m in metadata) else []
        return " ".join([*finite, type_name(args[0]), *bounds]) if bounds or finite else type_name(args[0])
    if origin in (typing.Union, UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None and issubclass(origin, Mapping):
        return "mapping"
    if origin is not None and issubclass(origin, Iterable):
        return f"list[{type_name(args[0]) if args else 'any'}]"
    return {int: "integer", float: "number", bool: "true/false", str: "text"}.get(hint, getattr(hint, "__name__", str(hint)))


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

    def check_parameters(self, name: str, params: Mapping[str, Any], where: str, at: str | None = None) -> E:
        """The entry ``name`` (see :meth:`get`) once every key of ``params`` is one of its parameters,
        every :data:`REQUIRED` one is given and every value is of its parameter's type; else a
        ConfigError naming ``where`` and the unknown or missing parameters and the allowed ones,
        or the key of the bad value (under ``at``, by default ``where.name``) and its type."""
        entry = self.get(name, where)
        unknown = sorted(set(params) - set(entry.parameters))
        if unknown:
            raise ConfigError(f"{where}: {self.kind} {name} has no parameter(s) {unknown}; "
                              f"allowed: {list(entry.parameters) or 'none'}.")
        missing = [p for p, default in entry.parameters.items() if default is REQUIRED and p not in params]
        if missing:
            raise ConfigError(f"{where}: {self.kind} {name} needs the parameter(s) {missing}, e.g. "
                              f"{{{name}: {{{missing[0]}: ...}}}}.")
        for key, value in params.items():
            if key in entry.types:
                check_value(value, entry.types[key], f"{at or f'{where}.{name}'}.{key}")
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
