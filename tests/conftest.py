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


#: The demo experiment (`bmelearn run`) on fewer simulated subjects, so the web tests start fast.
DEMO_SMALL = ["dataset.n_subjects=3", "dataset.n_repetitions=2", "dataset.duration=1.5",
              "protocols=[cross_session, loso]"]

#: 3DC participant 1, LS4 features, LDA: a model that takes 3DC recordings (10 EMG channels, 1 kHz).
THREEDC_SMALL = {
    "name": "3dc-p1", "seed": 0,
    "dataset": {"name": "3dc", "subjects": [1]},
    "windows": {"length": 0.2, "step": 0.1}, "features": ["LS4"], "models": ["lda"],
    "protocols": [{"cross_session": {"train": ["train"], "test": ["test"]}}], "evaluation": {"n_boot": 200},
}


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory) -> Path:
    """A runs folder holding the demo experiment's run folder, ``demo``."""
    from bmelearn.runs.config import load_config
    from bmelearn.runs.experiment import run

    root = tmp_path_factory.mktemp("served")
    run(load_config(None, DEMO_SMALL), root / "demo")
    return root


@pytest.fixture(scope="session")
def served_runs(demo_runs, shared_data) -> Path:
    """The demo runs folder with a 3DC participant-1 run, ``3dc-p1``, beside the demo."""
    from bmelearn.runs.config import ExperimentConfig
    from bmelearn.runs.experiment import run

    if not (demo_runs / "3dc-p1").is_dir():
        config = THREEDC_SMALL | {"dataset": THREEDC_SMALL["dataset"] | {"path": str(shared_data / "3dc")}}
        run(ExperimentConfig.model_validate(config), demo_runs / "3dc-p1")
    return demo_runs


#: A simulated run of one signal, EMG only (6 channels at 1 kHz, Hudgins' features, LDA): a model
#: that takes a single-file upload, beside the demo, so the web tests run without the real recordings.
SIMULATED_EMG_SMALL = {
    "name": "sim-emg", "seed": 0,
    "dataset": {"name": "simulator", "n_subjects": 2, "n_sessions": 2, "n_repetitions": 2, "duration": 1.5,
                "n_channels": 6, "seed": 5},
    "windows": {"length": 0.2, "step": 0.1}, "features": ["HTD"], "models": ["lda"],
    "protocols": [{"cross_session": {"train": ["session1"], "test": ["session2"]}}], "evaluation": {"n_boot": 200},
}


@pytest.fixture(scope="session")
def shared_data_present() -> bool:
    """Whether the real recordings are here (then ``shared_data`` and what needs it do not skip)."""
    return (DATA / "README.md").is_file()


@pytest.fixture(scope="session")
def web_runs(demo_runs, shared_data_present, request) -> Path:
    """The demo runs folder with a simulated EMG-only run, ``sim-emg``, beside the demo and, where
    the real recordings are, the 3DC run ``3dc-p1`` (``served_runs``): what the web tests serve."""
    from bmelearn.runs.config import ExperimentConfig
    from bmelearn.runs.experiment import run

    if not (demo_runs / "sim-emg").is_dir():
        run(ExperimentConfig.model_validate(SIMULATED_EMG_SMALL), demo_runs / "sim-emg")
    if shared_data_present:
        request.getfixturevalue("served_runs")
    return demo_runs


@pytest.fixture(scope="session")
def simulated_emg_recording():
    """``simulated_emg_recording(session, repetition, label)``: a 3 s simulated EMG recording of
    subject 1 of the ``sim-emg`` run's simulator (same seed and channels, so the same armband
    placement and muscles; longer trials, so new samples): 6 channels at 1 kHz, in mV."""
    from bmelearn.datasets.simulator import simulate

    options = {k: v for k, v in SIMULATED_EMG_SMALL["dataset"].items() if k != "name"}
    data = simulate(**(options | {"n_subjects": 1, "duration": 3.0})).select(modalities="emg")

    def recording(session: str = "session2", repetition: int = 0, label: str = "wrist flexion"):
        return next(r for r in data if (r.meta["session"], r.meta["repetition"], r.meta["label"]) == (session, repetition, label))

    return recording


@pytest.fixture(scope="session")
def simulated_emg_file(simulated_emg_recording, tmp_path_factory):
    """``simulated_emg_file(session, repetition, label, header=False)``: that simulated recording
    as an upload would be, numeric text: one sample per line, one comma-separated column per
    channel (each value written exactly, ``repr``), with a first line of channel names if
    ``header``."""
    folder = tmp_path_factory.mktemp("simulated-uploads")

    def path(session: str = "session2", repetition: int = 0, label: str = "wrist flexion", header: bool = False) -> Path:
        recording = simulated_emg_recording(session, repetition, label)
        out = folder / f"sim_emg_{session}_{repetition}_{label.replace(' ', '-')}{'_named' if header else ''}.csv"
        lines = [",".join(recording.ch_names)] if header else []
        lines += [",".join(repr(float(v)) for v in row) for row in recording.data.T]
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return out

    return path


@pytest.fixture(scope="session")
def threedc_file(shared_data):
    """``threedc_file(session, repetition, label)``: one 3DC EMG recording of participant 1
    (10 channels, 1 kHz, 5 s); label 2 is wrist flexion."""

    def path(session: str = "test", repetition: int = 0, label: int = 2) -> Path:
        return shared_data / "3dc" / "Participant1" / session / "EMG" / f"3dc_EMG_gesture_{repetition}_{label}.txt"

    return path


@pytest.fixture(scope="session")
def deployable():
    """``deployable(estimator, classes)``: a fitted estimator in a saveable model, behind the
    signal pipeline of 3 EMG channels at 1 kHz (MAV of 0.2 s windows), to test saving and
    loading an estimator on its own."""
    import numpy as np

    from bmelearn.pipeline import SignalPipeline
    from bmelearn.serving import DeployableModel
    from bmelearn.signals.recording import Recording

    emg = Recording(np.zeros((3, 1000)), 1000.0, ("EMG1", "EMG2", "EMG3"), ("emg",) * 3)
    signal = SignalPipeline.fit({"emg": emg}, [], {}, 0.2, 0.1, False, {"emg": ["MAV"]})

    def wrap(estimator, classes=()):
        return DeployableModel(signal, estimator, list(classes), {"model": type(estimator).__name__})

    return wrap


def pytest_collection_modifyitems(config, items):
    """Tests under tests/integration/ run whole experiments: marked ``integration``, so that
    ``pytest -m "not integration"`` runs the fast unit tests alone."""
    integration = Path(__file__).parent / "integration"
    for item in items:
        if integration in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)
