"""Running an experiment end to end: dataset → preprocessing → windows → features →
evaluation → run folder with results, summary, safe model files and the report.

The run folder is written under a temporary name and renamed when everything is written,
so an interrupted run never leaves a folder that looks complete.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import yaml
from sklearn.base import clone

from bmelearn import __version__
from bmelearn.assessment import assess, positive_class, raw_modality
from bmelearn.config import ExperimentConfig
from bmelearn.datasets import load_dataset
from bmelearn.errors import ConfigError
from bmelearn.evaluation import make_protocol
from bmelearn.evaluation.checkpoint import Checkpoint
from bmelearn.evaluation.operating_point import with_operating_point
from bmelearn.execution import Execution, running
from bmelearn.features import FeatureExtractor
from bmelearn.features.selection import with_selection
from bmelearn.featurize import Recipe, featurize, make_recipe
from bmelearn.models import RAW_INPUT, make_model, trained_network
from bmelearn.preprocessing import apply_steps, preprocessing_steps
from bmelearn.quality import find_bad_channels, without_channels
from bmelearn.recording import Recording, RecordingSet
from bmelearn.report import write_report
from bmelearn.seeds import derive_seed
from bmelearn.serialization import save_model

#: The folder of completed fits inside an unfinished run folder.
UNITS = "units"

#: progress(stage, completed, total): called as the run advances.
Progress = Callable[[str, int, int], None]


@dataclass
class RunResult:
    """What a run produced: its folder, the tidy results, the confusion counts, the summary, the
    pipeline comparisons and ranking, the robustness results (empty when not asked for) and the
    positive class of a binary task (None otherwise)."""

    folder: Path
    results: pd.DataFrame
    confusion: pd.DataFrame
    summary: dict
    comparisons: pd.DataFrame
    ranking: pd.DataFrame
    robustness: pd.DataFrame
    positive: str | None = None


def load_recordings(config: ExperimentConfig) -> RecordingSet:
    """The configured dataset, restricted to the modalities that have features."""
    options = config.dataset.options
    if config.dataset.name == "simulator":
        options.setdefault("seed", config.seed)
    recordings = load_dataset(config.dataset.name, **options)
    if (classes := config.dataset.classes) is not None:
        unknown = [c for c in classes if c not in recordings.classes]
        if unknown:
            raise ConfigError(f"dataset.classes: {unknown} are not classes of {config.dataset.name!r}: {recordings.classes}.")
        recordings = RecordingSet(recordings.select(labels=classes).recordings, classes, recordings.name)
    wanted = list(config.features.per_modality)
    missing = [m for m in wanted if m not in recordings.modalities]
    if missing:
        raise ConfigError(
            f"features: modalities {missing} are not in dataset {config.dataset.name!r}, "
            f"which has {recordings.modalities}."
        )
    return recordings.select(modalities=wanted)


def feature_cache(config: ExperimentConfig, out: Path) -> Path | None:
    """The feature cache folder of a run written to ``out`` (None: no cache)."""
    cache = config.execution.cache
    if cache is False:
        return None
    return out.parent / ".cache" / "features" if cache is True else Path(cache)


def feature_groups(extractors: dict[str, FeatureExtractor]) -> list[str]:
    """The feature each column comes from (``emg:MAV`` for every MAV column of the EMG)."""
    return [f"{m}:{f}" for m, e in extractors.items() for f in e.features_ for _ in range(e.n_columns(f))]


def example_signals(raw: RecordingSet, recipe: Recipe, classes: list[str]) -> list[tuple[str, Recording]]:
    """One trial of an active class (the second class, if any), before and after preprocessing."""
    wanted = classes[1] if len(classes) > 1 else classes[0]
    trials = list(raw.trials().values())
    streams = next((s for s in trials if next(iter(s.values())).meta["label"] == wanted), trials[0])
    before = without_channels(streams.get(raw[0].modality, next(iter(streams.values()))).opened(), recipe.dead)
    trial = before.meta
    caption = f"subject {trial['subject']}, session {trial['session']}, repetition {trial['repetition']}, {trial['label']}"
    pairs = [(f"raw signal ({caption})", before)]
    if (after := apply_steps(before, recipe.steps)) is not before:
        pairs.append((f"after preprocessing ({caption})", after))
    return pairs


def run(config: ExperimentConfig, out: str | Path, progress: Progress | None = None, overwrite: bool = False,
        announce: Callable[[str], None] | None = None) -> RunResult:
    """Run the experiment and write its run folder at ``out``.

    The folder is written as ``.NAME.partial`` beside it and renamed at the end. Each fit of the
    evaluation is kept there as it finishes (``units/``), so if the run is interrupted, even
    killed, the same command resumes from the completed fits; nothing else of an unfinished
    run is kept. ``announce`` receives messages such as the Dask dashboard address.
    """
    progress = progress or (lambda stage, done, total: None)
    final = Path(out)
    if final.exists() and not overwrite:
        raise ConfigError(f"{final} already exists; choose another --out folder or pass --overwrite.")
    partial = final.with_name(f".{final.name}.partial")
    _keep_only_units(partial)
    partial.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    execution = Execution(config.execution.backend, config.execution.workers, config.execution.scheduler)
    try:
        with warnings.catch_warnings(record=True) as caught, running(execution, announce):
            warnings.simplefilter("always")
            result, report = _run_into(config, partial, progress, feature_cache(config, final))
        notes = list(dict.fromkeys(str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)))
        write_report(
            partial / "report.html",
            title=f"bmelearn report: {config.name}",
            config=config.model_dump(mode="json"),
            results=result.results,
            confusion=result.confusion,
            notes=notes,
            version=__version__,
            **report,
        )
        _write_json(partial / "run.json", _run_info(config, time.perf_counter() - started, notes))
    except BaseException:
        _keep_only_units(partial)
        raise
    shutil.rmtree(partial / UNITS, ignore_errors=True)
    if final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    result.folder = final
    return result


def _keep_only_units(partial: Path) -> None:
    """Remove everything of an unfinished run folder but its completed fits."""
    if partial.is_dir():
        for path in partial.iterdir():
            if path.name == UNITS:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        if not any(partial.iterdir()):
            partial.rmdir()


def _run_into(config: ExperimentConfig, folder: Path, progress: Progress, cache: Path | None) -> tuple[RunResult, dict]:
    """Do the work and write the data files; returns the result and the report's other inputs."""
    progress("loading dataset", 0, 1)
    raw = load_recordings(config)
    progress("checking signal quality", 0, 1)
    dead, _ = find_bad_channels(raw)
    steps = preprocessing_steps([dict([item]) for step in config.preprocessing for item in step.items()])
    recipe = make_recipe(raw, steps, dead, config.features.per_modality, config.features.params,
                         config.windows.length, config.windows.step, config.windows.whole)
    keep = any(m.name in RAW_INPUT for m in config.models) or config.evaluation.robustness is not None
    featurized = featurize(raw, recipe, cache, keep, lambda done, total: progress("features", done, total))
    if featurized.cached:
        progress(f"features: {featurized.cached} of {len(raw.trials())} trials from the cache", 1, 1)
    windows, X, extractors = featurized.windows, featurized.X, featurized.extractors

    pipelines = {m.key: make_model(m.name, derive_seed(config.seed, i), **m.params) for i, m in enumerate(config.models)}
    uses = {m.key: "raw" if m.name in RAW_INPUT else "features" for m in config.models}
    inputs = {"features": X, "raw": windows.arrays.get(raw_modality(windows))}
    if (selection := config.features.selection) is not None:
        groups = feature_groups(extractors)
        pipelines = {k: with_selection(p, selection.method, selection.n_features, groups, selection.cv) if uses[k] == "features"
                     else p for k, p in pipelines.items()}
    positive = positive_class(config, windows.classes, windows.y.astype(str))
    if (point := config.evaluation.operating_point) is not None:
        pipelines = {k: with_operating_point(p, positive, point.target, point.value) for k, p in pipelines.items()}
    protocols = {name: make_protocol(name, **params) for step in config.protocols for name, params in step.items()}
    scores = assess(config, inputs, uses, windows, extractors, pipelines, protocols, positive, progress,
                    Checkpoint(folder / UNITS))
    (folder / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
    scores.write(folder, {"dataset": config.dataset.name, "n_windows": len(windows)})
    summary = scores.summary

    progress("saving models", 0, 1)
    y = windows.y.astype(str)
    card = {
        "bmelearn_version": __version__,
        "classes": windows.classes,
        "window": config.windows.model_dump(),
        "signals": {m: {"fs": windows.fs[m], "channels": list(windows.ch_names[m]), "types": list(windows.ch_types[m])}
                    for m in windows.modalities},
        "preprocessing": config.preprocessing,
        "features": {m: e.features_ for m, e in extractors.items()},
        "feature_params": config.features.params,
        "feature_names": featurized.names,
        "training": {"n_windows": len(windows), "subjects": [str(s) for s in pd.unique(windows.meta["subject"])]},
    }
    histories = {}
    for key, pipeline in pipelines.items():
        data = inputs[uses[key]]
        extra = {"model": key, "input": f"raw {raw_modality(windows)} windows" if uses[key] == "raw" else "features",
                 "validated": summary_for(summary, key)}
        model = clone(pipeline).fit(data, y)
        if (network := trained_network(model)) is not None:
            histories[key] = pd.DataFrame(network.history_)
            extra["training_seconds"] = round(network.train_seconds_, 2)
        save_model(model, folder / "models" / f"{key}.skops", card | extra)
    if histories:
        pd.concat([h.assign(pipeline=k) for k, h in histories.items()]).to_csv(folder / "training_history.csv", index=False)
    report = {
        "dataset_summary": raw.meta,
        "classes": windows.classes,
        "windows_meta": windows.meta,
        "examples": example_signals(raw, recipe, windows.classes),
        "training": histories,
        **scores.report_inputs(config),
    }
    return RunResult(folder, scores.results, scores.confusion, summary, scores.comparisons, scores.ranking,
                     scores.robustness, positive), report


def summary_for(summary: dict, pipeline: str) -> dict:
    """Mean accuracy and balanced accuracy of one pipeline under each protocol."""
    return {
        protocol: {metric: values[metric]["mean"] for metric in ("accuracy", "balanced_accuracy")}
        for protocol, pipelines in summary.items()
        for name, values in pipelines.items()
        if name == pipeline
    }


def _run_info(config: ExperimentConfig, seconds: float, notes: list[str]) -> dict:
    return {
        "name": config.name,
        "finished": datetime.now().isoformat(timespec="seconds"),
        "duration_s": round(seconds, 2),
        "bmelearn": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "notes": notes,
    }


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
