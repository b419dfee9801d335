"""A deployable model: the fitted signal pipeline and the fitted classifier in one skops file.

One ``NAME.skops`` file turns a recording into decisions by itself: its
:class:`~bmelearn.pipeline.SignalPipeline` checks the recording (channels, rate, length),
preprocesses it, cuts the windows and computes their features, and the classifier predicts
each window. The model card ``NAME.json`` beside it is generated from the model, for people
and for listings; nothing is ever rebuilt from it.

skops loads a file without executing code, and only after every type it holds is found on the
allow-list of :mod:`bmelearn.serving.trust`.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, is_regressor

from bmelearn import __version__
from bmelearn.errors import DataError
from bmelearn.models.capabilities import capabilities
from bmelearn.pipeline.signal import SignalPipeline
from bmelearn.serving.trust import trusted_types
from bmelearn.signals.recording import Recording

#: Windows predicted per step, so progress can be reported during a long prediction.
CHUNK = 2048

#: progress(windows_done, windows_total)
Progress = Callable[[int, int], None]

@dataclass(frozen=True)
class DeployableModel:
    """A fitted ``signal`` pipeline and the fitted ``estimator`` that takes its output, the
    class names in the experiment's order (``classes``) and what is known of its training and
    validation (``info``: model name, training windows and subjects, validated metrics …)."""

    signal: SignalPipeline
    estimator: BaseEstimator
    classes: list[str]
    info: dict[str, Any]

    @property
    def calibrated(self) -> bool:
        """Whether the estimator's probabilities are calibrated (its ``probabilities`` capability);
        if not, ``confidence`` is a model score, not the chance of being right."""
        return capabilities(self.estimator).probabilities == "calibrated"

    def card(self) -> dict[str, Any]:
        """The model card: what the model expects, what it does, whether its probabilities are
        calibrated, and how well it was validated."""
        return {"bmelearn_version": __version__, "classes": list(self.classes), **self.signal.describe(),
                "calibrated": self.calibrated, **self.info}

    @property
    def regression(self) -> bool:
        """Whether the model predicts a continuous value (a regressor), not a class."""
        return is_regressor(self.estimator)

    def predict(self, recordings: Mapping[str, Recording], progress: Progress | None = None) -> pd.DataFrame:
        """Per-window predictions of one recording (``{modality: Recording}``): ``window``,
        ``start`` and ``end`` (s), ``predicted`` (the estimator's decision, at its tuned
        threshold when it has one, as in validation), ``confidence`` (the probability of the
        predicted class: a score unless :attr:`calibrated`) and ``p:CLASS`` for every class of
        the estimator (one-hot votes for an estimator without probabilities); a regressor's
        ``predicted`` is its value, with no confidence. A recording that does not fit raises
        :class:`~bmelearn.pipeline.MismatchError` naming the difference."""
        self.signal.check(recordings)
        X, starts = self.signal.transform(recordings, trial="upload")
        return self.decide(X, starts, ", ".join(r.where for r in recordings.values()), progress)

    def decide(self, X: np.ndarray, starts: np.ndarray, sources: str, progress: Progress | None = None) -> pd.DataFrame:
        """The decisions of :meth:`predict` on the model inputs ``X`` of windows starting at
        ``starts`` (s), cut from ``sources`` (named in messages)."""
        progress = progress or (lambda done, total: None)
        if not np.isfinite(X).all():
            raise DataError(f"{sources}: the features of {int((~np.isfinite(X)).any(axis=tuple(range(1, X.ndim))).sum())} "
                            "window(s) are not finite numbers: the values are too large to compute with (near 1e308); "
                            "check the recording's units and scale.")
        if self.regression:
            values = [np.asarray(self.estimator.predict(X[begin:begin + CHUNK]), dtype=float)
                      for begin in range(0, len(X), CHUNK)]
            progress(len(X), len(X))
            return pd.DataFrame({"window": np.arange(len(X)), "start": starts, "end": starts + self.signal.length,
                                 "predicted": np.concatenate(values) if values else np.zeros(0)})
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
        decided = np.concatenate(predicted) if predicted else np.zeros(0, dtype=str)
        position = {c: i for i, c in enumerate(classes)}
        index = np.array([position[c] for c in decided], dtype=int)
        scores = np.vstack(proba) if scored and proba else np.eye(len(classes))[index]
        return pd.DataFrame({"window": np.arange(total), "start": starts, "end": starts + self.signal.length,
                             "predicted": classes[index], "confidence": scores[np.arange(total), index],
                             **{f"p:{c}": scores[:, k] for k, c in enumerate(classes)}})


#: scikit-learn's adapters of other array libraries to the array API; each imports its library.
_ARRAY_API_ADAPTERS = tuple(f"sklearn.externals.array_api_compat.{name}" for name in ("torch", "cupy", "dask"))
_importing = threading.Lock()


def skops_io() -> Any:
    """``skops.io``, imported here rather than with this module (it takes 0.4 s).

    At import, skops lists scikit-learn's estimators, and to do so imports every package of
    scikit-learn, among them its array-API adapters of PyTorch, CuPy and Dask, which import those
    libraries (PyTorch: 1.05 s of the 1.45 s, measured). None holds an estimator, so they are
    kept out of that import (marked absent in ``sys.modules`` for its duration, as Python's
    import system allows) and the list is the same; they stay importable afterwards."""
    with _importing:
        if "skops.io" not in sys.modules:
            kept_out = [name for name in _ARRAY_API_ADAPTERS if name not in sys.modules]
            sys.modules.update(dict.fromkeys(kept_out))
            try:
                import skops.io  # noqa: F401
            finally:
                for name in kept_out:
                    if name in sys.modules and sys.modules[name] is None:
                        del sys.modules[name]
    return sys.modules["skops.io"]


def save_model(model: DeployableModel, path: str | Path) -> None:
    """Write ``model`` to ``path`` (.skops) and its card, generated from it, beside it (.json)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    skops_io().dump(model, path)
    path.with_suffix(".json").write_text(json.dumps(model.card(), indent=2, default=str), encoding="utf-8")


def load_model(path: str | Path) -> DeployableModel:
    """The model in ``path``. Refuses a file that holds anything but the classes bmelearn saves
    (:mod:`bmelearn.serving.trust`), a damaged file, and a file that holds no bmelearn model."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: model file not found.")
    trusted = trusted_types(path)
    try:
        model = skops_io().load(path, trusted=trusted)
    except Exception as exc:  # a damaged archive can fail in any part of skops; none of it is the user's code
        raise DataError(f"{path}: the model file is damaged ({type(exc).__name__}: {exc}); run the experiment "
                        "again to write it anew.") from None
    if not isinstance(model, DeployableModel):
        raise DataError(f"{path}: holds a {type(model).__name__}, not a bmelearn model (a signal pipeline with its "
                        "classifier). Model files written by an earlier bmelearn hold the classifier alone and "
                        "cannot predict: run the experiment again with this version, or save models with "
                        "bmelearn.serving.save_model.")
    return model


__all__ = ["DeployableModel", "load_model", "save_model"]
