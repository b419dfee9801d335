"""Labels to check: the trials whose out-of-fold class probabilities contradict their given label,
most suspect first (suspect_labels.csv, see :mod:`bmelearn.evaluation.suspects`)."""

from __future__ import annotations

from bmelearn.report import text
from bmelearn.report.cells import Table, percent
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder

#: The most suspect trials shown; the run folder's table holds them all.
SHOWN = 20


def section(run: RunData) -> Section | None:
    table = run.table(run_folder.SUSPECTS)
    if table is None or table.empty:
        return None
    first = table.iloc[0]
    n_flagged, n_trials = len(table), int(first["n_trials"])
    intro = [
        f"Each trial was classified by {text.model_label(str(first['pipeline']))} trained without it "
        f"({text.in_sentence(text.protocol_label(str(first['protocol'])))}), averaging its windows' probabilities. "
        f"A trial is listed when the model gives its "
        f"{'label learnt from the raters' if run.config.get('labels') else 'given label'} "
        "a lower probability than it usually gives trials of "
        "that class, and gives another class at least the probability it usually gives trials of that other class "
        "(confident learning; Northcutt, Jiang & Chuang 2021, J Artif Intell Res 70:1373). Such a trial may be "
        "mislabelled, badly recorded or simply unusual: check its recording and notes before changing its label.",
        f"{n_flagged} of {text.plural(n_trials, 'trial')} ({percent(n_flagged / n_trials)} %) were flagged"
        + (f"; the {SHOWN} most suspect are shown (all are in {run_folder.SUSPECTS})." if n_flagged > SHOWN else "."),
    ]
    rows = [[str(r.rank), str(r.trial), str(r.subject) or "–", str(r.label), str(r.suggested), percent(r.p_label),
             percent(r.p_suggested), str(r.n_windows)] for r in table.head(SHOWN).itertuples()]
    columns = ["Rank", "Trial", "Subject", "Given label", "Suggested", "Probability of the given label (%)",
               "Probability of the suggested class (%)", "Windows"]
    caption = "Trials whose label the model contradicts, the lowest probability of the given label first"
    return Section("suspects", "Labels to check", intro=intro, folded=True,
                   items=[Item(table=Table(columns, rows, caption=caption, id="suspects-table"))])
