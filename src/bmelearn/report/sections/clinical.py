"""Binary tasks: sensitivity and specificity of the positive class per participant, ROC,
precision-recall and decision curves with their bands (roc_pr.csv), calibration (calibration.csv)."""

from __future__ import annotations

from bmelearn.evaluation.curves import TREAT_ALL
from bmelearn.report import figures, text
from bmelearn.report.page import Figure, Item, Section
from bmelearn.report.run import RunData
from bmelearn.report.sections.calibration import reliability
from bmelearn.runs import folder as run_folder


def section(run: RunData) -> Section | None:
    positive, scores = run.positive, run.scores
    if positive is None:
        return None
    confidence = f"{run.confidence:.0%}"
    items = []
    for protocol in scores.protocols:
        for metric in ("sensitivity", "specificity"):
            values, low, high = (scores.subject_table(protocol, metric, c, positive).rename(columns=text.model_label)
                                 for c in ("value", "ci_low", "ci_high"))
            if not values.empty:
                title = f"{metric.capitalize()} ({positive}) — {text.protocol_label(protocol)}"
                items.append(Item(figure=Figure(
                    figures.subject_accuracy_figure(values, None, f"{metric.capitalize()} (%)", low, high),
                    f"{metric} of {positive} per participant with intervals", f"{title}, per participant.")))
    bands = run.table(run_folder.ROC_PR)
    for (protocol, curve), block in ([] if bands is None else bands.groupby(["protocol", "curve"], sort=False)):
        if curve == "net_benefit":
            items.append(_decision_curve(protocol, block, positive, confidence))
            continue
        roc = curve == "roc"
        title = f"{'ROC' if roc else 'Precision-recall'} curve — {text.protocol_label(protocol)}"
        image = figures.curve_figure({text.model_label(p): c for p, c in block.groupby("pipeline", sort=False)},
                                     "False-positive rate (%)" if roc else "Recall (sensitivity, %)",
                                     "True-positive rate (%)" if roc else "Precision (PPV, %)", diagonal=roc, percent_x=True)
        items.append(Item(figure=Figure(image, f"{'ROC' if roc else 'precision-recall'} curve with {confidence} band",
                                        f"{title}, all test windows together.")))
    table = run.table(run_folder.CALIBRATION)
    items += [reliability(protocol, block, f"Predicted probability of {positive} (%)", f"Observed {positive} (%)",
                          "a well-calibrated model lies on the diagonal (its 70\u00a0% means 70\u00a0% of cases).")
              for protocol, block in ([] if table is None else table.groupby("protocol", sort=False))]
    intro = ("Sensitivity: the share of true cases found (missed cases lower it). Specificity: the share of other cases "
             f"correctly left alone (false alarms lower it). Bars and bands are {confidence} confidence intervals.")
    return Section("clinical", "Sensitivity, specificity and curves", intro=[intro], items=items)


def _decision_curve(protocol: str, block, positive: str, confidence: str) -> Item:
    """The net benefit of each model, of treating all and of treating none, by threshold."""
    curves = {text.model_label(p) if p != TREAT_ALL else "treat all": c for p, c in block.groupby("pipeline", sort=False)}
    top = 100 * float(block["high"].max()) + 5
    image = figures.curve_figure(curves, f"Threshold probability of {positive} (%)", "Net benefit (%)", percent_x=True,
                                 ylim=(-5, max(top, 10)), zero="treat none", reference="treat all")
    title = f"Decision curve — {text.protocol_label(protocol)}"
    caption = (f"{title}: at each threshold probability above which one would act on {positive}, the net benefit "
               "(true positives less false positives weighted by the threshold's odds, per 100 cases) of acting on the "
               "model, on every case (treat all) and on none; the model helps where it lies above both "
               "(Vickers & Elkin, Med Decis Making 2006).")
    return Item(figure=Figure(image, f"decision curve with {confidence} band", caption))
