"""Recordings: one continuous multichannel signal with its metadata, and collections of them.

A :class:`Recording` is one modality (EMG, IMU, accelerometer ...) of one trial. Modalities
recorded at different sampling rates stay separate Recordings that share a ``trial`` id;
windowing cuts them on a common time base in seconds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from bmelearn.errors import DataError


@runtime_checkable
class LazySignal(Protocol):
    """A signal that stands for its samples until it is opened (channels × samples): its
    ``shape`` and ``dtype`` without reading it, ``T`` (seen transposed), ``open()`` giving the
    samples as an array (a memory map, so nothing is read before it is used) and
    ``fingerprint()``, what identifies its content for the feature cache without reading it
    (a path, size and modification time). A reader of any format can return one; it must
    pickle small (workers receive it, not its samples) and hold no open file."""

    @property
    def shape(self) -> tuple[int, int]: ...

    @property
    def T(self) -> LazySignal: ...  # noqa: N802 (NumPy's name)

    dtype: str

    def open(self) -> np.ndarray: ...

    def fingerprint(self) -> tuple: ...


@dataclass(frozen=True)
class MappedFile:
    """A float ``.npy`` file as a :class:`LazySignal`: the path, the array's shape and dtype
    (from its header), and whether it is seen transposed. Opening maps it read-only."""

    path: str
    shape: tuple[int, int]
    dtype: str
    transposed: bool = False

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def T(self) -> MappedFile:  # noqa: N802 (NumPy's name)
        return replace(self, shape=self.shape[::-1], transposed=not self.transposed)

    def open(self) -> np.memmap:
        data = np.load(self.path, mmap_mode="r", allow_pickle=False)
        return data.T if self.transposed else data

    def fingerprint(self) -> tuple:
        stat = os.stat(self.path)
        return str(Path(self.path).resolve()), self.transposed, stat.st_size, stat.st_mtime_ns


def on_disk(data: Any) -> bool:
    """Whether ``data`` is still on disk: a :class:`LazySignal`, or a float array memory-mapped
    from a file (kept as it is, not read into memory)."""
    return isinstance(data, LazySignal) or (isinstance(data, np.memmap) and np.issubdtype(data.dtype, np.floating))


#: Metadata keys every recording carries (``None`` where unknown); ``value`` is the trial's
#: continuous target (a score, an effort), for regression.
META_KEYS = ("subject", "session", "repetition", "label", "trial", "value")


def trial_id(meta: dict[str, Any]) -> str:
    """The id of a trial from its metadata: ``subject=1/session=train/repetition=0/label=fist``."""
    return "/".join(f"{k}={meta.get(k)}" for k in ("subject", "session", "repetition", "label"))


#: Units by channel type, used when a reader does not know better.
DEFAULT_UNITS = {"emg": "a.u.", "acc": "g", "gyro": "deg/s", "quat": "1", "misc": "a.u."}


@dataclass(frozen=True, eq=False)
class Recording:
    """One continuous multichannel signal.

    Parameters
    ----------
    data : array (n_channels, n_samples)
        The signal, stored as float64; or a signal not read yet (a :class:`LazySignal`, see
        :meth:`opened`), or memory-mapped, kept as it is.
    fs : float
        Sampling rate in Hz.
    ch_names, ch_types, units : sequences of str, one per channel
        Channel types are ``emg``, ``acc``, ``gyro``, ``quat`` or ``misc``.
    modality : str
        Name of the stream this recording belongs to (``emg``, ``imu`` ...).
    meta : dict
        ``subject``, ``session``, ``repetition``, ``label`` (class name), ``trial`` (id
        shared by the modalities of one trial) and ``source`` (file it came from).
    """

    data: np.ndarray
    fs: float
    ch_names: tuple[str, ...]
    ch_types: tuple[str, ...]
    units: tuple[str, ...] = ()
    modality: str = "emg"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = self.data if on_disk(self.data) else np.asarray(self.data, dtype=np.float64)
        if data.ndim != 2:
            raise DataError(f"{self.where}: a recording's data must be 2-D (channels × samples), got shape {data.shape}.")
        n = data.shape[0]
        if not np.isfinite(self.fs) or self.fs <= 0:
            raise DataError(f"{self.where}: sampling rate must be a positive number of Hz, got {self.fs!r}.")
        units = tuple(self.units) or tuple(DEFAULT_UNITS.get(t, "a.u.") for t in self.ch_types)
        for name, values in (("ch_names", self.ch_names), ("ch_types", self.ch_types), ("units", units)):
            if len(values) != n:
                raise DataError(f"{self.where}: {n} channels in the data but {len(values)} {name}: give one per channel.")
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "fs", float(self.fs))
        object.__setattr__(self, "ch_names", tuple(self.ch_names))
        object.__setattr__(self, "ch_types", tuple(self.ch_types))
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "meta", {k: None for k in META_KEYS} | dict(self.meta))

    def opened(self) -> Recording:
        """This recording with its samples as an array: a :class:`LazySignal` is opened
        (mapped, nothing read yet); any other recording is returned as it is."""
        return replace(self, data=self.data.open()) if isinstance(self.data, LazySignal) else self

    @property
    def where(self) -> str:
        """Where this recording came from, for messages."""
        meta = self.meta if isinstance(self.meta, dict) else {}
        return str(meta.get("source") or meta.get("trial") or f"{self.modality} recording")

    @property
    def n_channels(self) -> int:
        return self.data.shape[0]

    @property
    def n_samples(self) -> int:
        return self.data.shape[1]

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.fs

    @property
    def times(self) -> np.ndarray:
        """Sample times in seconds from the start of the recording."""
        return np.arange(self.n_samples) / self.fs

    def with_data(self, data: np.ndarray, fs: float | None = None) -> Recording:
        """A copy with new samples (same channels), and optionally a new sampling rate."""
        return replace(self, data=data, fs=self.fs if fs is None else fs)

    def pick(self, channels: Sequence[int]) -> Recording:
        """A copy keeping only the channels at these indices."""
        idx = list(channels)
        return replace(
            self,
            data=self.data[idx],
            ch_names=tuple(self.ch_names[i] for i in idx),
            ch_types=tuple(self.ch_types[i] for i in idx),
            units=tuple(self.units[i] for i in idx),
        )


class RecordingSet:
    """An ordered collection of recordings with a metadata table.

    ``classes`` gives the class names in their canonical order (labels are class names).
    The order of sessions is the order in which they first appear.
    """

    def __init__(self, recordings: Iterable[Recording], classes: Sequence[str] | None = None, name: str = "dataset"):
        self.recordings = list(recordings)
        if not self.recordings:
            raise DataError(f"{name}: no recordings. Check the dataset path and its filters.")
        labels = [r.meta["label"] for r in self.recordings]
        self.classes = list(classes) if classes is not None else list(dict.fromkeys(labels))
        unknown = sorted({str(lab) for lab in labels} - {str(c) for c in self.classes})
        if unknown:
            raise DataError(f"{name}: labels {unknown} are not among the classes {self.classes}.")
        self.name = name

    def __len__(self) -> int:
        return len(self.recordings)

    def __iter__(self) -> Iterator[Recording]:
        return iter(self.recordings)

    def __getitem__(self, i: int) -> Recording:
        return self.recordings[i]

    def __repr__(self) -> str:
        m = self.meta
        return (
            f"<RecordingSet {self.name!r}: {m['trial'].nunique()} trials, modalities {self.modalities}, "
            f"{m['subject'].nunique()} subjects, sessions {self.sessions}, {len(self.classes)} classes>"
        )

    @property
    def meta(self) -> pd.DataFrame:
        """One row per recording: metadata plus modality, fs, n_channels, n_samples, duration (s)."""
        rows = [
            {k: r.meta.get(k) for k in (*META_KEYS, "source")}
            | {"modality": r.modality, "fs": r.fs, "n_channels": r.n_channels, "n_samples": r.n_samples, "duration": r.duration}
            for r in self.recordings
        ]
        return pd.DataFrame(rows)

    @property
    def modalities(self) -> list[str]:
        return list(dict.fromkeys(r.modality for r in self.recordings))

    @property
    def sessions(self) -> list:
        return list(dict.fromkeys(r.meta["session"] for r in self.recordings))

    @property
    def subjects(self) -> list:
        return list(dict.fromkeys(r.meta["subject"] for r in self.recordings))

    def like(self, recordings: Iterable[Recording]) -> RecordingSet:
        """A new set with these recordings and this set's classes and name."""
        return RecordingSet(recordings, self.classes, self.name)

    def select(
        self,
        subjects: Sequence | Any = None,
        session: Sequence | Any = None,
        modalities: Sequence[str] | str | None = None,
        labels: Sequence | Any = None,
    ) -> RecordingSet:
        """Recordings whose metadata match every filter given (a value or a list of values)."""

        def wanted(value: Any, allowed: Any) -> bool:
            if allowed is None:
                return True
            allowed = allowed if isinstance(allowed, list | tuple | set) else [allowed]
            return value in allowed or str(value) in {str(a) for a in allowed}

        kept = [
            r
            for r in self.recordings
            if wanted(r.meta["subject"], subjects)
            and wanted(r.meta["session"], session)
            and wanted(r.modality, modalities)
            and wanted(r.meta["label"], labels)
        ]
        if not kept:
            raise DataError(
                f"{self.name}: no recording matches subjects={subjects}, session={session}, modalities={modalities}, "
                f"labels={labels}. Available: subjects {self.subjects}, sessions {self.sessions}, modalities {self.modalities}."
            )
        return self.like(kept)

    def first_of_each(self) -> dict[str, Recording]:
        """The first recording of each modality, in the order of :attr:`modalities`."""
        first: dict[str, Recording] = {}
        for r in self.recordings:
            first.setdefault(r.modality, r)
        return first

    def trials(self) -> dict[Any, dict[str, Recording]]:
        """Recordings grouped by trial id: ``{trial: {modality: Recording}}``, in order."""
        out: dict[Any, dict[str, Recording]] = {}
        for r in self.recordings:
            out.setdefault(r.meta["trial"], {})[r.modality] = r
        return out

    def check_consistent_channels(self) -> None:
        """Every recording of a modality must have the same channels and sampling rate."""
        first: dict[str, Recording] = {}
        for r in self.recordings:
            ref = first.setdefault(r.modality, r)
            if r.ch_names != ref.ch_names:
                raise DataError(
                    f"{r.where} has {r.n_channels} {r.modality} channels {list(r.ch_names)} but {ref.where} has "
                    f"{ref.n_channels} {list(ref.ch_names)}: every file of one modality must have the same channels."
                )
            if not np.isclose(r.fs, ref.fs):
                raise DataError(
                    f"{r.where} is sampled at {r.fs:g} Hz but {ref.where} at {ref.fs:g} Hz: resample them to one rate first."
                )


def session_label(name: Any) -> str:
    """A session as a reader names it: ``session1`` or ``1`` → ``session 1``, ``train`` → ``session train``."""
    rest = re.sub(r"^session[\s_-]*", "", str(name), flags=re.IGNORECASE)
    return f"session {rest}" if rest else str(name)
