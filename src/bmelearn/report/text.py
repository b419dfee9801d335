"""Plain-language wording of the report: names of protocols and metrics (from their registries), how the data were prepared."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bmelearn.evaluation.metrics import METRICS
from bmelearn.evaluation.protocols import PROTOCOLS
from bmelearn.registry import REQUIRED
from bmelearn.signals.preprocessing import STEPS


def protocol_label(name: str) -> str:
    """Short human name of an evaluation protocol (its ``label`` in the registry)."""
    return PROTOCOLS[name].metadata["label"] if name in PROTOCOLS else name.replace("_", " ").capitalize()


def metric_name(name: str) -> str:
    """Human name of a metric (its ``label`` in the registry): ``balanced_accuracy`` → ``balanced accuracy``."""
    return METRICS[name].metadata["label"] if name in METRICS else name


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


def windows_sentence(windows: Mapping[str, Any], n_windows: int) -> str:
    """How the recordings were cut into windows (the ``windows`` section of the configuration)."""
    if windows["whole"]:
        return f"Each trial was analysed whole, as one window: {plural(n_windows, 'window')} in total."
    length, step = windows["length"], windows["step"]
    overlap = max(0.0, 1.0 - step / length)
    return (f"The recordings were cut into short analysis windows of {format_duration(length)}, a new one starting "
            f"every {format_duration(step)}" + (f" ({overlap:.0%} overlap)" if overlap else "")
            + f": {plural(n_windows, 'window')} in total. Each window is classified on its own, as a device deciding "
            "continuously in real time would do, so the scores below count windows, not whole movements.")


def _step_parameters(name: str, params: Mapping | None) -> dict:
    """The step's parameters with the preprocessing function's own defaults filled in."""
    defaults = {key: value for key, value in STEPS[name].parameters.items() if value is not REQUIRED}
    return defaults | dict(params or {})


def preprocessing_sentence(steps: Sequence[Mapping[str, Mapping | None]]) -> str:
    """One sentence saying how the signals were cleaned, from the config's preprocessing steps."""
    if not steps:
        return "The signals were analysed as recorded, without filtering."
    words = []
    for step in steps:
        ((name, params),) = step.items()
        words.append(STEPS[name].metadata["words"].format(**_step_parameters(name, params)))
    return f"Before analysis, the EMG signals were {join_words(words)}, in that order."
