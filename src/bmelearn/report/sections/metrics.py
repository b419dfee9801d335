"""How to read the numbers: what each metric (its description in the registry) and the intervals mean."""

from __future__ import annotations

from bmelearn.evaluation.metrics import METRICS
from bmelearn.report import text
from bmelearn.report.cells import percent
from bmelearn.report.page import Section
from bmelearn.report.run import RunData

#: The metrics every report explains, besides the one its comparisons use.
EXPLAINED = ("accuracy", "balanced_accuracy", "sensitivity", "specificity")


def _term(name: str) -> str:
    label = text.metric_name(name)
    return text.sentence_start(label) + ("" if METRICS[name].metadata["scope"] == "overall" else " (of a class)")


def section(run: RunData) -> Section:
    names = dict.fromkeys((*EXPLAINED[:2], run.compare, *EXPLAINED[2:]))
    return Section("metrics", "How to read the numbers", template="metrics.html", folded=True,
                   extra={"confidence": f"{run.confidence:.0%}", "n_boot": run.config["evaluation"]["n_boot"], "chance": percent(run.chance),
                          "metrics": [(_term(name), name, METRICS[name].description) for name in names]})
