"""Predictions that run in worker threads, so a long one blocks no page and reports progress."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bmelearn.errors import BmeError

log = logging.getLogger("bmelearn.web")

#: Finished jobs are forgotten after this many seconds, and beyond this many jobs.
KEEP_SECONDS = 1800
KEEP_JOBS = 50


@dataclass
class Job:
    """One prediction: its state (``running``, ``done``, ``failed``), progress in windows, and
    its result or the message of its failure."""

    id: str
    model: tuple[str, str]
    context: dict[str, Any]
    state: str = "running"
    done: int = 0
    total: int = 0
    result: pd.DataFrame | None = None
    error: str | None = None
    started: float = field(default_factory=time.time)
    seconds: float | None = None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


class Jobs:
    """A pool of ``workers`` threads running prediction jobs, and the recent jobs by id."""

    def __init__(self, workers: int = 2):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bmelearn-predict")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, model: tuple[str, str], work: Callable[[Callable[[int, int], None]], pd.DataFrame],
               context: dict[str, Any] | None = None) -> Job:
        """Start ``work(progress)`` in a worker thread; it returns the predictions table."""
        job = Job(secrets.token_urlsafe(16), model, context or {})
        with self._lock:
            self._forget_old()
            self._jobs[job.id] = job
        self._pool.submit(self._run, job, work)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _run(job: Job, work: Callable[[Callable[[int, int], None]], pd.DataFrame]) -> None:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            job.result = work(progress)
            job.state = "done"
        except BmeError as exc:
            job.error, job.state = str(exc), "failed"
        except Exception as exc:  # noqa: BLE001  the job's page says so and the server goes on
            log.error("prediction job with %s/%s failed: %s", *job.model, type(exc).__name__)  # no values in logs
            job.error, job.state = f"the prediction failed ({type(exc).__name__}); the server log has the model's name.", "failed"
        job.seconds = time.time() - job.started

    def _forget_old(self) -> None:
        now = time.time()
        old = [k for k, j in self._jobs.items() if j.state != "running" and now - j.started > KEEP_SECONDS]
        for key in old:
            del self._jobs[key]
        while len(self._jobs) >= KEEP_JOBS:
            del self._jobs[next(iter(self._jobs))]
