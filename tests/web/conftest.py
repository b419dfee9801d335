"""The runs and recordings the web tests serve and upload: every behaviour tested on the 3DC run
(real recordings, skipped without them) is also tested on the simulated EMG run, so that a fresh
clone without ../shared/data still tests it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Recorded:
    """A run of ``web_runs`` whose model ``RUN/lda`` takes one EMG file, and two recordings for it."""

    kind: str  # "simulated" or "3DC"
    run: str
    path: Path  # a recording of gesture ``label``, numeric text without a header
    other: Path  # a recording of another gesture
    label: str
    channels: tuple[str, ...]
    n_windows: int  # of ``path``: 0.2 s windows every 0.1 s
    min_correct: int  # windows of ``path`` that the model must find to be ``label``
    min_accuracy: float  # the cross-session accuracy that the run must have validated

    @property
    def model(self) -> str:
        return f"{self.run}/lda"

    def model_file(self, runs: Path) -> Path:
        return runs / self.run / "models" / "lda.skops"


@pytest.fixture(params=["simulated", "3dc"], ids=["simulated EMG run", "3DC run"])
def recorded(request, web_runs) -> Recorded:
    """The simulated EMG run ``sim-emg`` with simulated uploads (always), and the 3DC run
    ``3dc-p1`` with recordings of participant 1 (skipped without the real recordings)."""
    if request.param == "simulated":
        file = request.getfixturevalue("simulated_emg_file")
        return Recorded("simulated", "sim-emg", file("session2", 0, "wrist flexion"), file("session2", 1, "supination"),
                        "wrist flexion", tuple(f"EMG{i + 1}" for i in range(6)), 29, 22, 0.85)
    file = request.getfixturevalue("threedc_file")  # skips without ../shared/data
    return Recorded("3DC", "3dc-p1", file("test", 0, 2), file("test", 1, 5),
                    "wrist flexion", tuple(f"EMG{i + 1}" for i in range(10)), 47, 40, 0.85)
