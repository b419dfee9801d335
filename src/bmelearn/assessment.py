"""Everything a run measures about its pipelines, as the ``evaluation`` section of the
experiment asks: the results with intervals, the pipeline statistics, and optionally the
robustness curves, the learning curve, the transfer-learning curve of the networks and the
decision-level control metrics; and the files they are written to in the run folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from bmelearn.config import ExperimentConfig
from bmelearn.errors import ConfigError, DataError
from bmelearn.evaluation import count_fits, evaluate, summarize
from bmelearn.evaluation.checkpoint import Checkpoint
from bmelearn.evaluation.control import control_table
from bmelearn.evaluation.evaluate import POOLED, Evaluation, mean_over_subjects
from bmelearn.evaluation.protocols import LimitedTraining, MetadataSplitter
from bmelearn.evaluation.robustness import PERTURBATIONS
from bmelearn.evaluation.statistics import (
    compare_pipelines,
    per_subject_scores,
    rank_pipelines,
)
from bmelearn.evaluation.transfer import count_transfer_fits, transfer_curve
from bmelearn.features import FeatureExtractor
from bmelearn.seeds import derive_seed
from bmelearn.windowing import Windows


@dataclass
class Assessment:
    """The measured tables (see :func:`assess`); optional ones are None when not asked for."""

    results: pd.DataFrame
    confusion: pd.DataFrame
    predictions: pd.DataFrame
    robustness: pd.DataFrame
    timings: pd.DataFrame
    summary: dict
    comparisons: pd.DataFrame
    ranking: pd.DataFrame
    positive: str | None
    learning: pd.DataFrame | None
    transfer: pd.DataFrame | None
    control: pd.DataFrame | None
    control_summary: pd.DataFrame | None

    def write(self, folder: Path, header: dict[str, Any]) -> None:
        """results.csv/.parquet, confusion.csv, predictions.parquet, comparisons.csv, timings.csv,
        summary.json, and robustness.csv, learning_curve.csv, transfer.csv, control.csv when measured."""
        self.results.to_csv(folder / "results.csv", index=False)
        self.results.to_parquet(folder / "results.parquet", index=False)
        self.confusion.to_csv(folder / "confusion.csv", index=False)
        self.predictions.to_parquet(folder / "predictions.parquet", index=False)
        self.comparisons.to_csv(folder / "comparisons.csv", index=False)
        self.timings.to_csv(folder / "timings.csv", index=False)
        for name, table in (("robustness", self.robustness), ("learning_curve", self.learning), ("transfer", self.transfer),
                            ("control", self.control)):
            if table is not None and not table.empty:
                table.to_csv(folder / f"{name}.csv", index=False)
        summary = {**header, "positive_class": self.positive, "protocols": self.summary,
                   "comparisons": self.comparisons.to_dict(orient="records"), "ranking": self.ranking.to_dict(orient="records"),
                   "control": None if self.control_summary is None else self.control_summary.to_dict(orient="records")}
        (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")

    def report_inputs(self, config: ExperimentConfig) -> dict[str, Any]:
        """The arguments of :func:`bmelearn.report.render_report` that come from the assessment,
        besides the results and confusion tables."""
        scoring = config.evaluation
        return {"intervals": self.summary,
                "comparisons": self.comparisons, "ranking": self.ranking, "robustness": self.robustness,
                "predictions": self.predictions, "positive": self.positive, "confidence": scoring.confidence,
                "n_boot": scoring.n_boot, "compare": scoring.compare, "control": self.control_summary, "learning": self.learning,
                "transfer": self.transfer, "timings": self.timings}


def assess(config: ExperimentConfig, inputs: dict[str, np.ndarray], uses: dict[str, str], windows: Windows,
           extractors: dict[str, FeatureExtractor], pipelines: dict[str, BaseEstimator],
           protocols: dict[str, MetadataSplitter], positive: str | None,
           progress: Callable[[str, int, int], None], checkpoint: Checkpoint | None = None) -> Assessment:
    """Evaluate every pipeline under every protocol and measure what ``config.evaluation`` asks
    for. ``inputs`` holds the arrays row-aligned with ``windows``: ``features`` (the feature
    matrix) and, for networks on raw windows, ``raw``; ``uses[pipeline]`` names its input. Fits
    already in ``checkpoint`` are not repeated."""
    scoring = config.evaluation
    check_control(config, windows.classes, pipelines)
    networks = transfer_networks(config, pipelines, uses)
    total = count_fits(windows.meta, pipelines, protocols) + sum(
        count_transfer_fits(windows.meta, members, protocols, scoring.transfer) for members in networks.values())
    done = 0

    def fitted(description: str) -> None:
        nonlocal done
        done += 1
        progress(f"evaluating: {description}", done, total)

    evaluation = merge([
        evaluate(inputs[kind], windows.meta, members, protocols, windows.classes, config.dataset.name, fitted,
                 n_boot=scoring.n_boot, confidence=scoring.confidence, seed=derive_seed(config.seed, 5),
                 perturbed=perturbation_features(windows, extractors, config, raw=kind == "raw"), checkpoint=checkpoint)
        for kind, members in by_input(pipelines, uses).items()
    ])
    results = evaluation.results
    pooled = [name for name, p in protocols.items() if getattr(p, "pooled", False)]
    paired = pd.concat([results, per_subject_scores(evaluation.predictions, pooled, scoring.compare)], ignore_index=True)
    paired = paired[~((paired["subject"] == POOLED) & paired["protocol"].isin(pooled))]
    control = control_summary = None
    if (decisions := scoring.control) is not None:
        control = control_table(evaluation.predictions, windows.classes, decisions.vote, decisions.reject_below,
                                decisions.rest, scoring.n_boot, scoring.confidence, derive_seed(config.seed, 8))
        control_summary = mean_over_subjects(control.assign(**{"class": ""}), ["protocol", "pipeline", "metric"],
                                             scoring.n_boot, scoring.confidence, derive_seed(config.seed, 9))
    return Assessment(
        results=results,
        confusion=evaluation.confusion,
        predictions=evaluation.predictions,
        robustness=evaluation.robustness,
        timings=evaluation.timings,
        summary=summarize(results, scoring.n_boot, scoring.confidence, derive_seed(config.seed, 6)),
        comparisons=compare_pipelines(paired, scoring.compare),
        ranking=rank_pipelines(paired, scoring.compare),
        positive=positive,
        learning=learning_curve(inputs, uses, windows, pipelines, protocols, config, checkpoint),
        transfer=pd.concat([
            transfer_curve(inputs[kind], windows.meta, members, protocols, scoring.transfer, windows.classes,
                           config.dataset.name, fitted, scoring.n_boot, scoring.confidence, derive_seed(config.seed, 11))
            for kind, members in networks.items()
        ], ignore_index=True) if networks else None,
        control=control,
        control_summary=control_summary,
    )


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


def transfer_networks(config: ExperimentConfig, pipelines: dict[str, BaseEstimator],
                      uses: dict[str, str]) -> dict[str, dict[str, BaseEstimator]]:
    """The networks of ``evaluation.transfer`` grouped by input (empty when not asked for);
    refuses a transfer curve without a network that can be fine-tuned."""
    if not config.evaluation.transfer:
        return {}
    groups = by_input({k: p for k, p in pipelines.items()
                       if isinstance(p, Pipeline) and hasattr(p[-1], "fine_tune")}, uses)
    if not groups:
        raise ConfigError("evaluation.transfer: no model can be fine-tuned; transfer learning applies to the neural "
                          "networks (mlp, cnn, lstm, gru), without an operating_point.")
    return groups


def by_input(pipelines: dict[str, BaseEstimator], uses: dict[str, str]) -> dict[str, dict[str, BaseEstimator]]:
    """The pipelines grouped by the input they take (``features`` first), in their order."""
    groups: dict[str, dict[str, BaseEstimator]] = {}
    for kind in ("features", "raw"):
        members = {k: p for k, p in pipelines.items() if uses[k] == kind}
        if members:
            groups[kind] = members
    return groups


def merge(evaluations: list[Evaluation]) -> Evaluation:
    """One Evaluation from those of several groups of pipelines, table by table."""
    tables = [[getattr(e, f) for e in evaluations] for f in ("results", "confusion", "predictions", "robustness", "timings")]
    return Evaluation(*(pd.concat(t, ignore_index=True) for t in tables))


def learning_curve(inputs: dict[str, np.ndarray], uses: dict[str, str], windows: Windows, pipelines: dict,
                   protocols: dict, config: ExperimentConfig, checkpoint: Checkpoint | None = None) -> pd.DataFrame | None:
    """The results with the training data cut to 1, 2, … repetitions per class
    (``evaluation.learning_curve``), a column ``repetitions`` added; None when not asked for.
    Its fits are units of the execution backend, kept in ``checkpoint`` like the others."""
    scoring = config.evaluation
    if not scoring.learning_curve:
        return None
    parts = []
    for repetitions in scoring.learning_curve:
        limited = {name: LimitedTraining(p, repetitions) for name, p in protocols.items()}
        for kind, members in by_input(pipelines, uses).items():
            part = evaluate(inputs[kind], windows.meta, members, limited, windows.classes, config.dataset.name,
                            n_boot=scoring.n_boot, confidence=scoring.confidence,
                            seed=derive_seed(config.seed, 10, repetitions), checkpoint=checkpoint)
            parts.append(part.results.assign(repetitions=repetitions))
    return pd.concat(parts, ignore_index=True)


def perturbation_features(windows: Windows, extractors: dict[str, FeatureExtractor], config: ExperimentConfig,
                          raw: bool = False):
    """``perturbed(test)`` for :func:`evaluate`: for every configured perturbation of the test
    windows of the robustness modality (the other modalities unchanged), their features, or
    with ``raw`` the raw windows of the modality the networks take."""
    robustness = config.evaluation.robustness
    if robustness is None:
        return None
    modality = robustness.modality
    if modality not in windows.arrays:
        raise ConfigError(f"evaluation.robustness.modality: {modality!r} has no features; the data has {windows.modalities}.")
    taken = raw_modality(windows)

    def perturbed(test: np.ndarray) -> list[tuple[str, float, np.ndarray]]:
        rng = np.random.default_rng(derive_seed(config.seed, 7, len(test), int(test[0])))
        out = []
        for name, levels in robustness.levels.items():
            for level in levels:
                arrays = {m: a[test] for m, a in windows.arrays.items()}
                arrays[modality] = PERTURBATIONS[name](arrays[modality], level, rng=rng, fs=windows.fs[modality],
                                                       powerline_hz=robustness.powerline_hz)
                data = arrays[taken] if raw else np.hstack([extractors[m].transform(arrays[m]) for m in extractors])
                out.append((name, float(level), data))
        return out

    return perturbed


def raw_modality(windows: Windows) -> str:
    """The modality whose raw windows the networks on raw input take: EMG if there is EMG."""
    return "emg" if "emg" in windows.arrays else windows.modalities[0]
