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
from pathlib import Path

import numpy as np
import pandas as pd

from bmelearn.errors import DataError
from bmelearn.io.formats import channel_type, group_signals
from bmelearn.signals.events import EVENT_COLUMNS, Continuous

#: Labels of trigger channels, which hold event codes, not signal.
_TRIGGER_LABELS = ("status", "trigger")


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


def read_edf(path: str | Path, data: bytes | None = None) -> Continuous:
    """The signals of an EDF/EDF+/BDF/BDF+ file, one :class:`Recording` per modality, and its
    annotations as events (an annotation without a duration lasts until the next one). With
    ``data``, the file's bytes are read (an upload), ``path`` giving its name."""
    path = Path(path)
    signals, annotations, duration = _open(path, data)
    kept = [(label, channel_type(label, transducer), fs, samples, unit)
            for label, transducer, fs, samples, unit in signals if label.lower() not in _TRIGGER_LABELS]
    if not kept:
        raise DataError(f"{path}: holds no signal (only annotations or a trigger channel).")
    recordings = group_signals(kept, path)
    return Continuous(recordings, _events(annotations, duration))


def _events(annotations: list[tuple], duration: float) -> pd.DataFrame:
    """The annotations (onset, duration, text) that carry a text, as events; an annotation without
    a duration lasts until the next one's onset (or the end of the recording)."""
    kept = sorted((a for a in annotations if a[2]), key=lambda event: event[0])
    onsets = [onset for onset, _, _ in kept]
    ends = [*onsets[1:], float(duration)][: len(kept)]
    return pd.DataFrame({"onset": onsets,
                         "duration": [float(d) if d else end - onset for (onset, d, _), end in zip(kept, ends, strict=True)],
                         "label": [text for _, _, text in kept]}, columns=EVENT_COLUMNS)
