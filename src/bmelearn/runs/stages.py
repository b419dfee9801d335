"""Where a run's time and memory went: the wall time and peak memory of each of its stages
(loading, quality, features, evaluating, scoring, summarizing, final models, report), recorded
in ``run.json`` and printed by ``bmelearn run --profile``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

#: How often the memory of the run's processes is sampled (s).
SAMPLE_SECONDS = 0.2


def tree_memory(process: psutil.Process) -> int:
    """The resident memory of ``process`` and of its child processes (the workers), in bytes
    (shared pages count once per process, so this bounds the real use from above)."""
    total = 0
    for member in (process, *process.children(recursive=True)):
        try:
            total += member.memory_info().rss
        except psutil.Error:  # a worker that ended between the listing and the reading
            pass
    return total


class StageClock:
    """A progress callback, ``clock(stage, done, total)``, that passes every call on to
    ``progress`` and times the stages (a stage is the text before ':'); used as a context, it
    samples the memory of this process and its workers in a thread. :attr:`stages` lists each
    stage once it ends: ``{"stage", "seconds", "peak_mb"}``."""

    def __init__(self, progress: Callable[[str, int, int], None]):
        self.progress = progress
        self.stages: list[dict[str, Any]] = []
        self._current: str | None = None
        self._started = 0.0
        self._peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._process = psutil.Process()
        self._sampler = threading.Thread(target=self._sample, name="bmelearn-memory", daemon=True)

    def __enter__(self) -> StageClock:
        self._sampler.start()
        return self

    def __exit__(self, *failed: object) -> None:
        self.end()
        self._stop.set()
        self._sampler.join()

    def __call__(self, stage: str, done: int, total: int) -> None:
        name = stage.split(":")[0]
        if name != self._current:
            self.end()
            with self._lock:
                self._current, self._started, self._peak = name, time.perf_counter(), tree_memory(self._process)
        self.progress(stage, done, total)

    def end(self) -> None:
        """Close the current stage (the next call opens a new one)."""
        with self._lock:
            if self._current is not None:
                peak = max(self._peak, tree_memory(self._process))
                self.stages.append({"stage": self._current, "seconds": round(time.perf_counter() - self._started, 3),
                                    "peak_mb": round(peak / 1e6, 1)})
            self._current = None

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            used = tree_memory(self._process)
            with self._lock:
                self._peak = max(self._peak, used)
