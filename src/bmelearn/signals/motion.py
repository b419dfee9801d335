"""Motion capture: marker trajectories (C3D, TRC) as a modality, their gaps, and joint angles.

A marker is three channels, ``NAME_x``, ``NAME_y``, ``NAME_z``, in mm, in the ``markers``
modality. A camera system loses a marker now and then (occlusion): those samples are NaN.
Short gaps are filled by a cubic fitted to the samples around them (cubic fills are the usual
practice, and their error grows with the gap's length: Howarth & Callaghan, Comput. Methods
Biomech. Biomed. Eng. 13(6), 2010); longer gaps, and gaps at either end, are not invented:
they are reported, and the trials over them are left out. Joint angles come from three markers: the angle at the
middle one between the segments to the other two (the elbow from shoulder, elbow and wrist),
in degrees, after a low-pass filter of the trajectories (6 Hz: Winter, Biomechanics and Motor
Control of Human Movement, 4th ed., 2009).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from bmelearn.signals.recording import Recording

#: The modality of marker trajectories, and the type of their channels.
MARKERS = "markers"
#: Gaps filled by default, in seconds.
MAX_GAP_S = 0.1
#: The fewest samples on each side of a gap that its fill is fitted to.
FIT_SAMPLES = 5
#: Marker units and their factor to mm.
TO_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
#: The axes of a marker, as its channel names end.
AXES = ("_x", "_y", "_z")


def fill_gaps(data: np.ndarray, fs: float, max_gap: float = MAX_GAP_S) -> tuple[np.ndarray, list[tuple[int, float, float]]]:
    """``data`` (channels × samples at ``fs`` Hz) with each run of NaN of at most ``max_gap``
    seconds inside a channel filled by a cubic fitted, by least squares, to the channel's
    samples on both sides of it (as many on each side as the gap is long, at least
    :data:`FIT_SAMPLES`): a local fit, not an interpolation through the edge samples, so that
    their measurement noise does not set the slope across the gap. Returns the filled data
    and the runs left as they are, longer ones and those at either end, as ``(channel, start
    s, length s)``."""
    data = np.array(data, dtype=np.float64)
    longest = int(round(max_gap * fs))
    left: list[tuple[int, float, float]] = []
    for channel, row in enumerate(data):
        missing = np.isnan(row)
        if not missing.any():
            continue
        edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
        for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            span = max(end - start, FIT_SAMPLES)
            near = np.arange(max(start - span, 0), min(end + span, len(row)))
            near = near[~missing[near]]
            if start == 0 or end == len(row) or end - start > longest or (near < start).sum() < 2 or (near >= end).sum() < 2:
                left.append((channel, start / fs, (end - start) / fs))
                continue
            centre = (start + end) / 2  # centred abscissae keep the fit well conditioned
            row[start:end] = np.polyval(np.polyfit(near - centre, row[near], 3), np.arange(start, end) - centre)
    return data, left


def marker(data: np.ndarray, ch_names: tuple[str, ...], name: str) -> np.ndarray | None:
    """The trajectory (3 × samples) of marker ``name`` among channels ``ch_names``, or None."""
    rows = [ch_names.index(name + axis) if name + axis in ch_names else -1 for axis in AXES]
    return None if -1 in rows else data[rows]


def joint_angle(first: np.ndarray, vertex: np.ndarray, last: np.ndarray) -> np.ndarray:
    """The angle (degrees, 0–180) at ``vertex`` between the segments to ``first`` and ``last``,
    sample by sample (each 3 × samples): the elbow's included angle from the shoulder, elbow and
    wrist markers (180° for a straight arm). Computed as atan2(|u × v|, u · v), which stays
    accurate near 0° and 180° where the arc cosine does not."""
    u, v = first - vertex, last - vertex
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(u, v, axis=0), axis=0), np.einsum("it,it->t", u, v)))


def without_gaps(recordings: Sequence[Recording]) -> list[Recording]:
    """The recordings of the trials whose markers have no gap left unfilled (a gap longer than
    :func:`fill_gaps` fills): a trial over such a gap is left out, all its modalities, and a
    warning counts those left out and names the first."""
    gapped = list(dict.fromkeys(rec.meta["trial"] for rec in recordings
                                if rec.modality == MARKERS and np.isnan(rec.data).any()))
    if gapped:
        warnings.warn(f"{len(gapped)} trial(s) left out: a marker is missing for longer than the gaps filled "
                      f"(dataset.max_gap), first {gapped[0]}.", stacklevel=2)
    left_out = set(gapped)
    return [rec for rec in recordings if rec.meta["trial"] not in left_out]
