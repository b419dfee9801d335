"""PhysioNet WFDB records, read with the wfdb package (``pip install 'bmelearn[wfdb]'``).

A WFDB record (Moody & Mark, *WFDB Applications Guide*; Goldberger et al., Circulation
101(23), 2000) is a header ``NAME.hea`` (rate, signal names, gains and units) and the signal
files it names; an annotation file beside it (``NAME.atr``, or another of
:data:`ANNOTATIONS`) marks instants by sample, read here as events lasting until the next one
(the annotation's note when it has one, else its symbol). Give the header's path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bmelearn.io.formats import channel_type, clean_text, group_signals, unreadable
from bmelearn.signals.events import Continuous, instants_as_events

#: Annotation file extensions looked for beside a record, in order.
ANNOTATIONS = ("atr", "ann", "event")


def read_wfdb(path: str | Path) -> Continuous:
    """The signals of the WFDB record whose header is ``path``, and its first annotation file's events."""
    import wfdb

    path = Path(path)
    name = str(path.with_suffix(""))
    try:
        record = wfdb.rdrecord(name)
        signals = np.asarray(record.p_signal, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 (a damaged or incomplete record fails anywhere in wfdb)
        raise unreadable(path, "WFDB", exc, "Copy the header with every signal file it names.") from None
    fs = float(record.fs)
    instants = []
    for extension in ANNOTATIONS:
        if path.with_suffix(f".{extension}").is_file():
            try:
                notes = wfdb.rdann(name, extension)
            except Exception as exc:  # noqa: BLE001
                raise unreadable(path.with_suffix(f".{extension}"), "WFDB annotation", exc,
                                 "Copy the annotation file again, or remove it.") from None
            texts = notes.aux_note if notes.aux_note is not None else [""] * len(notes.sample)
            instants = [(sample / fs, clean_text(text or symbol)) for sample, text, symbol
                        in zip(notes.sample, texts, notes.symbol, strict=True)]
            break
    channels = [(clean_text(label), channel_type(label), fs, signals[:, i], clean_text(unit))
                for i, (label, unit) in enumerate(zip(record.sig_name, record.units, strict=True))]
    return Continuous(group_signals(channels, path), instants_as_events(instants, len(signals) / fs))
