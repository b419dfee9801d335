"""Results per subject: accuracy and balanced accuracy of each participant, one fold per protocol."""

from __future__ import annotations

from bmelearn.report import figures, text
from bmelearn.report.cells import Table, percent, with_interval
from bmelearn.report.page import Figure, Item, Section
from bmelearn.report.run import RunData


def section(run: RunData) -> Section:
    scores, confidence, n_boot = run.scores, f"{run.confidence:.0%}", run.config["evaluation"]["n_boot"]
    interval = (f", with its {confidence} confidence interval in brackets (BCa bootstrap, {n_boot} resamples of the "
                "participant's test trials within each class)") if n_boot else ""
    items = []
    for protocol in scores.protocols:
        acc = scores.subject_table(protocol, "accuracy")
        bacc = scores.subject_table(protocol, "balanced_accuracy")
        if acc.empty and bacc.empty:
            continue
        pipelines = list(dict.fromkeys([*acc.columns, *bacc.columns]))
        subjects = list(dict.fromkeys([*acc.index, *bacc.index]))
        acc = acc.reindex(index=subjects, columns=pipelines)
        bacc = bacc.reindex(index=subjects, columns=pipelines)
        low, high = (scores.subject_table(protocol, "balanced_accuracy", c).reindex(index=subjects, columns=pipelines)
                     for c in ("ci_low", "ci_high"))
        names = {p: text.model_label(p) for p in pipelines}
        columns = ["Participant"] + [f"{names[p]} {m} (%)" for p in pipelines for m in ("accuracy", "balanced accuracy")]
        rows = [[s] + [cell for p in pipelines for cell in (
            percent(acc.at[s, p]), with_interval(bacc.at[s, p], low.at[s, p], high.at[s, p]))] for s in subjects]
        footer = [["Mean"] + [percent(t[p].mean()) for p in pipelines for t in (acc, bacc)]]
        title = text.protocol_label(protocol)
        meaning = run.protocols.at[protocol, "description"]
        items.append(Item(
            title=title, text=f"{text.sentence_start(meaning)}.",
            figure=Figure(figures.subject_accuracy_figure(bacc.rename(columns=names), run.chance, "Balanced accuracy (%)",
                                                          low.rename(columns=names), high.rename(columns=names)),
                          f"Balanced accuracy per participant and model with intervals, {title}",
                          "Balanced accuracy of each participant: one dot per model"
                          + (f", with its {confidence} confidence interval over the participant's trials" if n_boot else "")
                          + "; dashed line: chance level."),
            table=Table(columns, rows, footer=footer, id=f"subjects-{protocol}",
                        caption=f"Accuracy and balanced accuracy (%) of each participant{interval}. Mean: the "
                                "average of the participants (its interval is under Main results)."),
        ))
    return Section("per-subject", "Results per participant", items=items, empty="No per-subject results.")
