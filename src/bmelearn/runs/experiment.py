"""Running an experiment end to end: config → plan (:mod:`bmelearn.runs.plan`) → dataset →
signal pipeline → features → study (:mod:`bmelearn.runs.study`) → run folder with results,
summary, deployable model files and the report.

The run folder is written under a temporary name and renamed when everything is written,
so an interrupted run never leaves a folder that looks complete.
"""

from __future__ import annotations

import platform
import shutil
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
import sklearn
from sklearn.base import clone

from bmelearn import __version__
from bmelearn.compute.backends import joblib_threads, on_threads, running
from bmelearn.compute.cache import content_digest
from bmelearn.compute.checkpoint import Checkpoint, unit_key
from bmelearn.compute.memory import release_freed_memory
from bmelearn.errors import ConfigError
from bmelearn.evaluation.evaluate import trial_ids
from bmelearn.evaluation.targets import expand_votes
from bmelearn.io.text import recordings_cache
from bmelearn.models import trained_network
from bmelearn.pipeline import SignalPipeline, featurize
from bmelearn.runs import folder as run_folder
from bmelearn.runs.config import ExperimentConfig
from bmelearn.runs.plan import Plan, make_plan
from bmelearn.runs.stages import StageClock
from bmelearn.runs.study import assess
from bmelearn.serving import DeployableModel, save_model
from bmelearn.serving.online import amplitude_ranges, online_agreement, streamable
from bmelearn.signals.preprocessing import apply_steps
from bmelearn.signals.quality import check_quality, flagged_channels, without_channels
from bmelearn.signals.recording import Recording, RecordingSet
from bmelearn.signals.windowing import Windows

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


def example_signals(raw: RecordingSet, signal: SignalPipeline, classes: list[str]) -> list[tuple[str, Recording]]:
    """One trial of an active class (the second class, if any), before and after preprocessing."""
    wanted = classes[1] if len(classes) > 1 else classes[0]
    trials = list(raw.trials().values())
    streams = next((s for s in trials if next(iter(s.values())).meta["label"] == wanted), trials[0])
    before = without_channels(streams.get(raw[0].modality, next(iter(streams.values()))).opened(), signal.bads)
    pairs = [("raw signal", before)]  # the report says which trial, from the recording's metadata
    if (after := apply_steps(before, signal.steps)) is not before:
        pairs.append(("after preprocessing", after))
    return pairs


#: Trials per class on which a saved model's velocity scale and online agreement are measured.
ONLINE_TRIALS = 8


def calibration_trials(raw: RecordingSet, classes: list[str]) -> list[tuple[dict[str, Recording], str]]:
    """Up to :data:`ONLINE_TRIALS` trials of each class, spread evenly over its trials (so over
    subjects and sessions), each with its class."""
    by_class: dict[str, list[dict[str, Recording]]] = {c: [] for c in classes}
    for streams in raw.trials().values():
        by_class.setdefault(str(next(iter(streams.values())).meta["label"]), []).append(streams)
    return [(trials[i], label) for label, trials in by_class.items() if trials
            for i in np.unique(np.linspace(0, len(trials) - 1, min(ONLINE_TRIALS, len(trials))).round().astype(int))]


def exclusions(raw: RecordingSet, windows: Windows, flat: dict[str, set[str]],
               named: dict[str, list[str]]) -> list[tuple[str, int, str]]:
    """(level, count, reason) of the trials too short for one window and of the channels left
    out: ``flat`` in some recording, or ``named`` in the experiment's bads (by modality)."""
    rows = []
    short = raw.meta["trial"].nunique() - windows.meta["trial"].nunique()
    if short:
        rows.append(("trial", short, "shorter than one window, so no window could be cut from it"))
    for modality, names in sorted(flat.items()):
        if names:
            rows.append(("channel", len(names), f"{modality.upper()} {', '.join(sorted(names))}: flat (no signal)"))
    for modality, names in named.items():
        if names := [n for n in names if n not in flat.get(modality, ())]:
            rows.append(("channel", len(names), f"{modality.upper()} {', '.join(names)}: excluded by name in the "
                                                "experiment file (bads)"))
    return rows


def run(config: ExperimentConfig, out: str | Path, progress: Progress | None = None, overwrite: bool = False,
        announce: Callable[[str], None] | None = None) -> RunResult:
    """Run the experiment and write its run folder at ``out``.

    The folder is written as ``.NAME.partial`` beside it and renamed at the end. Each fit of the
    evaluation and each subject's scoring is kept as it finishes (:mod:`bmelearn.compute.checkpoint`),
    in the cache's ``fits`` folder, or without a cache in the unfinished folder (``units/``), so
    if the run is interrupted, even killed, the same command resumes from the completed units;
    with the cache, any later run that repeats a unit reads it too. Nothing else of an
    unfinished run is kept. ``announce`` receives messages such as the Dask dashboard address.
    """
    progress = progress or (lambda stage, done, total: None)
    final = Path(out)
    if final.exists() and not overwrite:
        raise ConfigError(f"{final} already exists; choose another --out folder or pass --overwrite.")
    partial = final.with_name(f".{final.name}.partial")
    _keep_only_units(partial)
    partial.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    plan = make_plan(config)
    try:
        with StageClock(progress) as clock:
            with warnings.catch_warnings(record=True) as caught, running(plan.execution, announce):
                warnings.simplefilter("always")
                result, report = _run_into(plan, partial, clock, final)
            notes = list(dict.fromkeys(str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)))
            run_folder.write_yaml(partial, run_folder.CONFIG, config.model_dump(mode="json"))
            flagged = flagged_channels(run_folder.read_table(partial, run_folder.CHANNEL_QUALITY))
            info = _run_info(config.name, time.perf_counter() - started, notes, flagged)
            run_folder.write_json(partial, run_folder.RUN, info)  # the report's methods read the software versions
            clock("writing the report", 0, 1)
            from bmelearn.report import write_report  # here: matplotlib takes 0.4 s to import, not needed before
            from bmelearn.report.figures import figure_cache

            with figure_cache(plan.cache_folder(final, "figures")):
                write_report(
                    partial,
                    title=f"bmelearn report: {config.name}",
                    config=config.model_dump(mode="json"),
                    notes=notes,
                    version=__version__,
                    **report,
                )
        info |= {"duration_s": round(time.perf_counter() - started, 2), run_folder.RUN_STAGES: clock.stages}
        run_folder.write_json(partial, run_folder.RUN, info)
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


def _run_into(plan: Plan, folder: Path, progress: Progress, final: Path) -> tuple[RunResult, dict]:
    """Do the work in ``folder`` (the run folder ``final`` while it is written) and write the data
    files; returns the result and the report's other inputs."""
    progress("loading dataset", 0, 1)
    # the parsed text files are kept for the next run while this one goes on; the block waits for them
    with recordings_cache(plan.cache_folder(final, "recordings")):
        raw = plan.data.load()
        excluded = []  # (level, count, reason): what was left out before the analysis, for the flow diagram
        targets = None
        if plan.labels is not None:
            n_trials = raw.meta["trial"].nunique()
            raw, targets = plan.labels.apply(raw)
            if unrated := n_trials - len(targets.trials):
                excluded.append(("trial", unrated, run_folder.UNRATED))
        progress("checking signal quality", 0, 1)
        cached = plan.cache_folder(final, "features") is not None
        # one pass, for both caches' keys; hashing releases the GIL
        digests = dict(zip(map(id, raw), on_threads(content_digest, list(raw)), strict=True)) if cached else None
        quality = check_quality(raw, plan.cache_folder(final, "quality"), list(digests.values()) if cached else None)
        run_folder.write_table(folder, run_folder.CHANNEL_QUALITY, quality.channels)
        signal = plan.signal.fit(raw, quality.bads)
        uses = plan.uses
        adaptation = plan.scoring.adaptation
        keep = "raw" in uses.values() or plan.scoring.robustness is not None or (adaptation is not None and adaptation.rotates)
        featurized = featurize(raw, signal, plan.cache_folder(final, "features"), keep,
                               lambda done, total: progress("features", done, total), digests)
        if featurized.cached:
            progress(f"features: {featurized.cached} of {len(raw.trials())} trials from the cache", 1, 1)
    windows = featurized.windows
    excluded += exclusions(raw, windows, quality.bads, plan.signal.bads)
    run_folder.write_table(folder, run_folder.EXCLUSIONS, pd.DataFrame(excluded, columns=["level", "count", "reason"]))
    recordings, examples = raw.meta, example_signals(raw, signal, windows.classes)
    regression = plan.scoring.task == "regression"
    calibration = calibration_trials(raw, windows.classes) if streamable(signal) and not regression else []
    del raw  # from here on, the signals' features and windows only (22 3DC participants: 775 MB less)
    release_freed_memory()
    inputs = {"features": featurized.X, "raw": windows.arrays.get(signal.raw)}
    y = plan.target(windows)
    positive = None if regression else plan.positive_class(windows.classes, y)
    scale = plan.scale(windows.classes)
    pipelines = plan.pipelines(signal, positive, scale)
    votes = None if targets is None else targets.votes(trial_ids(windows.meta))
    scores = assess(replace(plan.scoring, positive=positive, ordinal=scale), inputs, uses, windows, signal, pipelines,
                    plan.protocols, progress, Checkpoint(plan.cache_folder(final, "fits") or folder / UNITS), targets,
                    votes)
    rows, labels = (slice(None), y) if votes is None else expand_votes(np.arange(len(y)), votes, windows.classes)
    scores.write(folder, {run_folder.SUMMARY_DATASET: plan.data.name, run_folder.SUMMARY_N_WINDOWS: len(windows)})
    run_folder.write_data(folder, recordings, windows.y.astype(str), windows.classes)

    training = {"n_windows": len(windows), "subjects": [str(s) for s in pd.unique(windows.meta["subject"])]}
    online = {} if not calibration else {"amplitude": amplitude_ranges(signal, calibration)}
    if plan.scoring.control is not None:
        online["control"] = asdict(plan.scoring.control)
    histories = {}
    models = plan.cache_folder(final, "models")
    for i, (key, pipeline) in enumerate(pipelines.items()):
        progress(f"final models: {key} fit on every window", i, len(pipelines))
        info = {"model": key, "training": training, "validated": summary_for(scores.summary, key), **online}
        deployed = signal.with_output("windows" if uses[key] == "raw" else "features")
        path = folder / run_folder.MODELS / f"{key}.skops"
        entry = (models / unit_key("final model", inputs[uses[key]], y, pipeline, deployed.key(), deployed.describe(),
                                   windows.classes, info, *(() if votes is None else (votes,)))
                 if models is not None else None)
        if entry is not None and _copy_model(entry, path):
            continue
        with joblib_threads(plan.execution.n_workers):
            estimator = clone(pipeline).fit(inputs[uses[key]][rows], labels)
        if (network := trained_network(estimator)) is not None:
            histories[key] = pd.DataFrame(network.history_)
            info["training_seconds"] = round(network.train_seconds_, 2)
        model = DeployableModel(deployed, estimator, [] if regression else windows.classes, info)
        if calibration and (agreement := online_agreement(model, calibration)) is not None:
            info["online"] = agreement  # zero-phase filters: what running them forward changes
        save_model(model, path)
        if entry is not None and network is None:  # a network's training history is not kept with it
            _keep_model(path, entry)
    if histories:
        run_folder.write_table(folder, run_folder.TRAINING_HISTORY,
                               pd.concat([h.assign(pipeline=k) for k, h in histories.items()]))
    report = {"examples": examples}
    return RunResult(folder, scores.results, scores.confusion, scores.summary, scores.comparisons, scores.ranking,
                     scores.robustness, positive), report


#: A cached final model: its file and its card (:func:`bmelearn.serving.save_model`).
_MODEL_FILES = ("model.skops", "model.json")


def _copy_model(entry: Path, path: Path) -> bool:
    """Copy the final model cached in ``entry`` to ``path`` (and its card beside it); False if there is none."""
    if not all((entry / name).is_file() for name in _MODEL_FILES):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    for name in _MODEL_FILES:
        shutil.copyfile(entry / name, path.with_suffix(Path(name).suffix))
    return True


def _keep_model(path: Path, entry: Path) -> None:
    """Cache the final model at ``path`` (and its card) as ``entry``: written beside it, then renamed."""
    temporary = entry.with_name(f".{entry.name}.{uuid.uuid4().hex}")
    temporary.mkdir(parents=True)
    for name in _MODEL_FILES:
        shutil.copyfile(path.with_suffix(Path(name).suffix), temporary / name)
    try:
        temporary.rename(entry)
    except OSError:  # another run cached the same model meanwhile
        shutil.rmtree(temporary, ignore_errors=True)


#: The headline metrics a model card keeps of its validation.
CARD_METRICS = ("accuracy", "balanced_accuracy", "r2", "mae")


def summary_for(summary: dict, pipeline: str) -> dict:
    """The mean of each of :data:`CARD_METRICS` the run measured, for one pipeline under each protocol."""
    return {
        protocol: {metric: values[metric]["mean"] for metric in CARD_METRICS if metric in values}
        for protocol, pipelines in summary.items()
        for name, values in pipelines.items()
        if name == pipeline
    }


def _run_info(name: str, seconds: float, notes: list[str], flagged: list[dict]) -> dict:
    return {
        run_folder.RUN_NAME: name,
        run_folder.RUN_FINISHED: datetime.now().isoformat(timespec="seconds"),
        "duration_s": round(seconds, 2),
        "bmelearn": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "scipy": scipy.__version__,
        "notes": notes,
        run_folder.RUN_FLAGGED_CHANNELS: flagged,
    }
