"""The experiment configuration: a YAML file, validated completely before any work starts.

Every error names the key at fault and the allowed values. ``--set key.path=value``
overrides any value (the value is read as YAML: ``--set windows.length=0.25``,
``--set dataset.subjects=[1,2]``).
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bmelearn.datasets import check_dataset
from bmelearn.errors import ConfigError
from bmelearn.evaluation.bootstrap import CONFIDENCE, N_BOOT
from bmelearn.evaluation.metrics import OVERALL
from bmelearn.evaluation.protocols import PROTOCOLS
from bmelearn.evaluation.robustness import PERTURBATIONS
from bmelearn.features import resolve
from bmelearn.features.registry import FEATURES
from bmelearn.models import MODELS
from bmelearn.signals.preprocessing import preprocessing_steps

#: The demo experiment that ``bmelearn run`` runs with no argument (on the built-in simulator).
DEMO_CONFIG = files("bmelearn") / "demo.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _single_key(item: Any, where: str) -> tuple[str, dict]:
    """``"name"`` or ``{"name": {params}}`` -> (name, params)."""
    if isinstance(item, str):
        return item, {}
    if isinstance(item, dict) and len(item) == 1:
        ((name, params),) = item.items()
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ValueError(f"{where}: the parameters of {name!r} must be a mapping, got {params!r}")
        return str(name), params
    raise ValueError(f"{where}: write a name or a one-key mapping {{name: {{parameters}}}}, got {item!r}")


class DatasetConfig(BaseModel):
    """``name`` of a dataset (see ``bmelearn datasets``), its loader's options (path, subjects ...)
    and optionally the ``classes`` to keep (in this order; e.g. two of them for a binary task)."""

    model_config = ConfigDict(extra="allow")
    name: str = "simulator"
    classes: list[str] | None = Field(default=None, min_length=2)

    @model_validator(mode="after")
    def _known(self) -> DatasetConfig:
        check_dataset(self.name, self.options)
        return self

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class WindowsConfig(_Strict):
    """Window length and step, in seconds; or ``whole: true`` (``windows: whole``) for one window
    per trial, the whole trial (tables with one row per patient, fixed-length epochs)."""

    length: float = Field(0.2, gt=0)
    step: float = Field(0.1, gt=0)
    whole: bool = False


class SelectionConfig(_Strict):
    """Feature selection inside each training fold: ``forward`` picks ``n_features`` whole features
    (all channels of one feature together) by cross-validated accuracy over ``cv`` contiguous inner
    folds; ``mutual_info`` and ``anova`` keep the ``n_features`` best columns."""

    method: Literal["forward", "mutual_info", "anova"]
    n_features: int = Field(gt=0)
    cv: int = Field(default=3, ge=2)


class FeaturesConfig(_Strict):
    """Features per modality (``{emg: [HTD]}``), per-feature parameters (``{ZC: {threshold: 0.01}}``)
    and an optional feature selection (``{method: forward, n_features: 4}``)."""

    per_modality: dict[str, list[str]] = Field(default_factory=lambda: {"emg": ["HTD"]})
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    selection: SelectionConfig | None = None

    @field_validator("per_modality")
    @classmethod
    def _known_features(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for names in value.values():
            resolve(names)
        return value

    @model_validator(mode="after")
    def _known_params(self) -> FeaturesConfig:
        selected = {f for names in self.per_modality.values() for f in resolve(names)}
        for name, params in self.params.items():
            if name not in selected:
                raise ValueError(f"params: {name!r} is not among the selected features {sorted(selected)}")
            FEATURES.check_parameters(name, params, "features.params")
        return self


class OperatingPointConfig(_Strict):
    """Binary tasks: the decision threshold, chosen on the training folds, that reaches ``value``
    sensitivity (the highest specificity that keeps it) or ``value`` specificity, or that
    maximizes Youden's J = sensitivity + specificity − 1."""

    target: Literal["sensitivity", "specificity", "youden"]
    value: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _value_when_needed(self) -> OperatingPointConfig:
        if self.target != "youden" and self.value is None:
            raise ValueError(f"target {self.target} needs a value, e.g. {{target: {self.target}, value: 0.9}}")
        if self.target == "youden" and self.value is not None:
            raise ValueError("target youden takes no value")
        return self


class RobustnessConfig(_Strict):
    """Levels of each perturbation of the test windows of ``modality`` (see
    bmelearn.evaluation.robustness): electrode shifts in electrodes, SNR in dB, powerline
    amplitude relative to the channel RMS, channels dropped, gain factors."""

    modality: str = "emg"
    electrode_shift: list[float] = Field(default_factory=list)
    snr_db: list[float] = Field(default_factory=list)
    powerline: list[float] = Field(default_factory=list)
    powerline_hz: float = Field(default=50.0, gt=0)
    dropout: list[int] = Field(default_factory=list)
    gain: list[float] = Field(default_factory=list)

    @property
    def levels(self) -> dict[str, list[float]]:
        return {name: list(getattr(self, name)) for name in PERTURBATIONS if getattr(self, name)}


class ControlConfig(_Strict):
    """Decision-level scoring for control (bmelearn.evaluation.control): majority ``vote`` over
    this many windows, no decision below ``reject_below`` probability, ``rest`` the class that
    does not move the device."""

    vote: int = Field(default=1, ge=1)
    reject_below: float | None = Field(default=None, gt=0, lt=1)
    rest: str | None = None


class EvaluationConfig(_Strict):
    """How results are scored: bootstrap intervals (``n_boot`` resamples, ``confidence``), the
    ``positive`` class of a binary task, its ``operating_point``, the ``compare`` metric of the
    pipeline statistics, ``robustness`` curves, decision-level ``control`` metrics and the
    ``learning_curve`` (numbers of training repetitions per class to try) and the ``transfer``
    curve of the neural networks (numbers of the test subject's repetitions per class to
    fine-tune on; see :mod:`bmelearn.evaluation.transfer`)."""

    n_boot: int = Field(default=N_BOOT, ge=0)
    confidence: float = Field(default=CONFIDENCE, gt=0.5, lt=1)
    positive: str | None = None
    operating_point: OperatingPointConfig | None = None
    compare: Literal[OVERALL] = "balanced_accuracy"
    robustness: RobustnessConfig | None = None
    control: ControlConfig | None = None
    learning_curve: list[int] = Field(default_factory=list)
    transfer: list[int] = Field(default_factory=list)

    @field_validator("learning_curve", "transfer")
    @classmethod
    def _repetitions(cls, value: list[int]) -> list[int]:
        if any(r < 1 for r in value):
            raise ValueError(f"numbers of training repetitions per class must be 1 or more, got {value}")
        return sorted(set(value))


class ExecutionConfig(_Strict):
    """Where the fits run (:mod:`bmelearn.compute.backends`): ``sequential``, local ``processes``
    (``workers`` of them; default all cores) or ``dask`` (the cluster at ``scheduler``,
    ``tcp://HOST:8786``, or a local cluster of ``workers`` processes). Results are the same
    whichever is used. Feature matrices are cached on disk (``cache``; see
    :mod:`bmelearn.compute.cache`)."""

    backend: Literal["sequential", "processes", "dask"] = "processes"
    workers: int | None = Field(default=None, ge=1)
    scheduler: str | None = None
    #: Feature cache: true (a ``.cache`` folder beside the run folder), false, or a folder
    #: (one on storage that a cluster shares, for instance).
    cache: bool | str = True

    @model_validator(mode="after")
    def _scheduler_needs_dask(self) -> ExecutionConfig:
        if self.scheduler is not None:
            if self.backend != "dask":
                raise ValueError(f"scheduler {self.scheduler!r} is a Dask address: set backend: dask too")
            if not self.scheduler.startswith(("tcp://", "tls://", "inproc://")):
                raise ValueError(f"scheduler must be a Dask address such as tcp://HOST:8786, got {self.scheduler!r}")
        return self


class ModelConfig(_Strict):
    """A model by name, its estimator parameters, and an optional label for the results."""

    name: str
    label: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("label")
    @classmethod
    def _a_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
            raise ValueError(f"{value!r} is not a name; a label names the model's files: up to 64 letters, digits, "
                             "'-', '_' or '.', starting with a letter or digit")
        return value

    @property
    def key(self) -> str:
        return self.label or self.name


class ExperimentConfig(_Strict):
    """A whole experiment: dataset × preprocessing × windows × features × models × protocols."""

    name: str = "experiment"
    seed: int = 0
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    preprocessing: list[dict[str, dict[str, Any]]] = Field(default_factory=list)
    windows: WindowsConfig = Field(default_factory=WindowsConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    models: list[ModelConfig] = Field(default_factory=lambda: [ModelConfig(name="lda")], min_length=1)
    protocols: list[dict[str, dict[str, Any]]] = Field(default_factory=lambda: [{"cross_session": {}}], min_length=1)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)

    @field_validator("preprocessing", "protocols", mode="before")
    @classmethod
    def _normalize_steps(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError(f"must be a list, got {value!r}")
        return [dict([_single_key(item, f"item {i}")]) for i, item in enumerate(value)]

    @field_validator("windows", mode="before")
    @classmethod
    def _windows_shorthand(cls, value: Any) -> Any:
        return {"whole": True} if value == "whole" else value

    @field_validator("features", mode="before")
    @classmethod
    def _features_shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):  # features: [HTD]  ->  applied to EMG
            return {"per_modality": {"emg": value}}
        if isinstance(value, dict) and "per_modality" not in value:  # features: {emg: [HTD], params: {...}}
            options = {k: value[k] for k in ("params", "selection") if k in value}
            return {"per_modality": {k: v for k, v in value.items() if k not in options}, **options}
        return value

    @field_validator("models", mode="before")
    @classmethod
    def _models_shorthand(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError(f"must be a list of model names or mappings, got {value!r}")
        out = []
        for item in value:
            if isinstance(item, str):
                out.append({"name": item})
            elif isinstance(item, dict) and "name" in item:
                fixed = {k: item[k] for k in ("name", "label", "params") if k in item}
                out.append(fixed | {"params": fixed.get("params", {}) | {k: v for k, v in item.items() if k not in fixed}})
            else:
                out.append(item)
        return out

    @model_validator(mode="after")
    def _buildable(self) -> ExperimentConfig:
        preprocessing_steps(self.preprocessing)
        keys = [m.key for m in self.models]
        if len(set(keys)) != len(keys):
            raise ValueError(f"models: two models share a name {keys}; give one a different label")
        for i, m in enumerate(self.models):
            MODELS.check_parameters(m.name, m.params, f"models.{i}")
        for i, step in enumerate(self.protocols):
            ((name, params),) = step.items()
            PROTOCOLS.check_parameters(name, params, f"protocols.{i}")
        return self


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides (values read as YAML) to a raw config mapping."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: write key.path=value, e.g. --set windows.length=0.25")
        path, text = item.split("=", 1)
        keys = path.strip().split(".")
        value = yaml.safe_load(text)
        node: Any = raw
        for depth, key in enumerate(keys[:-1]):
            if isinstance(node, list):
                node = node[_index(key, keys[: depth + 1], len(node))]
            else:
                node = node.setdefault(key, {})
            if not isinstance(node, dict | list):
                raise ConfigError(f"--set {path}: {'.'.join(keys[: depth + 1])} is a value, not a section.")
        last = keys[-1]
        if isinstance(node, list):
            node[_index(last, keys, len(node))] = value
        else:
            node[last] = value
    return raw


def _index(key: str, keys: list[str], length: int) -> int:
    if not key.isdigit() or int(key) >= length:
        raise ConfigError(f"--set {'.'.join(keys)}: {key!r} is not an index of a list of {length} item(s).")
    return int(key)


def validate_config(raw: Any, source: str = "config") -> ExperimentConfig:
    """Validate a raw mapping; errors name the key path and what is allowed."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: an experiment file must be a YAML mapping (key: value), got {type(raw).__name__}.")
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key; allowed keys: {_allowed_keys(err['loc'][:-1])}"
            names_its_key = isinstance(err.get("ctx", {}).get("error"), ConfigError)
            lines.append(message if names_its_key or not err["loc"] else f"{key}: {message}")
        raise ConfigError(f"{source}: invalid configuration\n  " + "\n  ".join(lines)) from None


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys allowed in the config section at ``loc`` (empty when it is not a fixed section)."""
    model: type[BaseModel] = ExperimentConfig
    for part in loc:
        field = model.model_fields.get(str(part))
        sections = [a for a in get_args(field.annotation) or (field.annotation,)
                    if isinstance(a, type) and issubclass(a, BaseModel)] if field else []  # X or X | None
        if not sections:
            return []
        model = sections[0]
    return sorted(model.model_fields)


def load_config(path: str | Path | None, overrides: list[str] = ()) -> ExperimentConfig:
    """Read, override and validate an experiment file (None: the demo experiment)."""
    if path is None:
        raw, source = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8")), "demo"
    else:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: experiment file not found.")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc}).") from None
        source = str(path)
    raw = apply_overrides(raw or {}, list(overrides))
    return validate_config(raw, source)
