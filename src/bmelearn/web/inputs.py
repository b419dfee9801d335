"""Recordings from what a request carries (uploaded files, or arrays with their sampling rate
and channel names), checked against the model's card before any work starts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bmelearn.errors import DataError
from bmelearn.predict import MismatchError, channel_types, check_signals, expected_signals, read_signal
from bmelearn.recording import Recording


@dataclass
class Upload:
    """One uploaded file: its bytes (kept in memory), its name as sent (only its extension is
    used), the modality it holds (None: the model's only one) and its sampling rate in Hz
    (None: the model's)."""

    data: bytes
    filename: str
    modality: str | None = None
    fs: float | None = None


def from_uploads(card: Mapping[str, Any], uploads: Sequence[Upload]) -> dict[str, Recording]:
    """One Recording per modality from the uploaded files."""
    expected = expected_signals(card)
    recordings: dict[str, Recording] = {}
    for upload in uploads:
        modality = upload.modality or _only_modality(expected, upload.filename)
        if modality in recordings:
            raise MismatchError(f"{upload.filename}: a second {modality} file; send one file per signal.")
        recordings[modality] = read_signal(upload.data, upload.filename, modality, upload.fs, card)
    check_signals(recordings, card)
    return recordings


def from_arrays(card: Mapping[str, Any], signals: Mapping[str, Mapping[str, Any]]) -> dict[str, Recording]:
    """One Recording per modality from ``{modality: {"fs", "channels", "data" (channels × samples)}}``."""
    expected = expected_signals(card)
    recordings = {}
    for modality, signal in signals.items():
        where = f"signals.{modality}"
        if modality not in expected:
            raise MismatchError(f"{where}: the model takes {sorted(expected)} signals, not {modality!r}.")
        rows = signal["data"]
        if len({len(r) for r in rows}) > 1:
            raise DataError(f"{where}.data: channels of different lengths; send one row of samples per channel.")
        data = np.asarray(rows, dtype=float).reshape(len(rows), -1)
        channels = list(signal["channels"])
        if len(channels) != len(rows):
            raise DataError(f"{where}: {len(rows)} rows of data but {len(channels)} channel names; give one name per row.")
        recordings[modality] = Recording(data, signal["fs"], tuple(channels), channel_types(card, modality, len(channels)),
                                         (), modality, {"trial": "upload", "source": where})
    check_signals(recordings, card)
    return recordings


def _only_modality(expected: Mapping[str, Any], filename: str) -> str:
    if len(expected) != 1:
        raise MismatchError(f"{filename}: the model takes several signals ({sorted(expected)}); say which one this file holds.")
    return next(iter(expected))

