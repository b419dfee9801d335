"""Learning from other participants: the accuracy of each network against the test
participant's repetitions per class, trained from scratch, fine-tuned from the network
pretrained on the others, and subject-independent (transfer_summary.csv), with fine-tuning
against training from scratch paired over participants (transfer_comparisons.csv)."""

from __future__ import annotations

import pandas as pd

from bmelearn.report import figures, text
from bmelearn.report.cells import Table, with_interval
from bmelearn.report.page import Figure, Item, Section
from bmelearn.report.run import RunData
from bmelearn.report.sections.comparison import paired_item
from bmelearn.report.sections.robustness import CURVE
from bmelearn.runs import folder as run_folder


def section(run: RunData) -> Section | None:
    means = run.means(run_folder.TRANSFER_SUMMARY, "accuracy")
    if means is None:
        return None
    confidence = f"{run.confidence:.0%}"
    items = []
    for (protocol, pipeline), block in means.groupby(["protocol", "pipeline"], sort=False):
        ks = sorted(k for k in block["repetitions"].unique() if k > 0)
        curves, rows = {}, []
        for training, c in block.groupby("training", sort=False):
            c = c.sort_values("repetitions").rename(columns={"repetitions": "x", **CURVE})
            if (c["x"] == 0).all():  # no data of the subject: the same at every k
                c = pd.concat([c.assign(x=0), c.assign(x=max(ks, default=0))], ignore_index=True)
                rows.append([training] + [with_interval(*c[["y", "low", "high"]].iloc[0])] * len(ks))
            else:
                rows.append([training] + [with_interval(*c.loc[c["x"] == k, ["y", "low", "high"]].iloc[0])
                                          if (c["x"] == k).any() else "–" for k in ks])
            curves[training] = c
        title = f"{text.model_label(pipeline)} — {text.protocol_label(protocol)}"
        items.append(Item(
            figure=Figure(figures.curve_figure(curves, "Repetitions per class from the test participant", "Accuracy (%)"),
                          f"accuracy of {text.model_label(pipeline)} against the number of the participant's repetitions used for training",
                          f"{title}."),
            table=Table(["Training"] + [str(k) for k in ks], rows, id=f"transfer-{protocol}-{pipeline}",
                        caption=f"Accuracy (%) with k repetitions per class of the test participant, mean over "
                                f"participants with its {confidence} interval."),
        ))
    comparisons = run.table(run_folder.TRANSFER_COMPARISONS)
    if comparisons is not None and not comparisons.empty:
        items.append(paired_item(comparisons, "training", "Fine-tuned against trained from scratch, paired over participants",
                                 "transfer-comparisons", "each fine-tuned network minus the same network trained from "
                                 "scratch on the same k repetitions"))
    return Section("transfer", "Learning from other participants", items=items, template="transfer.html",
                   extra={"confidence": confidence})
