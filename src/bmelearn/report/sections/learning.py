"""How much training data: the compared metric against the training repetitions per class,
per protocol and model (learning_curve_summary.csv)."""

from __future__ import annotations

from bmelearn.report import figures, text
from bmelearn.report.page import Figure, Item, Section
from bmelearn.report.run import RunData
from bmelearn.report.sections.robustness import CURVE
from bmelearn.runs import folder as run_folder


def section(run: RunData) -> Section | None:
    means = run.means(run_folder.LEARNING_CURVE_SUMMARY, run.compare)
    if means is None:
        return None
    name = text.metric_name(run.compare)
    items = []
    for protocol, block in means.groupby("protocol", sort=False):
        curves = {text.model_label(p): c.rename(columns={"repetitions": "x", **CURVE}) for p, c in block.groupby("pipeline", sort=False)}
        items.append(Item(figure=Figure(
            figures.curve_figure(curves, "Training repetitions per class", f"{text.sentence_start(name)} (%)"),
            f"{name} against the number of training repetitions", f"Learning curve — {text.protocol_label(protocol)}.")))
    intro = ("The models were trained again on only the first repetitions of each class, and tested as before: a curve "
             "that still rises at its right end means that recording more repetitions would help. Bands are "
             f"{run.confidence:.0%} confidence intervals.")
    return Section("learning", "How much training data?", intro=[intro], items=items)
