"""Tasks of more than two classes: how far each model's confidence can be trusted, the
reliability of the predicted class (calibration.csv). Binary tasks show theirs with the
positive class (the clinical section)."""

from __future__ import annotations

import pandas as pd

from bmelearn.report import figures, text
from bmelearn.report.page import Figure, Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder


def reliability(protocol: str, block: pd.DataFrame, x_label: str, y_label: str, caption: str) -> Item:
    """The reliability curve of each model under ``protocol`` (rows of calibration.csv) with its
    expected calibration error, in a figure whose caption starts with ``caption``."""
    curves = {text.model_label(p): c.assign(x=c["predicted"], y=c["observed"], low=c["observed"], high=c["observed"])
              for p, c in block.groupby("pipeline", sort=False)}
    ece = ", ".join(f"{p} {100 * c['ece'].iloc[0]:.1f}" for p, c in curves.items())
    line = ""
    if "slope" in block and block["slope"].notna().any():
        line = (" Calibration intercept (0 is ideal; above, predictions too low) and slope (1 is ideal; below, too "
                "extreme): " + ", ".join(f"{p} {c['intercept'].iloc[0]:.2f} and {c['slope'].iloc[0]:.2f}"
                                         for p, c in curves.items()) + ".")
    image = figures.curve_figure(curves, x_label, y_label, diagonal=True, percent_x=True)
    return Item(figure=Figure(image, "reliability curve", f"Calibration — {text.protocol_label(protocol)}: {caption} "
                                                          f"Expected calibration error (%, over 10 bins): {ece}.{line}"))


def section(run: RunData) -> Section | None:
    table = run.table(run_folder.CALIBRATION)
    if run.positive is not None or table is None or table.empty:
        return None
    items = [reliability(protocol, block, "Confidence in the predicted class (%)", "Windows predicted correctly (%)",
                         "all test windows together.")
             for protocol, block in table.groupby("protocol", sort=False)]
    intro = ("A model's confidence in a window is the probability it gives its predicted class. A well-calibrated model "
             "lies on the diagonal: of the windows it predicts with 70\u00a0% confidence, 70\u00a0% are right. Below the "
             "diagonal it is overconfident. Models trained without calibrate give scores, not probabilities; "
             "calibrate: temperature (or sigmoid, isotonic) in the experiment file calibrates them on the training data, "
             "which may still leave them overconfident on a new patient. Each participant's calibration error, "
             "with its interval, is the metric ece of results.csv.")
    return Section("calibration", "Calibration: can the confidence be trusted?", intro=[intro], items=items, folded=True)
