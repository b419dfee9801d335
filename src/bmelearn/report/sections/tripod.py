"""The TRIPOD+AI reporting checklist (Collins et al., BMJ 2024;385:e078378): each item of the
statement by its number, named in a few words of bmelearn's own, with what this run says of it
and the section that shows it; the items a run cannot know (ethics, funding, fairness across
groups of people, ...) are marked as needing the author's input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bmelearn.datasets import DATASETS
from bmelearn.evaluation.regression import REGRESSION_METRICS
from bmelearn.models import MODELS
from bmelearn.report import text
from bmelearn.report.cells import number, percent, percent_range
from bmelearn.report.page import Section
from bmelearn.report.run import RunData
from bmelearn.report.sections import flow
from bmelearn.report.tables import summary_stats
from bmelearn.runs import folder as run_folder

CITATION = ("Collins GS et al. TRIPOD+AI statement: updated guidance for reporting clinical prediction models that use "
            "regression or machine learning methods. BMJ 2024;385:e078378")
NEEDS_INPUT = "Needs your input"
#: Datasets of the user's own recordings: whether and where their data may be shared only the user knows.
OWN_DATA = ("files", "bids")

#: The checklist's parts and items: (item number as in the statement, the topic in a few words).
ITEMS = (
    ("Title and abstract", (("1", "Title naming the study as prediction-model work"),
                            ("2", "Structured abstract (TRIPOD+AI for Abstracts)"))),
    ("Introduction", (("3a", "Clinical context and why a model is needed"),
                      ("3b", "Intended population, use in care and users"),
                      ("3c", "Known inequalities between groups of people"),
                      ("4", "Aims: developing and/or evaluating a model"))),
    ("Methods", (("5a", "Where the data come from"),
                 ("5b", "When the data were collected"),
                 ("6a", "Setting and centres"),
                 ("6b", "Who could take part"),
                 ("6c", "Treatments the participants received"),
                 ("7", "Preparing and checking the data"),
                 ("8a", "What is predicted, and how it was labelled"),
                 ("8b", "Who labelled the outcome, with what expertise"),
                 ("8c", "Labelling blind to the predictors"),
                 ("9a", "Which predictors, and how they were chosen"),
                 ("9b", "How each predictor was defined and measured"),
                 ("9c", "Who measured the predictors"),
                 ("10", "Size of the data and its justification"),
                 ("11", "Missing data and what was left out"),
                 ("12a", "How the data were split for development and testing"),
                 ("12b", "How predictors were transformed or scaled"),
                 ("12c", "Model type, building steps and internal validation"),
                 ("12d", "Differences between clusters (here: participants)"),
                 ("12e", "Performance measures"),
                 ("12f", "Updating a model after its evaluation"),
                 ("12g", "How the evaluated predictions were computed"),
                 ("13", "Unequal class sizes"),
                 ("14", "Fairness across groups of people"),
                 ("15", "What the model outputs, and any threshold"),
                 ("16", "How development and evaluation data differ"))),
    ("Open science and ethics", (("17", "Ethics approval and consent"),
                                 ("18a", "Funding"),
                                 ("18b", "Conflicts of interest"),
                                 ("18c", "Study protocol"),
                                 ("18d", "Registration"),
                                 ("18e", "Sharing the data"),
                                 ("18f", "Sharing the code"),
                                 ("19", "Patient and public involvement"))),
    ("Results", (("20a", "Flow of participants and data"),
                 ("20b", "Characteristics of the data"),
                 ("20c", "Evaluation data compared with development data"),
                 ("21", "Numbers in each analysis"),
                 ("22", "The full model, for others to use"),
                 ("23a", "Performance with confidence intervals"),
                 ("23b", "Performance across clusters (participants)"),
                 ("24", "Results of any model updating"))),
    ("Discussion", (("25", "Interpretation"),
                    ("26", "Limitations"),
                    ("27a", "Handling poor or missing inputs in use"),
                    ("27b", "What users must do, and their expertise"),
                    ("27c", "Next steps"))),
)

#: The sections an answer points to, by their anchor, as the contents name them.
#: The anchors of the sections that a regression's report leaves out and that items point to.
CLASS_ANCHORS = ("headline", "metrics", "per-subject")
SECTION_TITLES = {"regression": "How close the predictions come", "what-was-done": "What was done", "methods": "Methods",
                  "metrics": "How to read the numbers",
                  "data": "The data", "quality": "Signal quality", "flow": "Flow of the data",
                  "per-subject": "Results per participant", "headline": "Main results",
                  "clinical": "Sensitivity, specificity and curves",
                  "calibration": "Calibration: can the confidence be trusted?", "transfer": "Learning from other participants",
                  "configuration": "Configuration", "raters": "Raters and their agreement"}


@dataclass
class Row:
    """One item of the checklist: its ``number``, ``topic``, what the run ``says`` (empty: needs the
    author's input) and the anchor of the section that shows it (``where``, may be empty)."""

    number: str
    topic: str
    says: str = ""
    where: str = ""

    @property
    def where_title(self) -> str:
        return SECTION_TITLES.get(self.where, "")


def section(run: RunData) -> Section:
    answers = _answers(run)
    parts = [(part, [Row(n, topic, *answers.get(n, ("", ""))) for n, topic in items]) for part, items in ITEMS]
    n_items = sum(len(rows) for _, rows in parts)
    n_filled = sum(bool(row.says) for _, rows in parts for row in rows)
    intro = [f"The TRIPOD+AI checklist for reporting a prediction model ({CITATION}), filled from this run where the "
             "run knows the answer, with the section of this report that shows it. Topics are named briefly here; the "
             "statement's own wording is what a paper is checked against. Items marked "
             f"“{NEEDS_INPUT}” are facts only the authors know.",
             f"{n_filled} of {n_items} items filled from the run; {n_items - n_filled} need your input."]
    return Section("tripod", "Reporting checklist (TRIPOD+AI)", intro=intro, template="tripod.html", folded=True,
                   extra={"parts": parts, "needs_input": NEEDS_INPUT})


def _answers(run: RunData) -> dict[str, tuple[str, str]]:
    """What the run says of each item it knows, with the section that shows it: item number → (text, anchor)."""
    config, overview, counts = run.config, run.overview, run.window_counts
    dataset = config["dataset"]["name"]
    simulated = text.is_simulated(dataset)
    models = [text.model_label(m["label"] or m["name"]) for m in config["models"]]
    protocols = [text.in_sentence(text.protocol_label(p)) for p in run.protocols.index]
    classes = text.join_words([f"{c} ({int(n)})" for c, n in counts.items()])
    seed = config["seed"]
    answers = {
        "4": (f"Develops {text.join_words(models)} to recognise {text.plural(len(counts), 'class', 'classes')} "
              f"({text.join_words(list(counts.index))}) and evaluates them internally ({text.join_words(protocols)}).",
              "what-was-done"),
        "5a": (_source(run), "data"),
        "7": (text.preprocessing_sentence(config["preprocessing"]) + _checks(run), "quality" if _has_checks(run) else "methods"),
        "8a": (f"The class of each analysis window ({text.join_words(list(counts.index))}), taken from the label of the "
               "trial it was cut from.", "data"),
        **_raters(config.get("labels")),
        "9a": (_features(config["features"]), "methods"),
        "9b": (f"{_signals(run)} {_windows(config['windows'])}", "data"),
        "10": (f"{text.plural(overview.n_subjects, 'participant')}, {text.plural(overview.n_trials, 'trial')}, "
               f"{text.plural(int(counts.sum()), 'analysis window')}: {classes}.", "data"),
        "11": (_missing(run), "flow"),
        "12a": ("; ".join(f"{text.protocol_label(p)}: {d}" for p, d in run.protocols["description"].items())
                + ". Every test window was predicted once, by a model trained without its trial.", "methods"),
        "12b": (_scaling(run), "methods"),
        "12c": (f"Models: {text.join_words(models)}{_calibration(config)}; internal validation: "
                f"{text.join_words(protocols)}; every random step seeded from seed {seed}.", "methods"),
        "12e": (_measures(run), "metrics"),
        "12f": _updating(config),
        "12g": ("Each test window was predicted by the model of its fold (out-of-fold predictions, predictions.parquet "
                "of the run folder), through the same signal pipeline that the saved models carry.", "methods"),
        "13": (f"Windows per class: {classes}; largest to smallest class {_ratio(counts)}. Balanced accuracy weighs every "
               "class the same.", "data"),
        "15": (_output(run), _output_section(run)),
        **(_regression_items(run, models, protocols) if run.regression else {}),
        "16": ("Internal evaluation only: development and test data come from the same dataset, split by "
               f"{text.join_words(protocols)}.", "methods"),
        "18f": (_code(run), "configuration"),
        "20a": (f"{text.plural(overview.n_subjects, 'participant')} and {text.plural(overview.n_trials, 'trial')} read, "
                f"{text.plural(int(counts.sum()), 'window')} analysed; what was left out and why is in the flow diagram.",
                "flow"),
        "20b": (f"{_signals(run)} Trials per class and session, and windows per class, are tabled.", "data"),
        "21": (_tested(run), "flow"),
        "24": _updating(config),
    }
    if simulated:
        answers["17"] = ("Not applicable: the data were simulated, no person was recorded.", "")
    if dataset in DATASETS and dataset not in OWN_DATA:
        answers["18e"] = (_source(run), "data")
    if (models_saved := _models_saved(run)):
        answers["22"] = (models_saved, "")
    if (headline := _performance(run)):
        answers["23a"] = (headline, "headline")
    if (spread := _spread(run)):
        answers["12d"] = ("Scores per participant, each participant's score with its interval.", "per-subject")
        answers["23b"] = (spread, "per-subject")
    if run.regression:  # a regression's scores are all in its own section
        answers = {n: (said, "regression" if where in CLASS_ANCHORS else where) for n, (said, where) in answers.items()}
    return answers


def _source(run: RunData) -> str:
    dataset = run.config["dataset"]
    name, path = dataset["name"], dataset.get("path")
    entry = DATASETS[name].description.split(":")[0] if name in DATASETS else ""
    return (f"The {name} dataset" + (f", read from {path}" if path else "") + "." + (f" {entry}." if entry else "")
            + (" Simulated data, not recordings of people." if text.is_simulated(name) else ""))


def _has_checks(run: RunData) -> bool:
    return run.channel_quality is not None and not run.channel_quality.empty


def _checks(run: RunData) -> str:
    if not _has_checks(run):
        return ""
    flagged = flow.flagged_channels(run)
    return " Each EMG channel's quality was checked; " + (
        f"flagged and kept: {text.join_words(flagged)}." if flagged else "none was flagged.")


def _windows(windows: dict) -> str:
    """How the features' windows were cut."""
    if windows["whole"]:
        return "Features were computed over each whole trial."
    return f"Features were computed over windows of {text.window_words(windows)}."


def _signals(run: RunData) -> str:
    signals = [f"{row.modality.upper()}: {'/'.join(map(number, row.n_channels))} channels at {'/'.join(map(number, row.fs))} Hz"
               for row in run.overview.modalities.itertuples()]
    return f"Signals: {'; '.join(signals)}." if signals else ""


def _features(features: dict) -> str:
    per_modality = [f"{modality.upper()}: {', '.join(n.upper() for n in names)}"
                    for modality, names in features["per_modality"].items()]
    selection = features["selection"]
    return (f"Features of each window, chosen in the experiment file ({'; '.join(per_modality)})"
            + (f"; {selection['n_features']} selected inside each training fold ({selection['method'].replace('_', ' ')})"
               if selection else "; no selection") + ".")


def _regression_items(run: RunData, models: list[str], protocols: list[str]) -> dict[str, tuple[str, str]]:
    """The items that say what is predicted when it is a continuous value, not a class."""
    return {"4": (f"Develops {text.join_words(models)} to predict a continuous value of each trial and evaluates them "
                  f"internally ({text.join_words(protocols)}).", "what-was-done"),
            "8a": ("The value of each trial (evaluation.task: regression), the target of each window cut from it.", "data"),
            "10": (f"{text.plural(run.overview.n_subjects, 'participant')}, {text.plural(run.overview.n_trials, 'trial')}, "
                   f"{text.plural(int(run.window_counts.sum()), 'analysis window')}.", "data"),
            "13": ("Not applicable: a continuous target has no classes.", "")}


def _raters(labels: dict | None) -> dict[str, tuple[str, str]]:
    """Items 8a and 8b when the labels came from several raters (``labels`` of the experiment)."""
    if labels is None:
        return {}
    who = (f"{len(labels['simulate'])} simulated raters of accuracy {', '.join(f'{a:g}' for a in labels['simulate'])} "
           "(not people)" if labels.get("simulate") else f"the raters of {labels['file']}")
    return {"8a": (f"The label learnt from several raters: {labels['target']} (see the raters section).", "raters"),
            "8b": (f"Labelled by {who}; their agreement with each other and with the models is measured. Their expertise "
                   "needs your input." if not labels.get("simulate") else f"Labelled by {who}.", "raters")}


def _missing(run: RunData) -> str:
    left = flow.exclusions(run)
    said = "; ".join(e.words for e in left) if left else "nothing was left out"
    return f"Left out before the analysis: {said}."


def _scaling(run: RunData) -> str:
    scaled = [text.model_label(m["label"] or m["name"]) for m in run.config["models"]
              if any(name == "scale" for name, _ in MODELS[m["name"]].obj(None).steps[:-1])]
    if not scaled:
        return "Features were used as computed, without scaling."
    return (f"Features were standardised with the training fold's mean and SD for {text.join_words(scaled)}"
            + ("; the other models used them as computed." if len(scaled) < len(run.config["models"]) else "."))


def _calibration(config: dict) -> str:
    calibrated = [f"{text.model_label(m['label'] or m['name'])} ({m['calibrate']})" for m in config["models"] if m["calibrate"]]
    return f", probabilities calibrated on the training folds for {text.join_words(calibrated)}" if calibrated else ""


def _measures(run: RunData) -> str:
    if run.regression:
        measured = [entry.metadata["label"] for entry in REGRESSION_METRICS.values()]
        return (f"{text.join_words(measured)} of each participant's test windows, with {run.confidence:.0%} BCa bootstrap "
                "intervals, and the Bland–Altman bias and limits of agreement of each trial's mean prediction.")
    measured = list(dict.fromkeys(run.scores.subject_scores["metric"]))
    n_boot, confidence = run.config["evaluation"]["n_boot"], run.confidence
    return (f"{text.sentence_start(text.join_words([text.metric_name(m) for m in measured]))}"
            + (f", with {confidence:.0%} BCa bootstrap intervals ({n_boot} resamples)" if n_boot else ", without intervals")
            + (f"; models compared on {text.metric_name(run.compare)}" if len(run.scores.pipelines) > 1 else "") + ".")


def _updating(config: dict) -> tuple[str, str]:
    if config["evaluation"]["transfer"]:
        return ("Networks trained on other participants were fine-tuned with a few repetitions of each new participant "
                "and compared with training from scratch.", "transfer")
    return ("No model was updated after its evaluation in this run.", "")


def _ratio(counts) -> str:
    smallest = int(counts.min())
    return f"{counts.max() / smallest:.2g} to 1" if smallest else "undefined (a class has no window)"


def _output(run: RunData) -> str:
    if run.regression:
        return "The predicted value of each window (a trial's windows can be averaged)."
    predictions = run.table(run_folder.PREDICTIONS)
    probabilities = predictions is not None and any(c.startswith("p:") for c in predictions.columns)
    said = ("The probability of each class for each window, and the predicted class" if probabilities
            else "The predicted class of each window")
    point = run.config["evaluation"]["operating_point"]
    if point is not None:
        target = point["target"] if point["value"] is None else f"{point['value']:.0%} {point['target']}"
        said += f"; the decision threshold was chosen on the training folds for {target}"
    elif probabilities:
        said += " (the most probable one)"
    return said + "."


def _output_section(run: RunData) -> str:
    """The section that shows how far the model's output can be trusted."""
    if run.positive is not None:
        return "clinical"
    calibration = run.table(run_folder.CALIBRATION)
    return "headline" if calibration is None or calibration.empty else "calibration"


def _code(run: RunData) -> str:
    path = run.folder / run_folder.RUN
    version = run_folder.read_json(run.folder, run_folder.RUN).get("bmelearn") if path.is_file() else None
    return (f"Run with bmelearn {version}" if version else "Run with bmelearn") + (
        "; the configuration (config.yaml of the run folder) repeats the run exactly.")


def _models_saved(run: RunData) -> str:
    folder = run.folder / run_folder.MODELS
    names = [text.model_label(p.stem) for p in sorted(folder.glob("*.skops"))] if folder.is_dir() else []
    if not names:
        return ""
    return (f"{text.join_words(names)}, each saved as one file in the run folder's models folder: the signal pipeline "
            "with the fitted model, for bmelearn predict.")


def _tested(run: RunData) -> str:
    tested = flow.tested(run)
    if tested.empty:
        return f"{text.plural(int(run.window_counts.sum()), 'window')} analysed."
    return "; ".join(f"{text.protocol_label(p)}: {text.plural(int(row.windows), 'window')} of "
                     f"{text.plural(int(row.participants), 'participant')} tested" for p, row in tested.iterrows()) + "."


def _primary(run: RunData) -> str:
    """The protocol the run is summed up by."""
    return run.summary.get(run_folder.SUMMARY_PRIMARY) or run.scores.protocols[0]


def _best(run: RunData) -> tuple[str, dict] | None:
    """The model with the highest mean of the compared metric under the primary protocol, and its statistics."""
    summary, protocol = run.summary[run_folder.SUMMARY_PROTOCOLS], _primary(run)
    means = {p: s for p in summary.get(protocol, {}) if (s := summary_stats(summary, protocol, p, run.compare))}
    if not means:
        return None
    lower_is_better = run.regression and not REGRESSION_METRICS[run.compare].metadata["higher_is_better"]
    model = (min if lower_is_better else max)(means, key=lambda p: means[p]["mean"])
    return model, means[model]


def _metric(run: RunData) -> str:
    """The compared metric as a reader names it."""
    return REGRESSION_METRICS[run.compare].metadata["label"] if run.regression else text.metric_name(run.compare)


def _said(run: RunData, value: float) -> str:
    """A value of the compared metric: a percentage, or a regression's number in its own units."""
    return f"{value:.3g}" if run.regression else f"{percent(value)}\u00a0%"


def _performance(run: RunData) -> str:
    if (best := _best(run)) is None:
        return ""
    model, stats = best
    low, high = stats["ci_low"], stats["ci_high"]
    between = f"{low:.3g} to {high:.3g}" if run.regression else f"{percent_range(low, high)}\u00a0%"
    interval = f" ({run.confidence:.0%} interval {between})" if np.isfinite(low) and np.isfinite(high) else ""
    return (f"{text.sentence_start(_metric(run))} of {text.model_label(model)} "
            f"({text.in_sentence(text.protocol_label(_primary(run)))}): {_said(run, stats['mean'])}{interval}.")


def _spread(run: RunData) -> str:
    """The range over participants of the best model's score, where each participant was scored alone."""
    protocol = _primary(run)
    if (best := _best(run)) is None or bool(run.protocols.at[protocol, "pooled"]):
        return ""
    model, stats = best
    if not (np.isfinite(stats["min"]) and np.isfinite(stats["max"])):
        return ""
    return (f"{text.sentence_start(_metric(run))} of {text.model_label(model)} from "
            + (f"{stats['min']:.3g} to {stats['max']:.3g}" if run.regression
               else f"{percent(stats['min'])} to {percent(stats['max'])}\u00a0%")
            + f" over {text.plural(len(stats['per_subject']), 'participant')}.")
