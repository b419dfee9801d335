"""A continuous target: R², RMSE, MAE and Pearson r of every model under every evaluation (the
mean over subjects with its interval, summary.json), and for each the predicted against the
true value and the Bland–Altman plot, one point per trial (predictions.parquet,
bland_altman.csv)."""

from __future__ import annotations

import numpy as np

from bmelearn.evaluation.regression import REGRESSION_METRICS
from bmelearn.report import figures, text
from bmelearn.report.cells import Table
from bmelearn.report.page import Figure, Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder


def _cell(stats: dict | None) -> str:
    if stats is None or not np.isfinite(stats["mean"]):
        return "–"
    interval = f" ({stats['ci_low']:.3g}–{stats['ci_high']:.3g})" if np.isfinite(stats["ci_low"]) else ""
    return f"{stats['mean']:.3g}{interval}"


def section(run: RunData) -> Section | None:
    agreement = run.table(run_folder.BLAND_ALTMAN)
    if agreement is None:
        return None
    summary = run.summary[run_folder.SUMMARY_PROTOCOLS]
    rows = [[text.protocol_label(protocol), text.model_label(pipeline), *(_cell(metrics.get(m)) for m in REGRESSION_METRICS)]
            for protocol, pipelines in summary.items() for pipeline, metrics in pipelines.items()]
    labels = [entry.metadata["label"] for entry in REGRESSION_METRICS.values()]
    meanings = " ".join(f"{entry.metadata['label']}: {entry.description}" for entry in REGRESSION_METRICS.values())
    items = [Item(text=meanings, table=Table(["Evaluation", "Model", *labels], rows, id="regression-table", row_headers=2,
                                             caption=f"Mean over subjects ({100 * run.confidence:g} % interval)."))]
    predictions = run.require(run_folder.PREDICTIONS)
    trials = {key: part.groupby("trial", sort=False)[["true", "predicted"]].mean()
              for key, part in predictions.groupby(["pipeline", "protocol"], sort=False)}
    for row in agreement.itertuples():
        mine = trials[(row.pipeline, row.protocol)]
        title = f"{text.model_label(row.pipeline)}, {text.in_sentence(text.protocol_label(row.protocol))}"
        caption = (f"{title}: each point a trial (its windows' mean prediction). Left: predicted against true; on the "
                   f"dashed line they agree. Right (Bland–Altman): the bias, the mean of predicted − true, is "
                   f"{row.bias:+.3g} ({row.bias_ci_low:+.3g} to {row.bias_ci_high:+.3g}); 95 % of the trials' "
                   f"differences lie between the limits of agreement, {row.lower:+.3g} and {row.upper:+.3g} "
                   f"({row.n} trials).")
        image = figures.agreement_figure(mine["true"].to_numpy(), mine["predicted"].to_numpy(), "value",
                                         (row.lower, row.bias, row.upper))
        items.append(Item(title=title, figure=Figure(image, f"predicted against true values of {title}", caption)))
    intro = ["The target is continuous (a score, an effort): each model predicts its value, and the question is how "
             "close the predictions come, not how often they are right."]
    return Section("regression", "How close the predictions come", intro=intro, items=items)
