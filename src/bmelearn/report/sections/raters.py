"""Raters: how much the people who labelled the data agree, the model's agreement with each of
them beside it, and the model scored against every rater, the consensus and the soft labels
(rater_agreement.csv and rater_scores.csv; see :mod:`bmelearn.evaluation.targets`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bmelearn.report import text
from bmelearn.report.cells import Table, with_interval
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder

#: How each target rule is said to a reader.
TARGETS = {"majority": "the majority of the raters (ties to the class listed first)",
           "soft": "soft labels: each window learnt once per rater, with that rater's label",
           "dawid-skene": "the Dawid–Skene latent truth, which weighs each rater by how well they agree with the others"}
#: Measures of agreement with no unit, shown with two decimals (scores are percentages or nats).
RATIOS = {"cross-entropy", "Brier score"}


def _value(value: float, low: float, high: float, ratio: bool = True) -> str:
    if not ratio:
        return with_interval(value, low, high)
    if not np.isfinite(value):
        return "–"
    return f"{value:.2f}" + (f" ({low:.2f} to {high:.2f})" if np.isfinite(low) and np.isfinite(high) else "")


def _target(config: dict) -> str:
    rule = config["target"]
    return f"rater {rule[6:]}'s labels" if rule.startswith("rater:") else TARGETS[rule]


def _source(config: dict, n_raters: int) -> str:
    if config.get("simulate"):
        accuracies = ", ".join(f"{a:g}" for a in config["simulate"])
        return (f"The labels come from {n_raters} simulated raters of accuracy {accuracies}, drawn from the dataset's own "
                "labels (simulated raters, for an example: not real people).")
    return f"The labels come from {n_raters} raters ({config['file']})."


def _human_range(among: pd.DataFrame, mine: pd.DataFrame) -> str:
    """A sentence: is the model's agreement with the raters within theirs with each other?"""
    pairs, model = among[among["raters"] != "all"], mine["value"]
    if pairs.empty or model.empty:
        return ""
    low, high, median = pairs["value"].min(), pairs["value"].max(), model.median()
    where = ("within the range of the raters' agreement with each other" if low <= median <= high else
             "above every pair of raters" if median > high else "below every pair of raters")
    items = ("" if mine["items"].max() == pairs["items"].max() else
             f" (the model on the {int(mine['items'].max())} items it was tested on, the raters on all "
             f"{int(pairs['items'].max())})")
    return (f"Its median agreement with a rater, {median:.2f}, is {where} ({low:.2f} to {high:.2f}){items}. A model that "
            "agrees with the raters as well as they agree with each other labels like one more rater; above them, it may "
            "be closer to the truth than any one of them.")


def section(run: RunData) -> Section | None:
    agreement, scores = run.table(run_folder.RATER_AGREEMENT), run.table(run_folder.RATER_SCORES)
    if agreement is None or scores is None:
        return None
    config = run.config["labels"]
    agreement = agreement.fillna({"protocol": "", "pipeline": ""})
    among = agreement[agreement["pipeline"] == ""]
    n_raters = len({name for pair in among["raters"] if pair != "all" for name in pair.split(" & ")})
    weights = "" if config["level"] == "nominal" else " with quadratic weights (a near miss counts less)"
    intro = [f"{_source(config, n_raters)} The models learnt {_target(config)}. Agreement is Cohen's kappa{weights} for "
             "each pair "
             "(1: always the same label, 0: no more often than by chance), with Fleiss' kappa and Krippendorff's alpha "
             f"over all raters; the intervals resample subjects ({text.plural(int(among['items'].max()), 'item')})."]
    learnt = scores[scores["metric"] == "target accuracy"]
    if not learnt.empty:
        row = learnt.iloc[0]
        truth = "the truth the raters were simulated from" if config.get("simulate") else "the dataset's own labels"
        intro.append(f"The labels learnt are those of {truth} for {with_interval(row.value, row.ci_low, row.ci_high)} % "
                     "of the trials.")
    rows = [[r.measure, r.raters, _value(r.value, r.ci_low, r.ci_high), str(r.items)] for r in among.itertuples()]
    items = [Item(table=Table(["Measure", "Raters", "Value (interval)", "Items"], rows, id="rater-agreement",
                              row_headers=2, caption="The raters' agreement with each other."))]
    models = agreement[agreement["pipeline"] != ""]
    scores = scores[scores["pipeline"] != ""]
    for (protocol, pipeline), mine in models.groupby(["protocol", "pipeline"], sort=False):
        title = f"{text.model_label(pipeline)}, {text.in_sentence(text.protocol_label(protocol))}"
        rows = [[r.raters.replace(f" & model: {pipeline}", ""), _value(r.value, r.ci_low, r.ci_high), str(r.items)]
                for r in mine.itertuples()]
        mine_scores = scores[(scores["pipeline"] == pipeline) & (scores["protocol"] == protocol)]
        score_rows = [[r.reference, r.metric, _value(r.value, r.ci_low, r.ci_high, r.metric in RATIOS)]
                      for r in mine_scores.itertuples()]
        items.append(Item(
            title=title,
            text=_human_range(among, mine) + " Each test item is labelled by its windows' most frequent prediction.",
            table=Table(["Rater", "Cohen's kappa with the model (interval)", "Items"], rows, row_headers=1)))
        items.append(Item(
            title=f"{title}: scored against each reference",
            text="Accuracy (%) of the out-of-fold predictions against each rater, the consensus the models learnt and, "
                 "when they differ, the dataset's own labels; against the soft labels, the expected accuracy (the share "
                 "of raters who gave the predicted class, %), the cross-entropy (nats; lower is better) and the Brier "
                 f"score (lower is better). {100 * run.confidence:g} % intervals resample subjects.",
            table=Table(["Reference", "Metric", "Value (interval)"], score_rows, row_headers=2)))
    return Section("raters", "Raters and their agreement", intro=intro, items=items, folded=True)
