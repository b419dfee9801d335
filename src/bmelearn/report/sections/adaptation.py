"""Winning accuracy back on a new day: each model adapted to each test session with its first k
repetitions (adaptation_summary.csv), per electrode shift, its comparisons with the unadapted
model and with training from scratch, paired over participants (adaptation_comparisons.csv),
and the rotations the alignment undid (rotations.csv)."""

from __future__ import annotations

import pandas as pd

from bmelearn.evaluation.adaptation import METHODS
from bmelearn.report import figures, text
from bmelearn.report.cells import Table, with_interval
from bmelearn.report.page import Figure, Item, Section
from bmelearn.report.run import RunData
from bmelearn.report.sections.comparison import paired_item
from bmelearn.report.sections.robustness import CURVE
from bmelearn.runs import folder as run_folder


def method_label(method: str) -> str:
    return METHODS[method].metadata["label"] if method in METHODS else method


def shift_words(shift: float) -> str:
    return "armband as recorded" if shift == 0 else f"armband rotated by {shift:g} electrode{'s' if shift != 1 else ''}"


def rotation_words(part: pd.DataFrame) -> str:
    """The rotations of one row of the rotations table: one number when every session's is the
    same, else each participant and session's."""
    if part["rotation"].nunique() == 1:
        return f"{part['rotation'].iloc[0]:+g} in every one of the {len(part)} sessions"
    return "; ".join(f"{w}: {v:+g}" for w, v in zip(part["who"], part["rotation"], strict=True))


def section(run: RunData) -> Section | None:
    means = run.means(run_folder.ADAPTATION_SUMMARY, "accuracy")
    if means is None or means.empty:
        return None
    confidence = f"{run.confidence:.0%}"
    comparisons = run.table(run_folder.ADAPTATION_COMPARISONS)
    rotations = run.table(run_folder.ROTATIONS)
    items = []
    for (protocol, pipeline, shift), block in means.groupby(["protocol", "pipeline", "shift"], sort=False):
        ks = sorted(block["repetitions"].unique())
        largest = max(ks)
        curves, rows = {}, []
        for method, c in block.groupby("method", sort=False):
            c = c.sort_values("repetitions").rename(columns={"repetitions": "x", **CURVE})
            cells = {int(k): with_interval(*c.loc[c["x"] == k, ["y", "low", "high"]].iloc[0]) for k in c["x"]}
            if (c["x"] == 0).all():  # no calibration data: the same at every k
                c = pd.concat([c, c.assign(x=largest)], ignore_index=True)
            curves[method_label(method)] = c
            rows.append([method_label(method)] + [cells.get(int(k), "–") for k in ks])
        title = f"{text.model_label(pipeline)} — {text.protocol_label(protocol)}, {shift_words(shift)}"
        items.append(Item(
            title=title,
            figure=Figure(figures.curve_figure(curves, "Calibration repetitions per class of the test session",
                                               "Accuracy (%)"),
                          f"accuracy of {text.model_label(pipeline)} against the calibration repetitions, per method",
                          f"{title}."),
            table=Table(["Method"] + [str(k) for k in ks], rows, id=f"adaptation-{protocol}-{pipeline}-{shift:g}",
                        caption=f"Accuracy (%) on each test session's repetitions after its first {largest}, with the "
                                f"first k of them for calibration; mean over participants with its {confidence} interval."),
        ))
    for against, title, what in (
            ("none", "Adapted against not adapted", "each adapted model minus the same model not adapted, at the same shift"),
            ("scratch", "Against training from scratch on the same repetitions",
             "each model that also learnt from the training sessions minus the one trained on the k calibration "
             "repetitions alone")):
        rows = None if comparisons is None else comparisons[comparisons["against"] == against]
        if rows is not None and not rows.empty:
            items.append(paired_item(rows, "method", f"{title}, paired over participants", f"adaptation-{against}", what,
                                     method_label, ("shift", "Shift (electrodes)")))
    if rotations is not None and not rotations.empty:
        found = rotations.assign(who=rotations["subject"].astype(str) + " " + rotations["session"].astype(str))
        found = found.groupby(["protocol", "pipeline", "shift", "repetitions"], sort=False).apply(
            rotation_words, include_groups=False).rename("rotations").reset_index()
        items.append(Item(title="Rotations found by the alignment", table=Table(
            ["Evaluation", "Model", "Shift (electrodes)", "k", "Rotation undone per participant and session (electrodes)"],
            [[text.protocol_label(r.protocol), text.model_label(r.pipeline), f"{r.shift:g}", str(r.repetitions),
              r.rotations] for r in found.itertuples(index=False)], id="adaptation-rotations", row_headers=2,
            caption="The un-rotation the alignment chose from each test session's calibration windows; undoing a "
                    "shift of s electrodes is a rotation of −s.")))
    return Section("adaptation", "Adapting to a new day", items=items, template="adaptation.html",
                   extra={"confidence": confidence})
