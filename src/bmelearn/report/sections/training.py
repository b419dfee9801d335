"""Training: the wall time of the fits (timings.csv) and the training curves of the saved
networks (training_history.csv)."""

from __future__ import annotations

from bmelearn.report import figures, text
from bmelearn.report.cells import Table
from bmelearn.report.page import Figure, Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder


def section(run: RunData) -> Section | None:
    items = []
    timings = run.table(run_folder.TIMINGS)
    if timings is not None and not timings.empty:
        rows = [[text.model_label(pipeline), text.protocol_label(protocol), str(len(block)), f"{block['n_train'].mean():.0f}",
                 f"{block['fit_seconds'].mean():.2f}", f"{block['fit_seconds'].sum():.1f}"]
                for (pipeline, protocol), block in timings.groupby(["pipeline", "protocol"], sort=False)]
        items.append(Item(table=Table(["Model", "Evaluation", "Fits", "Training windows per fit", "Seconds per fit",
                                       "Seconds in all"], rows, id="timings-table", row_headers=2,
                                      caption="Wall time of training, on the machine that made this report.")))
    histories = run.table(run_folder.TRAINING_HISTORY)
    if histories is not None:
        items.append(Item(text="Training curves of the saved neural networks (trained on all the data): the loss should "
                               "fall and level off; a validation loss that rises again while the training loss keeps "
                               "falling is a sign of over-fitting, which early stopping guards against."))
        for pipeline, history in histories.groupby("pipeline", sort=False):
            caption = f"{text.model_label(pipeline)}: {len(history)} epochs, {history['dur'].sum():.0f} s of training."
            items.append(Item(figure=Figure(figures.training_figure(history.reset_index(drop=True)),
                                            f"training and validation loss of {text.model_label(pipeline)} by epoch", caption)))
    return Section("training", "Training", items=items, folded=True) if items else None
