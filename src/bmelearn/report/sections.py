"""Report sections about the trustworthiness of the results: intervals, the comparison of
pipelines, robustness curves, and for binary tasks the clinical view (sensitivity and
specificity per participant, ROC and precision-recall curves, calibration)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bmelearn.evaluation.curves import calibration, roc_pr_bands
from bmelearn.evaluation.evaluate import POOLED, mean_over_subjects
from bmelearn.report import figures, tables, text
from bmelearn.report.cells import Table, percent

PERTURBATION_AXES = {
    "electrode_shift": "Electrode shift (electrodes)",
    "snr_db": "Signal-to-noise ratio (dB)",
    "powerline": "Mains interference (× signal RMS)",
    "dropout": "Channels lost",
    "gain": "Gain factor",
}
METRIC_NAMES = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "kappa": "Cohen's kappa",
                "macro_f1": "macro F1", "sensitivity": "sensitivity", "specificity": "specificity"}


def with_interval(value: float, low: float, high: float) -> str:
    """``90.3 (87.1–93.0)`` in percent; the interval left out when unknown."""
    if not np.isfinite(value):
        return "–"
    if not (np.isfinite(low) and np.isfinite(high)):
        return percent(value)
    return f"{percent(value)} ({percent(low)}–{percent(high)})"


def headline_table(summary: tables.ResultSummary, intervals: Mapping, positive: str | None, confidence: float) -> Table:
    """Per evaluation and model: the mean over subjects of the headline metrics, each with its interval."""
    metrics = ["accuracy", "balanced_accuracy"] + ([f"sensitivity:{positive}", f"specificity:{positive}"] if positive else [])
    names = ["Accuracy", "Balanced accuracy"] + ([f"Sensitivity ({positive})", f"Specificity ({positive})"] if positive else [])
    columns = ["Evaluation", "Model", "Subjects"] + [f"{n} (%)" for n in names]
    rows = []
    for _, protocol, pipeline in summary.conditions():
        found = intervals.get(protocol, {}).get(pipeline, {})
        subjects = list(next(iter(found.values()), {}).get("per_subject", {}))
        count = "all, pooled" if subjects == [POOLED] else str(len(subjects))
        rows.append([text.protocol_label(protocol), pipeline, count] + [
            with_interval(*(found[m][k] for k in ("mean", "ci_low", "ci_high"))) if m in found else "–" for m in metrics
        ])
    caption = (f"Mean over participants, with its {confidence:.0%} confidence interval in brackets (bootstrap over "
               "participants; with one participant, over its trials).")
    return Table(columns, rows, caption=caption, id="headline-table")


def comparison_section(comparisons: pd.DataFrame, ranking: pd.DataFrame) -> dict | None:
    """Pairwise tests and the ranking, or None with fewer than two pipelines."""
    if comparisons is None or comparisons.empty:
        return None
    rows = [
        [f"{r.pipeline_a} vs {r.pipeline_b}", text.protocol_label(r.protocol), str(r.n_subjects),
         f"{100 * r.difference:+.1f}", "–" if not np.isfinite(r.d_z) else f"{r.d_z:.2f}", r.test,
         f"{r.p_value:.3f}", f"{r.p_holm:.3f}", f"{r.min_p:.3f}" if r.min_p > 0 else "–"]
        for r in comparisons.itertuples(index=False)
    ]
    metric = METRIC_NAMES.get(str(comparisons["metric"].iloc[0]), str(comparisons["metric"].iloc[0]))
    pairs = Table(["Comparison", "Evaluation", "Subjects", "Difference (points)", "Effect size d_z", "Test", "p",
                   "p (Holm)", "Smallest possible p"], rows, id="comparisons-table",
                  caption=f"Paired over participants, {metric}; a positive difference favours the first model.")
    ranks = Table(
        ["Model", "Evaluation", "Mean rank", "Critical difference", "Friedman p", "Not told apart from the best"],
        [[r.pipeline, text.protocol_label(r.protocol), f"{r.mean_rank:.2f}", f"{r.critical_difference:.2f}",
          "–" if not np.isfinite(r.friedman_p) else f"{r.friedman_p:.3f}", "yes" if r.tied_with_best else "no"]
         for r in ranking.itertuples(index=False)],
        id="ranking-table", caption="Rank 1 is best. Models whose mean ranks differ by less than the critical "
                                    "difference (Nemenyi, 5 %) cannot be told apart.",
    ) if ranking is not None and not ranking.empty else None
    smallest = comparisons["min_p"].max()
    return {"metric": metric, "pairs": pairs, "ranks": ranks,
            "few_subjects": bool(smallest >= 0.05), "smallest_p": f"{smallest:.3f}"}


def robustness_sections(robustness: pd.DataFrame, metric: str, confidence: float) -> list[dict]:
    """One curve per perturbation: the metric against the perturbation level, per model, with its band."""
    if robustness is None or robustness.empty:
        return []
    part = robustness[(robustness["metric"] == metric) & (robustness["class"] == "")]
    means = mean_over_subjects(part, ["protocol", "perturbation", "pipeline", "level"], confidence=confidence)
    sections = []
    for (protocol, perturbation), block in means.groupby(["protocol", "perturbation"], sort=False):
        curves = {p: c.sort_values("level").rename(columns={"level": "x", "mean": "y", "ci_low": "low", "ci_high": "high"})
                  for p, c in block.groupby("pipeline", sort=False)}
        axis = PERTURBATION_AXES[perturbation]
        levels = sorted(block["level"].unique())
        rows = [[p] + [with_interval(*c.loc[c["x"] == lv, ["y", "low", "high"]].iloc[0]) for lv in levels]
                for p, c in curves.items()]
        name = METRIC_NAMES.get(metric, metric)
        sections.append({
            "title": f"{axis.split(' (')[0]} — {text.protocol_label(protocol)}",
            "image": figures.curve_figure(curves, axis, f"{name.capitalize()} (%)"),
            "alt": f"{name} against {axis.lower()}",
            "table": Table(["Model"] + [f"{lv:g}" for lv in levels], rows, id=f"robustness-{protocol}-{perturbation}",
                           caption=f"{name.capitalize()} (%) at each level, mean over participants with its interval."),
        })
    return sections


def learning_sections(learning: pd.DataFrame, metric: str, confidence: float) -> list[dict]:
    """Per protocol: the metric against the number of training repetitions per class, per model."""
    if learning is None or learning.empty:
        return []
    part = learning[(learning["metric"] == metric) & (learning["class"] == "")]
    means = mean_over_subjects(part, ["protocol", "pipeline", "repetitions"], confidence=confidence)
    out = []
    name = METRIC_NAMES.get(metric, metric)
    for protocol, block in means.groupby("protocol", sort=False):
        curves = {p: c.rename(columns={"repetitions": "x", "mean": "y", "ci_low": "low", "ci_high": "high"})
                  for p, c in block.groupby("pipeline", sort=False)}
        out.append({"title": f"Learning curve — {text.protocol_label(protocol)}",
                    "image": figures.curve_figure(curves, "Training repetitions per class", f"{name.capitalize()} (%)"),
                    "alt": f"{name} against the number of training repetitions"})
    return out


def transfer_sections(transfer: pd.DataFrame, confidence: float) -> list[dict]:
    """Per protocol and network: accuracy against the test subject's repetitions per class, trained
    from scratch and fine-tuned from the pretrained network, beside the subject-independent one."""
    if transfer is None or transfer.empty:
        return []
    part = transfer[(transfer["metric"] == "accuracy") & (transfer["class"] == "")]
    means = mean_over_subjects(part, ["protocol", "pipeline", "training", "repetitions"], confidence=confidence)
    out = []
    for (protocol, pipeline), block in means.groupby(["protocol", "pipeline"], sort=False):
        ks = sorted(k for k in block["repetitions"].unique() if k > 0)
        curves, rows = {}, []
        for training, c in block.groupby("training", sort=False):
            c = c.sort_values("repetitions").rename(columns={"repetitions": "x", "mean": "y", "ci_low": "low", "ci_high": "high"})
            if (c["x"] == 0).all():  # no data of the subject: the same at every k
                c = pd.concat([c.assign(x=0), c.assign(x=max(ks, default=0))], ignore_index=True)
                rows.append([training] + [with_interval(*c[["y", "low", "high"]].iloc[0])] * len(ks))
            else:
                rows.append([training] + [with_interval(*c.loc[c["x"] == k, ["y", "low", "high"]].iloc[0])
                                          if (c["x"] == k).any() else "–" for k in ks])
            curves[training] = c
        out.append({
            "title": f"{pipeline} — {text.protocol_label(protocol)}",
            "image": figures.curve_figure(curves, "Repetitions per class from the test participant", "Accuracy (%)"),
            "alt": f"accuracy of {pipeline} against the number of the participant's repetitions used for training",
            "table": Table(["Training"] + [str(k) for k in ks], rows, id=f"transfer-{protocol}-{pipeline}",
                           caption=f"Accuracy (%) with k repetitions per class of the test participant, mean over "
                                   f"participants with its {confidence:.0%} interval."),
        })
    return out


def timing_table(timings: pd.DataFrame) -> Table | None:
    """Per model and evaluation: the number of fits and their mean and total wall time."""
    if timings is None or timings.empty:
        return None
    rows = [[pipeline, text.protocol_label(protocol), str(len(block)), f"{block['n_train'].mean():.0f}",
             f"{block['fit_seconds'].mean():.2f}", f"{block['fit_seconds'].sum():.1f}"]
            for (pipeline, protocol), block in timings.groupby(["pipeline", "protocol"], sort=False)]
    return Table(["Model", "Evaluation", "Fits", "Training windows per fit", "Seconds per fit", "Seconds in all"], rows,
                 id="timings-table", caption="Wall time of training, on the machine that made this report.")


def training_sections(histories: Mapping[str, pd.DataFrame]) -> list[dict]:
    """Per saved network: its training curves (loss, validation accuracy) and training time."""
    out = []
    for pipeline, history in histories.items():
        if history is None or history.empty:
            continue
        seconds = float(history["dur"].sum())
        out.append({"title": pipeline, "image": figures.training_figure(history),
                    "alt": f"training and validation loss of {pipeline} by epoch",
                    "summary": f"{len(history)} epochs, {seconds:.0f} s of training"})
    return out


CONTROL_NAMES = {"active_error": "Active error", "instability": "Instability", "rejection_rate": "Rejected",
                 "decision_accuracy": "Decision accuracy"}


def control_table(means: pd.DataFrame, confidence: float) -> Table | None:
    """The decision-level metrics of each model: ``means`` has protocol, pipeline, metric and the
    mean over participants with its interval (mean, ci_low, ci_high)."""
    if means is None or means.empty:
        return None
    rows = []
    for (protocol, pipeline), block in means.groupby(["protocol", "pipeline"], sort=False):
        found = block.set_index("metric")
        rows.append([pipeline, text.protocol_label(protocol)] + [
            with_interval(*found.loc[m, ["mean", "ci_low", "ci_high"]]) if m in found.index else "–" for m in CONTROL_NAMES
        ])
    return Table(["Model", "Evaluation", *(f"{n} (%)" for n in CONTROL_NAMES.values())], rows, id="control-table",
                 caption=f"Mean over participants with its {confidence:.0%} interval.")


def binary_sections(summary: tables.ResultSummary, predictions: pd.DataFrame, classes: list[str], positive: str,
                    n_boot: int, confidence: float) -> dict:
    """Sensitivity and specificity of ``positive`` per participant, ROC and PR curves, calibration."""
    forests = []
    for dataset in summary.datasets:
        for protocol in summary.protocols:
            for metric in ("sensitivity", "specificity"):
                values, low, high = (summary.subject_table(dataset, protocol, metric, c, positive)
                                     for c in ("value", "ci_low", "ci_high"))
                if not values.empty:
                    forests.append({"title": f"{metric.capitalize()} ({positive}) — {text.protocol_label(protocol)}",
                                    "image": figures.subject_accuracy_figure(values, None, f"{metric.capitalize()} (%)",
                                                                             low, high),
                                    "alt": f"{metric} of {positive} per participant with intervals"})
    bands = roc_pr_bands(predictions, positive, n_boot, confidence)
    curves = []
    for (protocol, curve), block in bands.groupby(["protocol", "curve"], sort=False):
        lines = {p: c for p, c in block.groupby("pipeline", sort=False)}
        roc = curve == "roc"
        curves.append({
            "title": f"{'ROC' if roc else 'Precision-recall'} curve — {text.protocol_label(protocol)}",
            "image": figures.curve_figure(lines, "False-positive rate (%)" if roc else "Recall (sensitivity, %)",
                                          "True-positive rate (%)" if roc else "Precision (PPV, %)", diagonal=roc,
                                          percent_x=True),
            "alt": f"{'ROC' if roc else 'precision-recall'} curve with {confidence:.0%} band",
        })
    curve, ece = calibration(predictions, classes, positive)
    reliability = []
    for protocol, block in curve.groupby("protocol", sort=False):
        lines = {p: c.assign(x=c["predicted"], y=c["observed"], low=c["observed"], high=c["observed"])
                 for p, c in block.groupby("pipeline", sort=False)}
        errors = ece[ece["protocol"] == protocol]
        reliability.append({
            "title": f"Calibration — {text.protocol_label(protocol)}",
            "image": figures.curve_figure(lines, f"Predicted probability of {positive} (%)", f"Observed {positive} (%)",
                                          diagonal=True, percent_x=True),
            "alt": "reliability curve",
            "ece": ", ".join(f"{r.pipeline} {100 * r.ece:.1f}" for r in errors.itertuples(index=False)),
        })
    return {"forests": forests, "curves": curves, "calibration": reliability}
