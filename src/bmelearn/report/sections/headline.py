"""Main results: per evaluation and model, the mean over participants of the headline metrics
with its interval, and the range over participants (from summary.json)."""

from __future__ import annotations

from bmelearn.report import text
from bmelearn.report.cells import Table, percent, percent_range, with_interval
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder

RANGED = ("accuracy", "balanced_accuracy")  # metrics shown with their range over participants, if not all pooled


def section(run: RunData) -> Section:
    positive, summary, pooled = run.positive, run.summary[run_folder.SUMMARY_PROTOCOLS], run.protocols["pooled"]
    metrics = {m: text.metric_name(m).capitalize() for m in RANGED} | (
        {f"{m}:{positive}": f"{text.metric_name(m).capitalize()} ({positive})" for m in ("sensitivity", "specificity")}
        if positive else {})
    ranged = [] if pooled.all() else RANGED
    columns = ["Evaluation", "Model", "Subjects"]
    for metric, name in metrics.items():
        columns += [f"{name} (%)"] + (["Range over subjects"] if metric in ranged else [])
    rows = []
    for protocol, pipeline in run.scores.conditions():
        found = summary[protocol][pipeline]
        subjects = len(next(iter(found.values()))["per_subject"])
        row = [text.protocol_label(protocol), pipeline, "all, pooled" if pooled[protocol] else str(subjects)]
        for metric in metrics:
            values = found.get(metric)
            row.append(with_interval(values["mean"], values["ci_low"], values["ci_high"]) if values else "–")
            if metric in ranged:
                row.append(percent_range(values["min"], values["max"]) if values and not pooled[protocol] else "–")
        rows.append(row)
    intro = (f"Share of analysis windows recognised correctly, averaged over participants. With {len(run.classes)} "
             f"classes, guessing would be right about {percent(run.chance)}\u00a0% of the time."
             + (" The range shows the participant with the lowest and the one with the highest score." if ranged else ""))
    caption = (f"Mean over participants, with its {run.confidence:.0%} confidence interval in brackets (bootstrap over "
               "participants; with one participant, over its trials).")
    items = [Item(table=Table(columns, rows, caption=caption, id="headline-table"))] if rows else []
    return Section("headline", "Main results", intro=[intro], items=items, empty="No results were given.")
