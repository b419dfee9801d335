"""C3D files of motion-capture systems, read with ezc3d (``pip install 'bmelearn[c3d]'``).

A C3D file (Motion Lab Systems, *The C3D File Format User Guide*, 2008) holds marker
trajectories (``POINT``: labels, rate, units) and analog channels sampled at a multiple of the
marker rate (``ANALOG``: EMG, force plates, ...), and events (``EVENT``: label, context and
time, as instants). Markers become the ``markers`` modality in mm, a channel per axis
(``RELB_x``); a sample where a marker was not seen (ezc3d gives NaN) is a gap
(:func:`bmelearn.signals.motion.fill_gaps`). Analog channels are typed by label like EDF
signals (``EMG ...``; others ``misc``), one modality per type. An event lasts until the next one.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from bmelearn.errors import DataError
from bmelearn.io.formats import channel_type, clean_text, group_signals, unreadable
from bmelearn.io.isolated import isolated
from bmelearn.signals.events import Continuous, instants_as_events
from bmelearn.signals.motion import AXES, MARKERS, TO_MM

#: The size of a C3D block, in bytes; the header is the first block.
_BLOCK = 512


def _check_size(path: Path) -> None:
    """A DataError naming the file when it is shorter than its header says (its parameter blocks
    and its frames of markers and analog samples): a truncated file would otherwise be parsed
    past its end (ezc3d loops on some). Read from the header's words, as the C3D guide lays them out."""
    size = path.stat().st_size
    with path.open("rb") as file:
        header = file.read(_BLOCK)
        if len(header) < 24 or header[1] != 0x50:
            raise DataError(f"{path}: not a C3D file (no C3D header in its first block). Export the trial again as C3D.")
        file.seek((header[0] - 1) * _BLOCK)
        parameters = file.read(4)
    order = ">" if len(parameters) == 4 and parameters[3] == 86 else "<"  # MIPS processors wrote big-endian files
    points, analogs, first, last = struct.unpack(f"{order}hHHH", header[2:10])
    (scale,) = struct.unpack(f"{order}f", header[12:16])
    (data_block,) = struct.unpack(f"{order}H", header[16:18])
    needed = (header[0] - 1) * _BLOCK + (parameters[2] if len(parameters) == 4 else 1) * _BLOCK
    if last < 65535:  # longer files count their frames in the parameters only
        frames = max(last - first + 1, 0)
        needed = max(needed, (data_block - 1) * _BLOCK + frames * (4 * max(points, 0) + analogs) * (4 if scale < 0 else 2))
    if size < needed:
        raise DataError(f"{path}: the file is truncated ({size} bytes; its header describes {needed}). Copy or export it "
                        "again; bmelearn does not analyse part of a recording without saying so.")


def read_c3d(path: str | Path) -> Continuous:
    """The markers, analog channels and events of the C3D file at ``path`` (read in a process of
    its own: ezc3d crashes or loops on some damaged files, :mod:`bmelearn.io.isolated`)."""
    path = Path(path)
    _check_size(path)
    return isolated(_read, path, kind="C3D", fix="Export the trial again from the motion-capture software.")


def _read(path: Path) -> Continuous:
    """:func:`read_c3d`, in the reading process."""
    import ezc3d

    try:
        c3d = ezc3d.c3d(str(path))
        header, parameters, data = c3d["header"], c3d["parameters"], c3d["data"]
    except Exception as exc:  # noqa: BLE001 (a damaged file fails anywhere in ezc3d)
        raise unreadable(path, "C3D", exc, "Export the trial again from the motion-capture software.") from None

    def values(group: str, name: str) -> list:
        entry = parameters.get(group, {}).get(name, {})
        return [clean_text(v) if isinstance(v, str) else v for v in np.ravel(entry.get("value", []))]

    rate = float(header["points"]["frame_rate"])
    points = np.asarray(data["points"], dtype=np.float64)  # 4 × markers × frames
    unit = (values("POINT", "UNITS") or ["mm"])[0].lower() or "mm"
    if unit not in TO_MM:
        raise unreadable(path, "C3D", ValueError(f"marker units {unit!r}"), "Export the markers in mm, cm or m.")
    labels = values("POINT", "LABELS")[: points.shape[1]]
    signals = [(f"{label}{axis}", MARKERS, rate, points[k, i] * TO_MM[unit], "mm")
               for i, label in enumerate(labels) for k, axis in enumerate(AXES)]
    analogs = np.asarray(data["analogs"], dtype=np.float64)[0]  # channels × samples
    analog_rate = float(header["analogs"]["frame_rate"])
    units = values("ANALOG", "UNITS")
    signals += [(label, channel_type(label), analog_rate, analogs[i], units[i] if i < len(units) else "")
                for i, label in enumerate(values("ANALOG", "LABELS")[: analogs.shape[0]])]
    if not signals:
        raise unreadable(path, "C3D", ValueError("no marker and no analog channel"),
                         "Export the markers or the analog channels with the trial.")
    frames = points.shape[2] if points.size else round(analogs.shape[1] * rate / analog_rate)
    start = float(header["points"]["first_frame"]) / rate  # event times count from the capture's first frame
    times = np.reshape(values("EVENT", "TIMES"), (2, -1)) if values("EVENT", "TIMES") else np.zeros((2, 0))
    contexts = values("EVENT", "CONTEXTS")
    instants = [(60.0 * minutes + seconds - start, _event_label(label, contexts[i] if i < len(contexts) else ""))
                for i, (label, minutes, seconds) in enumerate(zip(values("EVENT", "LABELS"), *times, strict=False))]
    return Continuous(group_signals(signals, path), instants_as_events(instants, frames / rate))


def _event_label(label: str, context: str) -> str:
    """An event's label with its context when the context tells sides apart (``Left Foot Strike``)."""
    return label if context.lower() in ("", "general") else f"{context} {label}"
