"""Signal quality checks: missing values, flat (dead) channels, clipping, and the EMG channel
checks (power below 20 Hz, amplitude against the other channels, mains interference).

Flat channels are excluded from the analysis; every other finding is reported and the channel
kept. The EMG channel checks measure each recording as read (before preprocessing) and are
summed up per subject, session and channel over its recordings (:func:`channel_quality`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import fft, signal

from bmelearn.compute.arrays import load_arrays, save_arrays
from bmelearn.compute.backends import run_units
from bmelearn.compute.cache import content_digest
from bmelearn.compute.checkpoint import unit_key
from bmelearn.errors import DataError
from bmelearn.signals.recording import Recording, RecordingSet, session_label

#: A channel is clipped when more than this share of its samples sit at its extreme values.
CLIP_FRACTION = 0.01
#: ... and it takes at least this many distinct values: a signal of a few ADC steps (rest on an
#: 8-bit Myo armband: -3 to 2) sits at its extremes by nature, not in saturation;
CLIP_MIN_LEVELS = 16
#: ... and the runs at its extremes hold at least this many samples beyond their first two (a run
#: of 5): one run of 3 in a short recording (MyoDisCo's 0.5 s gestures: 1 % of 100 samples) is chance.
CLIP_MIN_SAMPLES = 3

#: Surface EMG's usable band starts at about 20 Hz: below it lie movement artefact and baseline
#: wander (De Luca et al. 2010, "Filtering the surface EMG signal", J Biomech 43:1573).
LOW_FREQUENCY_HZ = 20.0
#: A channel is flagged in a recording when more than this share of its power lies below
#: LOW_FREQUENCY_HZ. 3DC participants 1-4 (issue 17): other channels 1.1-7 % (median over a
#: session's files; participant 3's EMG2, with bursts of movement artefact, 8 and 19 %, above 25 %
#: in 14 and 20 of 44 files), participant 1's EMG2 49 and 56 % (above 25 % in 41 and 43 of 44).
LOW_FREQUENCY_SHARE = 0.25
#: The low-frequency check needs this sampling rate (Hz) or more: the limit above was set at 1 kHz;
#: at lower rates the EMG band above 20 Hz is cut at fs/2 and normal EMG's share below 20 Hz
#: rises (emg-rps at 244 Hz: 18-37 %).
MIN_LOW_FREQUENCY_FS = 500.0
#: A channel is flagged in a recording when its RMS is more than this many times the median RMS of
#: the recording's EMG channels, or less than its inverse. 3DC: other channels 0.78-2.4 (median
#: over a session's files; above 8 in at most 2 of 44 files), participant 1's EMG2 11 and 12 (above
#: 8 in 34 and 41 of 44). Not 5: a channel over the active muscle reaches 5-10 times the median in
#: a gesture (one-subject Myo's EMG4 in hand open, wrist extension and at rest: above 5 in 6 of 10
#: files of 5 of its 6 sessions).
AMPLITUDE_RATIO = 8.0
#: Mains frequencies (Hz) and the half-width (Hz) of the band around each whose power is measured.
POWERLINE_HZ = (50.0, 60.0)
POWERLINE_HALF_WIDTH_HZ = 1.0
#: A channel is flagged in a recording when more than this share of its power lies within
#: POWERLINE_HALF_WIDTH_HZ of a mains frequency. 3DC: other channels 1.4-3.7 % (median over a
#: session's files; above 10 % in at most 7 of 44, mostly at rest), participant 1's EMG2 13 and 30 %
#: at 60 Hz (above 10 % in 26 and 32 of 44). The harmonics are left out: adding them raises
#: normal EMG's share to 4-6 % and not the faulty channel's.
POWERLINE_SHARE = 0.10
#: A channel is flagged for a subject's session when more than this share of its recordings are
#: (then the median over its recordings is beyond the limit).
FLAGGED_FILES_SHARE = 0.5
#: A check that flags at least this many channels, and at least half of them, in a session
#: concerns the whole recording (mains interference on every electrode, say): one note for all.
WIDESPREAD_CHANNELS = 3
#: The spectral checks need at least this much signal (s): a frequency resolution of 4 Hz or finer.
MIN_SPECTRUM_S = 0.25
#: The channel types the channel checks apply to. Accelerometer and gyroscope axes measure
#: different directions of one movement (and gravity), so neither their low-frequency power nor
#: their amplitudes relative to each other say anything about the sensor.
CHECKED_TYPES = ("emg",)
#: Channel types that no amplifier records, so that neither flat nor clipped says anything of
#: them: marker trajectories (a camera system's) and what is computed from them.
UNAMPLIFIED = ("markers", "angle")


@dataclass(frozen=True)
class ChannelCheck:
    """One channel check: its ``name`` (the table's ``check`` column), what it measures in the
    report's words (``label``), its limit, whether the value is a share of the channel's power
    (else a ratio, flagged on either side: above ``threshold`` or below its inverse), what a
    flag is a ``sign`` of, and the preprocessing that treats it (``remedy``, may be empty)."""

    name: str
    label: str
    threshold: float
    share: bool
    sign: str
    remedy: str = ""

    def show(self, value: float) -> str:
        """``value`` as the report writes it: ``52 %``, ``1.5 %`` or ``12 times``, ``0.83 times``."""
        return f"{_digits(100 * value if self.share else value)} {'%' if self.share else 'times'}"

    def span(self, low: float, high: float) -> str:
        """A range of values: ``1.2–6 %``, ``0.8–1.5 times``."""
        scale = 100 if self.share else 1
        return f"{_digits(scale * low)}–{_digits(scale * high)} {'%' if self.share else 'times'}"

    @property
    def limit(self) -> str:
        """The limit in words: ``above 25 %``, ``above 8 times or below 1/8``."""
        return f"above {self.show(self.threshold)}" + ("" if self.share else f" or below 1/{self.threshold:g}")

    def flags(self, values: np.ndarray) -> np.ndarray:
        """Which ``values`` are beyond the limit (NaN, not measured: never)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.share:
                return np.asarray(values > self.threshold)
            return np.asarray(np.abs(np.log(values)) > np.log(self.threshold))


def _digits(x: float) -> str:
    """Two significant digits, or none after the point from 10 on: 56, 12, 1.5, 0.42."""
    return f"{x:.0f}" if abs(x) >= 10 else f"{x:.2g}"


#: The EMG channel checks, in the order of the table and the report.
CHECKS = (
    ChannelCheck("low_frequency", f"power below {LOW_FREQUENCY_HZ:g} Hz", LOW_FREQUENCY_SHARE, True,
                 "baseline wander from movement artefact or a loose electrode",
                 f"a high-pass filter at {LOW_FREQUENCY_HZ:g} Hz (preprocessing step bandpass, low: "
                 f"{LOW_FREQUENCY_HZ:g}) removes the wander but not its cause"),
    ChannelCheck("amplitude", "RMS relative to the median EMG channel", AMPLITUDE_RATIO, False,
                 "poor or no skin contact or a different gain"),
    *(ChannelCheck(f"powerline_{f:g}hz", f"power within {POWERLINE_HALF_WIDTH_HZ:g} Hz of {f:g} Hz", POWERLINE_SHARE,
                   True, f"{f:g} Hz mains interference from poor skin contact or an unshielded cable",
                   f"a notch filter at {f:g} Hz (preprocessing step notch, freq: {f:g}) removes the interference")
      for f in POWERLINE_HZ),
)
CHECK_NAMES = tuple(c.name for c in CHECKS)
_BY_NAME = {c.name: c for c in CHECKS}


def check_of(name: str, threshold: float | None = None) -> ChannelCheck:
    """The check ``name`` of :data:`CHECKS`, with the ``threshold`` a run used (a run folder keeps its own)."""
    check = _BY_NAME[name]
    return check if threshold is None or np.isnan(threshold) else replace(check, threshold=float(threshold))


#: What the notes say of a flagged channel: bmelearn excludes only flat channels by itself.
KEPT = ("The channel was kept in the analysis; check its electrode and cable, or leave it out with "
        "bads: {{{modality}: [{channel}]}} in the experiment file.")


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
    for a one-sample recording (a table row), which cannot vary, nor for marker trajectories
    (a marker held still is not a dead sensor)."""
    if rec.n_samples < 2:
        return []
    return [int(i) for i in np.flatnonzero((np.ptp(rec.data, axis=1) == 0) & ~np.isin(rec.ch_types, UNAMPLIFIED))]


def clipped_channels(rec: Recording) -> dict[int, float]:
    """Channels that sit at their own min or max for runs of 3+ samples in more than
    CLIP_FRACTION of the recording and CLIP_MIN_SAMPLES samples (an amplifier in saturation),
    among those that take at least CLIP_MIN_LEVELS distinct values: ``{index: share}``."""
    x = rec.data
    at_limit = (x == x.min(axis=1, keepdims=True)) | (x == x.max(axis=1, keepdims=True))
    plateau = at_limit[:, :-2] & at_limit[:, 1:-1] & at_limit[:, 2:]
    share = plateau.mean(axis=1) if x.shape[1] > 2 else np.zeros(len(x))
    candidates = np.flatnonzero((share > CLIP_FRACTION) & (plateau.sum(axis=1) >= CLIP_MIN_SAMPLES) & (np.ptp(x, axis=1) > 0)
                                & ~np.isin(rec.ch_types, UNAMPLIFIED))
    return {int(i): float(share[i]) for i in candidates if len(np.unique(x[i])) >= CLIP_MIN_LEVELS}


def channel_measures(rec: Recording) -> np.ndarray:
    """The values of the :data:`CHECKS` for each channel of ``rec``: an array (checks × channels),
    NaN where a check does not apply (a channel not of :data:`CHECKED_TYPES`, a flat channel, a
    mains frequency at or above fs/2, a spectrum of a recording shorter than MIN_SPECTRUM_S, the
    power below LOW_FREQUENCY_HZ at a rate under MIN_LOW_FREQUENCY_FS).

    The mean of each channel is removed first (an amplifier's offset is not signal). RMS is then
    the channel's standard deviation, compared with the median of the recording's checked
    channels. Power shares come from Welch's PSD (Hann windows of 1 s, or the whole recording if
    shorter: 1 Hz resolution; half overlap; no detrending, so slow wander counts) summed over
    the bins below LOW_FREQUENCY_HZ, or within POWERLINE_HALF_WIDTH_HZ (at least the nearest bin)
    of each mains frequency, over the sum of all bins. One call on all channels at once."""
    values = np.full((len(CHECKS), rec.n_channels), np.nan)
    x = np.asarray(rec.data, dtype=np.float64)
    if rec.n_samples < 2:
        return values
    picked = np.flatnonzero(np.isin(rec.ch_types, CHECKED_TYPES) & (np.ptp(x, axis=1) > 0))
    if not picked.size:
        return values
    x = x[picked] - x[picked].mean(axis=1, keepdims=True)
    rms = np.sqrt(np.mean(x**2, axis=1))
    values[CHECK_NAMES.index("amplitude"), picked] = rms / np.median(rms)
    if rec.n_samples < MIN_SPECTRUM_S * rec.fs:
        return values
    freqs, power = welch(x, rec.fs)
    total = power.sum(axis=1)
    if rec.fs >= MIN_LOW_FREQUENCY_FS:
        values[CHECK_NAMES.index("low_frequency"), picked] = power[:, freqs < LOW_FREQUENCY_HZ].sum(axis=1) / total
    half = max(POWERLINE_HALF_WIDTH_HZ, freqs[1] / 2)  # at least the bin nearest the line
    for line in POWERLINE_HZ:
        if line + half < rec.fs / 2:
            band = np.abs(freqs - line) <= half
            values[CHECK_NAMES.index(f"powerline_{line:g}hz"), picked] = power[:, band].sum(axis=1) / total
    return values


def welch(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch's power spectral density of each row of ``x`` (Welch, IEEE Trans. Audio
    Electroacoust. 15(2), 1967): periodic Hann windows of one second (``round(fs)`` samples, or
    the whole row if shorter), half overlap, no detrending, one-sided, in units² per Hz; the
    frequencies (Hz) and the density, equal to ``scipy.signal.welch(x, fs, nperseg=...,
    detrend=False)`` to rounding. Computed directly: SciPy's general implementation spends
    three times the transforms' own cost on each call (0.6 of 0.8 ms per 3DC recording)."""
    nperseg = min(x.shape[-1], round(fs))
    window = signal.windows.hann(nperseg, sym=False)
    segments = np.lib.stride_tricks.sliding_window_view(x, nperseg, axis=-1)[..., :: nperseg - nperseg // 2, :]
    power = np.mean(np.abs(fft.rfft(segments * window, axis=-1)) ** 2, axis=-2) / (fs * np.sum(window**2))
    power[..., 1 : None if nperseg % 2 else -1] *= 2  # one-sided: every bin but 0 Hz and fs/2 counts twice
    return fft.rfftfreq(nperseg, 1 / fs), power


@dataclass
class Inspection:
    """What :func:`inspect_channels` finds in one recording: its flat channels, its clipped ones
    with their share of samples at the limits, and the :func:`channel_measures`."""

    flat: list[str]
    clipped: dict[str, float]
    measures: np.ndarray


def inspect_channels(rec: Recording) -> Inspection:
    """The flat, clipped and measured channels of ``rec``; raises if a sample is missing or every
    channel is flat. One unit of parallel work: a recording on disk is read here, in the worker."""
    rec = rec.opened()
    check_finite(rec)
    flat = flat_channels(rec)
    if len(flat) == rec.n_channels:
        raise DataError(
            f"{rec.where}: every {rec.modality} channel ({', '.join(rec.ch_names)}) is flat (constant); "
            "the recording holds no signal. Check the electrodes or remove this file."
        )
    return Inspection([rec.ch_names[i] for i in flat], {rec.ch_names[i]: share for i, share in clipped_channels(rec).items()},
                      channel_measures(rec))


#: The columns of :func:`channel_quality` and their types (see runs/folder.py, CHANNEL_QUALITY).
_DTYPES = {"subject": str, "session": str, "modality": str, "channel": str, "check": str, "value": float,
           "others_low": float, "others_high": float, "threshold": float, "files_flagged": int, "files": int,
           "flagged": bool}
QUALITY_COLUMNS = tuple(_DTYPES)


def channel_quality(recordings: Sequence[Recording], measures: Sequence[np.ndarray]) -> pd.DataFrame:
    """The channel checks of each subject's session (:data:`QUALITY_COLUMNS`): per channel and
    check, the median ``value`` over the recordings it was measured in (``files``), the range of
    the other channels' medians (``others_low``, ``others_high``; NaN for a lone channel), the
    check's ``threshold``, the recordings beyond it (``files_flagged``) and whether that is more
    than FLAGGED_FILES_SHARE of them (``flagged``). ``measures`` are the recordings'
    :func:`channel_measures`; subjects and sessions are written as text."""
    columns: dict[str, list] = {name: [] for name in QUALITY_COLUMNS[:6]}
    for rec, values in zip(recordings, measures, strict=True):
        if np.isnan(values).all():
            continue
        n = rec.n_channels * len(CHECKS)
        for name, value in (("subject", _text(rec.meta.get("subject"))), ("session", _text(rec.meta.get("session"))),
                            ("modality", rec.modality)):
            columns[name].append(np.full(n, value, dtype=object))
        columns["channel"].append(np.repeat(np.asarray(rec.ch_names, dtype=object), len(CHECKS)))
        columns["check"].append(np.tile(np.asarray(CHECK_NAMES, dtype=object), rec.n_channels))
        columns["value"].append(values.T.ravel())
    long = pd.DataFrame({name: np.concatenate(parts) if parts else np.zeros(0, dtype=object)
                         for name, parts in columns.items()}).astype({name: str for name in QUALITY_COLUMNS[:5]})
    long = long[long["value"].notna()]
    if long.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _DTYPES.items()})
    long = long.assign(flag=_flags(long))
    keys = ["subject", "session", "modality", "channel", "check"]
    table = long.groupby(keys, sort=False).agg(value=("value", "median"), files_flagged=("flag", "sum"),
                                               files=("value", "size")).reset_index()
    group = table.groupby(["subject", "session", "modality", "check"], sort=False)["value"]
    table["others_low"] = group.transform(lambda v: _others(v.to_numpy(), lowest=True))
    table["others_high"] = group.transform(lambda v: _others(v.to_numpy(), lowest=False))
    table["threshold"] = table["check"].map({c.name: c.threshold for c in CHECKS})
    table["files_flagged"] = table["files_flagged"].astype(int)
    table["flagged"] = table["files_flagged"] > FLAGGED_FILES_SHARE * table["files"]
    return table[list(QUALITY_COLUMNS)]


def _text(value) -> str:
    return "" if value is None else str(value)


def _flags(long: pd.DataFrame) -> np.ndarray:
    """Which rows of the long table (one per recording, channel and check) are beyond their check's limit."""
    flags = np.zeros(len(long), dtype=bool)
    checks = long["check"].to_numpy()
    values = long["value"].to_numpy(dtype=float)
    for check in CHECKS:
        rows = checks == check.name
        flags[rows] = check.flags(values[rows])
    return flags


def _others(values: np.ndarray, lowest: bool) -> np.ndarray:
    """For each value, the lowest (or highest) of the other values; NaN when there are none."""
    if len(values) < 2:
        return np.full(len(values), np.nan)
    others = np.where(np.eye(len(values), dtype=bool), np.inf if lowest else -np.inf, values[None, :])
    return others.min(axis=1) if lowest else others.max(axis=1)


def channel_notes(table: pd.DataFrame | None) -> list[str]:
    """The notes on the channels a :func:`channel_quality` table flags. One per channel of a
    subject's session: each finding with the other channels' range, the limit and the recordings
    beyond it, what it is a sign of, and what to do; e.g. "Channel EMG2 (EMG) of subject 1,
    session train, was flagged. Power below 20 Hz: 56 % (other channels 1.2–2.6 %, limit above
    25 %) in 43 of 44 recordings, a sign of baseline wander from movement artefact or a loose
    electrode. ...". A check that flags half or more of a session's channels (WIDESPREAD_CHANNELS
    at least) concerns the whole recording (mains interference on every electrode, say): one note
    per check names those sessions."""
    if table is None or table.empty:
        return []
    table = table[table["check"].isin(CHECK_NAMES)]
    flagged = table["flagged"].astype(bool)
    by_session = flagged.groupby([table[k] for k in ("subject", "session", "modality", "check")], sort=False)
    n_flagged, n_channels = by_session.transform("sum"), by_session.transform("size")
    widespread = (n_flagged >= WIDESPREAD_CHANNELS) & (n_flagged >= 0.5 * n_channels)
    notes = []
    for (subject, session, modality, channel), rows in table[flagged & ~widespread].groupby(
            ["subject", "session", "modality", "channel"], sort=False):
        where = _where(subject, session)
        sentences = [f"Channel {channel} ({modality.upper()}){f' of {where},' if where else ''} was flagged."]
        remedies = []
        for row in rows.itertuples():
            check = check_of(row.check, row.threshold)
            others = "" if np.isnan(row.others_low) else f"other channels {check.span(row.others_low, row.others_high)}, "
            sentences.append(f"{_capital(check.label)}: {check.show(row.value)} ({others}limit {check.limit}) in "
                             f"{row.files_flagged} of {row.files} recordings, a sign of {check.sign}.")
            remedies += [f"{_capital(check.remedy)}."] if check.remedy else []
        notes.append(" ".join([*sentences, KEPT.format(modality=modality, channel=channel), *remedies]))
    spread = table.assign(n_flagged=n_flagged, n_channels=n_channels)[flagged & widespread]
    for (modality, name), rows in spread.groupby(["modality", "check"], sort=False):
        check = check_of(name, rows["threshold"].iloc[0])
        sessions = rows.drop_duplicates(["subject", "session"])
        where = "; ".join(f"{_where(r.subject, r.session) or 'the recordings'} ({r.n_flagged} of {r.n_channels} channels)"
                          for r in sessions.itertuples())
        notes.append(f"{_capital(check.label)} is {check.limit} on half or more of the {modality.upper()} channels of {where}: "
                     f"{check.span(rows['value'].min(), rows['value'].max())} per channel (median over its recordings), "
                     f"a sign of {check.sign}, on the whole recording rather than one electrode. "
                     "The channels were kept in the analysis." + (f" {_capital(check.remedy)}." if check.remedy else ""))
    return notes


def flagged_channels(table: pd.DataFrame | None) -> list[dict]:
    """The flagged rows of a :func:`channel_quality` table as plain records (numbers, text,
    None for NaN), without the ``flagged`` column: what run.json lists."""
    if table is None or table.empty:
        return []
    return json.loads(table[table["flagged"].astype(bool)].drop(columns="flagged").to_json(orient="records"))


def _where(subject: str, session: str) -> str:
    """``subject 1, session train``, leaving out what is not known."""
    return ", ".join([*([f"subject {subject}"] if subject else []), *([session_label(session)] if session else [])])


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass
class QualityChecks:
    """The outcome of :func:`check_quality`: the channels to exclude per modality (flat in some
    recording), the notes for the reader (also issued as warnings) and the :func:`channel_quality`
    table."""

    bads: dict[str, set[str]]
    notes: list[str]
    channels: pd.DataFrame


def check_quality(recordings: RecordingSet, cache: Path | None = None, digests: Sequence[str] | None = None) -> QualityChecks:
    """Inspect every recording (on the current execution backend): channels flat in any
    recording are to be excluded from every recording of their modality; clipped channels are
    kept but reported (clipping distorts amplitude features), and so are the channels that the
    :data:`CHECKS` flag in a subject's session. With a ``cache`` folder, the inspections of the
    whole set are kept there in one file, named by the recordings' contents (``digests``, their
    :func:`~bmelearn.compute.cache.content_digest`, computed here when not given) and channel
    types, and read back by a later run of the same recordings."""
    inspections = _inspections(list(recordings), cache, digests)
    table = channel_quality(list(recordings), [i.measures for i in inspections])
    notes = channel_notes(table)
    dead: dict[str, dict[str, str]] = {}
    for rec, inspection in zip(recordings, inspections, strict=True):
        for name in inspection.flat:
            dead.setdefault(rec.modality, {}).setdefault(name, rec.where)
    notes += clipping_notes(list(recordings), inspections)
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
    return QualityChecks({m: set(channels) for m, channels in dead.items()}, notes, table)


def clipping_notes(recordings: Sequence[Recording], inspections: Sequence[Inspection]) -> list[str]:
    """One note per channel clipped in a subject's session: the file when it is one, else how many
    of the session's recordings, the largest share of samples at the limits and an example."""
    found: dict[tuple, list[tuple[str, float]]] = {}
    totals: dict[tuple, int] = {}
    for rec, inspection in zip(recordings, inspections, strict=True):
        session = (_text(rec.meta.get("subject")), _text(rec.meta.get("session")), rec.modality)
        totals[session] = totals.get(session, 0) + 1
        for name, share in inspection.clipped.items():
            found.setdefault((*session, name), []).append((rec.where, share))
    notes = []
    for (subject, session, modality, name), clipped in found.items():
        where, share = max(clipped, key=lambda item: item[1])
        if len(clipped) == 1:
            notes.append(f"{where}: channel {name} looks clipped ({share:.0%} of samples at its limits).")
        else:
            of = ", ".join(f"{key} {value}" for key, value in (("subject", subject), ("session", session)) if value)
            notes.append(f"channel {name} ({modality}) looks clipped in {len(clipped)} of the "
                         f"{totals[(subject, session, modality)]} recordings" + (f" of {of}" if of else "")
                         + f" (up to {share:.0%} of samples at its limits, in {where}).")
    return notes


#: What the inspections are measured with: part of their cache key.
_MEASURED_WITH = (CHECK_NAMES, CHECKED_TYPES, UNAMPLIFIED, CLIP_FRACTION, CLIP_MIN_LEVELS, CLIP_MIN_SAMPLES, LOW_FREQUENCY_HZ,
                  MIN_LOW_FREQUENCY_FS, POWERLINE_HZ, POWERLINE_HALF_WIDTH_HZ, MIN_SPECTRUM_S)


def _inspections(recordings: list[Recording], cache: Path | None, digests: Sequence[str] | None) -> list[Inspection]:
    """:func:`inspect_channels` of every recording, from the ``cache`` file of this set when there is one."""
    if cache is None:
        return run_units(inspect_channels, [(rec,) for rec in recordings])
    digests = digests or [content_digest(rec) for rec in recordings]
    path = Path(cache) / f"{unit_key('channel checks', list(digests), [r.ch_types for r in recordings], _MEASURED_WITH)}.npz"
    stored = load_arrays(path)
    if stored is not None:
        return _unpack(stored)
    inspections = run_units(inspect_channels, [(rec,) for rec in recordings])
    save_arrays(path, **_pack(inspections))
    return inspections


def _pack(inspections: Sequence[Inspection]) -> dict[str, np.ndarray]:
    """The inspections as arrays: measures side by side (checks × all channels) with each
    recording's channel count, the flat and clipped channels with their recording's index."""
    flat = [(i, name) for i, x in enumerate(inspections) for name in x.flat]
    clipped = [(i, name, share) for i, x in enumerate(inspections) for name, share in x.clipped.items()]
    return {"measures": np.concatenate([x.measures for x in inspections], axis=1) if inspections else np.zeros((len(CHECKS), 0)),
            "n_channels": np.array([x.measures.shape[1] for x in inspections], dtype=np.int64),
            "flat_recording": np.array([i for i, _ in flat], dtype=np.int64),
            "flat_channel": np.array([name for _, name in flat], dtype=str),
            "clipped_recording": np.array([i for i, _, _ in clipped], dtype=np.int64),
            "clipped_channel": np.array([name for _, name, _ in clipped], dtype=str),
            "clipped_share": np.array([share for _, _, share in clipped], dtype=np.float64)}


def _unpack(arrays: dict[str, np.ndarray]) -> list[Inspection]:
    """The inspections of :func:`_pack`."""
    ends = np.cumsum(arrays["n_channels"])
    inspections = [Inspection([], {}, arrays["measures"][:, end - count:end])
                   for end, count in zip(ends, arrays["n_channels"], strict=True)]
    for i, name in zip(arrays["flat_recording"], arrays["flat_channel"], strict=True):
        inspections[i].flat.append(str(name))
    for i, name, share in zip(arrays["clipped_recording"], arrays["clipped_channel"], arrays["clipped_share"], strict=True):
        inspections[i].clipped[str(name)] = float(share)
    return inspections


def without_channels(rec: Recording, dead: dict[str, set[str]]) -> Recording:
    """``rec`` without the channels ``dead`` lists for its modality."""
    drop = dead.get(rec.modality, set())
    keep = [i for i, name in enumerate(rec.ch_names) if name not in drop]
    return rec.opened().pick(keep) if len(keep) < rec.n_channels else rec


def exclude_bad_channels(recordings: RecordingSet) -> tuple[RecordingSet, list[str]]:
    """Drop channels that are flat in any recording from every recording of that modality
    (:func:`check_quality`); returns the cleaned set and the notes."""
    checks = check_quality(recordings)
    dead, notes = checks.bads, checks.notes
    if dead:
        recordings = recordings.like(without_channels(rec, dead) for rec in recordings)
    return recordings, notes
