"""Results per class: sensitivity and specificity of each class, averaged over participants."""

from __future__ import annotations

from bmelearn.report import text
from bmelearn.report.cells import Table, percent
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData


def section(run: RunData) -> Section:
    items = []
    for protocol, pipeline in run.scores.conditions():
        table = run.scores.class_table(protocol, pipeline)
        if table.empty:
            continue
        rows = [[c, percent(table.at[c, "sensitivity"]), percent(table.at[c, "specificity"])] for c in table.index]
        items.append(Item(title=f"{text.protocol_label(protocol)} — {pipeline}",
                          table=Table(["Class", "Sensitivity (%)", "Specificity (%)"], rows,
                                      id=f"classes-{protocol}-{pipeline}")))
    intro = "Sensitivity and specificity of each class, averaged over participants."
    return Section("per-class", "Results per class", intro=[intro], items=items, empty="No per-class results.")
