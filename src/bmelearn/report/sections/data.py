"""The data: head counts, the recorded signals, trials per class and session, windows per class."""

from __future__ import annotations

from bmelearn.report import tables, text
from bmelearn.report.cells import Table, number, percent
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder
from bmelearn.signals.recording import session_label


def section(run: RunData) -> Section:
    overview, classes, counts = run.overview, run.classes, run.window_counts
    modalities = Table(["Signal", "Recordings", "Minutes recorded", "Sampling rate (Hz)", "Channels"],
                       [[row.modality.upper(), str(row.n_recordings), f"{row.minutes:.1f}", ", ".join(map(number, row.fs)),
                         ", ".join(map(number, row.n_channels))] for row in overview.modalities.itertuples()],
                       caption="Recorded signals", id="modalities-table")
    trials = tables.trials_per_class_and_session(run.require(run_folder.RECORDINGS), classes)
    trial_table = Table(
        ["Class"] + [text.sentence_start(session_label(s)) for s in trials.columns] + ["Total"],
        [[c] + [str(v) for v in trials.loc[c]] + [str(trials.loc[c].sum())] for c in trials.index],
        caption="Trials per class and session",
        footer=[["Total"] + [str(v) for v in trials.sum(axis=0)] + [str(trials.to_numpy().sum())]],
        id="trials-table",
    )
    total = int(counts.sum())
    window_table = Table(["Class", "Windows", "Share (%)"],
                         [[c, str(n), percent(n / total) if total else "–"] for c, n in counts.items()],
                         caption="Analysis windows per class", footer=[["Total", str(total), "100.0" if total else "–"]],
                         id="windows-table")
    return Section("data", "The data", template="data.html", items=[Item(table=t) for t in (modalities, trial_table,
                                                                                             window_table)],
                   extra={"overview": overview, "n_classes": len(classes)})
