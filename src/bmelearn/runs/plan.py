"""From the experiment file to a plan: what a run will do, in bmelearn's own objects.

:func:`make_plan` is the one place that reads the validated configuration
(:class:`~bmelearn.runs.config.ExperimentConfig`); below it, the signal pipeline, the models,
the protocols and the study see only the plan: the data to load, the signal pipeline's spec,
the models (each with its seed from a named stream, calibrated if asked), feature selection
and operating point, the protocols, the scoring settings, and where the work runs.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from bmelearn.compute.backends import Execution
from bmelearn.datasets import Description, load_dataset
from bmelearn.datasets.simulator import simulate_ratings
from bmelearn.errors import ConfigError, DataError
from bmelearn.evaluation import make_protocol
from bmelearn.evaluation.control import Decisions
from bmelearn.evaluation.operating_point import with_operating_point
from bmelearn.evaluation.protocols import CrossSession, MetadataSplitter, WithinSession
from bmelearn.evaluation.raters import categories, read_ratings
from bmelearn.evaluation.targets import Targets
from bmelearn.features.selection import with_selection
from bmelearn.models import capabilities
from bmelearn.models.ordinal import category_key, ordinal_scale
from bmelearn.pipeline import SignalPipeline, fit_pipeline
from bmelearn.runs.config import ExperimentConfig, check_binary_task
from bmelearn.runs.seeds import Stream, model_seed
from bmelearn.runs.study import Adaptation, Perturbations, Scoring
from bmelearn.signals.recording import RecordingSet
from bmelearn.signals.windowing import Windows, straddling


@dataclass(frozen=True)
class DataSpec:
    """The dataset to load: its ``name``, its loader's ``options``, the ``classes`` to keep (in
    this order; None: all) and the ``modalities`` that have features; what must hold once it is
    read: its ``description`` (the file ``pattern``, if any, for messages), trials of at least
    one ``window`` (s; None: whole trials) and the sessions and repetitions the ``protocols`` use."""

    name: str
    options: dict[str, Any]
    classes: list[str] | None
    modalities: list[str]
    description: Description
    window: float | None
    step: float
    protocols: Mapping[str, MetadataSplitter]

    def load(self, cache: Path | None = None) -> RecordingSet:
        """The recordings, restricted to the classes and to the modalities that have features,
        checked against the window and the protocols before any work is done on them; text files
        parsed once are kept in ``cache`` (a folder; None: that of an enclosing
        :func:`~bmelearn.io.text.recordings_cache` block, if any) for the next run."""
        recordings = load_dataset(self.name, cache=cache, **self.options)
        if self.classes is not None:
            unknown = [c for c in self.classes if c not in recordings.classes]
            if unknown:
                raise ConfigError(f"dataset.classes: {unknown} are not classes of {self.name!r}: {recordings.classes}.")
            recordings = RecordingSet(recordings.select(labels=self.classes).recordings, self.classes, recordings.name)
        missing = [m for m in self.modalities if m not in recordings.modalities]
        if missing:
            raise ConfigError(f"features: modalities {missing} are not in dataset {self.name!r}, "
                              f"which has {recordings.modalities}.")
        recordings = recordings.select(modalities=self.modalities)
        trials = recordings.meta.groupby("trial", sort=False).agg(
            subject=("subject", "first"), session=("session", "first"), repetition=("repetition", "first"),
            duration=("duration", "min"))
        self._check_window(trials)
        self._check_protocols(trials, recordings.sessions)
        if self.window is not None:
            self._say_straddling(recordings)
        return recordings

    def _say_straddling(self, recordings: RecordingSet) -> None:
        """Say how many windows of continuous recordings straddle two events (a warning, kept in the run's notes)."""
        count, centred = straddling(recordings, self.window, self.step)
        if count and centred:
            warnings.warn(f"{count} windows straddle two events; each is labelled by the event at its centre "
                          "(dataset.straddle: centre).", stacklevel=2)
        elif count:
            warnings.warn(f"{count} windows would straddle two events (their centre in one, an edge in the next) and were "
                          "not cut; dataset.straddle: centre cuts them, labelled by the event at their centre.", stacklevel=2)

    def _check_window(self, trials: pd.DataFrame) -> None:
        """A ConfigError if no trial is as long as one window (shorter trials are skipped, and said)."""
        if self.window is not None and self.window > trials["duration"].max():
            raise ConfigError(f"windows.length: {self.window:g} s is longer than every trial of {self.name!r} (the "
                              f"longest is {trials['duration'].max():.3f} s); use a shorter window.")

    def _check_protocols(self, trials: pd.DataFrame, sessions: list) -> None:
        """The sessions the protocols name must be in the data (else a DataError naming where the
        files were looked for); a within-session protocol with more folds than a session has
        repetitions uses fewer, which is said (a warning, kept in the run's notes)."""
        where = f"{self.options['path']}" if "path" in self.options else repr(self.name)
        pattern = f" matches the pattern {self.description.pattern!r}" if self.description.pattern else ""
        for name, protocol in self.protocols.items():
            if isinstance(protocol, CrossSession):
                named = [*(protocol.train or ()), *(protocol.test or ())]
                missing = [s for s in named if str(s) not in map(str, sessions)]
                if missing:
                    raise DataError(f"{where}: no file of session(s) {missing}{pattern} (sessions found: {sessions}); "
                                    f"check the file names, dataset.path or protocols.{name}.")
            if isinstance(protocol, WithinSession):
                fewest = trials.groupby(["subject", "session"])["repetition"].nunique().min()
                if protocol.n_splits > fewest:
                    warnings.warn(f"protocols.within_session: n_splits={protocol.n_splits}, but a session holds only "
                                  f"{fewest} repetition(s); those sessions were split into one fold per repetition.",
                                  stacklevel=2)


@dataclass(frozen=True)
class LabelsSpec:
    """Labels from several raters (``labels`` of the experiment): the ratings ``file``, or the
    accuracies of ``simulate``-d raters drawn with ``seed`` from the dataset's own labels; the
    ``target`` rule, the ``level`` of measurement and the ``classes`` in order (None: as found);
    ``per_item``: simulated raters per trial (None: all)."""

    file: str | None
    simulate: tuple[float, ...] | None
    target: str
    level: str
    classes: list[str] | None
    seed: int
    per_item: int | None = None

    def apply(self, recordings: RecordingSet) -> tuple[RecordingSet, Targets]:
        """The recordings labelled by their target, and the targets; trials without a rating are
        left out, which is said (a warning, kept in the run's notes)."""
        trials = recordings.meta.groupby("trial", sort=False).agg(subject=("subject", "first"),
                                                                 label=("label", "first")).reset_index()
        if self.simulate is not None:
            order = self.classes or [str(c) for c in recordings.classes]
            said = simulate_ratings(trials["label"], order, self.simulate, self.seed, self.per_item)
            ratings = pd.DataFrame({"item": np.tile(trials["trial"].astype(str), len(said)),
                                    "subject": np.tile(trials["subject"].astype(str), len(said)),
                                    "rater": np.repeat([f"rater {i + 1}" for i in range(len(said))], len(trials)),
                                    "label": said.ravel()}).dropna(subset="label").reset_index(drop=True)
            by = "trial"
        else:
            ratings = read_ratings(self.file, self.classes)
            by, order = ratings.attrs["by"], categories(ratings, self.classes)
        targets = Targets.build(ratings, by, trials, self.target, order, self.level, self.simulate)
        target = targets.trials["label"]
        missing = len(trials) - len(target)
        if missing:
            warnings.warn(f"{missing} of {len(trials)} trials have no rating in {self.file} and were left out.", stacklevel=2)
        if targets.excluded:
            warnings.warn(f"{targets.excluded} {by}s of {self.file} are not in the data; their ratings count only in the "
                          "raters' agreement.", stacklevel=2)
        relabelled = [replace(r, meta={**r.meta, "label": target[str(r.meta["trial"])]}) for r in recordings
                      if str(r.meta["trial"]) in target.index]
        return RecordingSet(relabelled, order, recordings.name), targets


@dataclass(frozen=True)
class SignalSpec:
    """The signal pipeline before it is fitted: preprocessing ``steps`` (``[{"bandpass": {...}}]``),
    the window (``length`` and ``step`` in s, or ``whole`` trials), the ``features`` of each
    modality and their ``params``, the channels the experiment excludes (``bads``, by modality)
    and the features whose natural ``log`` is taken."""

    steps: list[dict[str, dict[str, Any]]]
    length: float
    step: float
    whole: bool
    features: dict[str, list[str]]
    params: dict[str, dict[str, Any]] | None
    bads: dict[str, list[str]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def fit(self, recordings: RecordingSet, flat: Mapping[str, Sequence[str]]) -> SignalPipeline:
        """The pipeline fitted on ``recordings`` without the ``flat`` channels found in them and the
        experiment's ``bads``, which must be channels of the data."""
        channels = {r.modality: r.ch_names for r in recordings}
        for modality, names in self.bads.items():
            unknown = [n for n in names if n not in channels.get(modality, ())]
            if unknown:
                have = ", ".join(channels[modality]) if modality in channels else f"no {modality} signal"
                raise DataError(f"bads.{modality}: {', '.join(unknown)} not among the channels of the data ({have}).")
        bads = {m: sorted({*flat.get(m, ()), *self.bads.get(m, ())}) for m in {*flat, *self.bads}}
        return fit_pipeline(recordings, self.steps, bads, self.features, self.params, self.length, self.step, self.whole,
                            self.log)


@dataclass(frozen=True)
class Selection:
    """Feature selection in front of every model on features (:mod:`bmelearn.features.selection`)."""

    method: str
    n_features: int
    cv: int


@dataclass(frozen=True)
class OperatingPoint:
    """The decision threshold of a binary task, tuned on the training folds for ``target``
    (``sensitivity`` or ``specificity`` at ``value``, or ``youden``)."""

    target: str
    value: float | None


@dataclass(frozen=True)
class Plan:
    """Everything a run does, built and checked before any data is read (see the module text).
    ``models`` are the unfitted pipelines by key; ``positive`` the configured positive class;
    ``cache``: True (beside the run folder), False or a folder; ``ordinal``: the classes are
    ordered (:meth:`scale`)."""

    name: str
    data: DataSpec
    signal: SignalSpec
    models: dict[str, BaseEstimator]
    selection: Selection | None
    operating_point: OperatingPoint | None
    protocols: dict[str, MetadataSplitter]
    scoring: Scoring
    execution: Execution
    cache: bool | str
    labels: LabelsSpec | None = None
    ordinal: bool = False

    @property
    def uses(self) -> dict[str, str]:
        """The input each model takes: ``raw`` windows or ``features``."""
        return {k: "raw" if capabilities(m).input == "windows" else "features" for k, m in self.models.items()}

    def scale(self, classes: list[str]) -> tuple[str, ...]:
        """The ordered classes, lowest first, of an ordinal task (empty otherwise): as
        dataset.classes or labels.classes list them, else numbers by value; text classes in
        no given order are a ConfigError (an alphabetical order is not a scale)."""
        if not self.ordinal:
            return ()
        if self.data.classes is not None or (self.labels is not None and self.labels.classes is not None):
            return tuple(classes)
        if not all(isinstance(category_key(c), float) for c in classes):
            raise ConfigError(f"evaluation.ordinal: the classes {classes} are not numbers, so their order is not known; "
                              "list them lowest first in dataset.classes (or labels.classes for raters' labels).")
        return tuple(ordinal_scale(classes))

    def pipelines(self, signal: SignalPipeline, positive: str | None,
                  scale: tuple[str, ...] = ()) -> dict[str, BaseEstimator]:
        """The models as evaluated: with feature selection over ``signal``'s features in front of
        those on features, with the operating point on ``positive`` when one is asked for, and
        ordinal models given the ordinal ``scale`` (:meth:`scale`) where no order was set."""
        pipelines = dict(self.models)
        if scale:
            pipelines = {k: p.set_params(**{name: list(scale) for name, value in p.get_params().items()
                                            if name.split("__")[-1] == "order" and value is None})
                         for k, p in ((k, clone(p)) for k, p in pipelines.items())}
        if (s := self.selection) is not None:
            groups, uses = feature_groups(signal), self.uses
            if s.method != "forward" and s.n_features >= len(groups):
                warnings.warn(f"features.selection.n_features={s.n_features} is not fewer than the {len(groups)} feature "
                              f"columns: {s.method} keeps them all, so it selects nothing.", stacklevel=2)
            pipelines = {k: with_selection(p, s.method, s.n_features, groups, s.cv) if uses[k] == "features" else p
                         for k, p in pipelines.items()}
        if (point := self.operating_point) is not None:
            pipelines = {k: with_operating_point(p, positive, point.target, point.value) for k, p in pipelines.items()}
        return pipelines

    def target(self, windows: Windows) -> np.ndarray:
        """What the models learn of each window: its class, or in a regression its trial's
        ``value`` (every trial must have one)."""
        if self.scoring.task != "regression":
            return windows.y.astype(str)
        values = pd.to_numeric(windows.meta["value"], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise DataError(f"{self.data.name}: evaluation.task is regression, but trials have no numeric value to learn "
                            "(the trial's continuous target: the simulator's continuous: true, or a value column "
                            "of your data); set evaluation.task: classification or give every trial a value.")
        return values

    def positive_class(self, classes: list[str], labels: np.ndarray) -> str | None:
        """The positive class of a binary task (the configured one, else the second class); None
        otherwise. Both classes must have windows, or sensitivity and specificity mean nothing."""
        positive = self.scoring.positive
        check_binary_task(positive, self.operating_point, classes)
        if len(classes) != 2:
            return None
        missing = [c for c in classes if c not in set(labels)]
        if missing:
            raise DataError(f"{self.data.name}: no window of class {missing}; a binary task needs windows of both "
                            f"{classes} to measure sensitivity and specificity (check the data or the window length).")
        return positive or classes[1]

    def cache_folder(self, out: Path, kind: str) -> Path | None:
        """The cache of ``kind`` (``features``, ``recordings``: the parsed text files) of a run written
        to ``out``: in ``.cache/`` beside it, or in the configured folder (None: no cache)."""
        if self.cache is False:
            return None
        return (out.parent / ".cache" if self.cache is True else Path(self.cache)) / kind


def feature_groups(signal: SignalPipeline) -> list[str]:
    """The feature each column comes from (``emg:MAV`` for every MAV column of the EMG)."""
    return [f"{m}:{f}" for m, e in signal.extractors.items() for f in e.features_ for _ in range(e.n_columns(f))]


def make_plan(config: ExperimentConfig) -> Plan:
    """The plan of a validated experiment configuration."""
    data = config.dataset
    options = data.options
    if data.name == "simulator":
        options.setdefault("seed", config.seed)
    if options.get("straddle") == "centre" and not config.windows.whole:
        options["context"] = config.windows.length / 2  # a window centred on an event's first or last sample
    evaluation, robustness, control = config.evaluation, config.evaluation.robustness, config.evaluation.control
    scoring = Scoring(
        dataset=data.name, seed=config.seed, n_boot=evaluation.n_boot, confidence=evaluation.confidence,
        compare=evaluation.compare, positive=evaluation.positive, primary=evaluation.primary,
        robustness=None if robustness is None else Perturbations(robustness.modality, robustness.levels,
                                                                  robustness.powerline_hz),
        control=None if control is None else Decisions(control.vote, control.reject_below, control.rest,
                                                        control.debounce),
        learning_curve=tuple(evaluation.learning_curve), transfer=tuple(evaluation.transfer),
        adaptation=None if (adapting := evaluation.adaptation) is None else Adaptation(
            tuple(adapting.repetitions), tuple(adapting.methods), tuple(adapting.electrode_shift), adapting.modality),
        task=evaluation.task,
    )
    windows, features, selection, point = config.windows, config.features, config.features.selection, evaluation.operating_point
    protocols = {name: make_protocol(name, **params) for step in config.protocols for name, params in step.items()}
    return Plan(
        name=config.name,
        data=DataSpec(data.name, options, data.kept, list(features.per_modality), data.description,
                      None if windows.whole else windows.length, windows.step, protocols),
        signal=SignalSpec([dict([item]) for step in config.preprocessing for item in step.items()], windows.length,
                          windows.step, windows.whole, features.per_modality, features.params, config.bads, features.log),
        models={m.key: m.build(model_seed(config.seed, i), f"models.{i}") for i, m in enumerate(config.models)},
        selection=None if selection is None else Selection(selection.method, selection.n_features, selection.cv),
        operating_point=None if point is None else OperatingPoint(point.target, point.value),
        protocols=protocols,
        scoring=scoring,
        execution=Execution(config.execution.backend, config.execution.workers, config.execution.scheduler),
        cache=config.execution.cache,
        ordinal=evaluation.ordinal,
        labels=None if (labels := config.labels) is None else LabelsSpec(
            labels.file, None if labels.simulate is None else tuple(labels.simulate), labels.target, labels.level,
            labels.classes, Stream.RATERS.seed(config.seed), labels.per_item),
    )

