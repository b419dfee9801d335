"""What was done: the data, its preparation, the models and the evaluation protocols, in plain words."""

from __future__ import annotations

from bmelearn.models import MODELS
from bmelearn.report import text
from bmelearn.report.cells import number
from bmelearn.report.page import Section
from bmelearn.report.run import RunData


def section(run: RunData) -> Section:
    config, overview, classes = run.config, run.overview, run.classes
    signals = [f"{row.modality.upper()} ({'/'.join(map(number, row.n_channels))} channels at "
               f"{'/'.join(map(number, row.fs))} Hz)" for row in overview.modalities.itertuples()]
    dataset = config["dataset"]["name"]
    data = (
        f"This report summarises a machine-learning experiment on the {dataset} dataset"
        + (" (simulated data, not recordings of people)" if text.is_simulated(dataset) else "") + ": "
        f"{text.plural(overview.n_trials, 'trial')} from {text.plural(overview.n_subjects, 'participant')} in "
        f"{text.plural(len(overview.sessions), 'recording session')}, with "
        + ("a continuous value of each trial to predict (regression)." if run.regression else
           f"{text.plural(len(classes), 'class', 'classes')} to recognise ({text.join_words(classes)}).")
        + (f" Signals recorded: {text.join_words(signals)}." if signals else "")
    )
    models = [(text.model_label(model["label"] or model["name"]), MODELS[model["name"]].description)
              for model in config["models"]]
    protocols = [(text.protocol_label(name), row.description) for name, row in run.protocols.iterrows()]
    return Section("what-was-done", "What was done", template="what-was-done.html",
                   intro=[data, text.preprocessing_sentence(config["preprocessing"]),
                          text.windows_sentence(config["windows"], int(run.window_counts.sum()))],
                   extra={"models": models, "protocols": protocols})
