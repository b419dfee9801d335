"""The stage clock of a run: each stage's wall time and the peak memory while it ran."""

import time

import numpy as np

from bmelearn.runs.stages import StageClock


def test_stages_are_timed_in_order_and_their_memory_peak_is_seen():
    calls = []
    with StageClock(lambda *call: calls.append(call)) as clock:
        clock("loading dataset", 0, 1)
        time.sleep(0.3)
        clock("features", 1, 4)
        held = np.ones(50_000_000)  # 400 MB while the stage runs, freed before it ends
        time.sleep(0.5)
        del held
        clock("features", 4, 4)
        clock("evaluating: fold 0", 1, 2)
    assert calls == [("loading dataset", 0, 1), ("features", 1, 4), ("features", 4, 4), ("evaluating: fold 0", 1, 2)]
    assert [s["stage"] for s in clock.stages] == ["loading dataset", "features", "evaluating"]
    loading, features, _ = clock.stages
    assert 0.3 <= loading["seconds"] < 5 and 0.5 <= features["seconds"] < 5
    assert features["peak_mb"] - loading["peak_mb"] > 300  # the sampler saw the 400 MB the stage held
