"""Native readers that may crash or hang on a damaged file, run in a process of their own.

SciPy's MATLAB reader and the HDF5 library crash the whole process on some damaged files
instead of raising (SciPy 1.17: a flipped bit in a variable's flags), and ezc3d crashes or
loops on some damaged C3D files. Such a reader runs here in one worker process (loky's: it
needs no ``__main__`` guard in a user's script): a crash, or no answer within the time
allowed, is a DataError naming the file and the fix, and the process is started again for
the next file. :func:`stop_isolated` ends it once a dataset's files are read.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

from bmelearn.errors import DataError

T = TypeVar("T")

#: The longest a reader may take on one file, in seconds.
TIMEOUT_S = 300.0
_reader: Any = None


def isolated(read: Callable[..., T], path: Path, *args: Any, kind: str, fix: str, timeout: float = TIMEOUT_S) -> T:
    """``read(path, *args)`` in the reading process; a DataError naming ``path``, the ``kind`` of
    file and the ``fix`` when that process dies or takes more than ``timeout`` seconds."""
    from joblib.externals.loky import ProcessPoolExecutor

    global _reader
    if _reader is None:
        _reader = ProcessPoolExecutor(1, initializer=_quiet)
    try:
        return _reader.submit(read, path, *args).result(timeout=timeout)
    except BrokenProcessPool:  # loky's TerminatedWorkerError is one
        _reader = None
        raise DataError(f"{path}: a damaged {kind} file: its reader stopped on it. {fix}") from None
    except FutureTimeout:
        _reader.shutdown(wait=False, kill_workers=True)
        _reader = None
        raise DataError(f"{path}: its {kind} reader did not finish in {timeout:g} s; the file is probably damaged. "
                        f"{fix}") from None


def stop_isolated() -> None:
    """Stop the reading process, if one runs (after a dataset's files are read: it would
    otherwise hold its memory through the run)."""
    global _reader
    if _reader is not None:
        _reader.shutdown(wait=True)
        _reader = None


def _quiet() -> None:
    """In the reading process: a native crash is reported as a DataError here, not as a dump of its stack."""
    import faulthandler

    faulthandler.disable()
