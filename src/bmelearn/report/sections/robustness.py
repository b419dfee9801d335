"""Robustness: the compared metric against the level of each perturbation of the test data,
per model, with its band (robustness_summary.csv)."""

from __future__ import annotations

from bmelearn.evaluation.robustness import PERTURBATIONS
from bmelearn.report import figures, text
from bmelearn.report.cells import Table, with_interval
from bmelearn.report.page import Figure, Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder

#: The columns of a summary as those of a curve of figures.curve_figure.
CURVE = {"mean": "y", "ci_low": "low", "ci_high": "high"}


def section(run: RunData) -> Section | None:
    means = run.means(run_folder.ROBUSTNESS_SUMMARY, run.compare)
    if means is None:
        return None
    name = text.metric_name(run.compare)
    items = []
    for (protocol, perturbation), block in means.groupby(["protocol", "perturbation"], sort=False):
        curves = {text.model_label(p): c.sort_values("level").rename(columns={"level": "x", **CURVE})
                  for p, c in block.groupby("pipeline", sort=False)}
        axis = PERTURBATIONS[perturbation].metadata["axis"]
        levels = sorted(block["level"].unique())
        rows = [[p] + [with_interval(*c.loc[c["x"] == level, ["y", "low", "high"]].iloc[0]) for level in levels]
                for p, c in curves.items()]
        title = f"{axis.split(' (')[0]} — {text.protocol_label(protocol)}"
        items.append(Item(
            title=title,
            figure=Figure(figures.curve_figure(curves, axis, f"{text.sentence_start(name)} (%)"), f"{name} against {axis.lower()}",
                          f"{title}."),
            table=Table(["Model"] + [f"{level:g}" for level in levels], rows, id=f"robustness-{protocol}-{perturbation}",
                        caption=f"{text.sentence_start(name)} (%) at each level: "
                                f"{text.mean_interval(run.confidence, run.config['evaluation']['n_boot'])}."),
        ))
    intro = ("The trained models were tested again on perturbed copies of the test data, as happens in daily use: the "
             "armband put back a little rotated, noise, mains interference, a lost electrode, a change of gain. Bands "
             f"are {run.confidence:.0%} confidence intervals.")
    return Section("robustness", "Robustness", intro=[intro], items=items)
