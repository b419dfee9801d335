"""Confusion matrices: where the test windows of each class went, all participants together,
one fold per protocol and model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bmelearn.report import tables, text
from bmelearn.report.cells import Table
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder


def matrix_table(counts: pd.DataFrame, caption: str) -> Table:
    """A confusion matrix (true classes × predicted classes, window counts) as a table: each cell the
    share of its row, in %, with the count, and shaded by the share."""
    values = counts.to_numpy(dtype=float)
    totals = values.sum(axis=1, keepdims=True)
    share = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    rows = [[str(true), *(f"{100 * s:.0f} % ({c:.0f})" for s, c in zip(shares, row, strict=True))]
            for true, shares, row in zip(counts.index, share, values, strict=True)]
    return Table(["True ↓ predicted →", *map(str, counts.columns)], rows, caption=caption, shades=share.tolist())


def section(run: RunData) -> Section:
    confusion = run.require(run_folder.CONFUSION)
    matrices = tables.confusion_matrices(confusion, run.classes, run.scores.protocols, run.scores.pipelines)
    items = []
    for (protocol, pipeline), counts in matrices.items():
        title = f"{text.protocol_label(protocol)} — {text.model_label(pipeline)}"
        shown = confusion[(confusion["protocol"] == protocol) & (confusion["pipeline"] == pipeline)]
        items.append(Item(title=title, table=matrix_table(
            counts, f"{title}: {int(counts.to_numpy().sum())} test windows of "
                    f"{text.plural(shown['subject'].nunique(), 'participant')} together. Rows: true class; "
                    "columns: predicted class.")))
    intro = ("Test windows of all participants together. Each cell gives the share of the row's true class (and the "
             "number of windows in brackets), shaded by that share; each row adds up to 100\u00a0%.")
    return Section("confusion", "Confusion matrices", intro=[intro], items=items, empty="No confusion counts were given.")
