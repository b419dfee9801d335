"""TRC files: marker trajectories as tab-separated text (Motion Analysis Corp.; OpenSim's format).

Three header lines (``PathFileType``; the names ``DataRate ... Units ...``; their values), a
line of marker names (``Frame#``, ``Time``, then each marker over its three columns) and a line
of axis names, then one line per frame. A marker not seen in a frame is an empty field: a gap
(:func:`bmelearn.signals.motion.fill_gaps`). Markers come back in mm, a channel per axis.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bmelearn.errors import DataError
from bmelearn.io.formats import group_signals
from bmelearn.signals.events import EVENT_COLUMNS, Continuous
from bmelearn.signals.motion import AXES, MARKERS, TO_MM


def read_trc(path: str | Path) -> Continuous:
    """The markers of the TRC file at ``path`` (no events: the format has none)."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if len(lines) < 6 or not lines[0].startswith("PathFileType"):
        raise DataError(f"{path}: not a TRC file (it should start with a PathFileType line and two lines of rate and "
                        "units). Export the markers as TRC again, or read the file as numeric text.")
    settings = dict(zip(lines[1].split("\t"), lines[2].split("\t"), strict=False))
    try:
        rate, unit = float(settings["DataRate"]), settings.get("Units", "mm").strip().lower()
        scale = TO_MM[unit]
    except (KeyError, ValueError):
        raise DataError(f"{path}, line 3: DataRate {settings.get('DataRate')!r} and Units {settings.get('Units')!r} "
                        f"must be a rate in Hz and one of {sorted(TO_MM)}.") from None
    names = [name.strip() for name in lines[3].split("\t")[2::3] if name.strip()]
    body = 5 + (not lines[5].strip())  # OpenSim writes an empty line before the frames
    try:
        frames = pd.read_csv(path, sep="\t", skiprows=body, header=None, dtype=np.float64, skip_blank_lines=True)
    except ValueError as exc:
        raise DataError(f"{path}: a frame holds something other than numbers ({exc}). Fix or export the file again.") from None
    values = frames.to_numpy()[:, 2:2 + 3 * len(names)]
    if values.shape[1] != 3 * len(names):
        raise DataError(f"{path}: {len(names)} markers named on line 4 but {values.shape[1]} coordinate columns.")
    signals = [(f"{name}{axis}", MARKERS, rate, values[:, 3 * i + k] * scale, "mm")
               for i, name in enumerate(names) for k, axis in enumerate(AXES)]
    return Continuous(group_signals(signals, path), pd.DataFrame(columns=EVENT_COLUMNS))
