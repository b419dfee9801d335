"""Ordered classes: quadratic-weighted kappa and the mean absolute error on the scale, the mean
over subjects with its interval, for every model and evaluation (ordinal_summary.csv; see
:mod:`bmelearn.evaluation.ordinal`)."""

from __future__ import annotations

from bmelearn.report import text
from bmelearn.report.cells import Table
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder

#: The columns of the table, by metric name in ordinal_summary.csv.
METRICS = {"quadratic_kappa": "Quadratic-weighted kappa", "mean_absolute_error": "Mean absolute error"}


def _cell(mean: float, low: float, high: float) -> str:
    return f"{mean:.2f} ({low:.2f} to {high:.2f})"


def section(run: RunData) -> Section | None:
    summary = run.table(run_folder.ORDINAL_SUMMARY)
    if summary is None or summary.empty:
        return None
    scale = " < ".join(run.summary[run_folder.SUMMARY_SCALE])
    rows = []
    for (protocol, pipeline), block in summary.groupby(["protocol", "pipeline"], sort=False):
        by_metric = block.set_index("metric")
        rows.append([text.protocol_label(protocol), text.model_label(pipeline),
                     *(_cell(*by_metric.loc[m, ["mean", "ci_low", "ci_high"]]) if m in by_metric.index else "–"
                       for m in METRICS), str(int(block["n_subjects"].max()))])
    intro = [f"The classes are ordered ({scale}): a prediction one step off is a smaller error than one three steps off, "
             "which accuracy does not see. Quadratic-weighted kappa counts each disagreement by the square of its distance "
             "on the scale (1: perfect, 0: no better than chance); the mean absolute error is the mean distance between "
             "the predicted and the true class, in steps of the scale (or in its units when the classes are numbers). "
             f"Each is the mean over subjects, with its {100 * run.confidence:g} % interval over resampled subjects."]
    table = Table(["Evaluation", "Model", *METRICS.values(), "Subjects"], rows, id="ordinal-table", row_headers=2)
    return Section("ordinal", "Ordered classes", intro=intro, items=[Item(table=table)])
