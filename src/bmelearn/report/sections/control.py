"""Decisions for control: the decision-level metrics of each model, mean over participants
with its interval (summary.json)."""

from __future__ import annotations

import pandas as pd

from bmelearn.report import text
from bmelearn.report.cells import Table, with_interval
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder

CONTROL_NAMES = {"active_error": "Active error", "instability": "Instability", "rejection_rate": "Rejected",
                 "decision_accuracy": "Decision accuracy"}


def section(run: RunData) -> Section | None:
    if not (records := run.summary[run_folder.SUMMARY_CONTROL]):
        return None
    rows = []
    for (protocol, pipeline), block in pd.DataFrame(records).groupby(["protocol", "pipeline"], sort=False):
        found = block.set_index("metric")
        rows.append([text.model_label(pipeline), text.protocol_label(protocol)] + [
            with_interval(*found.loc[m, ["mean", "ci_low", "ci_high"]]) if m in found.index else "–" for m in CONTROL_NAMES
        ])
    rule = run.config["evaluation"]["control"]
    settings = [f"majority vote over {rule['vote']} window(s)"]
    if rule.get("reject_below") is not None:
        settings.append(f"no decision below a probability of {rule['reject_below']:g}")
    if rule.get("debounce", 1) > 1:
        settings.append(f"a new output only after {rule['debounce']} windows in a row")
    table = Table(["Model", "Evaluation", *(f"{n} (%)" for n in CONTROL_NAMES.values())], rows, id="control-table", row_headers=2,
                  caption=f"Decision-level metrics (%), {'; '.join(settings)}: "
                          f"{text.mean_interval(run.confidence, run.config['evaluation']['n_boot'])}.")
    return Section("control", "Decisions for control", items=[Item(table=table)], template="control.html")
