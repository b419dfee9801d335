"""Confusion matrices: where the test windows of each class went, all participants together,
one fold per protocol and model."""

from __future__ import annotations

from bmelearn.report import figures, tables, text
from bmelearn.report.page import Figure, Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder


def section(run: RunData) -> Section:
    confusion = run.require(run_folder.CONFUSION)
    matrices = tables.confusion_matrices(confusion, run.classes, run.scores.protocols, run.scores.pipelines)
    items = []
    for (protocol, pipeline), counts in matrices.items():
        title = f"{text.protocol_label(protocol)} — {text.model_label(pipeline)}"
        shown = confusion[(confusion["protocol"] == protocol) & (confusion["pipeline"] == pipeline)]
        items.append(Item(title=title, figure=Figure(
            figures.confusion_figure(counts, title),
            f"Confusion matrix, {title}: rows are true classes, columns predicted classes",
            f"{title}: {int(counts.to_numpy().sum())} test windows of "
            f"{text.plural(shown['subject'].nunique(), 'participant')} together.")))
    intro = ("Test windows of all participants together. Each cell gives the share of the row's true class (and the "
             "number of windows in brackets); each row adds up to 100\u00a0%.")
    return Section("confusion", "Confusion matrices", intro=[intro], items=items, empty="No confusion counts were given.")
