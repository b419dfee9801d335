"""The ``auto`` backend: units whose data costs more to send than to process stay in this
process; units with much work per byte go to the workers; the results are the same either way."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from bmelearn.compute import backends
from bmelearn.compute.backends import Execution, run_units, running, worth_workers


def test_cheap_units_on_large_data_stay_here():
    # a recording's features: 1 ms of work on 400 kB sent (1.3 ms at 300 MB/s + 2 ms round trip)
    assert not worth_workers(0.001, 400_000, 2.0, 2000, 2, started=True)


def test_units_with_much_work_per_byte_go_to_the_workers():
    # a network's fit: 5 s of work on 50 kB sent, 40 more fits
    assert worth_workers(5.0, 50_000, 200.0, 40, 2, started=False)


def test_starting_the_workers_must_pay_for_itself():
    # 20 units of 0.1 s: 1 s saved on 2 workers, less than their start-up, unless they run already
    assert not worth_workers(0.1, 1_000, 2.0, 20, 2, started=False)
    assert worth_workers(0.1, 1_000, 2.0, 20, 2, started=True)


def test_one_worker_saves_nothing():
    assert not worth_workers(5.0, 1_000, 100.0, 20, 1, started=True)


def _where(seconds: float, value: int) -> tuple[int, int]:
    time.sleep(seconds)
    return os.getpid(), value * value


@pytest.mark.parametrize("seconds", [0.0, 0.2])
def test_auto_runs_here_or_on_the_workers_with_the_same_results(monkeypatch, seconds):
    monkeypatch.setattr(backends, "WORKER_START_S", 0.0)
    units = [(seconds, v) for v in range(8)]
    finished = []
    with running(Execution("auto", 2)):
        out = run_units(_where, units, lambda j, result: finished.append(j))
    assert [value for _, value in out] == [v * v for v in range(8)]
    assert sorted(finished) == list(range(8))
    elsewhere = {pid for pid, _ in out} - {os.getpid()}
    if seconds:  # 0.2 s of work for a few bytes: measured here on the last units, the first went to the workers
        assert out[-1][0] == os.getpid() and out[0][0] in elsewhere
    else:  # no work: nothing is worth sending
        assert not elsewhere


def test_the_cheapest_units_are_measured_here_and_the_costliest_sent_first(monkeypatch):
    """A costly unit measured here would keep one core busy while the others wait: the probe
    takes the cheapest units, and the workers get the rest costliest first."""
    monkeypatch.setattr(backends, "WORKER_START_S", 0.0)
    monkeypatch.setattr(backends, "PROBE_UNITS", 2)
    units = [(0.05 * (1 + v % 4), v) for v in range(8)]
    with running(Execution("auto", 2)):
        out = run_units(_where, units, cost=[seconds for seconds, _ in units])
    assert [value for _, value in out] == [v * v for v in range(8)]
    here = [v for v, (pid, _) in enumerate(out) if pid == os.getpid()]
    assert here == [0, 4]  # the two of 0.05 s
    assert all(pid != os.getpid() for (seconds, _), (pid, _) in zip(units, out, strict=True) if seconds >= 0.15)


def test_the_size_sent_leaves_out_what_loky_memory_maps():
    small, large = np.zeros(1000), np.zeros(10 * backends.MEMMAPPED_BYTES // 8)
    assert 8000 < backends._sent_bytes((small,)) < 9000
    assert backends._sent_bytes((large,)) < 200


def _on_which_thread(value: int) -> tuple[str, bool, int]:
    import threading

    from bmelearn.compute.backends import in_unit_of_work

    time.sleep(0.01)  # sleeping releases the GIL, as compiled kernels do
    if value == 13:
        raise ValueError("unit 13")
    return threading.current_thread().name, in_unit_of_work(), value * value


def test_units_that_release_the_gil_share_the_cores_here_as_units_of_work(monkeypatch):
    monkeypatch.setattr(backends.os, "sched_getaffinity", lambda _: {0, 1})
    monkeypatch.setattr(backends, "worth_workers", lambda *_, **__: False)  # they stay here (not sent to workers)
    main = __import__("threading").current_thread().name
    finished = []
    with running(Execution("auto", 2)):
        out = run_units(_on_which_thread, [(v,) for v in range(10)],
                        lambda j, result: finished.append((j, __import__("threading").current_thread().name)), threads=True)
        assert [value for _, _, value in out] == [v * v for v in range(10)]
        assert {name for name, _, _ in out[:-2]} - {main}  # but the last two, measured here: on the pool's threads
        assert all(unit for _, unit, _ in out[:-2])  # each one a unit of work: libraries keep to its thread
        assert sorted(j for j, _ in finished) == list(range(10)) and {name for _, name in finished} == {main}
        with pytest.raises(ValueError, match="unit 13"):
            run_units(_on_which_thread, [(v,) for v in range(20)], threads=True)
    with running(Execution("sequential")):  # asked to run in turn: it does
        assert {name for name, _, _ in run_units(_on_which_thread, [(v,) for v in range(4)], threads=True)} == {main}
