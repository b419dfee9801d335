"""The experiment configuration: a YAML file, validated completely before any work starts.

Every error is one line that names the key at fault (``windows.step``, ``models.1.params.C``),
the value and what is allowed. ``--set key.path=value`` overrides any value (the value is read
as YAML: ``--set windows.length=0.25``, ``--set dataset.subjects=[1,2]``).

What the dataset's options tell before it is read (its :class:`~bmelearn.datasets.Description`:
sampling rates, sessions, classes, subjects, repetitions, trial duration) is checked too: a
window or step shorter than a sample, a window longer than the trials, a filter cutoff above
Nyquist, a session or class the dataset does not have, more folds than repetitions or subjects.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import numpy as np
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from bmelearn.datasets import DATASETS, Description, check_dataset
from bmelearn.errors import BmeError, ConfigError
from bmelearn.evaluation.adaptation import METHODS as ADAPTATION_METHODS
from bmelearn.evaluation.bootstrap import CONFIDENCE, N_BOOT
from bmelearn.evaluation.control import Decisions
from bmelearn.evaluation.metrics import OVERALL
from bmelearn.evaluation.operating_point import with_operating_point
from bmelearn.evaluation.protocols import PROTOCOLS, make_protocol
from bmelearn.evaluation.raters import LEVELS, categories, read_ratings
from bmelearn.evaluation.regression import REGRESSION_METRICS
from bmelearn.evaluation.robustness import PERTURBATIONS
from bmelearn.features import resolve
from bmelearn.features.registry import FEATURES, GROUPS
from bmelearn.models import MODELS, capabilities, make_model, model_task, with_calibration
from bmelearn.models.calibration import METHODS
from bmelearn.runs.study import adapted_protocols, check_control, transfer_networks
from bmelearn.signals.preprocessing import PREPROCESSED, acts_on, apply_steps, preprocessing_steps
from bmelearn.signals.recording import Recording

#: The metrics of a regression, by name.
REGRESSION = tuple(REGRESSION_METRICS)
#: The demo experiment that ``bmelearn run`` runs with no argument (on the built-in simulator).
DEMO_CONFIG = files("bmelearn") / "demo.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _file_name(what: str) -> AfterValidator:
    """A check that a value is a name that can name files and folders, not a path (``what`` they are)."""

    def check(value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
            raise ValueError(f"{value!r} is not a name; {what}: up to 64 letters, digits, '-', '_' or '.', "
                             "starting with a letter or digit")
        return value

    return AfterValidator(check)


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
    and optionally the ``classes`` to keep (in this order; e.g. two of them for a binary task),
    or, for a dataset whose files hold label numbers (``files``), a mapping of those numbers to
    class names (``{1: fist, 2: open}``), which is also what is kept."""

    model_config = ConfigDict(extra="allow")
    name: str = "simulator"
    classes: list[str] | dict[int | str, str] | None = Field(default=None, min_length=2)
    _description: Description = PrivateAttr()

    @model_validator(mode="after")
    def _known(self) -> DatasetConfig:
        if isinstance(self.classes, dict) and "classes" not in DATASETS.get(self.name, "dataset").parameters:
            raise ConfigError(f"dataset.classes: {self.name!r} names its classes itself; give a list of those to keep, "
                              "not a mapping of label numbers.")
        self._description = check_dataset(self.name, self.options)
        known = self._description.classes
        unknown = [c for c in self.kept or () if known is not None and c not in known]
        if unknown:
            raise ConfigError(f"dataset.classes: {unknown} are not classes of {self.name!r}: {list(known)}.")
        return self

    @property
    def kept(self) -> list[str] | None:
        """The classes to keep, in order (a mapping's names)."""
        return list(self.classes.values()) if isinstance(self.classes, dict) else self.classes

    @property
    def options(self) -> dict[str, Any]:
        """The loader's arguments: the options besides ``name``, and ``classes`` when it maps label numbers."""
        return dict(self.model_extra or {}) | ({"classes": self.classes} if isinstance(self.classes, dict) else {})

    @property
    def description(self) -> Description:
        """What the dataset holds, as far as its options tell before it is read."""
        return self._description


class WindowsConfig(_Strict):
    """Window length and step, in seconds; or ``whole: true`` (``windows: whole``) for one window
    per trial, the whole trial (tables with one row per patient, fixed-length epochs). A step
    longer than the window leaves gaps between windows, which is allowed; a step shorter than
    one sample, or a window of fewer than two samples, is not."""

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
    """Features per modality (``{emg: [HTD]}``), per-feature parameters (``{ZC: {threshold: 0.01}}``),
    the selected features whose natural ``log`` is taken (``[MAV, WL]``; a group stands for its
    members) and an optional feature selection (``{method: forward, n_features: 4}``)."""

    per_modality: dict[str, list[str]] = Field(default_factory=lambda: {"emg": ["HTD"]})
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    log: list[str] = Field(default_factory=list)
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
        unlisted = [name for name in self.log if not set(GROUPS.get(name.upper(), (name.upper(),))) <= selected]
        if unlisted:
            raise ConfigError(f"features.log: {unlisted} are not among the selected features {sorted(selected)}; log "
                              "only features that are selected.")
        n_features = sum(len(resolve(names)) for names in self.per_modality.values())
        if self.selection is not None and self.selection.method == "forward" and self.selection.n_features > n_features:
            raise ConfigError(f"features.selection.n_features: {self.selection.n_features}, but forward selection picks "
                              f"whole features and only {n_features} are configured; choose 1 to {n_features}.")
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
    this many windows, no decision below ``reject_below`` probability, a new output only after
    ``debounce`` windows, ``rest`` the class that does not move the device. A model saved by the
    run keeps them as its defaults for ``bmelearn online``."""

    vote: int = Field(default=1, ge=1)
    reject_below: float | None = Field(default=None, gt=0, lt=1)
    rest: str | None = None
    debounce: int = Field(default=1, ge=1)


class AdaptationConfig(_Strict):
    """Adaptation to each test session (bmelearn.evaluation.adaptation): its first k
    ``repetitions`` per class calibrate (0: none) and the repetitions after the largest k test;
    the ``methods`` compared (default: all of METHODS); the test sessions of ``modality``
    rotated by each ``electrode_shift`` (electrodes) first, as an armband put back rotated."""

    repetitions: list[int] = Field(default_factory=lambda: [0, 1, 2])
    methods: list[str] = Field(default_factory=lambda: list(ADAPTATION_METHODS))
    electrode_shift: list[float] = Field(default_factory=lambda: [0.0])
    modality: str = "emg"

    @field_validator("repetitions")
    @classmethod
    def _counts(cls, value: list[int]) -> list[int]:
        if not value or any(r < 0 for r in value):
            raise ValueError(f"numbers of calibration repetitions per class must be 0 or more, got {value}")
        return sorted(set(value) | {0})

    @field_validator("methods")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in ADAPTATION_METHODS]
        if unknown or not value:
            raise ValueError(f"unknown adaptation methods {unknown}; choose from {list(ADAPTATION_METHODS)}")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _windows_to_recentre_on(self) -> AdaptationConfig:
        needing = [m for m in self.methods if m != "none"]  # all but none read the first repetitions
        if needing and max(self.repetitions) == 0:
            raise ConfigError(f"evaluation.adaptation.repetitions: {needing[0]} learns from the new session's first "
                              "repetitions, recorded before its test ones; add a number of them, e.g. [0, 1, 2].")
        return self


class EvaluationConfig(_Strict):
    """How results are scored: bootstrap intervals (``n_boot`` resamples, ``confidence``), the
    ``primary`` protocol (the one that answers the question asked, which sums the run up; by
    default the hardest, see :func:`~bmelearn.evaluation.protocols.headline_protocol`), the
    ``positive`` class of a binary task, its ``operating_point``, the ``compare`` metric of the
    pipeline statistics, ``robustness`` curves, decision-level ``control`` metrics and the
    ``learning_curve`` (numbers of training repetitions per class to try), the ``transfer``
    curve of the neural networks (numbers of the test subject's repetitions per class to
    fine-tune on; see :mod:`bmelearn.evaluation.transfer`), the ``adaptation`` to each test
    session from a few of its repetitions, and whether the classes are ``ordinal``."""

    n_boot: int = Field(default=N_BOOT, ge=0, le=100_000)
    confidence: float = Field(default=CONFIDENCE, gt=0.5, lt=1)
    primary: str | None = None
    positive: str | None = None
    operating_point: OperatingPointConfig | None = None
    compare: Literal[OVERALL + REGRESSION] = "balanced_accuracy"
    robustness: RobustnessConfig | None = None
    control: ControlConfig | None = None
    learning_curve: list[int] = Field(default_factory=list)
    transfer: list[int] = Field(default_factory=list)
    adaptation: AdaptationConfig | None = None
    #: The classes are ordered (a stage, a score), lowest first as dataset.classes or
    #: labels.classes list them (else numbers by value): quadratic-weighted kappa and the mean
    #: absolute error on the scale are reported, and ordinal_logit models take that order.
    ordinal: bool = False
    #: ``classification`` (of the trials' labels) or ``regression`` (of their continuous
    #: ``value``: a score, an effort), with R², RMSE, MAE and Pearson r (compare: r2 by default).
    task: Literal["classification", "regression"] = "classification"

    @model_validator(mode="after")
    def _metrics_of_the_task(self) -> EvaluationConfig:
        if self.task == "regression":
            if "compare" not in self.model_fields_set:
                self.compare = "r2"
            asked = [key for key in ("positive", "operating_point", "control", "adaptation")
                     if getattr(self, key) is not None]
            asked += [key for key in ("transfer", "ordinal") if getattr(self, key)]
            if asked:
                raise ConfigError(f"evaluation.{asked[0]}: applies to classes; a regression (evaluation.task: regression) "
                                  "has none. Remove it.")
        wanted = REGRESSION if self.task == "regression" else OVERALL
        if self.compare not in wanted:
            raise ConfigError(f"evaluation.compare: {self.compare!r} is not a metric of {self.task}; choose one of "
                              f"{list(wanted)}.")
        return self

    @field_validator("learning_curve", "transfer")
    @classmethod
    def _repetitions(cls, value: list[int]) -> list[int]:
        if any(r < 1 for r in value):
            raise ValueError(f"numbers of training repetitions per class must be 1 or more, got {value}")
        return sorted(set(value))


class LabelsConfig(_Strict):
    """Labels from several raters instead of the dataset's own (:mod:`bmelearn.evaluation.raters`):
    a ``file`` of ratings (CSV, one row per item and rater: ``trial`` or ``subject``, ``rater``,
    ``label``), or ``simulate``-d raters of these accuracies, each saying the dataset's own
    label with that probability and another class at random otherwise (for examples and
    checks; the report says they are simulated), ``per_item`` of them on each trial (default:
    all). The ``target`` learnt: ``majority``, ``soft``
    (the share of raters per class), ``dawid-skene`` (the latent truth) or ``rater:NAME``;
    the ``level`` of measurement of the labels, for agreement; their ``classes`` in order
    (for ordinal labels; default: sorted, numbers by value)."""

    file: str | None = None
    simulate: list[Annotated[float, Field(gt=0, le=1)]] | None = Field(default=None, min_length=2)
    per_item: int | None = Field(default=None, ge=1)
    target: str = "majority"
    level: Literal[LEVELS] = "nominal"
    classes: list[str] | None = Field(default=None, min_length=2)
    _categories: list[str] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_source(self) -> LabelsConfig:
        if (self.file is None) == (self.simulate is None):
            raise ConfigError("labels: give either file (a table of ratings) or simulate (the accuracies of simulated "
                              "raters), not both and not neither.")
        if self.per_item is not None and (self.simulate is None or self.per_item > len(self.simulate)):
            raise ConfigError(f"labels.per_item: {self.per_item} raters per trial needs labels.simulate with as many "
                              "raters or more.")
        rule = self.target
        if rule not in ("majority", "soft", "dawid-skene") and not rule.startswith("rater:"):
            raise ConfigError(f"labels.target: {rule!r} is not majority, soft, dawid-skene or rater:NAME.")
        names = self.rater_names
        if self.file is not None:
            if not Path(self.file).is_file():
                raise ConfigError(f"labels.file: {self.file} is not a file; give the path of the ratings table (CSV).")
            ratings = read_ratings(self.file, self.classes)
            self._categories = categories(ratings, self.classes)
            names = list(dict.fromkeys(ratings["rater"]))
        if rule.startswith("rater:") and rule[6:] not in names:
            raise ConfigError(f"labels.target: no rater {rule[6:]!r}; the raters are {names}.")
        return self

    @property
    def rater_names(self) -> list[str]:
        """The names of the simulated raters (none for a file, whose names it holds)."""
        return [f"rater {i + 1}" for i in range(len(self.simulate or ()))]

    def categories(self, dataset_classes: list[str] | None) -> list[str] | None:
        """The classes of the task: the ratings' categories (simulated raters: the dataset's)."""
        return self._categories if self.file is not None else (self.classes or dataset_classes)


class ExecutionConfig(_Strict):
    """Where the units of work run (:mod:`bmelearn.compute.backends`): ``auto`` (in this process,
    or on ``workers`` local processes where sending the work pays, measured as the run goes),
    ``sequential``, local ``processes`` (``workers`` of them; default all cores) or ``dask`` (the
    cluster at ``scheduler``, ``tcp://HOST:8786``, or a local cluster of ``workers`` processes).
    Results are the same whichever is used. Feature matrices are cached on disk (``cache``; see
    :mod:`bmelearn.compute.cache`)."""

    backend: Literal["auto", "sequential", "processes", "dask"] = "auto"
    workers: int | None = Field(default=None, ge=1)
    scheduler: str | None = None
    #: Feature cache: true (a ``.cache`` folder beside the run folder), false, or a folder
    #: (one on storage that a cluster shares, for instance).
    cache: bool | str = True

    @model_validator(mode="after")
    def _scheduler_needs_dask(self) -> ExecutionConfig:
        if self.backend == "dask" and importlib.util.find_spec("distributed") is None:
            raise ValueError("dask needs the distributed package: pip install 'bmelearn[dask]'")
        if self.scheduler is not None:
            if self.backend != "dask":
                raise ValueError(f"scheduler {self.scheduler!r} is a Dask address: set backend: dask too")
            if not self.scheduler.startswith(("tcp://", "tls://", "inproc://")):
                raise ValueError(f"scheduler must be a Dask address such as tcp://HOST:8786, got {self.scheduler!r}")
        return self


class ModelConfig(_Strict):
    """A model by name, its estimator parameters, an optional label for the results, and whether
    to ``calibrate`` its probabilities (``sigmoid``, ``isotonic`` or ``temperature``; see
    :mod:`bmelearn.models.calibration`)."""

    name: str
    label: Annotated[str | None, _file_name("a label names the model's files")] = None
    params: dict[str, Any] = Field(default_factory=dict)
    calibrate: Literal[METHODS] | None = None

    @property
    def key(self) -> str:
        return self.label or self.name

    def build(self, random_state: int | None, where: str) -> Any:
        """The unfitted model (``where``: its config key, ``models.0``), calibrated if asked."""
        model = make_model(self.name, random_state, where, **self.params)
        return model if self.calibrate is None else with_calibration(model, self.calibrate, f"{where}.calibrate")


class ExperimentConfig(_Strict):
    """A whole experiment: dataset × preprocessing × windows × features × models × protocols."""

    name: Annotated[str, _file_name("the experiment's name names its run folder")] = "experiment"
    seed: int = Field(0, ge=0)
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    preprocessing: list[dict[str, dict[str, Any]]] = Field(default_factory=list)
    #: Channels to leave out, by modality (``{emg: [EMG2]}``), as the report's signal quality
    #: section may advise; flat channels are left out without being named here.
    bads: dict[str, list[str]] = Field(default_factory=dict)
    windows: WindowsConfig = Field(default_factory=WindowsConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    models: list[ModelConfig] = Field(default_factory=lambda: [ModelConfig(name="lda")], min_length=1)
    protocols: list[dict[str, dict[str, Any]]] = Field(default_factory=lambda: [{"cross_session": {}}], min_length=1)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    labels: LabelsConfig | None = None
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
            options = {k: value[k] for k in ("params", "log", "selection") if k in value}
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
            elif isinstance(item, dict) and "name" in item and isinstance(item.get("params", {}), dict):
                fixed = {k: item[k] for k in ModelConfig.model_fields if k in item}  # the rest: parameters
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
        models = {m.key: m.build(None, f"models.{i}") for i, m in enumerate(self.models)}
        if (point := self.evaluation.operating_point) is not None:
            models = {k: with_operating_point(m, "positive", point.target, point.value) for k, m in models.items()}
        # what the study refuses of the models, refused now (the inputs the models take do not matter here)
        transfer_networks(tuple(self.evaluation.transfer), models, dict.fromkeys(models, "features"))
        if self.evaluation.adaptation is not None:
            adapted_protocols(True, {name: make_protocol(name, **params) for step in self.protocols
                                     for name, params in step.items()})
        task = self.evaluation.task
        other = [k for k, m in models.items() if capabilities(m).task != task]
        if other:
            raise ConfigError(f"models: {other} do not do {task} (evaluation.task); {task} takes "
                              f"{[n for n in MODELS if model_task(n) == task]}.")
        selection = self.features.selection
        if task == "regression" and selection is not None and selection.method != "forward":
            raise ConfigError(f"features.selection.method: {selection.method} scores features against classes; a "
                              "regression selects with forward (by the model's own cross-validated R²).")
        if task == "regression" and (self.labels is not None or any(m.calibrate for m in self.models)):
            raise ConfigError(f"{'labels' if self.labels is not None else 'models.calibrate'}: applies to classes; a "
                              "regression (evaluation.task: regression) has none. Remove it.")
        classes = self.dataset.kept or self.dataset.description.classes
        if self.labels is not None:
            classes = self.labels.categories(None if classes is None else list(classes))
            inner = [m.key for m in self.models if m.calibrate] + (["operating_point"] if self.evaluation.operating_point else [])
            if self.labels.target == "soft" and inner:
                raise ConfigError(f"labels.target: soft labels train on a copy of each window per rater, which the inner "
                                  f"folds of {inner} would split; use majority or dawid-skene with them.")
            if self.labels.target == "soft" and self.evaluation.adaptation is not None:
                raise ConfigError("labels.target: the adaptation curve (evaluation.adaptation) calibrates with one label "
                                  "per window; use majority or dawid-skene with it.")
        if (control := self.evaluation.control) is not None:
            check_control(Decisions(control.vote, control.reject_below, control.rest if classes else None, control.debounce),
                          list(classes or ()), models)
        if classes is not None:
            check_binary_task(self.evaluation.positive, self.evaluation.operating_point, list(classes))
        for i, step in enumerate(self.protocols):
            ((name, params),) = step.items()
            PROTOCOLS.check_parameters(name, params, f"protocols.{i}")
        names = [name for step in self.protocols for name in step]
        if self.evaluation.primary is not None and self.evaluation.primary not in names:
            raise ConfigError(f"evaluation.primary: {self.evaluation.primary!r} is not a protocol of this experiment; "
                              f"choose one of {names} (the protocols list), or leave it out for the hardest.")
        return self

    @model_validator(mode="after")
    def _fits_the_dataset(self) -> ExperimentConfig:
        """The experiment checked against what the dataset's options tell of it (see the module text)."""
        data = self.dataset.description
        # a modality the dataset does not have is refused once it is read (the plan's DataSpec.load)
        rates = _check_preprocessing(self.preprocessing, {m: data.rates[m] for m in self.features.per_modality
                                                          if m in data.rates})
        if not self.windows.whole:
            _check_windows(self.windows, rates, data.duration, self.dataset.name)
        elif self.dataset.options.get("straddle") == "centre":
            raise ConfigError("dataset.straddle: centre labels windows by their centre; with windows: whole each event is "
                              "one trial, whole: remove dataset.straddle.")
        for i, step in enumerate(self.protocols):
            ((name, params),) = step.items()
            _check_protocol(f"protocols.{i}.{name}", name, params, data, self.dataset.name)
        return self


def check_binary_task(positive: str | None, operating_point: Any, classes: list[str]) -> None:
    """``evaluation.positive`` must be one of ``classes``, and it and ``operating_point`` need two classes."""
    if positive is not None and positive not in classes:
        raise ConfigError(f"evaluation.positive: {positive!r} is not a class of the data {classes}.")
    if len(classes) != 2 and (positive is not None or operating_point is not None):
        raise ConfigError(f"evaluation: positive and operating_point apply to binary tasks; this one has "
                          f"{len(classes)} classes.")


#: The most a ``resample`` step may raise a sampling rate.
MAX_UPSAMPLING = 64


def _check_preprocessing(steps: list[dict[str, dict[str, Any]]], rates: dict[str, float]) -> dict[str, float]:
    """The preprocessing steps tried on a second of noise at the rate (Hz) of each modality they
    apply to, so that a cutoff above Nyquist or a bad parameter is found before any data is read;
    the rates once preprocessed (``resample`` changes them)."""
    calls = preprocessing_steps(steps)
    after = dict(rates)
    for modality, rate in rates.items():
        if modality not in PREPROCESSED:
            continue  # the steps on markers need the markers named: they are checked on the trajectories read
        noise = np.random.default_rng(0).standard_normal((1, max(256, round(rate))))
        probe = Recording(noise, rate, ("probe",), (modality,), modality=modality,
                          meta={"source": f"the {modality} signals"})
        for i, (name, params) in enumerate(calls):
            if not acts_on(name, modality):
                continue
            if name == "resample" and params["fs"] > MAX_UPSAMPLING * probe.fs:
                raise ConfigError(f"preprocessing.{i}.resample.fs: {params['fs']:g} Hz is more than {MAX_UPSAMPLING} "
                                  f"times the {probe.fs:g} Hz of the {modality} signals.")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    probe = apply_steps(probe, [(name, params)], [modality])
            except (BmeError, ValueError) as exc:
                message = str(exc)
                key = message if message.startswith(f"{name}.") else f"{name}: {message.removeprefix(f'{name}: ')}"
                raise ConfigError(f"preprocessing.{i}.{key}") from None
        after[modality] = probe.fs
    return after


#: The most samples a window may have (one channel of it then takes 8 GB as float32).
MAX_WINDOW_SAMPLES = 2**31


def _check_windows(windows: WindowsConfig, rates: dict[str, float], duration: float | None, dataset: str) -> None:
    """Every window of at least two samples, every step of at least one sample, of each modality
    at its rate (Hz), and no window longer than the trials (``duration`` s, when known)."""
    for modality, rate in rates.items():
        if windows.length * rate > MAX_WINDOW_SAMPLES:
            raise ConfigError(f"windows.length: {windows.length:g} s is {windows.length * rate:.3g} samples of {modality} at "
                              f"{rate:g} Hz, too many for one window (at most {MAX_WINDOW_SAMPLES:.3g}).")
        if round(windows.length * rate) < 2:
            raise ConfigError(f"windows.length: {windows.length:g} s gives {round(windows.length * rate)} sample(s) of "
                              f"{modality} at {rate:g} Hz; a window needs at least 2 samples: {2 / rate:g} s or more.")
    if rates and windows.step * max(rates.values()) < 1:
        modality, rate = max(rates.items(), key=lambda item: item[1])
        raise ConfigError(f"windows.step: {windows.step:g} s is shorter than one sample of {modality} at {rate:g} Hz; "
                          f"use {1 / rate:g} s or more.")
    if duration is not None and windows.length > duration:
        raise ConfigError(f"windows.length: {windows.length:g} s is longer than the {duration:g} s trials of {dataset!r}; "
                          "no trial would give a window.")


def _check_protocol(key: str, name: str, params: dict[str, Any], data: Description, dataset: str) -> None:
    """A protocol's parameters checked against the dataset: sessions it has, folds it allows."""
    sessions = None if data.sessions is None else [str(s) for s in data.sessions]
    if name == "cross_session":
        chosen = {}
        for part in ("train", "test"):
            value = params.get(part)
            if value is None:
                continue
            if not isinstance(value, list):
                raise ConfigError(f"{key}.{part}: {value!r} is not a list of sessions; write e.g. {part}: [{value}].")
            if not value:
                raise ConfigError(f"{key}.{part}: names no session; name at least one, or leave {part} out.")
            unknown = [s for s in value if sessions is not None and str(s) not in sessions]
            if unknown:
                raise ConfigError(f"{key}.{part}: sessions {unknown} are not sessions of {dataset!r}; choose from "
                                  f"{list(data.sessions)}.")
            chosen[part] = {str(s) for s in value}
        if len(chosen) == 2 and chosen["train"] & chosen["test"]:
            raise ConfigError(f"{key}: sessions {sorted(chosen['train'] & chosen['test'])} are in both train and test.")
    elif name in ("within_session", "subject_kfold") and "n_splits" in params:
        n_splits = params["n_splits"]
        groups, most = (("repetitions of each class in a session", data.repetitions) if name == "within_session"
                        else ("subjects", None if data.subjects is None else len(data.subjects)))
        if n_splits < 2 or (most is not None and n_splits > most):
            has = "" if most is None else f"{dataset!r} has {most} {groups}, so "
            raise ConfigError(f"{key}.n_splits: {n_splits} is not a number of folds here; {has}choose "
                              f"{'2 or more' if most is None else f'2 to {most}'}.")
    elif name == "loso" and data.subjects is not None and len(data.subjects) < 2:
        raise ConfigError(f"{key}: leave-one-subject-out needs at least 2 subjects; {dataset!r} has {len(data.subjects)}.")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key, which the safe loader refuses itself
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice (first on line {seen[key] + 1}); keep one", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def read_yaml(text: str, where: str) -> Any:
    """``text`` read as YAML (a key given twice is an error); a one-line ConfigError naming
    ``where``, the line and column and the problem when it is not valid YAML."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = " ".join(f"{at}{problem}{f' ({context})' if context else ''}".split())
        raise ConfigError(f"{where}: not valid YAML: {detail}.") from None


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides (values read as YAML) to a raw config mapping."""
    for item in overrides:
        path, _, text = item.partition("=")
        keys = path.strip().split(".")
        if "=" not in item or not all(keys):
            raise ConfigError(f"--set {item!r}: write key.path=value, e.g. --set windows.length=0.25")
        value = read_yaml(text, f"--set {item!r}: the value")
        node: Any = raw
        for depth, key in enumerate(keys[:-1]):
            if isinstance(node, list):
                node = node[_index(key, keys[: depth + 1], len(node))]
            else:
                if node.get(key) is None:  # an empty section
                    node[key] = {}
                node = node[key]
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
    """Validate a raw mapping; errors (one line, several joined by ``;``) name the key path and
    what is allowed."""
    _check_mapping(raw, source)
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key; allowed keys: {_allowed_keys(err['loc'][:-1])}"
            names_its_key = isinstance(err.get("ctx", {}).get("error"), BmeError)
            if err["type"] not in ("extra_forbidden", "missing", "value_error") and not isinstance(err["input"], dict):
                message += f", got {_short(err['input'])}"  # pydantic's own messages do not say it
            problems.append(message if names_its_key or not err["loc"] else f"{key}: {message}")
        message = "; ".join(dict.fromkeys(" ".join(p.split()) for p in problems))
        raise ConfigError(f"{source}: invalid configuration: {message}") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _check_mapping(raw: Any, source: str) -> None:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: an experiment file must be a YAML mapping (key: value), got {type(raw).__name__}.")


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys allowed in the config section at ``loc`` (empty when it is not a fixed section)."""
    model: type[BaseModel] = ExperimentConfig
    for part in (p for p in loc if not isinstance(p, int)):  # an index: an item of a list of sections
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
        raw, source = read_yaml(DEMO_CONFIG.read_text(encoding="utf-8"), "demo"), "demo"
    else:
        path = source = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: experiment file not found.")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position {exc.start}); "
                              "save the file as UTF-8.") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
        raw = read_yaml(text, str(path))
        if raw is None:
            raise ConfigError(f"{path} is empty; write an experiment in it (see docs/guide/configuration.md), "
                              "or run `bmelearn run` with no file for the demo.")
    _check_mapping(raw, str(source))
    return validate_config(apply_overrides(raw, list(overrides)), str(source))
