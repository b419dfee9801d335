"""Plain-language wording of the report: the names a reader sees for models, protocols, metrics,
features and sessions (from their registries where these have them), and how the data were prepared."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from bmelearn.datasets import DATASETS
from bmelearn.evaluation.metrics import METRICS
from bmelearn.evaluation.protocols import PROTOCOLS
from bmelearn.features.registry import FEATURES
from bmelearn.registry import REQUIRED
from bmelearn.signals.preprocessing import PREPROCESSED, STEPS

#: The name a reader sees for each model of :data:`bmelearn.models.MODELS`, as written mid-sentence.
MODEL_LABELS = {"lda": "LDA", "svm": "SVM", "rf": "random forest", "knn": "k-NN", "logreg": "logistic regression",
                "mlp": "MLP", "cnn": "CNN", "lstm": "LSTM", "gru": "GRU", "tcn": "TCN", "transformer": "transformer",
                "minirocket": "MiniRocket", "multirocket": "MultiRocket", "ordinal_logit": "ordinal logistic regression",
                "ridge": "ridge regression", "rf_regressor": "random-forest regression", "mlp_regressor": "MLP regression",
                "cnn_regressor": "CNN regression"}

#: Surnames that open a feature's name (Hjorth activity): kept capitalised mid-sentence.
EPONYMS = ("Hjorth", "Willison", "Pearson")


def model_label(key: str) -> str:
    """The name a reader sees for a model's key in the results: ``lda`` → ``LDA``, ``rf`` → ``random
    forest``; a key of the user's own (a model's ``label`` in the configuration) as it is."""
    return MODEL_LABELS.get(key, key)


def protocol_label(name: str) -> str:
    """Short human name of an evaluation protocol (its ``label`` in the registry): ``loso`` → ``Leave-one-subject-out``."""
    return PROTOCOLS[name].metadata["label"] if name in PROTOCOLS else name.replace("_", " ").capitalize()


def protocol_question(name: str) -> str:
    """What a protocol asks, in a few words (its ``question`` in the registry): ``loso`` → ``a new patient``; ``""`` if none."""
    return PROTOCOLS[name].metadata.get("question", "") if name in PROTOCOLS else ""


def metric_name(name: str) -> str:
    """Human name of a metric (its ``label`` in the registry): ``balanced_accuracy`` → ``balanced accuracy``."""
    return METRICS[name].metadata["label"] if name in METRICS else name


def feature_name(name: str) -> str:
    """The full name of a feature, as written mid-sentence: the start of its description in the
    registry, ``WL`` → ``waveform length``, ``MOB`` → ``Hjorth mobility``."""
    head = re.split(r":|\s\(|,|\s=|\.\s|\sas\s|\s[a-z]_\d", FEATURES[name].description)[0].strip()
    head = head.removesuffix(f" {name}")
    return head if head.startswith(EPONYMS) else in_sentence(head)


def is_simulated(dataset: str) -> bool:
    """Whether the dataset of this name is simulated rather than recorded from people (the
    ``simulated`` metadata of its registry entry)."""
    return dataset in DATASETS and bool(DATASETS[dataset].metadata.get("simulated"))


def in_sentence(label: str) -> str:
    """A label as written mid-sentence: ``Within-session`` → ``within-session``; ``ROC AUC`` unchanged."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def sentence_start(text: str) -> str:
    """``balanced accuracy`` → ``Balanced accuracy`` (not ``str.capitalize``, which makes ``ROC AUC`` ``Roc auc``)."""
    return text[:1].upper() + text[1:]


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


def parameter_words(params: Mapping[str, Any]) -> str:
    """Parameters as written in a methods text: ``order = 4, zero-phase`` (``causal`` said in words,
    those set to None left out)."""
    words = []
    for key, value in params.items():
        if value is None:
            continue
        if key == "causal":
            words.append("causal" if value else "zero-phase")
        else:
            shown = join_words([str(v) for v in value]) if isinstance(value, list | tuple) else (
                f"{value:g}" if isinstance(value, float) else str(value))
            words.append(f"{key} = {shown}")
    return ", ".join(words)


def mean_interval(confidence: float, n_boot: int) -> str:
    """What a mean over participants with its bracketed interval is, to end a caption."""
    if not n_boot:
        return "mean over participants (no confidence intervals: the run drew no bootstrap resamples)"
    return (f"mean over participants with its {confidence:.0%} confidence interval in brackets (BCa bootstrap, "
            f"{n_boot} resamples of the participants; with one participant, of its trials)")


def range_note(counts: Sequence[int], confidence: float) -> str:
    """The caption's note on means marked ``*`` (see :func:`bmelearn.report.cells.interval_is_range`),
    ``counts`` the numbers of participants of those means; ``""`` without any."""
    if not counts:
        return ""
    return (f" *: the {confidence:.0%} interval is the range from the lowest to the highest participant: with only "
            f"{join_words([str(n) for n in sorted(set(counts))])} participants, resampling them cannot give a mean "
            "outside their range, so the interval says little about how a new participant would do.")


def windows_sentence(windows: Mapping[str, Any], n_windows: int) -> str:
    """How the recordings were cut into windows (the ``windows`` section of the configuration)."""
    if windows["whole"]:
        return f"Each trial was analysed whole, as one window: {plural(n_windows, 'window')} in total."
    return (f"The recordings were cut into short analysis windows of {window_words(windows)}: "
            f"{plural(n_windows, 'window')} in total. Each window is predicted on its own, as a device deciding "
            "continuously in real time would do, so the scores below count windows, not whole movements.")


def window_words(windows: Mapping[str, Any]) -> str:
    """``200 ms, a new one starting every 100 ms (50% overlap)``."""
    length, step = windows["length"], windows["step"]
    overlap = max(0.0, 1.0 - step / length)
    return (f"{format_duration(length)}, a new one starting every {format_duration(step)}"
            + (f" ({overlap:.0%} overlap)" if overlap else ""))


def _step_parameters(name: str, params: Mapping | None) -> dict:
    """The step's parameters with the preprocessing function's own defaults filled in."""
    defaults = {key: value for key, value in STEPS[name].parameters.items() if value is not REQUIRED}
    return defaults | dict(params or {})


def step_words(step: Mapping[str, Mapping | None], detailed: bool = False) -> str:
    """What one preprocessing step did: ``band-pass filtered between 20 and 450 Hz``; ``detailed``:
    with its other parameters, ``(order = 4, zero-phase)``."""
    ((name, params),) = step.items()
    words, values = STEPS[name].metadata["words"], _step_parameters(name, params)
    if callable(words):  # says every parameter itself
        return words(values)
    said = {field for _, field, _, _ in string.Formatter().parse(words) if field}
    rest = {k: v for k, v in values.items() if k not in said}
    return words.format(**values) + (f" ({parameter_words(rest)})" if detailed and rest else "")


#: What the report calls the signals each step acts on, by modality.
_SIGNALS = {"emg": "the EMG signals", "markers": "the marker trajectories"}


def steps_said(steps: Sequence[Mapping[str, Mapping | None]], detailed: bool = False) -> str:
    """What the preprocessing steps did to each signal they act on: ``the EMG signals were
    band-pass filtered ..., in that order; the marker trajectories were turned into joint angles``."""
    by_signal: dict[str, list[str]] = {}
    for step in steps:
        ((name, _),) = step.items()
        for modality in STEPS[name].metadata.get("modalities", PREPROCESSED):
            by_signal.setdefault(_SIGNALS.get(modality, f"the {modality} signals"), []).append(step_words(step, detailed))
    return "; ".join(f"{signal} were {join_words(words)}" + (", in that order" if len(words) > 1 else "")
                     for signal, words in by_signal.items())


def preprocessing_sentence(steps: Sequence[Mapping[str, Mapping | None]]) -> str:
    """One sentence saying how the signals were cleaned, from the config's preprocessing steps."""
    if not steps:
        return "The signals were analysed as recorded, without filtering."
    return f"Before analysis, {steps_said(steps)}."
