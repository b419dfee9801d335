"""Results per class: sensitivity and specificity of each class, mean over participants with its
interval (summary.json), one fold per protocol with the models side by side."""

from __future__ import annotations

from bmelearn.report import text
from bmelearn.report.cells import Table, interval_is_range, mean_with_interval
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData
from bmelearn.report.tables import summary_stats
from bmelearn.runs import folder as run_folder

CLASS_METRICS = ("sensitivity", "specificity")


def section(run: RunData) -> Section:
    summary, scores = run.summary[run_folder.SUMMARY_PROTOCOLS], run.scores
    items = []
    for protocol in scores.protocols:
        pipelines = [p for p in scores.pipelines if any(summary_stats(summary, protocol, p, m, c)
                                                        for m in CLASS_METRICS for c in scores.classes)]
        if not pipelines:
            continue
        columns = ["Class"] + [f"{text.model_label(p)} {m} (%)" for p in pipelines for m in CLASS_METRICS]
        stats = {(c, p, m): summary_stats(summary, protocol, p, m, c) for c in scores.classes for p in pipelines
                 for m in CLASS_METRICS}
        rows = [[c] + [mean_with_interval(stats[c, p, m]) for p in pipelines for m in CLASS_METRICS]
                for c in scores.classes]
        marked = [len(s["per_subject"]) for s in stats.values() if interval_is_range(s)]
        caption = (f"Sensitivity and specificity (%) of each class: "
                   f"{text.mean_interval(run.confidence, run.config['evaluation']['n_boot'])}."
                   + text.range_note(marked, run.confidence))
        items.append(Item(title=text.protocol_label(protocol),
                          table=Table(columns, rows, caption=caption, id=f"classes-{protocol}")))
    intro = ("Sensitivity: the share of a class's windows recognised as that class (missed movements lower it). "
             "Specificity: the share of the other classes' windows not labelled as that class (false alarms lower it).")
    return Section("per-class", "Results per class", intro=[intro], items=items, empty="No per-class results.")
