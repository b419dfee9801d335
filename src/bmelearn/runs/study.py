"""Everything a run measures about its pipelines, as the ``evaluation`` section of the
experiment asks: the results with intervals, the pipeline statistics, and optionally the
robustness curves, the learning curve, the transfer-learning curve of the networks and the
decision-level control metrics, with their means over subjects, the calibration curves and, for
binary tasks, the ROC and precision-recall curves; and the files they are written to in the run
folder.

:func:`assess` takes the :class:`Scoring` settings, never the experiment configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from bmelearn.compute.checkpoint import Checkpoint
from bmelearn.errors import ConfigError
from bmelearn.evaluation import count_fits, evaluate, summarize
from bmelearn.evaluation.adaptation import (
    adaptation_curve,
    check_calibration,
    compare_adaptations,
    count_adaptation_fits,
)
from bmelearn.evaluation.control import Decisions, control_table
from bmelearn.evaluation.curves import roc_pr_bands
from bmelearn.evaluation.evaluate import POOLED, Evaluation, mean_over_subjects
from bmelearn.evaluation.ordinal import ordinal_scores
from bmelearn.evaluation.protocols import (
    LeaveOneSubjectOut,
    LimitedTraining,
    MetadataSplitter,
    SubjectKFold,
    WithinSession,
    headline_protocol,
)
from bmelearn.evaluation.regression import bland_altman
from bmelearn.evaluation.robustness import PERTURBATIONS, electrode_shift
from bmelearn.evaluation.statistics import (
    compare_pipelines,
    paired_against,
    per_subject_scores,
    rank_pipelines,
)
from bmelearn.evaluation.summaries import (
    ADAPTATION_POINTS,
    LEARNING_POINTS,
    ROBUSTNESS_POINTS,
    TRANSFER_POINTS,
    curve_summary,
    reliability_curves,
)
from bmelearn.evaluation.suspects import suspect_labels
from bmelearn.evaluation.targets import Targets, model_agreement, rater_scores
from bmelearn.evaluation.transfer import count_transfer_fits, transfer_curve
from bmelearn.models import capabilities
from bmelearn.pipeline import SignalPipeline
from bmelearn.runs import folder as run_folder
from bmelearn.runs.seeds import Stream
from bmelearn.signals.windowing import Windows


@dataclass(frozen=True)
class Perturbations:
    """The robustness test: the ``levels`` of each perturbation (:mod:`bmelearn.evaluation.robustness`)
    of the test windows of ``modality``; ``powerline_hz`` is the mains frequency (Hz)."""

    modality: str
    levels: dict[str, list[float]]
    powerline_hz: float


@dataclass(frozen=True)
class Adaptation:
    """The adaptation curve (:mod:`bmelearn.evaluation.adaptation`): calibration ``repetitions``
    per class (0 included), the ``methods``, and the ``shifts`` (electrodes) by which the test
    sessions of ``modality`` are rotated first."""

    repetitions: tuple[int, ...]
    methods: tuple[str, ...]
    shifts: tuple[float, ...]
    modality: str

    @property
    def rotates(self) -> bool:
        """Whether the test sessions are rotated (a shift, or the alignment's candidates)."""
        return any(self.shifts) or any(m.startswith("align") for m in self.methods)


@dataclass(frozen=True)
class Scoring:
    """How a run is scored: ``n_boot`` bootstrap resamples for ``confidence`` intervals, the
    ``compare`` metric of the pipeline statistics, the ``positive`` class of a binary task (None
    otherwise), the ``primary`` protocol that sums the run up (None: the hardest), the optional
    robustness test, decision-level ``control`` scoring, learning curve and transfer curve
    (numbers of repetitions per class), the ``adaptation`` to each test session, the
    ``ordinal`` scale (the classes lowest first; empty when they are not ordered), the
    ``task`` (``classification`` or ``regression``), the ``dataset`` name of the results rows,
    and the experiment ``seed`` from which every :class:`~bmelearn.runs.seeds.Stream` derives."""

    dataset: str
    seed: int
    n_boot: int
    confidence: float
    compare: str
    positive: str | None = None
    primary: str | None = None
    robustness: Perturbations | None = None
    control: Decisions | None = None
    learning_curve: tuple[int, ...] = ()
    transfer: tuple[int, ...] = ()
    adaptation: Adaptation | None = None
    ordinal: tuple[str, ...] = ()
    task: str = "classification"


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
    protocols: pd.DataFrame
    robustness_summary: pd.DataFrame | None
    learning_summary: pd.DataFrame | None
    transfer_summary: pd.DataFrame | None
    transfer_comparisons: pd.DataFrame | None
    roc_pr: pd.DataFrame | None
    calibration: pd.DataFrame | None
    primary: str | None = None
    rater_agreement: pd.DataFrame | None = None
    rater_scores: pd.DataFrame | None = None
    suspects: pd.DataFrame | None = None
    ordinal: pd.DataFrame | None = None
    ordinal_summary: pd.DataFrame | None = None
    bland_altman: pd.DataFrame | None = None
    adaptation: pd.DataFrame | None = None
    adaptation_summary: pd.DataFrame | None = None
    adaptation_comparisons: pd.DataFrame | None = None
    rotations: pd.DataFrame | None = None
    scale: tuple[str, ...] = ()

    def write(self, folder: Path, header: dict[str, Any]) -> None:
        """The tables as the files of :mod:`bmelearn.runs.folder` (the optional ones when measured),
        and summary.json: ``header``, the positive class, the primary protocol, the summary,
        comparisons, ranking and control summary."""
        always = {
            run_folder.RESULTS: self.results, run_folder.RESULTS_PARQUET: self.results,
            run_folder.CONFUSION: self.confusion, run_folder.PREDICTIONS: self.predictions,
            run_folder.COMPARISONS: self.comparisons, run_folder.TIMINGS: self.timings, run_folder.PROTOCOLS: self.protocols,
        }
        measured = {
            run_folder.ROBUSTNESS: self.robustness, run_folder.LEARNING_CURVE: self.learning,
            run_folder.TRANSFER: self.transfer, run_folder.CONTROL: self.control,
            run_folder.ROBUSTNESS_SUMMARY: self.robustness_summary, run_folder.LEARNING_CURVE_SUMMARY: self.learning_summary,
            run_folder.TRANSFER_SUMMARY: self.transfer_summary, run_folder.ROC_PR: self.roc_pr,
            run_folder.TRANSFER_COMPARISONS: self.transfer_comparisons,
            run_folder.CALIBRATION: self.calibration, run_folder.RATER_AGREEMENT: self.rater_agreement,
            run_folder.RATER_SCORES: self.rater_scores, run_folder.SUSPECTS: self.suspects,
            run_folder.ORDINAL: self.ordinal, run_folder.ORDINAL_SUMMARY: self.ordinal_summary,
            run_folder.BLAND_ALTMAN: self.bland_altman, run_folder.ADAPTATION: self.adaptation,
            run_folder.ADAPTATION_SUMMARY: self.adaptation_summary,
            run_folder.ADAPTATION_COMPARISONS: self.adaptation_comparisons, run_folder.ROTATIONS: self.rotations,
        }
        for name, table in always.items():
            run_folder.write_table(folder, name, table)
        for name, table in measured.items():
            if table is not None and not table.empty:
                run_folder.write_table(folder, name, table)
        control = None if self.control_summary is None else self.control_summary.to_dict(orient="records")
        run_folder.write_json(folder, run_folder.SUMMARY, {
            **header, run_folder.SUMMARY_POSITIVE: self.positive, run_folder.SUMMARY_PRIMARY: self.primary,
            run_folder.SUMMARY_PROTOCOLS: self.summary,
            run_folder.SUMMARY_COMPARISONS: self.comparisons.to_dict(orient="records"),
            run_folder.SUMMARY_RANKING: self.ranking.to_dict(orient="records"), run_folder.SUMMARY_CONTROL: control,
            run_folder.SUMMARY_SCALE: list(self.scale),
        })


def assess(scoring: Scoring, inputs: dict[str, np.ndarray], uses: dict[str, str], windows: Windows,
           signal: SignalPipeline, pipelines: dict[str, BaseEstimator],
           protocols: dict[str, MetadataSplitter], progress: Callable[[str, int, int], None],
           checkpoint: Checkpoint | None = None, targets: Targets | None = None,
           votes: np.ndarray | None = None) -> Assessment:
    """Evaluate every pipeline under every protocol and measure what ``scoring`` asks for.
    ``inputs`` holds the arrays row-aligned with ``windows``: ``features`` (the feature
    matrix) and, for networks on raw windows, ``raw``; ``uses[pipeline]`` names its input. Fits
    already in ``checkpoint`` are not repeated. With ``targets`` (labels from raters), the
    predictions are scored against every rater too; with ``votes`` (their soft labels: raters per
    class of each window, :meth:`~bmelearn.evaluation.targets.Targets.votes`), soft labels are learnt."""
    check_control(scoring.control, windows.classes, pipelines)
    regression = scoring.task == "regression"
    networks = transfer_networks(scoring.transfer, pipelines, uses)
    adapted = adapted_protocols(scoring.adaptation, protocols)
    if scoring.adaptation is not None:
        check_calibration(windows.meta, adapted, scoring.adaptation.repetitions)
    total = count_fits(windows.meta, pipelines, protocols) + sum(
        count_transfer_fits(windows.meta, members, protocols) for members in networks.values()) + (
        count_adaptation_fits(windows.meta, pipelines, adapted))
    done = 0

    def fitted(description: str) -> None:
        nonlocal done
        done += 1
        progress(f"evaluating: {description}", done, total)

    evaluation = merge([
        evaluate(inputs[kind], windows.meta, members, protocols, windows.classes, scoring.dataset, fitted,
                 n_boot=scoring.n_boot, confidence=scoring.confidence, seed=Stream.EVALUATION.seed(scoring.seed),
                 perturbed=perturbation_features(windows, signal, scoring, raw=kind == "raw"), checkpoint=checkpoint,
                 on_score=lambda done, total: progress("scoring: metrics and intervals per subject", done, total),
                 votes=votes, task=scoring.task)
        for kind, members in by_input(pipelines, uses).items()
    ])
    results = evaluation.results
    pooled = [name for name, p in protocols.items() if getattr(p, "pooled", False)]
    paired = pd.concat([results, per_subject_scores(evaluation.predictions, pooled, scoring.compare)], ignore_index=True)
    paired = paired[~((paired["subject"] == POOLED) & paired["protocol"].isin(pooled))]
    control = control_summary = None
    if (decisions := scoring.control) is not None:
        control = control_table(evaluation.predictions, windows.classes, decisions, scoring.n_boot, scoring.confidence,
                                Stream.CONTROL.seed(scoring.seed))
        control_summary = mean_over_subjects(control.assign(**{"class": ""}), ["protocol", "pipeline", "metric"],
                                             scoring.n_boot, scoring.confidence, Stream.CONTROL_SUMMARY.seed(scoring.seed))
    if scoring.learning_curve:
        progress("learning curve: fits on fewer repetitions", 0, 1)
    learning = learning_curve(inputs, uses, windows, pipelines, protocols, scoring, checkpoint, votes)
    transfer = pd.concat([
        transfer_curve(inputs[kind], windows.meta, members, protocols, scoring.transfer, windows.classes,
                       scoring.dataset, fitted, scoring.n_boot, scoring.confidence, Stream.TRANSFER.seed(scoring.seed),
                       checkpoint)
        for kind, members in networks.items()
    ], ignore_index=True) if networks else None
    adaptation, rotations = adaptation_curves(inputs, uses, windows, signal, pipelines, adapted, scoring, fitted,
                                              checkpoint)
    roc_pr = None
    if scoring.positive is not None:
        roc_pr = roc_pr_bands(evaluation.predictions, scoring.positive, scoring.n_boot, scoring.confidence,
                              Stream.ROC_PR.seed(scoring.seed))

    agreement = scores = None
    if targets is not None:
        progress("raters: scores against each rater, and agreement", 0, 1)
        seed = Stream.RATER_SCORES.seed(scoring.seed)
        scores = rater_scores(evaluation.predictions, targets, scoring.n_boot, scoring.confidence, seed)
        agreement = model_agreement(evaluation.predictions, targets, scoring.n_boot, scoring.confidence, seed)
    ordinal = ordinal_summary = None
    if scoring.ordinal:
        ordinal, ordinal_summary = ordinal_scores(evaluation.predictions, list(scoring.ordinal), scoring.n_boot,
                                                  scoring.confidence, Stream.ORDINAL.seed(scoring.seed), scoring.dataset)
    progress("summarizing: means over subjects and comparisons", 0, 1)

    def means(table: pd.DataFrame | None, points: tuple[str, ...], stream: Stream) -> pd.DataFrame | None:
        return curve_summary(table, points, scoring.n_boot, scoring.confidence, stream.seed(scoring.seed))

    return Assessment(
        results=results,
        confusion=evaluation.confusion,
        predictions=evaluation.predictions,
        robustness=evaluation.robustness,
        timings=evaluation.timings,
        summary=summarize(results, scoring.n_boot, scoring.confidence, Stream.SUMMARY.seed(scoring.seed)),
        comparisons=compare_pipelines(paired, scoring.compare),
        ranking=rank_pipelines(paired, scoring.compare),
        positive=scoring.positive,
        learning=learning,
        transfer=transfer,
        control=control,
        control_summary=control_summary,
        protocols=pd.DataFrame({"protocol": list(protocols),
                                "pooled": [getattr(p, "pooled", False) for p in protocols.values()],
                                "description": [p.description for p in protocols.values()]}),
        robustness_summary=means(evaluation.robustness, ROBUSTNESS_POINTS, Stream.ROBUSTNESS_SUMMARY),
        learning_summary=means(learning, LEARNING_POINTS, Stream.LEARNING_SUMMARY),
        transfer_summary=means(transfer, TRANSFER_POINTS, Stream.TRANSFER_SUMMARY),
        transfer_comparisons=None if transfer is None else paired_against(
            transfer, scoring.compare, ["protocol", "pipeline", "repetitions"], ["training"], ("from scratch",)),
        roc_pr=roc_pr,
        calibration=None if regression else reliability_curves(evaluation.predictions, windows.classes, scoring.positive),
        primary=headline_protocol(list(protocols), scoring.primary),
        rater_agreement=agreement,
        rater_scores=scores,
        suspects=None if regression else suspect_labels(within_subjects(evaluation.predictions, protocols),
                                                        windows.classes),
        ordinal=ordinal,
        ordinal_summary=ordinal_summary,
        bland_altman=agreement_with_truth(evaluation.predictions, scoring.confidence) if regression else None,
        adaptation=adaptation,
        adaptation_summary=means(adaptation, ADAPTATION_POINTS, Stream.ADAPTATION_SUMMARY),
        adaptation_comparisons=None if adaptation is None else compare_adaptations(adaptation, scoring.compare),
        rotations=rotations,
        scale=scoring.ordinal,
    )


def agreement_with_truth(predictions: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """The Bland–Altman agreement of each pipeline's out-of-fold predictions under each protocol,
    a trial's windows averaged (they are not independent)."""
    return pd.DataFrame([
        {"pipeline": pipeline, "protocol": protocol,
         **bland_altman(part["true"].to_numpy(float), part["predicted"].to_numpy(float), part["trial"].to_numpy(),
                        confidence)}
        for (pipeline, protocol), part in predictions.groupby(["pipeline", "protocol"], sort=False)])


def within_subjects(predictions: pd.DataFrame, protocols: dict[str, MetadataSplitter]) -> pd.DataFrame:
    """The predictions of the protocols that train on each test subject's other data, for checking
    labels (a subject-out model mistakes an unusual person for wrong labels); all predictions
    when every protocol holds subjects out."""
    subject_out = [name for name, p in protocols.items() if isinstance(p, LeaveOneSubjectOut | SubjectKFold)]
    within = predictions[~predictions["protocol"].isin(subject_out)]
    return within if len(within) else predictions


def check_control(control: Decisions | None, classes: list[str], pipelines: dict) -> None:
    """Before any fit: ``evaluation.control`` names a class of the data and, to reject, has probabilities."""
    if control is None:
        return
    if control.rest is not None and control.rest not in classes:
        raise ConfigError(f"evaluation.control.rest: {control.rest!r} is not a class of the data {classes}.")
    if control.reject_below is not None:
        blind = [k for k, p in pipelines.items() if capabilities(p).probabilities == "none"]
        if blind:
            raise ConfigError(f"evaluation.control.reject_below needs class probabilities, which {blind} do not give; "
                              "remove reject_below or use models with probabilities (lda, rf, knn, logreg).")


def transfer_networks(transfer: tuple[int, ...], pipelines: dict[str, BaseEstimator],
                      uses: dict[str, str]) -> dict[str, dict[str, BaseEstimator]]:
    """The networks grouped by input when a ``transfer`` curve is asked for (else empty);
    refuses a transfer curve without a network that can be fine-tuned."""
    if not transfer:
        return {}
    groups = by_input({k: p for k, p in pipelines.items() if capabilities(p).fine_tunable}, uses)
    if not groups:
        raise ConfigError("evaluation.transfer: no model can be fine-tuned; transfer learning applies to the neural "
                          "networks (mlp, cnn, lstm, gru, tcn, transformer), without an operating_point or calibrate.")
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
                   protocols: dict, scoring: Scoring, checkpoint: Checkpoint | None = None,
                   votes: np.ndarray | None = None) -> pd.DataFrame | None:
    """The results with the training data cut to 1, 2, … repetitions per class
    (``evaluation.learning_curve``), a column ``repetitions`` added; None when not asked for.
    Its fits are units of the execution backend, kept in ``checkpoint`` like the others;
    ``votes``: soft labels, as :func:`evaluate` takes them."""
    if not scoring.learning_curve:
        return None
    parts = []
    for repetitions in scoring.learning_curve:
        limited = {name: LimitedTraining(p, repetitions) for name, p in protocols.items()}
        for kind, members in by_input(pipelines, uses).items():
            part = evaluate(inputs[kind], windows.meta, members, limited, windows.classes, scoring.dataset,
                            n_boot=scoring.n_boot, confidence=scoring.confidence,
                            seed=Stream.LEARNING_CURVE.seed(scoring.seed, repetitions), checkpoint=checkpoint,
                            votes=votes, task=scoring.task)
            parts.append(part.results.assign(repetitions=repetitions))
    return pd.concat(parts, ignore_index=True)


def perturbation_features(windows: Windows, signal: SignalPipeline, scoring: Scoring, raw: bool = False):
    """``perturbed(test)`` for :func:`evaluate`: for every configured perturbation of the test
    windows of the robustness modality (the other modalities unchanged), their features, or
    with ``raw`` the raw windows of the modality the networks take."""
    robustness = scoring.robustness
    if robustness is None:
        return None
    modality = robustness.modality
    if modality not in windows.arrays:
        raise ConfigError(f"evaluation.robustness.modality: {modality!r} has no features; the data has {windows.modalities}.")

    def perturbed(test: np.ndarray) -> list[tuple[str, float, np.ndarray]]:
        rng = np.random.default_rng(Stream.PERTURBATION.seed(scoring.seed, len(test), int(test[0])))
        out = []
        for name, levels in robustness.levels.items():
            for level in levels:
                def change(X: np.ndarray, name: str = name, level: float = level) -> np.ndarray:
                    return PERTURBATIONS[name].obj(X, level, rng=rng, fs=windows.fs[modality],
                                                   powerline_hz=robustness.powerline_hz)

                out.append((name, float(level), changed_input(windows, signal, test, modality, change, raw)))
        return out

    return perturbed


def changed_input(windows: Windows, signal: SignalPipeline, rows: np.ndarray, modality: str,
                  change: Callable[[np.ndarray], np.ndarray], raw: bool = False) -> np.ndarray:
    """The model input of the windows ``rows`` with those of ``modality`` changed by ``change``
    (a perturbation, a rotation) and the other modalities as they are: their features, or with
    ``raw`` the raw windows of the modality the networks take."""
    arrays = {m: a[rows] for m, a in windows.arrays.items()}
    arrays[modality] = change(arrays[modality])
    return arrays[signal.raw] if raw else signal.features(arrays, len(rows))


def adapted_protocols(adaptation: Adaptation | bool | None,
                      protocols: dict[str, MetadataSplitter]) -> dict[str, MetadataSplitter]:
    """The protocols the adaptation curve runs under (``adaptation``: the curve asked for, or
    True): those that test other sessions or other subjects than they train on, one subject per
    fold (not ``within_session`` or ``subject_kfold``); none without an adaptation curve."""
    if not adaptation:
        return {}
    kept = {name: p for name, p in protocols.items() if not isinstance(p, WithinSession) and not getattr(p, "pooled", False)}
    if not kept:
        raise ConfigError("evaluation.adaptation: needs a protocol that tests other sessions or subjects than it trains "
                          f"on, one subject per fold (cross_session, loso); the run has {list(protocols)}.")
    return kept


def adaptation_curves(inputs: dict[str, np.ndarray], uses: dict[str, str], windows: Windows, signal: SignalPipeline,
                      pipelines: dict, protocols: dict[str, MetadataSplitter], scoring: Scoring,
                      on_fit: Callable[[str], None],
                      checkpoint: Checkpoint | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The adaptation curve of every pipeline (:func:`~bmelearn.evaluation.adaptation.adaptation_curve`)
    and the rotations its aligned variants chose; (None, None) when not asked for. Feature models
    take the features of the rotated windows, computed here by the signal pipeline."""
    adaptation = scoring.adaptation
    if adaptation is None:
        return None, None
    modality, rotating = adaptation.modality, adaptation.rotates
    if rotating and modality not in windows.arrays:
        raise ConfigError(f"evaluation.adaptation.modality: {modality!r} is not in the data; it has {windows.modalities}.")

    def features_of(pool: np.ndarray, keys: list[tuple[float, float]]) -> dict[tuple[float, float], np.ndarray]:
        if not rotating:
            return {(0.0, 0.0): inputs["features"][pool]}
        return {(shift, rotation): changed_input(
                    windows, signal, pool, modality,
                    lambda X, shift=shift, rotation=rotation: electrode_shift(electrode_shift(X, shift), rotation))
                for shift, rotation in keys}

    parts, chosen = [], []
    for kind, members in by_input(pipelines, uses).items():
        if kind == "raw" and rotating and modality != signal.raw:
            raise ConfigError(f"evaluation.adaptation: rotating {modality!r} cannot reach the networks, which take the raw "
                              f"{signal.raw!r} windows; set evaluation.adaptation.modality: {signal.raw}.")
        table, rotations = adaptation_curve(
            inputs[kind], windows.meta, members, protocols, adaptation.repetitions, adaptation.methods,
            adaptation.shifts, windows.classes, (lambda pool, keys: None) if kind == "raw" else features_of,
            windows.arrays[modality].shape[1] if rotating else 1, scoring.dataset, on_fit, scoring.n_boot, scoring.confidence,
            Stream.ADAPTATION.seed(scoring.seed), checkpoint)
        parts.append(table)
        chosen.append(rotations)
    return pd.concat(parts, ignore_index=True), pd.concat(chosen, ignore_index=True)
