"""Signal quality checks: missing values, flat (dead) channels and clipping."""

from __future__ import annotations

import warnings

import numpy as np

from bmelearn.errors import DataError
from bmelearn.recording import Recording, RecordingSet

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


def exclude_bad_channels(recordings: RecordingSet) -> tuple[RecordingSet, list[str]]:
    """Drop channels that are flat in any recording (from every recording of that modality).

    Returns the cleaned set and the human-readable notes (also issued as warnings). Clipped
    channels are kept but reported: clipping distorts amplitude features.
    """
    notes: list[str] = []
    dead: dict[str, dict[str, str]] = {}
    for rec in recordings:
        check_finite(rec)
        flat = flat_channels(rec)
        if len(flat) == rec.n_channels:
            raise DataError(
                f"{rec.where}: every {rec.modality} channel ({', '.join(rec.ch_names)}) is flat (constant); "
                "the recording holds no signal. Check the electrodes or remove this file."
            )
        for i in flat:
            dead.setdefault(rec.modality, {}).setdefault(rec.ch_names[i], rec.where)
        for i, share in clipped_channels(rec).items():
            notes.append(f"{rec.where}: channel {rec.ch_names[i]} looks clipped ({share:.0%} of samples at its limits).")
    for modality, channels in dead.items():
        for name, where in channels.items():
            notes.append(f"channel {name} ({modality}) is flat in {where}; it was excluded from every {modality} recording.")
    if dead:
        kept = []
        for rec in recordings:
            drop = dead.get(rec.modality, {})
            keep = [i for i, n in enumerate(rec.ch_names) if n not in drop]
            if not keep:
                where = "; ".join(f"{name} in {src}" for name, src in drop.items())
                raise DataError(
                    f"no {rec.modality} channel is left: each is flat in some recording ({where}). "
                    "Check or remove those recordings."
                )
            kept.append(rec.pick(keep) if len(keep) < rec.n_channels else rec)
        recordings = recordings.like(kept)
    if len(notes) > 20:
        notes = notes[:20] + [f"... and {len(notes) - 20} more quality notes."]
    for note in notes:
        warnings.warn(note, stacklevel=2)
    return recordings, notes
