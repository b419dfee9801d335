"""Main results, the first thing on the page: whether the data are simulated, the highest mean
of the compared metric under each evaluation in one sentence each, then per evaluation and model
the mean over participants of the headline metrics with its interval and the range over
participants (from summary.json)."""

from __future__ import annotations

from bmelearn.report import text
from bmelearn.report.cells import Table, interval_is_range, mean_with_interval, percent, percent_range
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData
from bmelearn.report.tables import summary_stats
from bmelearn.runs import folder as run_folder

RANGED = ("accuracy", "balanced_accuracy")  # metrics shown with their range over participants, if not all pooled


def section(run: RunData) -> Section:
    positive, summary, pooled = run.positive, run.summary[run_folder.SUMMARY_PROTOCOLS], run.protocols["pooled"]
    metrics = {m: (m, "") for m in RANGED} | (
        {f"{m}:{positive}": (m, positive) for m in ("sensitivity", "specificity")} if positive else {})
    ranged = [] if pooled.all() else RANGED
    columns = ["Evaluation", "Model", "Participants"]
    for key, (metric, cls) in metrics.items():
        name = text.sentence_start(text.metric_name(metric)) + (f" ({cls})" if cls else "")
        columns += [f"{name} (%)"] + (["Range (%)"] if key in ranged else [])
    rows, marked = [], []
    for protocol, pipeline in run.scores.conditions():
        found = summary[protocol][pipeline]
        n = len(next(iter(found.values()))["per_subject"])
        row = [text.protocol_label(protocol), text.model_label(pipeline), "all, pooled" if pooled[protocol] else str(n)]
        for key, (metric, cls) in metrics.items():
            stats = summary_stats(summary, protocol, pipeline, metric, cls)
            row.append(mean_with_interval(stats))
            marked += [n] if interval_is_range(stats) else []
            if key in ranged:
                row.append(percent_range(stats["min"], stats["max"]) if stats and not pooled[protocol] else "–")
        rows.append(row)
    confidence, n_boot = run.confidence, run.config["evaluation"]["n_boot"]
    caption = (f"Scores in %: {text.mean_interval(confidence, n_boot)}"
               + (". Range: from the lowest to the highest participant's own score" if ranged else "")
               + (". Pooled: all participants' test windows scored together, the interval from resampling participants"
                  if pooled.any() else "") + "." + text.range_note(marked, confidence))
    lead, answer = _answer(run)
    intro = [f"Scores are shares of analysis windows recognised correctly. With {len(run.classes)} classes, guessing "
             f"would be right about {percent(run.chance)}\u00a0% of the time. {lead}"]
    return Section("headline", "Main results", intro=intro, template="headline.html",
                   items=[Item(table=Table(columns, rows, caption=caption, id="headline-table", row_headers=2))]
                   if rows else [],
                   empty="No results were given.",
                   extra={"notice": _notice(run), "answer": answer})


def _notice(run: RunData) -> str:
    """What a clinician must know before reading any number: that the data are simulated."""
    if not text.is_simulated(run.config["dataset"]["name"]):
        return ""
    return ("Simulated data: these results come from bmelearn's built-in simulator, not from recordings of people. "
            "They show that the analysis works, not how well it would work for patients.")


def _answer(run: RunData) -> tuple[str, list[str]]:
    """A sentence, and per evaluation the model with the highest mean of the compared metric with its interval."""
    summary, metric = run.summary[run_folder.SUMMARY_PROTOCOLS], run.compare
    lines = []
    for protocol in run.scores.protocols:
        means = {p: s for p in summary.get(protocol, {}) if (s := summary_stats(summary, protocol, p, metric))}
        if means:
            model = max(means, key=lambda p: means[p]["mean"])
            best = means[model]
            interval = percent_range(best["ci_low"], best["ci_high"])
            question = text.protocol_question(protocol)
            lines.append(f"{text.protocol_label(protocol)}{f' ({question})' if question else ''}: "
                         f"{text.model_label(model)}, {percent(best['mean'])}\u00a0%"
                         + (f" ({interval}\u00a0%)" if interval != "–" else "") + ".")
    several = len(run.scores.pipelines) > 1
    lead = (f"{'Highest mean' if several else 'Mean'} {text.metric_name(metric)} over the participants in each evaluation"
            + (f", with its {run.confidence:.0%} confidence interval" if run.config["evaluation"]["n_boot"] else "")
            + (" (whether one model is really better than another is tested under “Which model is better?”)"
               if several else "") + ":")
    return lead, lines
