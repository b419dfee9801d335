"""Plain-language wording of the report: what the protocols and models are, what was done."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bmelearn.preprocessing import STEPS

#: Evaluation protocols: a short name and what they mean for use in the clinic.
PROTOCOLS = {
    "cross_session": (
        "Cross-session",
        "trained on one recording session and tested on a later one, as a device would be used the next day "
        "after being set up once",
    ),
    "within_session": (
        "Within-session",
        "trained and tested on different repetitions of the same session; the most favourable setting, "
        "because the electrodes and the person did not change between training and testing",
    ),
    "loso": (
        "Leave-one-subject-out",
        "trained on all other participants and tested on one participant never seen during training, "
        "as a device used on a new patient without calibrating it to that patient",
    ),
    "subject_kfold": (
        "Patient k-fold",
        "the patients were split into several groups, and each group in turn was tested with a model trained on the "
        "other patients; every patient is tested once, by a model that never saw them",
    ),
    "kfold": (
        "K-fold",
        "the trials were split into several parts, and each part in turn was tested with a model trained on the "
        "others; a favourable setting, because training and test data come from the same sessions",
    ),
}
PROTOCOL_ALIASES = {"leave_one_subject_out": "loso", "cross_subject": "loso", "intra_session": "within_session",
                    "inter_session": "cross_session",
                    "k_fold": "kfold", "cv": "kfold"}

#: Recognisable pieces of pipeline names and the models they stand for.
MODELS = (
    ("lda", "linear discriminant analysis (LDA), a simple linear classifier long used in prosthesis control"),
    ("svm", "a support vector machine (SVM), a classifier that separates the classes with a wide margin"),
    ("random_forest", "a random forest, a vote among many decision trees"),
    ("rf", "a random forest, a vote among many decision trees"),
    ("knn", "k-nearest neighbours, which labels a window like the most similar training windows"),
    ("logreg", "logistic regression, a linear classifier that outputs class probabilities"),
    ("logistic", "logistic regression, a linear classifier that outputs class probabilities"),
    ("mlp", "a small neural network (multilayer perceptron)"),
    ("cnn", "a convolutional neural network working on the raw signal"),
    ("lstm", "a recurrent neural network (LSTM) reading the raw signal in time order"),
    ("gru", "a recurrent neural network (GRU) reading the raw signal in time order"),
    ("minirocket", "MiniRocket, thousands of random filters on the raw signal followed by a linear classifier"),
    ("multirocket", "MultiRocket, thousands of random filters on the raw signal and its rate of change, then a linear classifier"),
    ("dummy", "a baseline that ignores the signal (always predicts the most common class)"),
)


def protocol_label(name: str) -> str:
    """Short human name of an evaluation protocol."""
    key = PROTOCOL_ALIASES.get(name, name)
    return PROTOCOLS[key][0] if key in PROTOCOLS else name.replace("_", " ").capitalize()


def protocol_meaning(name: str) -> str:
    """What a protocol means, in plain words."""
    key = PROTOCOL_ALIASES.get(name, name)
    if key in PROTOCOLS:
        return PROTOCOLS[key][1]
    return "the model was trained and tested on separate parts of the data, as set in the configuration below"


def model_meaning(pipeline: str) -> str:
    """What kind of model a pipeline name stands for, or a neutral phrase if unknown."""
    tokens = set(re.split(r"[^a-z0-9]+", pipeline.lower()))
    for token, meaning in MODELS:
        if token in tokens or ("_" in token and token in pipeline.lower()):
            return meaning
    return "a classification pipeline defined in the configuration below"


def find_key(config: Any, names: set[str]) -> Any:
    """The value of the first key among ``names`` found anywhere in a nested configuration, else None."""
    if isinstance(config, Mapping):
        for key, value in config.items():
            if str(key) in names:
                return value
        for value in config.values():
            found = find_key(value, names)
            if found is not None:
                return found
    elif isinstance(config, list | tuple):
        for value in config:
            found = find_key(value, names)
            if found is not None:
                return found
    return None


def _seconds(value: Any, unit: str = "s") -> float | None:
    """A duration in seconds from a number (in ``unit``) or a string like ``"200 ms"``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) / (1000.0 if unit == "ms" else 1.0)
    match = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s)?\s*", str(value))
    if not match:
        return None
    try:
        return _seconds(float(match.group(1)), match.group(2) or unit)
    except ValueError:
        return None


def window_settings(config: Mapping) -> tuple[float | None, float | None]:
    """Window length and step (s) read from a ``windowing``/``windows``/``window`` section, if any."""
    section = find_key(config, {"windowing", "windows", "window"})
    if not isinstance(section, Mapping):
        return None, None

    def pick(names: Sequence[str]) -> float | None:
        for name in names:
            if name in section:
                return _seconds(section[name], "ms" if name.endswith("_ms") else "s")
        return None

    length = pick(("length", "length_s", "length_ms", "size", "size_s", "size_ms", "duration"))
    step = pick(("step", "step_s", "step_ms", "stride", "stride_s", "stride_ms", "hop", "increment"))
    return length, step


def format_duration(seconds: float) -> str:
    """``0.2`` → ``200 ms``, ``1.5`` → ``1.5 s``."""
    return f"{seconds * 1000:.4g} ms" if seconds < 1 else f"{seconds:.4g} s"


def join_words(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = list(words)
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 session``, ``2 sessions``."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def windows_sentence(length: float | None, step: float | None, n_windows: int) -> str:
    """How the recordings were cut into windows."""
    if length and step:
        overlap = max(0.0, 1.0 - step / length)
        cut = (f"The recordings were cut into short analysis windows of {format_duration(length)}, a new one "
               f"starting every {format_duration(step)}" + (f" ({overlap:.0%} overlap)" if overlap else ""))
    elif length:
        cut = f"The recordings were cut into short analysis windows of {format_duration(length)}"
    elif step:
        cut = f"The recordings were cut into short analysis windows, a new one starting every {format_duration(step)}"
    else:
        cut = "The recordings were cut into short analysis windows"
    return (f"{cut}: {plural(n_windows, 'window')} in total. Each window is classified on its own, as a device "
            "deciding continuously in real time would do, so the scores below count windows, not whole movements.")


_STEP_WORDS = {
    "bandpass": lambda p: f"band-pass filtered between {p['low']:g} and {p['high']:g} Hz",
    "highpass": lambda p: f"high-pass filtered at {p['cutoff']:g} Hz",
    "lowpass": lambda p: f"low-pass filtered at {p['cutoff']:g} Hz",
    "notch": lambda p: f"cleaned of {p['freq']:g} Hz mains interference and its harmonics",
    "rectify": lambda p: "rectified",
    "envelope": lambda p: f"turned into its envelope (smoothed at {p['cutoff']:g} Hz)",
    "normalize": lambda p: "normalised channel by channel",
    "resample": lambda p: f"resampled to {p['fs']:g} Hz",
}


def _step_parameters(name: str, params: Mapping | None) -> dict:
    """The step's parameters with the preprocessing function's own defaults filled in."""
    signature = inspect.signature(STEPS[name]) if name in STEPS else None
    defaults = {k: v.default for k, v in signature.parameters.items() if v.default is not v.empty} if signature else {}
    return defaults | dict(params or {})


def preprocessing_sentence(steps: Any) -> str:
    """One sentence saying how the signals were cleaned, from the config's preprocessing steps."""
    if not steps:
        return "The signals were analysed as recorded, without filtering."
    words = []
    for step in steps:
        ((name, params),) = step.items()
        words.append(_STEP_WORDS.get(name, lambda p, n=name: f"processed by '{n}'")(_step_parameters(name, params)))
    return f"Before analysis, the EMG signals were {join_words(words)}, in that order."
