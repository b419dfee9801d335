"""Signal quality checks: missing values, flat (dead) channels and clipping."""

from __future__ import annotations

import warnings

import numpy as np

from bmelearn.compute.backends import run_units
from bmelearn.errors import DataError
from bmelearn.signals.recording import Recording, RecordingSet

#: A channel is clipped when more than this share of its samples sit at its extreme values.
CLIP_FRACTION = 0.01


def check_finite(rec: Recording) -> None:
    """Raise if a channel holds NaN or infinite samples, naming the file, channel and sample."""
    bad = ~np.isfinite(rec.data)
    if bad.any():
        ch, sample = np.argwhere(bad)[0]
        raise DataError(
            f"{rec.where}: channel {rec.ch_names[ch]} has {int(bad[ch].sum())} missing or infinite value(s), "
            f"the first at sample {sample} ({sample / rec.fs:.3f} s). Interpolate or cut the gap before analysis."
        )


def flat_channels(rec: Recording) -> list[int]:
    """Indices of channels whose samples are all equal (a dead or disconnected electrode); none
    for a one-sample recording (a table row), which cannot vary."""
    if rec.n_samples < 2:
        return []
    return [int(i) for i in np.flatnonzero(np.ptp(rec.data, axis=1) == 0)]


def clipped_channels(rec: Recording) -> dict[int, float]:
    """Channels that sit at their own min or max for runs of 3+ samples in more than
    CLIP_FRACTION of the recording (an amplifier in saturation): ``{index: share}``."""
    x = rec.data
    at_limit = (x == x.min(axis=1, keepdims=True)) | (x == x.max(axis=1, keepdims=True))
    plateau = at_limit[:, :-2] & at_limit[:, 1:-1] & at_limit[:, 2:]
    share = plateau.mean(axis=1) if x.shape[1] > 2 else np.zeros(len(x))
    return {int(i): float(share[i]) for i in np.flatnonzero((share > CLIP_FRACTION) & (np.ptp(x, axis=1) > 0))}


def inspect_channels(rec: Recording) -> tuple[list[str], dict[str, float]]:
    """The flat channels of ``rec`` and the clipped ones with their share of samples at the
    limits; raises if a sample is missing or every channel is flat. One unit of parallel work:
    a recording on disk is read here, in the worker."""
    rec = rec.opened()
    check_finite(rec)
    flat = flat_channels(rec)
    if len(flat) == rec.n_channels:
        raise DataError(
            f"{rec.where}: every {rec.modality} channel ({', '.join(rec.ch_names)}) is flat (constant); "
            "the recording holds no signal. Check the electrodes or remove this file."
        )
    return [rec.ch_names[i] for i in flat], {rec.ch_names[i]: share for i, share in clipped_channels(rec).items()}


def find_bad_channels(recordings: RecordingSet) -> tuple[dict[str, set[str]], list[str]]:
    """The channels to exclude, per modality (flat in any recording), and the human-readable
    notes (also issued as warnings). Clipped channels are kept but reported: clipping distorts
    amplitude features. The recordings are inspected on the current execution backend."""
    notes: list[str] = []
    dead: dict[str, dict[str, str]] = {}
    for rec, (flat, clipped) in zip(recordings, run_units(inspect_channels, [(rec,) for rec in recordings]), strict=True):
        for name in flat:
            dead.setdefault(rec.modality, {}).setdefault(name, rec.where)
        for name, share in clipped.items():
            notes.append(f"{rec.where}: channel {name} looks clipped ({share:.0%} of samples at its limits).")
    for modality, channels in dead.items():
        for name, where in channels.items():
            notes.append(f"channel {name} ({modality}) is flat in {where}; it was excluded from every {modality} recording.")
        if any(set(r.ch_names) <= set(channels) for r in recordings if r.modality == modality):
            where = "; ".join(f"{name} in {src}" for name, src in channels.items())
            raise DataError(f"no {modality} channel is left: each is flat in some recording ({where}). "
                            "Check or remove those recordings.")
    if len(notes) > 20:
        notes = notes[:20] + [f"... and {len(notes) - 20} more quality notes."]
    for note in notes:
        warnings.warn(note, stacklevel=2)
    return {m: set(channels) for m, channels in dead.items()}, notes


def without_channels(rec: Recording, dead: dict[str, set[str]]) -> Recording:
    """``rec`` without the channels ``dead`` lists for its modality."""
    drop = dead.get(rec.modality, set())
    keep = [i for i, name in enumerate(rec.ch_names) if name not in drop]
    return rec.opened().pick(keep) if len(keep) < rec.n_channels else rec


def exclude_bad_channels(recordings: RecordingSet) -> tuple[RecordingSet, list[str]]:
    """Drop channels that are flat in any recording from every recording of that modality
    (:func:`find_bad_channels`); returns the cleaned set and the notes."""
    dead, notes = find_bad_channels(recordings)
    if dead:
        recordings = recordings.like(without_channels(rec, dead) for rec in recordings)
    return recordings, notes
