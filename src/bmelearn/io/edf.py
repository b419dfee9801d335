"""EDF, EDF+, BDF and BDF+ files, read with edfio.

EDF (Kemp et al., Electroencephalogr. Clin. Neurophysiol. 82(5), 1992) stores each signal as
16-bit integers with a physical range, so a value comes back to 1/65535 of that range; BDF,
BioSemi's variant, uses 24 bits. EDF+ and BDF+ add annotations (Kemp & Olivan, Clin.
Neurophysiol. 114(9), 2003): onset and duration in seconds and a text, read here as events.

Each signal's label, sampling rate and physical unit come from the file. A signal's type is
read from its label or transducer (``EMG ...``, ``ACC ...``, ``GYRO ...``; anything else is
``misc``), and the signals of one type and rate form one modality. BioSemi's trigger channel
(``Status``) is not a signal and is left out.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bmelearn.errors import DataError
from bmelearn.signals.recording import Recording

#: File extensions read here.
SUFFIXES = (".edf", ".bdf")
#: Label or transducer prefixes (lower case) of each channel type; the first that matches wins.
_TYPE_PREFIXES = (("emg", "emg"), ("acc", "acc"), ("gyr", "gyro"))
#: Labels of trigger channels, which hold event codes, not signal.
_TRIGGER_LABELS = ("status", "trigger")


@dataclass
class Continuous:
    """A continuous recording: one :class:`Recording` per modality (its channels of one type and
    rate, from time 0 of the file) and its events (``onset`` and ``duration`` in s, ``label``)."""

    recordings: list[Recording]
    events: pd.DataFrame


def _open(path: Path, data: bytes | None) -> tuple[list[tuple], list[tuple], float]:
    """The file at ``path`` (or its bytes ``data``, ``path`` its name) read by edfio: its signals
    (label, transducer, rate in Hz, samples, unit), its annotations (onset, duration, text) and
    its duration (s); a DataError naming the file when it is missing, damaged or truncated."""
    import edfio

    if data is None and not path.is_file():
        raise DataError(f"{path}: file not found. Check the dataset path and file pattern.")
    read = edfio.read_bdf if path.suffix.lower() == ".bdf" else edfio.read_edf
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            edf = read(path if data is None else data)
            # read everything now: edfio parses the annotations and maps the samples when they are first used
            signals = [(s.label.strip(), s.transducer_type.strip(), float(s.sampling_frequency),
                        np.asarray(s.data, dtype=np.float64), s.physical_dimension.strip()) for s in edf.signals]
            annotations = [(float(a.onset), a.duration, a.text.strip()) for a in edf.annotations]
            duration = float(edf.duration)
        except Exception as exc:  # noqa: BLE001 (a damaged file fails anywhere in edfio; none of it is the user's code)
            raise DataError(f"{path}: not a readable {path.suffix[1:].upper()} file ({type(exc).__name__}: {exc}). "
                            "Export the recording again from the amplifier's software.") from None
    truncated = [str(w.message) for w in caught if "data record" in str(w.message)]
    if truncated:
        raise DataError(f"{path}: the file is truncated ({truncated[-1]}). Copy or export it again; bmelearn does "
                        "not analyse part of a recording without saying so.")
    return signals, annotations, duration


def channel_type(label: str, transducer: str = "") -> str:
    """``emg``, ``acc``, ``gyro`` or ``misc``, from a signal's label or transducer type."""
    for text in (label.strip().lower(), transducer.strip().lower()):
        for prefix, kind in _TYPE_PREFIXES:
            if text.startswith(prefix):
                return kind
    return "misc"


def read_edf(path: str | Path, data: bytes | None = None) -> Continuous:
    """The signals of an EDF/EDF+/BDF/BDF+ file, one :class:`Recording` per modality, and its
    annotations as events (an annotation without a duration lasts until the next one). With
    ``data``, the file's bytes are read (an upload), ``path`` giving its name."""
    path = Path(path)
    signals, annotations, duration = _open(path, data)
    groups: dict[tuple[str, float], list] = {}
    for label, transducer, fs, samples, unit in signals:
        if label.lower() not in _TRIGGER_LABELS:
            groups.setdefault((channel_type(label, transducer), fs), []).append((label, samples, unit))
    if not groups:
        raise DataError(f"{path}: holds no signal (only annotations or a trigger channel).")
    kinds = [kind for kind, _ in groups]
    recordings = []
    for (kind, fs), members in groups.items():
        modality = kind if kinds.count(kind) == 1 else f"{kind}_{fs:g}hz"
        n = min(len(samples) for _, samples, _ in members)  # the same in a well-formed file
        recordings.append(Recording(np.stack([samples[:n] for _, samples, _ in members]), fs,
                                    tuple(label for label, _, _ in members), (kind,) * len(members),
                                    tuple(unit or "a.u." for _, _, unit in members), modality, {"source": str(path)}))
    return Continuous(recordings, _events(annotations, duration))


def _events(annotations: list[tuple], duration: float) -> pd.DataFrame:
    """The annotations (onset, duration, text) that carry a text, as events; an annotation without
    a duration lasts until the next one's onset (or the end of the recording)."""
    kept = sorted((a for a in annotations if a[2]), key=lambda event: event[0])
    onsets = [onset for onset, _, _ in kept]
    ends = [*onsets[1:], float(duration)][: len(kept)]
    return pd.DataFrame({"onset": onsets,
                         "duration": [float(d) if d else end - onset for (onset, d, _), end in zip(kept, ends, strict=True)],
                         "label": [text for _, _, text in kept]}, columns=["onset", "duration", "label"])


def read_channels(path: str | Path, ch_names: Sequence[str] | None = None,
                  fs: float | None = None) -> tuple[Recording, pd.DataFrame]:
    """The signals of a file labelled in ``ch_names`` (those it has, in that order; all without
    ``ch_names``) as one recording, and its events; a DataError naming the file when they are
    not sampled at ``fs`` Hz (when given). The caller says which of ``ch_names`` are missing."""
    continuous = read_edf(path)
    labels = [name for rec in continuous.recordings for name in rec.ch_names]
    recording = pick_signals(continuous.recordings, [n for n in ch_names if n in labels] if ch_names else labels, path)
    if fs is not None and not np.isclose(recording.fs, fs):
        raise DataError(f"{path}: sampled at {recording.fs:g} Hz, not the {fs:g} Hz of dataset.fs; set fs to "
                        f"{recording.fs:g} or resample the file.")
    return recording, continuous.events


def pick_signals(streams: Sequence[Recording], ch_names: Sequence[str], source: object,
                 owner: str = "dataset.ch_names") -> Recording:
    """The signals labelled ``ch_names`` among ``streams`` (a file's modalities), in that order,
    as one recording (of the first one's modality); a DataError naming ``source`` when a label
    is missing or the signals have different rates."""
    where = {name: (rec, i) for rec in streams for i, name in enumerate(rec.ch_names)}
    missing = [name for name in ch_names if name not in where]
    if missing:
        raise DataError(f"{source}: no signal labelled {missing}; its signals are {list(where)}. Fix {owner}.")
    rates = sorted({where[name][0].fs for name in ch_names})
    if len(rates) > 1:
        raise DataError(f"{source}: the signals {list(ch_names)} are sampled at different rates {rates} Hz.")
    n = min(where[name][0].n_samples for name in ch_names)
    first = where[ch_names[0]][0]
    return Recording(np.stack([where[name][0].data[where[name][1], :n] for name in ch_names]), rates[0], tuple(ch_names),
                     tuple(where[name][0].ch_types[where[name][1]] for name in ch_names),
                     tuple(where[name][0].units[where[name][1]] for name in ch_names), first.modality, first.meta)
