"""Execution backends give identical results; a killed run resumes to the same results."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from bmelearn.compute.backends import Execution, run_units, running
from bmelearn.errors import ConfigError
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run

SMALL = ["dataset.n_subjects=3", "dataset.n_repetitions=2", "dataset.duration=1.5",
         "models=[lda, rf, {name: mlp, hidden: [16], max_epochs: 3}]",
         "protocols=[cross_session, loso]", "evaluation.n_boot=200"]


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    return run(load_config(None, [*SMALL, "execution.backend=sequential"]), tmp_path_factory.mktemp("seq") / "run")


def _same(a, b):
    pd.testing.assert_frame_equal(a.results, b.results)
    pd.testing.assert_frame_equal(a.confusion, b.confusion)
    assert a.summary == b.summary


def test_local_processes_give_identical_results(sequential, tmp_path):
    _same(sequential, run(load_config(None, [*SMALL, "execution.backend=processes", "execution.workers=2"]), tmp_path / "p"))


def test_dask_local_cluster_gives_identical_results(sequential, tmp_path):
    pytest.importorskip("distributed")
    messages = []
    result = run(load_config(None, [*SMALL, "execution.backend=dask", "execution.workers=2"]), tmp_path / "d",
                 announce=messages.append)
    _same(sequential, result)
    assert len(messages) == 1 and messages[0].startswith("Dask cluster tcp://127.0.0.1:") and "dashboard http" in messages[0]


def _dies_once(marker: str, x: int) -> int:
    """Kills its worker process the first time any worker runs it, then doubles ``x``."""
    try:
        with open(marker, "x"):
            pass
    except FileExistsError:
        return 2 * x
    os._exit(1)


def test_dask_runs_a_unit_again_when_its_worker_dies(tmp_path):
    pytest.importorskip("distributed")
    marker = tmp_path / "died"
    with running(Execution("dask", 2)):
        assert run_units(_dies_once, [(str(marker), i) for i in range(6)]) == [0, 2, 4, 6, 8, 10]
    assert marker.exists()  # a worker did die


def test_scheduler_address_is_checked():
    with pytest.raises(ConfigError, match="set backend: dask too"):
        load_config(None, ["execution.scheduler=tcp://127.0.0.1:8786"])
    with pytest.raises(ConfigError, match="must be a Dask address"):
        load_config(None, ["execution.backend=dask", "execution.scheduler=127.0.0.1:8786"])


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    pytest.importorskip("distributed")
    config = load_config(None, [*SMALL, "execution.backend=dask", "execution.scheduler=tcp://127.0.0.1:9"])
    with pytest.raises(ConfigError, match="no Dask scheduler answers at tcp://127.0.0.1:9"):
        run(config, tmp_path / "x")


def test_killed_run_resumes_to_identical_results(sequential, tmp_path):
    """SIGKILL the whole run (its worker processes too) after a few fits, then run the same command again."""
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "bmelearn.cli", "run", "--out", str(out), "--backend", "processes", "--workers", "2",
               *[a for s in SMALL for a in ("--set", s)]]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    units = tmp_path / ".cache" / "fits"  # the completed units (fits, then scorings), kept in the cache
    deadline = time.time() + 120
    while time.time() < deadline and len(list(units.glob("*.npz"))) < 4 and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(list(units.glob("*.npz")))
    assert 4 <= done_before < 3 * 6, "the run was not killed part-way"
    assert not out.exists()
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    resumed = pd.read_csv(out / "results.csv")
    expected = sequential.results
    pd.testing.assert_frame_equal(resumed, pd.read_csv(sequential.folder / "results.csv"))
    assert len(resumed) == len(expected)


def test_features_are_cached_by_content_and_parameters(tmp_path, monkeypatch):
    from bmelearn.pipeline import SignalPipeline

    computed = []
    real = SignalPipeline.features

    def counting(self, arrays, n):
        computed.append(n)
        return real(self, arrays, n)

    monkeypatch.setattr(SignalPipeline, "features", counting)
    base = [*SMALL[:3], "protocols=[cross_session]", "execution.backend=sequential"]
    first = run(load_config(None, [*base, "models=[lda]"]), tmp_path / "a")
    n_trials = len(computed)
    assert n_trials > 50 and sum(computed) > 500  # one unit per trial
    stages = []
    second = run(load_config(None, [*base, "models=[knn]"]), tmp_path / "b", lambda s, d, t: stages.append(s))
    assert f"features: {n_trials} of {n_trials} trials from the cache" in stages
    assert len(computed) == n_trials  # the second run computed no features
    from bmelearn.pipeline.batch import TRIALS_PER_UNIT

    entries = list((tmp_path / ".cache" / "features").glob("*.npz"))
    per_session = pd.read_csv(first.folder / "recordings.csv").drop_duplicates("trial").groupby(["subject", "session"]).size()
    assert len(entries) == sum(-(-n // TRIALS_PER_UNIT) for n in per_session)  # a few trials of one session per entry
    run(load_config(None, [*base, "models=[lda]", "features.params={ZC: {threshold: 0.01}}"]), tmp_path / "c")
    assert len(computed) == 2 * n_trials  # other parameters: computed again
    uncached = run(load_config(None, [*base, "models=[lda]", "execution.cache=false"]), tmp_path / "d")
    assert len(computed) == 3 * n_trials
    pd.testing.assert_frame_equal(first.results, uncached.results)
    assert second.results["pipeline"].unique().tolist() == ["knn"]


def test_a_unit_of_work_keeps_numba_and_pytorch_on_one_thread():
    numba = pytest.importorskip("numba")
    torch = pytest.importorskip("torch")
    from bmelearn.compute.backends import single_threaded, torch_threads

    numba_before, torch_before = numba.get_num_threads(), torch.get_num_threads()
    with torch_threads():
        assert torch.get_num_threads() == torch_before  # outside a unit: PyTorch's own number
    with single_threaded():
        assert numba.get_num_threads() == 1
        with torch_threads():
            assert torch.get_num_threads() == 1
    assert (numba.get_num_threads(), torch.get_num_threads()) == (numba_before, torch_before)
