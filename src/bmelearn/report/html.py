"""Assembling the self-contained HTML report (Jinja2, autoescaped) and writing it atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import yaml

from bmelearn.recording import Recording
from bmelearn.report import figures, sections, tables, text
from bmelearn.report.cells import Table, percent, percent_range

TEMPLATE_DIR = Path(__file__).parent / "templates"
EXAMPLE_SECONDS = 5.0


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def write_report(path: str | Path, **report: Any) -> None:
    """Write the self-contained HTML report (the arguments of :func:`render_report`) to ``path``.

    The page is rendered in full first, then written to a temporary file in the same folder and
    moved into place, so ``path`` never holds a half-written report.
    """
    write_atomically(Path(path), render_report(**report))


def render_report(
    *,
    title: str,
    config: dict,
    dataset_summary: pd.DataFrame,
    classes: list[str],
    windows_meta: pd.DataFrame,
    results: pd.DataFrame,
    confusion: pd.DataFrame,
    examples: Sequence[tuple[str, Recording]],
    notes: Sequence[str] = (),
    version: str = "",
    intervals: Mapping | None = None,
    comparisons: pd.DataFrame | None = None,
    ranking: pd.DataFrame | None = None,
    robustness: pd.DataFrame | None = None,
    predictions: pd.DataFrame | None = None,
    positive: str | None = None,
    confidence: float = 0.95,
    n_boot: int = 1000,
    compare: str = "balanced_accuracy",
    control: pd.DataFrame | None = None,
    learning: pd.DataFrame | None = None,
    transfer: pd.DataFrame | None = None,
    timings: pd.DataFrame | None = None,
    training: Mapping[str, pd.DataFrame] | None = None,
) -> str:
    """The report of an experiment as one self-contained HTML page, written for a clinician.

    ``dataset_summary`` has one row per recording (subject, session, repetition, label, trial,
    modality, fs, n_channels, n_samples, duration in s); ``windows_meta`` one row per window
    (at least label; start in s lets the window step be inferred); ``results`` is the tidy table
    (dataset, pipeline, protocol, subject, metric, class, value, ci_low, ci_high in [0, 1]) with
    metrics accuracy, balanced_accuracy (class "") and per-class sensitivity, specificity;
    ``confusion`` has pipeline, protocol, subject, true, predicted, count. ``classes`` orders
    every per-class table and matrix. ``examples`` are (caption, Recording) pairs drawn over
    their first 5 s. ``version`` defaults to the installed bmelearn version.

    Optional, from :func:`bmelearn.evaluation.evaluate` and its statistics: ``intervals``
    (the summary: protocol → pipeline → metric → mean, ci_low, ci_high, per_subject), the
    pipeline ``comparisons`` and ``ranking``, the ``robustness`` table, the out-of-fold
    ``predictions`` (for the ROC, PR and calibration curves of a binary task with its
    ``positive`` class), the ``confidence`` level and ``n_boot`` resamples of the bands and
    the ``compare`` metric, the decision-level ``control`` metrics averaged over subjects
    (protocol, pipeline, metric, mean, ci_low, ci_high) and ``learning`` curve results (the results
    table with a ``repetitions`` column), the ``transfer`` curve (the same with ``training``), the
    ``timings`` of the fits (pipeline, protocol, fold, n_train, fit_seconds) and the ``training``
    history of each saved network (epoch rows: stage, train_loss, valid_loss, valid_acc, dur). Raises :class:`~bmelearn.errors.DataError` if a table lacks a
    required column.
    """
    classes = [str(c) for c in classes]
    summary = tables.ResultSummary.from_results(results, classes)
    overview = tables.dataset_overview(dataset_summary)
    window_counts = tables.windows_per_class(windows_meta, classes)
    chance = 1.0 / len(classes) if classes else None
    context = {
        "title": str(title),
        "intro": _intro(config, summary, overview, windows_meta, int(window_counts.sum())),
        "headline": (sections.headline_table(summary, intervals, positive, confidence) if intervals
                     else _headline_table(summary)),
        "notes": [str(n) for n in notes],
        "chance": percent(chance) if chance else "",
        "n_classes": len(classes),
        "overview": overview,
        "data_tables": _data_tables(overview, dataset_summary, classes, window_counts),
        "examples": [_example(caption, rec) for caption, rec in examples],
        "per_subject": _per_subject(summary, chance),
        "comparison": sections.comparison_section(comparisons, ranking),
        "robustness": sections.robustness_sections(robustness, compare, confidence),
        "binary": (sections.binary_sections(summary, predictions, classes, positive, n_boot, confidence)
                   if positive and predictions is not None else None),
        "confidence": f"{confidence:.0%}",
        "control": sections.control_table(control, confidence),
        "learning": sections.learning_sections(learning, compare, confidence),
        "transfer": sections.transfer_sections(transfer, confidence),
        "timings": sections.timing_table(timings),
        "training": sections.training_sections(training or {}),
        "per_class": _per_class(summary),
        "confusion": _confusion(confusion, classes, summary),
        "config_yaml": yaml.safe_dump(_plain(config), sort_keys=False, allow_unicode=True, default_flow_style=False),
        "version": version or _package_version(),
        "generated": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip(),
    }
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    return env.get_template("report.html").render(context)


def write_atomically(path: Path, content: str) -> None:
    """Write ``content`` to a temporary file next to ``path``, then move it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _package_version() -> str:
    from bmelearn import __version__

    return __version__


def _plain(value: Any) -> Any:
    """The configuration as plain YAML-safe types (paths, numpy scalars, tuples... converted)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "model_dump"):  # pydantic models
        return _plain(value.model_dump())
    return str(value)


# --- what was done -------------------------------------------------------------------------


def _intro(config: Mapping, summary: tables.ResultSummary, overview: tables.DatasetOverview,
           windows_meta: pd.DataFrame, n_windows: int) -> dict:
    """The plain-language account of the experiment at the top of the page."""
    datasets = [d for d in summary.datasets if d]
    if not datasets:
        named = text.find_key(config, {"dataset"})
        named = named.get("name") if isinstance(named, Mapping) else named
        datasets = [str(named)] if isinstance(named, str) and named else []
    on = (f"the {text.join_words(datasets)} dataset{'s' if len(datasets) > 1 else ''}" if datasets
          else "one dataset")
    signals = [
        f"{row.modality.upper()} ({'/'.join(map(_number, row.n_channels))} channels at "
        f"{'/'.join(_number(f) for f in row.fs)} Hz)"
        for row in overview.modalities.itertuples()
    ]
    data = (
        f"This report summarises a machine-learning experiment on {on}: "
        f"{text.plural(overview.n_trials, 'recorded trial')} from "
        f"{text.plural(overview.n_subjects, 'participant')} in "
        f"{text.plural(len(overview.sessions), 'recording session')}, with "
        f"{text.plural(len(summary.classes), 'class', 'classes')} to recognise ({text.join_words(summary.classes)})."
        + (f" Signals recorded: {text.join_words(signals)}." if signals else "")
    )
    length, step = text.window_settings(config)
    step = step or tables.typical_window_step(windows_meta)
    return {
        "paragraphs": [
            data,
            text.preprocessing_sentence(config.get("preprocessing")),
            text.windows_sentence(length, step, n_windows),
        ],
        "models": [(p, text.model_meaning(p)) for p in summary.pipelines],
        "protocols": [(text.protocol_label(p), p, text.protocol_meaning(p)) for p in summary.protocols],
    }


# --- results -------------------------------------------------------------------------------


def _condition_title(summary: tables.ResultSummary, dataset: str, protocol: str, pipeline: str = "") -> str:
    parts = [text.protocol_label(protocol)] + ([pipeline] if pipeline else [])
    if len(summary.datasets) > 1:
        parts.insert(0, dataset or "(no dataset name)")
    return " — ".join(parts)


def _table_id(summary: tables.ResultSummary, kind: str, dataset: str, *names: str) -> str:
    """``subjects-cross_session``; the dataset is named too when there are several."""
    return "-".join([kind, *([dataset] if len(summary.datasets) > 1 else []), *names])


def _headline_table(summary: tables.ResultSummary) -> Table:
    head = summary.headline()
    several = len(summary.datasets) > 1
    columns = (["Dataset"] if several else []) + [
        "Evaluation", "Model", "Subjects", "Accuracy (%)", "Range over subjects", "Balanced accuracy (%)",
        "Range over subjects",
    ]
    rows = [
        ([row["dataset"]] if several else [])
        + [
            text.protocol_label(row["protocol"]), row["pipeline"], str(row["n_subjects"]),
            percent(row["accuracy_mean"]), percent_range(row["accuracy_min"], row["accuracy_max"]),
            percent(row["balanced_accuracy_mean"]),
            percent_range(row["balanced_accuracy_min"], row["balanced_accuracy_max"]),
        ]
        for _, row in head.iterrows()
    ]
    return Table(columns, rows, caption="Mean over subjects.",
                 id="headline-table")


def _per_subject(summary: tables.ResultSummary, chance: float | None) -> list[dict]:
    out = []
    for dataset in summary.datasets:
        for protocol in summary.protocols:
            acc = summary.subject_table(dataset, protocol, "accuracy")
            bacc = summary.subject_table(dataset, protocol, "balanced_accuracy")
            if acc.empty and bacc.empty:
                continue
            pipelines = list(dict.fromkeys([*acc.columns, *bacc.columns]))
            subjects = list(dict.fromkeys([*acc.index, *bacc.index]))
            acc = acc.reindex(index=subjects, columns=pipelines)
            bacc = bacc.reindex(index=subjects, columns=pipelines)
            low, high = (summary.subject_table(dataset, protocol, "balanced_accuracy", c).reindex(
                index=subjects, columns=pipelines) for c in ("ci_low", "ci_high"))
            columns = ["Subject"] + [f"{p}: {m}" for p in pipelines for m in ("accuracy (%)", "balanced accuracy (%, interval)")]
            rows = [[s] + [cell for p in pipelines for cell in (
                percent(acc.at[s, p]), sections.with_interval(bacc.at[s, p], low.at[s, p], high.at[s, p]))]
                for s in subjects]
            footer = [["Mean"] + [percent(t[p].mean()) for p in pipelines for t in (acc, bacc)]]
            title = _condition_title(summary, dataset, protocol)
            out.append({
                "title": title,
                "meaning": text.protocol_meaning(protocol),
                "table": Table(columns, rows, footer=footer, id=_table_id(summary, "subjects", dataset, protocol)),
                "image": figures.subject_accuracy_figure(bacc, chance, "Balanced accuracy (%)", low, high),
                "alt": f"Balanced accuracy per subject and model with intervals, {title}",
            })
    return out


def _per_class(summary: tables.ResultSummary) -> list[dict]:
    out = []
    for dataset, protocol, pipeline in summary.conditions():
        table = summary.class_table(dataset, protocol, pipeline)
        if table.empty:
            continue
        rows = [[c, percent(table.at[c, "sensitivity"]), percent(table.at[c, "specificity"])] for c in table.index]
        out.append({
            "title": _condition_title(summary, dataset, protocol, pipeline),
            "table": Table(["Class", "Sensitivity (%)", "Specificity (%)"], rows,
                           id=_table_id(summary, "classes", dataset, protocol, pipeline)),
        })
    return out


def _confusion(confusion: pd.DataFrame, classes: list[str], summary: tables.ResultSummary) -> list[dict]:
    matrices = tables.confusion_matrices(confusion, classes, summary.protocols, summary.pipelines)
    out = []
    for (protocol, pipeline), counts in matrices.items():
        title = f"{text.protocol_label(protocol)} — {pipeline}"
        out.append({
            "title": title,
            "n_windows": int(counts.to_numpy().sum()),
            "image": figures.confusion_figure(counts, title),
            "alt": f"Confusion matrix, {title}: rows are true classes, columns predicted classes",
        })
    return out


# --- data ----------------------------------------------------------------------------------


def _data_tables(overview: tables.DatasetOverview, dataset_summary: pd.DataFrame, classes: list[str],
                 window_counts: pd.Series) -> list[Table]:
    modality_rows = [
        [row.modality.upper(), str(row.n_recordings), f"{row.minutes:.1f}", ", ".join(map(_number, row.fs)),
         ", ".join(map(_number, row.n_channels))]
        for row in overview.modalities.itertuples()
    ]
    modalities = Table(["Signal", "Recordings", "Minutes recorded", "Sampling rate (Hz)", "Channels"],
                       modality_rows, caption="Recorded signals", id="modalities-table")

    trials = tables.trials_per_class_and_session(dataset_summary, classes)
    trial_table = Table(
        ["Class"] + [f"Session {s}" for s in trials.columns] + ["Total"],
        [[c] + [str(v) for v in trials.loc[c]] + [str(trials.loc[c].sum())] for c in trials.index],
        caption="Trials per class and session",
        footer=[["Total"] + [str(v) for v in trials.sum(axis=0)] + [str(trials.to_numpy().sum())]],
        id="trials-table",
    )

    total = int(window_counts.sum())
    window_table = Table(
        ["Class", "Windows", "Share (%)"],
        [[c, str(n), percent(n / total) if total else "–"] for c, n in window_counts.items()],
        caption="Analysis windows per class",
        footer=[["Total", str(total), "100.0" if total else "–"]],
        id="windows-table",
    )
    return [modalities, trial_table, window_table]


def _example(caption: str, recording: Recording) -> dict:
    """An example recording: a plot of its first seconds and a line saying what it is."""
    meta = recording.meta
    names = {"subject": "subject", "session": "session", "label": "class", "trial": "trial"}
    facts = [f"{name} {meta[key]}" for key, name in names.items() if meta.get(key) is not None]
    shown = (f"first {EXAMPLE_SECONDS:g} s of {recording.duration:.3g} s shown" if recording.duration > EXAMPLE_SECONDS
             else f"whole recording ({recording.duration:.3g} s) shown")
    description = (
        f"{recording.modality.upper()}, {recording.n_channels} channels at {recording.fs:g} Hz"
        + (f"; {', '.join(facts)}" if facts else "")
        + f"; {shown}. Each channel has its own vertical scale."
    )
    if recording.n_channels > 16:
        description += f" Only the first 16 of {recording.n_channels} channels are drawn."
    return {
        "caption": str(caption),
        "description": description,
        "image": figures.signal_figure(recording, EXAMPLE_SECONDS),
        "alt": f"Example signal: {caption}",
    }

