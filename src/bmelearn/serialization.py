"""Saving and loading fitted models in a format that loads without executing code (skops), and
arrays as NumPy ``.npz`` files written atomically (no pickle).

Each model file ``NAME.skops`` has a model card ``NAME.json`` beside it: the signals the
model expects (modalities, channels, sampling rates), the window, the features, the
classes, the training data and the validated performance.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio
from sklearn.base import BaseEstimator

from bmelearn.errors import DataError

#: Only these packages' types may be rebuilt from a model file (of aeon, only the ROCKET classifiers).
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "bmelearn.", "aeon.classification.convolution_based.",
                    "aeon.transformations.collection.convolution_based.")


def save_model(model: BaseEstimator, path: str | Path, card: dict[str, Any]) -> None:
    """Write ``model`` to ``path`` (.skops) and its card to the same name with .json."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, path)
    path.with_suffix(".json").write_text(json.dumps(card, indent=2, default=str), encoding="utf-8")


def load_model(path: str | Path) -> tuple[BaseEstimator, dict[str, Any]]:
    """Load a model and its card. Refuses files holding types outside scikit-learn, NumPy, SciPy,
    bmelearn and aeon's ROCKET classifiers."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: model file not found.")
    untrusted = sio.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if refused:
        raise DataError(f"{path}: refusing to load types {refused}; only scikit-learn/NumPy/SciPy/bmelearn models "
                        "and aeon's ROCKET classifiers load.")
    model = sio.load(path, trusted=untrusted)
    card_path = path.with_suffix(".json")
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
    return model, card


def save_arrays(path: str | Path, **arrays: Any) -> None:
    """Write ``arrays`` to the ``.npz`` file ``path`` under a temporary name, then rename it: a
    reader (another process, another machine on shared storage) sees the whole file or none."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.npz")
    np.savez(temporary, **arrays)
    os.replace(temporary, path)


def load_arrays(path: str | Path) -> dict[str, np.ndarray] | None:
    """The arrays of the ``.npz`` file ``path`` (never unpickled), or None if there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as arrays:
        return dict(arrays)
