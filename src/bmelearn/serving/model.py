"""A deployable model: the fitted signal pipeline and the fitted classifier in one skops file.

One ``NAME.skops`` file turns a recording into decisions by itself: its
:class:`~bmelearn.pipeline.SignalPipeline` checks the recording (channels, rate, length),
preprocesses it, cuts the windows and computes their features, and the classifier predicts
each window. The model card ``NAME.json`` beside it is generated from the model, for people
and for listings; nothing is ever rebuilt from it.

skops loads a file without executing code, and only the types listed as trusted here.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.base import BaseEstimator

from bmelearn import __version__
from bmelearn.errors import DataError
from bmelearn.models.capabilities import capabilities
from bmelearn.pipeline.signal import SignalPipeline
from bmelearn.signals.recording import Recording

#: Windows predicted per step, so progress can be reported during a long prediction.
CHUNK = 2048

#: progress(windows_done, windows_total)
Progress = Callable[[int, int], None]

#: Only these packages' types may be rebuilt from a model file (of aeon, only the ROCKET classifiers).
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "bmelearn.", "aeon.classification.convolution_based.",
                    "aeon.transformations.collection.convolution_based.")


@dataclass(frozen=True)
class DeployableModel:
    """A fitted ``signal`` pipeline and the fitted ``estimator`` that takes its output, the
    class names in the experiment's order (``classes``) and what is known of its training and
    validation (``info``: model name, training windows and subjects, validated metrics …)."""

    signal: SignalPipeline
    estimator: BaseEstimator
    classes: list[str]
    info: dict[str, Any]

    def card(self) -> dict[str, Any]:
        """The model card: what the model expects, what it does, and how well it was validated."""
        return {"bmelearn_version": __version__, "classes": list(self.classes), **self.signal.describe(), **self.info}

    def predict(self, recordings: Mapping[str, Recording], progress: Progress | None = None) -> pd.DataFrame:
        """Per-window predictions of one recording (``{modality: Recording}``): ``window``,
        ``start`` and ``end`` (s), ``predicted`` (the estimator's decision, at its tuned
        threshold when it has one, as in validation), ``confidence`` (the probability of the
        predicted class) and ``p:CLASS`` for every class of the estimator (one-hot votes for an
        estimator without probabilities). A recording that does not fit raises
        :class:`~bmelearn.pipeline.MismatchError` naming the difference."""
        self.signal.check(recordings)
        progress = progress or (lambda done, total: None)
        X, starts = self.signal.transform(recordings, trial="upload")
        classes = np.asarray([str(c) for c in self.estimator.classes_], dtype=object)
        scored = capabilities(self.estimator).probabilities != "none"
        total = len(X)
        progress(0, total)
        predicted, proba = [], []
        for begin in range(0, total, CHUNK):
            chunk = X[begin:begin + CHUNK]
            predicted.append(np.asarray(self.estimator.predict(chunk)).astype(str))
            if scored:
                proba.append(np.asarray(self.estimator.predict_proba(chunk), dtype=float))
            progress(min(begin + CHUNK, total), total)
        decided = np.concatenate(predicted)
        position = {c: i for i, c in enumerate(classes)}
        index = np.array([position[c] for c in decided], dtype=int)
        scores = np.vstack(proba) if scored else np.eye(len(classes))[index]
        out = pd.DataFrame({"window": np.arange(total), "start": starts, "end": starts + self.signal.length,
                            "predicted": classes[index], "confidence": scores[np.arange(total), index]})
        return pd.concat([out, pd.DataFrame(scores, columns=[f"p:{c}" for c in classes])], axis=1)


def save_model(model: DeployableModel, path: str | Path) -> None:
    """Write ``model`` to ``path`` (.skops) and its card, generated from it, beside it (.json)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, path)
    path.with_suffix(".json").write_text(json.dumps(model.card(), indent=2, default=str), encoding="utf-8")


def load_model(path: str | Path) -> DeployableModel:
    """The model in ``path``. Refuses files holding types outside scikit-learn, NumPy, SciPy,
    bmelearn and aeon's ROCKET classifiers, and files that hold no bmelearn model."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: model file not found.")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DataError(f"{path}: not a model file written by bmelearn (unreadable skops archive: {exc}).") from None
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if refused:
        raise DataError(f"{path}: refusing to load types {refused}; only scikit-learn/NumPy/SciPy/bmelearn models "
                        "and aeon's ROCKET classifiers load.")
    model = sio.load(path, trusted=untrusted)
    if not isinstance(model, DeployableModel):
        raise DataError(f"{path}: holds a {type(model).__name__}, not a bmelearn model (a signal pipeline with its "
                        "classifier). Model files written by an earlier bmelearn hold the classifier alone and "
                        "cannot predict: run the experiment again with this version, or save models with "
                        "bmelearn.serving.save_model.")
    return model


__all__ = ["DeployableModel", "load_model", "save_model"]
