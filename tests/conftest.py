"""Shared fixtures. Real recordings come from ../shared/data through the ``shared_data`` fixture."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(os.environ.get("BMELEARN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real recordings (../shared/data beside the checkout, or $BMELEARN_DATA).

    Tests that use it are skipped when it is absent: a user's fresh clone does not have it.
    """
    if not (DATA / "README.md").is_file():
        pytest.skip(f"real recordings not found at {DATA} (set BMELEARN_DATA to the shared data folder)")
    return DATA


@pytest.fixture(scope="session")
def threedc_subject1(shared_data):
    """3DC participant 1, EMG and IMU, both sessions."""
    from bmelearn.datasets.threedc import load_3dc

    return load_3dc(shared_data / "3dc", subjects=[1], modalities=("emg", "imu"))


@pytest.fixture(scope="session")
def simulated():
    """A small simulated dataset (3 subjects, 2 sessions, 2 repetitions, 1.5 s trials)."""
    from bmelearn.datasets.simulator import simulate

    return simulate(n_subjects=3, n_sessions=2, n_repetitions=2, duration=1.5, seed=3)
