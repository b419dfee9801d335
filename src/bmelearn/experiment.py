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
from bmelearn.config import ExperimentConfig
from bmelearn.datasets import load_dataset
from bmelearn.errors import ConfigError, DataError
from bmelearn.evaluation import count_fits, evaluate, make_protocol, summarize
from bmelearn.evaluation.control import control_table
from bmelearn.evaluation.evaluate import POOLED, mean_over_subjects
from bmelearn.evaluation.protocols import LimitedTraining
from bmelearn.evaluation.operating_point import with_operating_point
from bmelearn.evaluation.robustness import PERTURBATIONS
from bmelearn.evaluation.statistics import compare_pipelines, per_subject_scores, rank_pipelines
from bmelearn.features import FeatureExtractor, resolve
from bmelearn.features.selection import with_selection
from bmelearn.models import make_model
from bmelearn.preprocessing import preprocess
from bmelearn.quality import exclude_bad_channels
from bmelearn.recording import Recording, RecordingSet
from bmelearn.report import write_report
from bmelearn.serialization import save_model
from bmelearn.windowing import Windows, cut_windows, whole_trials

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


def derive_seed(seed: int, *keys: int) -> int:
    """A reproducible 32-bit seed for one random step, derived from the experiment seed."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


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


def extract_features(windows: Windows, config: ExperimentConfig) -> tuple[np.ndarray, list[str], dict[str, FeatureExtractor]]:
    """Feature matrix of all modalities side by side, its column names and the fitted extractors."""
    prefix = len(config.features.per_modality) > 1
    blocks, names, extractors = [], [], {}
    for modality, features in config.features.per_modality.items():
        used = resolve(features)
        extractor = FeatureExtractor(
            features,
            fs=windows.fs[modality],
            ch_names=windows.ch_names[modality],
            params={k: v for k, v in config.features.params.items() if k in used} or None,
            prefix=f"{modality}:" if prefix else "",
        )
        blocks.append(extractor.fit_transform(windows.arrays[modality]))
        names.extend(extractor.get_feature_names_out())
        extractors[modality] = extractor
    return np.hstack(blocks), names, extractors


def positive_class(config: ExperimentConfig, classes: list[str], labels: np.ndarray) -> str | None:
    """The positive class of a binary task (``evaluation.positive``, else the second class); None
    otherwise. Both classes must have windows, or sensitivity and specificity mean nothing."""
    positive = config.evaluation.positive
    if positive is not None and positive not in classes:
        raise ConfigError(f"evaluation.positive: {positive!r} is not a class of the data {classes}.")
    if len(classes) != 2:
        if positive is not None or config.evaluation.operating_point is not None:
            raise ConfigError(
                f"evaluation: positive and operating_point apply to binary tasks; this one has {len(classes)} classes."
            )
        return None
    missing = [c for c in classes if c not in set(labels)]
    if missing:
        raise DataError(f"{config.dataset.name}: no window of class {missing}; a binary task needs windows of both "
                        f"{classes} to measure sensitivity and specificity (check the data or the window length).")
    return positive or classes[1]


def check_control(config: ExperimentConfig, classes: list[str], pipelines: dict) -> None:
    """Before any fit: ``evaluation.control`` names a class of the data and, to reject, has probabilities."""
    control = config.evaluation.control
    if control is None:
        return
    if control.rest is not None and control.rest not in classes:
        raise ConfigError(f"evaluation.control.rest: {control.rest!r} is not a class of the data {classes}.")
    if control.reject_below is not None:
        blind = [k for k, p in pipelines.items() if not hasattr(p, "predict_proba")]
        if blind:
            raise ConfigError(f"evaluation.control.reject_below needs class probabilities, which {blind} do not give; "
                              "remove reject_below or use models with probabilities (lda, rf, knn, logreg).")


def learning_curve(X: np.ndarray, windows: Windows, pipelines: dict, protocols: dict,
                   config: ExperimentConfig) -> pd.DataFrame | None:
    """The results with the training data cut to 1, 2, … repetitions per class
    (``evaluation.learning_curve``), a column ``repetitions`` added; None when not asked for."""
    scoring = config.evaluation
    if not scoring.learning_curve:
        return None
    parts = []
    for repetitions in scoring.learning_curve:
        limited = {name: LimitedTraining(p, repetitions) for name, p in protocols.items()}
        part = evaluate(X, windows.meta, pipelines, limited, windows.classes, config.dataset.name,
                        n_boot=scoring.n_boot, confidence=scoring.confidence, seed=derive_seed(config.seed, 10, repetitions))
        parts.append(part.results.assign(repetitions=repetitions))
    return pd.concat(parts, ignore_index=True)


def perturbation_features(windows: Windows, extractors: dict[str, FeatureExtractor], config: ExperimentConfig):
    """``perturbed(test)`` for :func:`evaluate`: the features of every configured perturbation of
    the test windows of the robustness modality (the other modalities unchanged)."""
    robustness = config.evaluation.robustness
    if robustness is None:
        return None
    modality = robustness.modality
    if modality not in windows.arrays:
        raise ConfigError(f"evaluation.robustness.modality: {modality!r} has no features; the data has {windows.modalities}.")

    def perturbed(test: np.ndarray) -> list[tuple[str, float, np.ndarray]]:
        rng = np.random.default_rng(derive_seed(config.seed, 7, len(test), int(test[0])))
        out = []
        for name, levels in robustness.levels.items():
            for level in levels:
                arrays = {m: a[test] for m, a in windows.arrays.items()}
                arrays[modality] = PERTURBATIONS[name](arrays[modality], level, rng=rng, fs=windows.fs[modality],
                                                       powerline_hz=robustness.powerline_hz)
                out.append((name, float(level), np.hstack([extractors[m].transform(arrays[m]) for m in extractors])))
        return out

    return perturbed


def feature_groups(extractors: dict[str, FeatureExtractor]) -> list[str]:
    """The feature each column comes from (``emg:MAV`` for every MAV column of the EMG)."""
    return [f"{m}:{f}" for m, e in extractors.items() for f in e.features_ for _ in range(e.n_columns(f))]


def example_signals(raw: RecordingSet, processed: RecordingSet, classes: list[str]) -> list[tuple[str, Recording]]:
    """One trial of an active class (the second class, if any), before and after preprocessing."""
    wanted = classes[1] if len(classes) > 1 else classes[0]
    index = next((i for i, r in enumerate(processed) if r.meta["label"] == wanted and r.modality == processed[0].modality), 0)
    trial = processed[index].meta
    caption = f"subject {trial['subject']}, session {trial['session']}, repetition {trial['repetition']}, {trial['label']}"
    pairs = [(f"raw signal ({caption})", raw[index])]
    if processed[index] is not raw[index]:
        pairs.append((f"after preprocessing ({caption})", processed[index]))
    return pairs


def run(config: ExperimentConfig, out: str | Path, progress: Progress | None = None, overwrite: bool = False) -> RunResult:
    """Run the experiment and write its run folder at ``out``."""
    progress = progress or (lambda stage, done, total: None)
    final = Path(out)
    if final.exists() and not overwrite:
        raise ConfigError(f"{final} already exists; choose another --out folder or pass --overwrite.")
    partial = final.with_name(f".{final.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    started = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result, report = _run_into(config, partial, progress)
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
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    result.folder = final
    return result


def _run_into(config: ExperimentConfig, folder: Path, progress: Progress) -> tuple[RunResult, dict]:
    """Do the work and write the data files; returns the result and the report's other inputs."""
    progress("loading dataset", 0, 1)
    raw = load_recordings(config)
    raw, _ = exclude_bad_channels(raw)
    progress("preprocessing", 0, 1)
    processed = preprocess(raw, [dict([item]) for step in config.preprocessing for item in step.items()])
    if config.windows.whole:
        windows = whole_trials(processed)
    else:
        windows = cut_windows(processed, config.windows.length, config.windows.step)
    progress("features", 0, 1)
    X, feature_names, extractors = extract_features(windows, config)

    pipelines = {m.key: make_model(m.name, derive_seed(config.seed, i), **m.params) for i, m in enumerate(config.models)}
    if (selection := config.features.selection) is not None:
        groups = feature_groups(extractors)
        pipelines = {k: with_selection(p, selection.method, selection.n_features, groups, selection.cv) for k, p in pipelines.items()}
    positive = positive_class(config, windows.classes, windows.y.astype(str))
    if (point := config.evaluation.operating_point) is not None:
        pipelines = {k: with_operating_point(p, positive, point.target, point.value) for k, p in pipelines.items()}
    check_control(config, windows.classes, pipelines)
    protocols = {name: make_protocol(name, **params) for step in config.protocols for name, params in step.items()}
    total = count_fits(windows.meta, pipelines, protocols)
    done = 0

    def fitted(description: str) -> None:
        nonlocal done
        done += 1
        progress(f"evaluating: {description}", done, total)

    scoring = config.evaluation
    evaluation = evaluate(
        X, windows.meta, pipelines, protocols, windows.classes, config.dataset.name, fitted,
        n_boot=scoring.n_boot, confidence=scoring.confidence, seed=derive_seed(config.seed, 5),
        perturbed=perturbation_features(windows, extractors, config),
    )
    results, confusion = evaluation.results, evaluation.confusion
    summary = summarize(results, scoring.n_boot, scoring.confidence, derive_seed(config.seed, 6))
    pooled = [name for name, p in protocols.items() if getattr(p, "pooled", False)]
    paired = pd.concat([results, per_subject_scores(evaluation.predictions, pooled, scoring.compare)], ignore_index=True)
    paired = paired[~((paired["subject"] == POOLED) & paired["protocol"].isin(pooled))]
    comparisons = compare_pipelines(paired, scoring.compare)
    ranking = rank_pipelines(paired, scoring.compare)
    learning = learning_curve(X, windows, pipelines, protocols, config)
    control = None
    if (decisions := config.evaluation.control) is not None:
        control = control_table(evaluation.predictions, windows.classes, decisions.vote, decisions.reject_below,
                                decisions.rest, scoring.n_boot, scoring.confidence, derive_seed(config.seed, 8))

    (folder / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
    results.to_csv(folder / "results.csv", index=False)
    results.to_parquet(folder / "results.parquet", index=False)
    confusion.to_csv(folder / "confusion.csv", index=False)
    evaluation.predictions.to_parquet(folder / "predictions.parquet", index=False)
    comparisons.to_csv(folder / "comparisons.csv", index=False)
    if not evaluation.robustness.empty:
        evaluation.robustness.to_csv(folder / "robustness.csv", index=False)
    if control is not None:
        control.to_csv(folder / "control.csv", index=False)
    if learning is not None:
        learning.to_csv(folder / "learning_curve.csv", index=False)
    _write_json(folder / "summary.json", {
        "dataset": config.dataset.name, "n_windows": len(windows), "positive_class": positive,
        "confidence": scoring.confidence, "protocols": summary,
        "comparisons": comparisons.to_dict(orient="records"), "ranking": ranking.to_dict(orient="records"),
        "control": None if control is None else mean_over_subjects(
            control.assign(**{"class": ""}), ["protocol", "pipeline", "metric"], scoring.n_boot, scoring.confidence,
            derive_seed(config.seed, 9)).to_dict(orient="records"),
    })

    progress("saving models", 0, 1)
    y = windows.y.astype(str)
    card = {
        "bmelearn_version": __version__,
        "classes": windows.classes,
        "window": config.windows.model_dump(),
        "signals": {m: {"fs": windows.fs[m], "channels": list(windows.ch_names[m])} for m in windows.modalities},
        "preprocessing": config.preprocessing,
        "features": {m: e.features_ for m, e in extractors.items()},
        "feature_params": config.features.params,
        "feature_names": feature_names,
        "training": {"n_windows": len(windows), "subjects": [str(s) for s in pd.unique(windows.meta["subject"])]},
    }
    for key, pipeline in pipelines.items():
        save_model(clone(pipeline).fit(X, y), folder / "models" / f"{key}.skops", card | {"model": key, "validated": summary_for(summary, key)})
    report = {
        "dataset_summary": raw.meta,
        "classes": windows.classes,
        "windows_meta": windows.meta,
        "examples": example_signals(raw, processed, windows.classes),
        "comparisons": comparisons,
        "ranking": ranking,
        "robustness": evaluation.robustness,
        "predictions": evaluation.predictions,
        "positive": positive,
        "confidence": scoring.confidence,
        "n_boot": scoring.n_boot,
        "compare": scoring.compare,
        "intervals": summary,
        "control": control,
        "learning": learning,
    }
    return RunResult(folder, results, confusion, summary, comparisons, ranking, evaluation.robustness, positive), report


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
