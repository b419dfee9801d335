"""What an experiment file tells of a dataset before any of it is read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmelearn.errors import DataError
from bmelearn.signals.recording import Recording


@dataclass(frozen=True)
class Description:
    """A dataset as its options describe it: the sampling ``rates`` of its modalities (Hz, as
    recorded) and, where they are known before reading it (None otherwise), its ``sessions``,
    ``classes`` and ``subjects``, the ``repetitions`` of each class in a session, the
    ``duration`` of every trial (s) and the ``pattern`` of its files' paths under its folder.
    An experiment is checked against it before any work starts."""

    rates: Mapping[str, float]
    sessions: Sequence[Any] | None = None
    classes: Sequence[str] | None = None
    subjects: Sequence[Any] | None = None
    repetitions: int | None = None
    duration: float | None = None
    pattern: str | None = None


def missing_sessions(recordings: Sequence[Recording], sessions: Sequence, path: str | Path, pattern: str) -> None:
    """A DataError naming the folder and the file pattern if no recording is of one of ``sessions``."""
    found = list(dict.fromkeys(r.meta["session"] for r in recordings))
    missing = [s for s in sessions if str(s) not in map(str, found)]
    if missing:
        raise DataError(f"{path}: no file of session(s) {missing} matches the pattern {pattern!r} (sessions found: "
                        f"{found}); check the folder's file names, dataset.path or dataset.sessions.")
