"""Where the independent units of work run: one after the other, in local processes, or on a
Dask cluster, through joblib, so that every backend runs the same function on the same
arguments and gives the same results.

- ``auto`` (the default): each batch of units in this process, unless sending them to
  ``workers`` local processes pays (:func:`worth_workers`): the cheapest units run here and are
  timed, and the rest go to the workers only when they finish sooner there, counting the
  sending of each unit and the workers' start-up. Cheap units on data held in memory (a
  recording's quality checks, a trial's features) stay here: copying their data to a worker
  costs more than the work (22 3DC participants, a trial per unit: features 1.65 s here, 3.9 s on 2 workers).
  A grid of fits (the demo's 120), networks, ROCKET and costly features go to the workers.
- ``sequential``: in this process.
- ``processes``: ``workers`` local processes (loky; default: all cores). Large arrays go to
  the workers memory-mapped, not copied.
- ``dask``: the Dask cluster at ``scheduler`` (``tcp://HOST:8786``), or a local cluster of
  ``workers`` single-threaded processes on loopback. A task whose worker dies is run again
  on another worker (Dask's ``allowed-failures``); the dashboard address is reported.

Each unit runs single-threaded (:func:`single_threaded`), so the backends agree to the bit;
the parallelism is across units.
"""

from __future__ import annotations

import contextlib
import contextvars
import gc
import io
import os
import pickle
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from joblib import Parallel, delayed, parallel_config

from bmelearn.errors import ConfigError

Backend = Literal["auto", "sequential", "processes", "dask"]


@dataclass(frozen=True)
class Execution:
    """A backend and its size; ``scheduler`` is a Dask scheduler address (dask only)."""

    backend: Backend = "auto"
    workers: int | None = None
    scheduler: str | None = None

    @property
    def n_workers(self) -> int:
        if self.backend == "sequential":
            return 1
        return self.workers or os.cpu_count() or 1


@contextlib.contextmanager
def running(execution: Execution, announce: Callable[[str], None] | None = None) -> Iterator[None]:
    """Make ``execution`` the backend of :func:`run_units` inside the block; for Dask, start
    (or connect to) the cluster and ``announce`` its dashboard address."""
    if execution.backend == "auto":
        token = _AUTO_WORKERS.set(execution.n_workers)
        try:
            with parallel_config(backend="sequential"):
                yield
        finally:
            _AUTO_WORKERS.reset(token)
        return
    if execution.backend != "dask":
        backend = "loky" if execution.backend == "processes" else "sequential"
        with parallel_config(backend=backend, n_jobs=execution.n_workers):
            yield
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("execution.backend: dask needs the distributed package: pip install 'bmelearn[dask]'.") from None
    with contextlib.ExitStack() as stack:
        if execution.scheduler:
            try:
                client = stack.enter_context(Client(execution.scheduler, timeout="20s"))
            except OSError as exc:
                raise ConfigError(f"execution.scheduler: no Dask scheduler answers at {execution.scheduler} ({exc}).") from None
        else:
            cluster = stack.enter_context(LocalCluster(n_workers=execution.n_workers, threads_per_worker=1,
                                                       host="127.0.0.1", dashboard_address="127.0.0.1:0"))
            client = stack.enter_context(Client(cluster))
        if announce is not None:
            announce(f"Dask cluster {client.scheduler.address}, dashboard {client.dashboard_link}")
        with parallel_config(backend="dask", n_jobs=-1):
            yield


def joblib_threads(workers: int) -> contextlib.AbstractContextManager:
    """joblib calls inside the block (a random forest's trees) on ``workers`` threads of this
    process: for a fit made here rather than in a unit of work (the final models). The trees are
    the same on any number of threads: each gets its seed before any is grown."""
    return parallel_config(backend="threading", n_jobs=workers)


#: The workers :func:`run_units` may use under the ``auto`` backend (0: not under it).
_AUTO_WORKERS: ContextVar[int] = ContextVar("bmelearn_auto_workers", default=0)

#: ``auto`` measures the units' work on the cheapest ones, run here, until this many seconds or
#: :data:`PROBE_UNITS` units (two, for units that run on threads here);
PROBE_SECONDS = 0.5
PROBE_UNITS = 6
#: sending a unit: pickling, the pipe and unpickling (bytes per second, 2 busy cores) and a round trip (s);
TRANSFER_BYTES_PER_S = 300e6
ROUND_TRIP_S = 0.002
#: starting the workers, the first time (s; each imports NumPy, SciPy and scikit-learn).
WORKER_START_S = 2.0
#: Arrays at least this large go to loky's workers memory-mapped (joblib's ``max_nbytes``), not
#: through the pipe: they cost once per batch, not per unit.
MEMMAPPED_BYTES = 2**20


#: True inside :func:`single_threaded`: libraries that start threads only when they are used
#: (PyTorch) ask :func:`torch_threads`, and stay on one thread inside a unit of work too.
_SINGLE_THREADED: ContextVar[bool] = ContextVar("bmelearn_single_threaded", default=False)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """One thread inside the block for BLAS and OpenMP, for Numba's parallel kernels (entropy
    features) and for PyTorch (through :func:`torch_threads`); joblib calls inside it (a random
    forest's trees) run in turn. A unit run this way gives the same numbers whichever backend
    runs it: summation order in multithreaded kernels depends on the number of threads. On a
    Dask worker it also keeps joblib from sending the unit's inner tasks back to the cluster,
    which oversubscribes the workers (measured: fits 2.6× slower). Inside a unit of work already
    (on a thread of :func:`on_threads`), only this thread's settings are made: the native pools'
    limit is the process's, and is held by whoever started the unit."""
    if _SINGLE_THREADED.get():
        with parallel_config(backend="sequential"), _numba_threads(1):
            yield
        return
    token = _SINGLE_THREADED.set(True)
    try:
        with _threadpools().limit(limits=1), parallel_config(backend="sequential"), _numba_threads(1):
            yield
    finally:
        _SINGLE_THREADED.reset(token)


_controller: tuple[int, Any] = (-1, None)


def _threadpools() -> Any:
    """threadpoolctl's controller of the native thread pools loaded in this process. Finding them
    scans the loaded libraries (3-11 ms, once per unit of work it was 22 s of a 22-participant
    run), so it is done again only when modules were imported since, which is how a new native
    library (a BLAS, an OpenMP runtime) comes in."""
    global _controller
    from threadpoolctl import ThreadpoolController

    if _controller[0] != len(sys.modules):
        controller = ThreadpoolController()
        _controller = (len(sys.modules), controller)
    return _controller[1]


def in_unit_of_work() -> bool:
    """Whether this thread is running a unit of work (inside :func:`single_threaded`), where
    every library must keep to one thread."""
    return _SINGLE_THREADED.get()


@contextlib.contextmanager
def torch_threads() -> Iterator[None]:
    """One PyTorch thread inside the block when it runs in a unit of work (:func:`single_threaded`),
    else PyTorch's own number. Networks train and predict inside it."""
    if not _SINGLE_THREADED.get():
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _numba_threads(n: int) -> Iterator[None]:
    """Numba's parallel kernels on ``n`` threads inside the block (when Numba is in use)."""
    if "numba" not in sys.modules:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def on_threads(func: Callable[[Any], Any], items: Sequence[Any], done: Callable[[int, Any], None] | None = None) -> list[Any]:
    """``func(item)`` for every item, results in order, on a thread per core: for work that
    releases the GIL (reading files, pyarrow's parser, writing the caches, compiled ``nogil``
    kernels). Each call runs as a unit of work (:func:`single_threaded`: the native pools are
    held at one thread meanwhile) in a copy of the caller's context; ``done(i, result)`` is
    called in the caller's thread as each finishes. The first error is raised once the calls
    already started end; the others are not started. Inside a unit of work, or on one core, the
    calls run here in turn."""
    threads = min(len(os.sched_getaffinity(0)), len(items))
    if threads < 2 or in_unit_of_work():
        results = []
        for i, item in enumerate(items):
            results.append(func(item))
            if done is not None:
                done(i, results[-1])
        return results
    token = _SINGLE_THREADED.set(True)
    context = contextvars.copy_context()
    _SINGLE_THREADED.reset(token)
    results = [None] * len(items)
    with _threadpools().limit(limits=1), ThreadPoolExecutor(threads, thread_name_prefix="bmelearn") as pool:
        futures = {pool.submit(lambda item: context.copy().run(func, item), item): i for i, item in enumerate(items)}
        try:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if done is not None:
                    done(futures[future], results[futures[future]])
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return results


def run_units(func: Callable[..., Any], units: Sequence[tuple], done: Callable[[int, Any], None] | None = None,
              cost: Sequence[float] | None = None, threads: bool = False) -> list[Any]:
    """``func(*unit)`` for every unit on the current backend (see :func:`running`), results in
    the order of ``units``; ``done(j, result)`` is called in this process as each one finishes
    (``j`` its index in ``units``). With a ``cost`` per unit, the costliest are sent first, so
    that no long unit is left to run alone at the end (longest-processing-time-first). Units
    that release the GIL for most of their work (``threads``) and that ``auto`` keeps in this
    process run on a thread per core (:func:`on_threads`)."""
    results: list[Any] = [None] * len(units)
    if not units:
        return results
    order = sorted(range(len(units)), key=lambda i: -cost[i]) if cost is not None else list(range(len(units)))
    weight = list(cost) if cost is not None else [1.0] * len(units)
    workers = _AUTO_WORKERS.get()
    if workers < 2 or in_unit_of_work():
        _run_parallel(func, units, order, results, done)
        return results
    rates, started = [], time.perf_counter()  # seconds per unit of cost, unit by unit
    for i in reversed(order):  # the cheapest: a costly unit measured here would leave the other cores idle meanwhile
        began = time.perf_counter()
        _run_here(func, units, i, results, done)
        rates.append((time.perf_counter() - began) / (weight[i] or 1.0))
        if len(rates) >= (2 if threads else PROBE_UNITS) or time.perf_counter() - started >= PROBE_SECONDS:
            break  # units that could share the cores here are measured on two only
    rest = order[:len(order) - len(rates)]
    rate = float(np.mean(rates[1:] or rates))  # without the first: it also pays one-time costs (imports, compiling)
    if rest and worth_workers(rate * weight[rest[0]], _sent_bytes(units[rest[0]]), rate * sum(weight[i] for i in rest),
                              len(rest), workers):
        with parallel_config(backend="loky", n_jobs=workers):
            _run_parallel(func, units, rest, results, done)
    elif threads:
        def finished(j: int, result: Any) -> None:
            results[rest[j]] = result
            if done is not None:
                done(rest[j], result)

        on_threads(lambda i: func(*units[i]), rest, finished)
    else:
        for i in rest:
            _run_here(func, units, i, results, done)
    return results


def _run_here(func: Callable[..., Any], units: Sequence[tuple], i: int, results: list[Any],
              done: Callable[[int, Any], None] | None) -> None:
    results[i] = func(*units[i])
    if done is not None:
        done(i, results[i])


def worth_workers(unit_s: float, unit_bytes: int, remaining_s: float, remaining: int, workers: int,
                  started: bool | None = None) -> bool:
    """Whether the ``remaining`` units, ``remaining_s`` seconds of work here (``unit_s`` each, as
    measured), finish sooner on ``workers`` processes, each unit sent as ``unit_bytes``. There
    they take the longer of their work shared out and their sending (done here, one unit after
    another, while the workers compute), plus the workers' start-up unless they are running
    already (``started``; by default whether loky's workers are running in this process)."""
    sending = unit_bytes / TRANSFER_BYTES_PER_S + ROUND_TRIP_S
    start_up = 0.0 if (_loky_executor() is not None if started is None else started) else WORKER_START_S
    elsewhere = max(remaining_s / workers, remaining * sending, unit_s) + start_up
    return workers > 1 and elsewhere < remaining_s


def _loky_executor() -> Any:
    """joblib's reusable loky executor (the local workers), if this process started it, else None."""
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    return None if loky is None else loky._executor


def stop_local_workers() -> None:
    """Stop loky's workers, if this process started them, and release their queues: what
    Python's exit does, for a program that ends without it (:func:`bmelearn.cli.entry`), once
    every unit has finished. The idle workers are terminated, not asked to exit: their own
    clean exit frees every module they loaded (0.8 s of the demo's run), and they hold nothing
    to write (a unit writes its cache entries before it returns)."""
    executor = _loky_executor()
    if executor is None:
        return
    executor.shutdown(wait=True, kill_workers=True)
    sys.modules["joblib.externals.loky.reusable_executor"]._executor = None
    gc.collect()


def _sent_bytes(unit: tuple) -> int:
    """The bytes of ``unit`` that go through the pipe to a worker: its pickle, less the arrays that
    loky memory-maps (:data:`MEMMAPPED_BYTES` or larger)."""

    class Sizer(pickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, np.ndarray) and obj.nbytes >= MEMMAPPED_BYTES:
                return (bytes, ())
            return NotImplemented

    sink = io.BytesIO()
    try:
        Sizer(sink, protocol=pickle.HIGHEST_PROTOCOL).dump(unit)
    except Exception:  # noqa: BLE001 (what pickle cannot size, loky's cloudpickle may still send: count it as large)
        return 2**30
    return sink.tell()


def _run_parallel(func: Callable[..., Any], units: Sequence[tuple], order: Sequence[int], results: list[Any],
                  done: Callable[[int, Any], None] | None) -> None:
    """The units of ``order`` on joblib's current backend, into ``results``."""
    # the unit's items as arguments of their own, so that Dask scatters large arrays once
    with warnings.catch_warnings():
        _ignore_worker_replaced()
        tagged = Parallel(return_as="generator_unordered")(delayed(_tagged)(func, i, *units[i]) for i in order)
        for i, result in tagged:
            results[i] = result
            if done is not None:
                done(i, result)


def _ignore_worker_replaced() -> None:
    """Ignore loky's "A worker stopped while some jobs were given to the executor": not true of our runs.

    loky measures a worker's memory after its first unit and retires it as leaking once it holds 300 MB
    more (``_process_worker``, ``_MAX_MEMORY_LEAK_SIZE``); its executor thread warns as it starts the
    replacement (``process_result_item``). joblib reuses the executor across a run's stages, so that
    first unit is a small one (a channel check), and the first neural-network unit a worker runs imports
    and initialises PyTorch and skorch: about 280 MB, once; the worker then stays flat (measured). That is
    expected growth, not a leak. No unit is lost (the worker sends its result before it leaves) and the
    results are the same. The warning's other cause, the idle timeout (300 s), cannot stop a worker while
    units wait for one. Set here, inside the run's own filters (a run records every warning), around the
    loop that submits and collects the units, while loky's thread can raise it."""
    warnings.filterwarnings("ignore", message=r"A worker stopped while some jobs were given to the executor\.",
                            category=UserWarning, module=r"joblib\.externals\.loky\.process_executor")


def _tagged(func: Callable[..., Any], i: int, *args: Any) -> tuple[int, Any]:
    return i, func(*args)
