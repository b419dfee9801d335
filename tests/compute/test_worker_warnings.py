"""A worker that loky replaces for its memory is not reported: the run's units all complete.

The unit function lives in this light module because every worker imports it to run it.
"""

import os
import time
import warnings

import numpy as np
import pytest

from bmelearn.compute.backends import Execution, run_units, running

_BALLAST: list = []  # what a worker keeps, as a worker keeps PyTorch once it has imported it


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # a worker that exited stays a zombie until loky joins it
    except ProcessLookupError:
        return False
    return True


def _grows_once(marker: str, x: int) -> tuple[int, bool]:
    """``2 * x`` and whether this unit waited for the grown worker to be gone. The second unit a
    worker runs, in the first worker to get there, takes 1.2 s and leaves 400 MB resident for good:
    the one-off growth of a worker that imports PyTorch (measured: +280 MB) after loky took its
    memory reference, which loky takes for a leak and retires the worker. Units that start in other
    workers after that wait until loky has joined it, so units are still running and waiting when
    loky checks whether to warn."""
    _BALLAST.append(x)
    if len(_BALLAST) == 2:
        try:
            with open(marker, "x") as f:
                f.write(str(os.getpid()))
        except FileExistsError:
            pass
        else:
            time.sleep(1.2)  # loky checks a worker's memory at most once a second
            _BALLAST.append(np.ones(50_000_000))
            return 2 * x, False
    waited = False
    deadline = time.time() + 20
    while os.path.exists(marker) and time.time() < deadline:
        with open(marker) as f:
            grower = f.read()
        if grower and (int(grower) == os.getpid() or not _alive(int(grower))):
            waited = int(grower) != os.getpid()
            break
        time.sleep(0.01)
    time.sleep(0.02)
    return 2 * x, waited


def test_a_worker_retired_for_its_memory_is_not_reported(tmp_path):
    """loky replaces a worker whose memory grew 300 MB since its first unit and warns "A worker stopped
    while some jobs were given to the executor"; every run with a neural network did, and the warning went
    into run.json and the report. No unit is lost and the results are the same: nothing to report."""
    pytest.importorskip("psutil")  # without it loky does not watch the workers' memory
    marker = tmp_path / "grew"
    with warnings.catch_warnings(record=True) as caught, running(Execution("processes", 2)):
        warnings.simplefilter("always")  # as a run records its warnings
        results = run_units(_grows_once, [(str(marker), i) for i in range(60)])
    assert [r[0] for r in results] == [2 * i for i in range(60)]
    assert any(r[1] for r in results), "no worker was retired while units ran: the test did not make one grow"
    assert not [w for w in caught if "A worker stopped" in str(w.message)]
