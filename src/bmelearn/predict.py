"""Predictions of a saved model on a new recording, checked against the model's card.

The card (written beside every saved model) says which signals the model expects: for each
modality its sampling rate (Hz) and channel names, and the window, preprocessing and
features of its training. A new recording goes through the same steps; one that does not
match raises :class:`MismatchError` naming the difference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bmelearn.errors import DataError
from bmelearn.features.extractor import extract_modalities
from bmelearn.io import parse_matrix, parse_quaternions
from bmelearn.preprocessing import preprocess
from bmelearn.recording import Recording, RecordingSet
from bmelearn.windowing import cut_windows

#: Windows predicted per step, so progress can be reported during a long prediction.
CHUNK = 2048

#: File name endings read as numeric text (one sample per line, one column per channel).
TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".dat")

#: progress(windows_done, windows_total)
Progress = Callable[[int, int], None]


class MismatchError(DataError):
    """A recording's channels, sampling rate or duration do not fit the model it is given to."""


def expected_signals(card: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{modality: {"fs": Hz, "channels": [...]}}`` that the model of ``card`` expects."""
    signals = card.get("signals")
    if not signals:
        raise DataError("the model card names no signals; retrain the model with this bmelearn version.")
    return signals


def read_signal(data: bytes, filename: str, modality: str, fs: float | None, card: Mapping[str, Any]) -> Recording:
    """One uploaded file of ``modality`` as a Recording with the model's channel names.

    ``data`` is numeric text (``.txt``, ``.csv``, ``.tsv``, ``.dat``; a header row of channel
    names is optional) or, for a quaternion modality, 3DC's ``(w, x, y, z)`` lines. ``fs`` is
    the recording's sampling rate in Hz as the user states it (None: the model's).
    """
    expected = expected_signals(card)
    if modality not in expected:
        raise MismatchError(f"{filename}: the model takes {sorted(expected)} signals, not {modality!r}.")
    channels = list(expected[modality]["channels"])
    suffix = Path(filename).suffix.lower()
    if suffix not in TEXT_SUFFIXES:
        raise DataError(f"{filename}: cannot read {suffix or 'files without an extension'}; "
                        f"upload numeric text ({', '.join(TEXT_SUFFIXES)}), one sample per line.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{filename}: not a text file (it is not UTF-8); upload numeric text, one sample per line.") from None
    if text.lstrip().startswith("("):
        values, header = parse_quaternions(text, filename), None
    else:
        values, header = parse_matrix(text, filename)
    values = _match_channels(values, header, channels, filename, modality)
    return Recording(values.T, expected[modality]["fs"] if fs is None else fs, tuple(channels),
                     channel_types(card, modality, len(channels)), (), modality, {"trial": "upload", "source": filename})


def check_signals(recordings: Mapping[str, Recording], card: Mapping[str, Any]) -> None:
    """Raise :class:`MismatchError` unless ``recordings`` hold every expected modality with the
    model's sampling rate and channels, finite values, and at least one window of samples."""
    expected = expected_signals(card)
    missing = sorted(set(expected) - set(recordings))
    if missing:
        raise MismatchError(f"the model also needs the {missing} signal(s); it was trained on {sorted(expected)}.")
    length = card["window"]["length"]
    for modality, rec in recordings.items():
        want = expected.get(modality)
        if want is None:
            raise MismatchError(f"{rec.where}: the model takes {sorted(expected)} signals, not {modality!r}.")
        if not np.isclose(rec.fs, want["fs"]):
            raise MismatchError(f"{rec.where}: sampled at {rec.fs:g} Hz, but the model expects {modality} at "
                                f"{want['fs']:g} Hz; resample the recording or choose a model trained at {rec.fs:g} Hz.")
        if list(rec.ch_names) != list(want["channels"]):
            raise MismatchError(f"{rec.where}: channels {list(rec.ch_names)} do not match the model's {modality} "
                                f"channels {list(want['channels'])}.")
        bad = [c for c, finite in zip(rec.ch_names, np.isfinite(rec.data).all(axis=1), strict=True) if not finite]
        if bad:
            raise DataError(f"{rec.where}: channels {bad} hold values that are not finite numbers (NaN or infinity); "
                            "fill or cut the gaps first.")
        if rec.duration < length:
            raise MismatchError(f"{rec.where}: {rec.duration:.3f} s long, shorter than the model's {length} s window.")


def predict_recording(model: Any, card: Mapping[str, Any], recordings: Mapping[str, Recording],
                      progress: Progress | None = None) -> pd.DataFrame:
    """Per-window predictions: ``window``, ``start`` and ``end`` (s), ``predicted``, ``confidence``
    (the probability of the predicted class) and ``p:CLASS`` for every class of the model."""
    check_signals(recordings, card)
    progress = progress or (lambda done, total: None)
    one_trial = [replace(r, meta=r.meta | {"trial": "upload", "label": None}) for r in recordings.values()]
    signals = preprocess(RecordingSet(one_trial, [None], "upload"), card.get("preprocessing") or [])
    windows = cut_windows(signals, card["window"]["length"], card["window"]["step"])
    inputs = _model_input(windows.arrays, windows.fs, card)
    classes = [str(c) for c in model.classes_]
    total = len(inputs)
    progress(0, total)
    parts = []
    for begin in range(0, total, CHUNK):
        parts.append(_probabilities(model, inputs[begin:begin + CHUNK], len(classes)))
        progress(min(begin + CHUNK, total), total)
    proba = np.vstack(parts)
    best = proba.argmax(axis=1)
    starts = windows.meta["start"].to_numpy(dtype=float)
    out = pd.DataFrame({"window": np.arange(total), "start": starts, "end": starts + windows.length,
                        "predicted": np.asarray(classes, dtype=object)[best], "confidence": proba[np.arange(total), best]})
    return pd.concat([out, pd.DataFrame(proba, columns=[f"p:{c}" for c in classes])], axis=1)


def _model_input(arrays: dict[str, np.ndarray], fs: dict[str, float], card: Mapping[str, Any]) -> np.ndarray:
    """Raw windows for a network or ROCKET, else the feature matrix the model was trained on."""
    if str(card.get("input", "features")).startswith("raw"):
        return arrays["emg" if "emg" in arrays else next(iter(arrays))]
    signals = card["signals"]
    ch_names = {m: signals[m]["channels"] for m in signals}
    return extract_modalities(arrays, fs, ch_names, card["features"], card.get("feature_params"))[0]


def _probabilities(model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities; one-hot votes for a model without ``predict_proba``."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X), dtype=float)
    index = {c: i for i, c in enumerate(model.classes_)}
    votes = np.zeros((len(X), n_classes))
    votes[np.arange(len(X)), [index[c] for c in model.predict(X)]] = 1.0
    return votes


def _match_channels(values: np.ndarray, header: list[str] | None, channels: list[str], filename: str,
                    modality: str) -> np.ndarray:
    """Columns in the model's channel order: by name when the file has a header, else by position."""
    if header is not None and set(header) != set(channels) and len(header) == len(channels) and _generic(header):
        header = None  # CH1, CH2 ... carry no names: match by position
    if header is None:
        if values.shape[1] != len(channels):
            raise MismatchError(f"{filename}: {values.shape[1]} channels, but the model expects {len(channels)} "
                                f"{modality} channels ({', '.join(channels)}).")
        return values
    missing = [c for c in channels if c not in header]
    if missing:
        extra = [c for c in header if c not in channels]
        raise MismatchError(f"{filename}: channels {missing} that the model expects are missing"
                            + (f" (the file has {extra} instead)" if extra else "") + ".")
    return values[:, [header.index(c) for c in channels]]


def _generic(names: list[str]) -> bool:
    return all(n.upper().startswith(("CH", "COL", "CHANNEL")) for n in names)


def channel_types(card: Mapping[str, Any], modality: str, n: int) -> tuple[str, ...]:
    """The types of the ``n`` channels of ``modality`` as the card records them (cards of older
    versions do not: then the modality's name if it is a channel type, else ``misc``)."""
    types = card["signals"][modality].get("types")
    if types and len(types) == n:
        return tuple(types)
    return (modality if modality in ("emg", "acc", "gyro", "quat") else "misc",) * n
