"""Methods: what was done, as a paragraph a researcher can paste into a paper, from the run's
configuration and folder: data, preprocessing, windows, features, models, protocols, metrics,
intervals, statistics, seed and, where run.json records them, the software versions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from bmelearn.evaluation.metrics import METRICS
from bmelearn.evaluation.regression import REGRESSION_METRICS
from bmelearn.features.registry import FEATURES, GROUPS
from bmelearn.models import MODELS
from bmelearn.report import text
from bmelearn.report.cells import number
from bmelearn.report.page import Section
from bmelearn.report.run import RunData
from bmelearn.report.sections.comparison import ALPHA, TESTS
from bmelearn.runs import folder as run_folder

#: The parameters that define each model in a methods text (besides any the configuration sets).
KEY_PARAMETERS = {"lda": ("solver", "shrinkage"), "svm": ("kernel", "C", "gamma"), "rf": ("n_estimators", "max_features"),
                  "knn": ("n_neighbors", "weights"), "logreg": ("C", "max_iter"),
                  "ordinal_logit": ("order", "alpha"), "ridge": ("alpha",), "rf_regressor": ("n_estimators", "max_features"),
                  **dict.fromkeys(("mlp", "cnn", "lstm", "gru", "tcn", "transformer", "mlp_regressor",
                                   "cnn_regressor"),
                                  ("hidden", "blocks", "activation", "dropout", "optimizer", "lr", "batch_size", "max_epochs",
                                   "patience")),
                  **dict.fromkeys(("minirocket", "multirocket"), ("n_kernels",))}
#: The software versions of run.json, by their key there, as a paper names them.
SOFTWARE = {"bmelearn": "bmelearn", "numpy": "NumPy", "scikit-learn": "scikit-learn", "scipy": "SciPy", "python": "Python"}
PACKAGES = {"sklearn": "scikit-learn", "bmelearn": "bmelearn", "aeon": "aeon", "skorch": "skorch"}


def section(run: RunData) -> Section:
    config = run.config
    sentences = [_data(run), _labels(config.get("labels")), _preprocessing(config["preprocessing"]), _windows(run),
                 _features(config["features"]),
                 _models(config), _protocols(run), _metrics(run), _intervals(run), _statistics(run),
                 f"Every random step (model initialisation, bootstrap resampling) drew from a stream derived from the "
                 f"experiment seed, {config['seed']}.", _software(run)]
    return Section("methods", "Methods", intro=[" ".join(s for s in sentences if s)], template="methods.html",
                   folded=True)


def _data(run: RunData) -> str:
    overview, classes, name = run.overview, run.classes, run.config["dataset"]["name"]
    signals = [f"{row.modality.upper()} ({'/'.join(map(number, row.n_channels))} channels at "
               f"{'/'.join(map(number, row.fs))} Hz)" for row in overview.modalities.itertuples()]
    source = "simulated by bmelearn's built-in simulator" if text.is_simulated(name) else f"from the {name} dataset"
    return (f"Data were {source}: {text.plural(overview.n_trials, 'trial')} of "
            f"{text.plural(len(classes), 'class', 'classes')} ({text.join_words(classes)}) from "
            f"{text.plural(overview.n_subjects, 'participant')} in "
            f"{text.plural(len(overview.sessions), 'session')} ({text.join_words(overview.sessions)})"
            + (f", recorded as {text.join_words(signals)}" if signals else "") + ".")


def _labels(labels: Mapping[str, Any] | None) -> str:
    """How the labels came from several raters, if they did."""
    if labels is None:
        return ""
    if labels.get("simulate"):
        source = (f"Each trial was labelled by {len(labels['simulate'])} simulated raters, who gave its recorded class with "
                  f"probability {text.join_words([f'{a:g}' for a in labels['simulate']])} and another class at random "
                  "otherwise")
    else:
        source = "Each item was labelled by several raters"
    rule = labels["target"]
    target = {"majority": "the majority label (ties to the class listed first)",
              "soft": "soft labels (each training window repeated once per rater, with that rater's label)",
              "dawid-skene": "the latent true class of the Dawid–Skene model (Dawid & Skene 1979), fitted by "
                             "expectation-maximisation"}.get(rule, f"the labels of rater {rule[6:]}")
    return (f"{source}; the models learnt {target}. Agreement between raters was measured by Cohen's kappa for each pair"
            f"{' (quadratic weights)' if labels['level'] != 'nominal' else ''}, Fleiss' kappa and Krippendorff's alpha "
            f"({labels['level']} level), with intervals from resampling participants, and each model's out-of-fold "
            "predictions were scored against every rater.")


def _preprocessing(steps: list[Mapping[str, Any]]) -> str:
    if not steps:
        return "The signals were not filtered."
    said = text.steps_said(steps, detailed=True)
    return f"{said[0].upper()}{said[1:]}."


def _windows(run: RunData) -> str:
    windows, n = run.config["windows"], int(run.window_counts.sum())
    if windows["whole"]:
        return f"Each trial was classified whole, as one window ({text.plural(n, 'window')})."
    return (f"The signals were cut into analysis windows of {text.window_words(windows)}; "
            f"{text.plural(n, 'window')} in all, each predicted on its own.")


def _features(features: Mapping[str, Any]) -> str:
    params = features["params"]

    def named(feature: str) -> str:
        settings = text.parameter_words(params[feature]) if feature in params else ""
        return f"{text.feature_name(feature)} ({feature}{f'; {settings}' if settings else ''})"

    per_modality = []
    for modality, names in features["per_modality"].items():
        words = [f"the {n.upper()} set — {text.join_words([named(f) for f in GROUPS[n.upper()]])} —" if n.upper() in GROUPS
                 else named(n.upper()) for n in names]
        per_modality.append(f"from the {modality.upper()}, {text.join_words(words)}".removesuffix(" —"))
    every = {FEATURES[f].over for names in features["per_modality"].values() for n in names
             for f in GROUPS.get(n.upper(), (n.upper(),))}
    sentence = (f"Features were computed from each window{' and channel' if every == {'channel'} else ''}: "
                f"{'; '.join(per_modality)}.")
    if logged := features.get("log"):  # run folders written before features.log have none
        members = dict.fromkeys(f for n in logged for f in GROUPS.get(n.upper(), (n.upper(),)))
        sentence += f" The natural logarithm was taken of {text.join_words([named(f) for f in members])}."
    if (selection := features["selection"]) is not None:
        sentence += (f" Inside each training fold, {selection['n_features']} features were selected by "
                     + ("forward selection (cross-validated accuracy over " f"{selection['cv']} inner folds)."
                        if selection["method"] == "forward" else f"{selection['method'].replace('_', ' ')} scores."))
    return sentence


def _models(config: Mapping[str, Any]) -> str:
    words = []
    for model in config["models"]:
        pipeline = MODELS[model["name"]].obj(None)
        estimator = pipeline.steps[-1][1]
        package = PACKAGES.get(type(estimator).__module__.split(".")[0], type(estimator).__module__.split(".")[0])
        values = dict(MODELS[model["name"]].parameters) | dict(model["params"])
        shown = {k: values[k] for k in (*KEY_PARAMETERS.get(model["name"], ()), *model["params"]) if k in values}
        scaled = (", on features standardised with the training data's mean and SD"
                  if any(name == "scale" for name, _ in pipeline.steps[:-1]) else "")
        words.append(f"{text.model_label(model['label'] or model['name'])} ({package} {type(estimator).__name__}{scaled}"
                     + (f"; {text.parameter_words(shown)}" if shown else "") + ")")
    sentence = f"The {'regression models' if config['evaluation'].get('task') == 'regression' else 'classifiers'} were " \
               f"{text.join_words(words)}."
    if (point := config["evaluation"]["operating_point"]) is not None:
        target = point["target"] if point["value"] is None else f"{point['value']:.0%} {point['target']}"
        sentence += f" The decision threshold was tuned on the training folds for {target}."
    return sentence


def _protocols(run: RunData) -> str:
    params = {name: values for step in run.config["protocols"] for name, values in step.items()}
    words = []
    for name, meaning in run.protocols["description"].items():
        if params.get(name):  # inside the description's closing bracket, if it has one
            settings = text.parameter_words(params[name])
            meaning = f"{meaning[:-1]}; {settings})" if meaning.endswith(")") else f"{meaning} ({settings})"
        words.append(f"{text.in_sentence(text.protocol_label(name))}, {meaning}")
    return (f"Each model was evaluated {'; '.join(words[:-1]) + '; and ' if len(words) > 1 else ''}{words[-1]}. Every "
            "test window was predicted once, by a model trained without its trial.")


def _metrics(run: RunData) -> str:
    if run.regression:
        names = text.join_words([entry.metadata["label"] for entry in REGRESSION_METRICS.values()])
        pooled = [text.in_sentence(text.protocol_label(p)) for p in run.protocols.index[run.protocols["pooled"]]]
        return (f"Each trial's value was predicted window by window; we report {names}, computed on all the test windows "
                "of each participant and averaged over participants"
                + (f" ({text.join_words(pooled)}: on the test windows of all participants together)" if pooled else "")
                + ", and the Bland–Altman bias and limits of agreement (Bland & Altman 1986) of each trial's mean "
                "prediction.")
    measured = set(run.scores.subject_scores["metric"])
    overall = [text.metric_name(m) for m, e in METRICS.items() if m in measured and e.metadata["scope"] == "overall"]
    per_class = [text.metric_name(m) for m, e in METRICS.items() if m in measured and e.metadata["scope"] != "overall"]
    pooled = [text.in_sentence(text.protocol_label(p)) for p in run.protocols.index[run.protocols["pooled"]]]
    return (f"We report {text.join_words(overall)}" + (f" and, per class, {text.join_words(per_class)}" if per_class else "")
            + ", computed on all the test windows of each participant and averaged over participants, each weighing the "
            "same" + (f" ({text.join_words(pooled)}: on the test windows of all participants together)" if pooled else "")
            + ".")


def _intervals(run: RunData) -> str:
    n_boot, confidence = run.config["evaluation"]["n_boot"], run.confidence
    if not n_boot:
        return "No confidence intervals were computed (no bootstrap resamples)."
    return (f"{confidence:.0%} confidence intervals are bias-corrected and accelerated (BCa) bootstrap intervals with "
            f"{n_boot} resamples, expanded for small samples (Hesterberg 2015): for a participant's score, the "
            "participant's test trials were resampled with replacement" + ("" if run.regression else " within each class")
            + " (windows of one trial are not "
            "independent); for a mean over participants, and for scores pooled over participants, the participants "
            "were resampled.")


def _statistics(run: RunData) -> str:
    comparisons = run.table(run_folder.COMPARISONS)
    if comparisons is None or comparisons.empty:
        return ""
    tests = [TESTS.get(t, t) for t in pd.unique(comparisons["test"]) if t != "none"]
    sentence = (f"Models were compared on {text.metric_name(comparisons['metric'].iloc[0])}, paired over participants"
                + (f", with {text.join_words(tests)}, two-sided" if tests else "")
                + ", Holm-corrected over the pairs of each evaluation, with Cohen's d_z as effect size.")
    if run.summary[run_folder.SUMMARY_RANKING]:
        sentence += (" They were ranked by their mean rank over participants, with the Friedman test and the Nemenyi "
                     f"critical difference at α = {ALPHA:g} (Demšar 2006).")
    return sentence


def _software(run: RunData) -> str:
    """The versions run.json records (none are guessed from the environment that renders the report)."""
    path = run.folder / run_folder.RUN
    recorded = run_folder.read_json(run.folder, run_folder.RUN) if path.is_file() else {}
    versions = [f"{name} {recorded[key]}" for key, name in SOFTWARE.items() if recorded.get(key)]
    return f"Software: {text.join_words(versions)}." if versions else ""
