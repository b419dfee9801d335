"""Which model is better: the paired comparisons (comparisons.csv) and the ranking (summary.json)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bmelearn.report import text
from bmelearn.report.cells import Table
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder


def section(run: RunData) -> Section | None:
    comparisons = run.table(run_folder.COMPARISONS)
    if comparisons is None or comparisons.empty:
        return None
    rows = [
        [f"{r.pipeline_a} vs {r.pipeline_b}", text.protocol_label(r.protocol), str(r.n_subjects),
         f"{100 * r.difference:+.1f}", "–" if not np.isfinite(r.d_z) else f"{r.d_z:.2f}", r.test,
         f"{r.p_value:.3f}", f"{r.p_holm:.3f}", f"{r.min_p:.3f}" if r.min_p > 0 else "–"]
        for r in comparisons.itertuples(index=False)
    ]
    metric = text.metric_name(comparisons["metric"].iloc[0])
    caption = f"Paired over participants, {metric}; a positive difference favours the first model."
    items = [Item(table=Table(["Comparison", "Evaluation", "Subjects", "Difference (points)", "Effect size d_z", "Test",
                               "p", "p (Holm)", "Smallest possible p"], rows, id="comparisons-table", caption=caption))]
    ranking = pd.DataFrame(run.summary[run_folder.SUMMARY_RANKING])
    if not ranking.empty:
        items.append(Item(table=Table(
            ["Model", "Evaluation", "Mean rank", "Critical difference", "Friedman p", "Not told apart from the best"],
            [[r.pipeline, text.protocol_label(r.protocol), f"{r.mean_rank:.2f}", f"{r.critical_difference:.2f}",
              "–" if not np.isfinite(r.friedman_p) else f"{r.friedman_p:.3f}", "yes" if r.tied_with_best else "no"]
             for r in ranking.itertuples(index=False)],
            id="ranking-table", caption="Rank 1 is best. Models whose mean ranks differ by less than the critical "
                                        "difference (Nemenyi, 5 %) cannot be told apart.")))
    smallest = comparisons["min_p"].max()
    return Section("comparison", "Which model is better?", items=items, template="comparison.html",
                   extra={"metric": metric, "few_subjects": bool(smallest >= 0.05), "smallest_p": f"{smallest:.3f}"})
