"""Parsed text recordings cached on disk, so that a second run does not parse the same text files again.

An entry holds one file's samples (stored channels × samples, in the smallest of int16, int32,
float32 and float64 that holds every value bit for bit: the integer ADC values most amplifiers
write take a quarter of the bytes, 3DC's 775 MB of 22 participants 194 MB), its header names,
if any, and the key it was written for, as a ``.npz`` archive of plain ``.npy`` arrays (never
unpickled). It is named by a hash of the key: the file's resolved absolute path, its size, its
modification time (ns) and the parser's version, so that an edited, replaced or re-exported
file, or a new parser, misses the cache and is parsed again; an entry is used only when the key
it holds matches. Entries are written under a temporary name and renamed: an interrupted run
leaves whole entries or none, and several processes can share one folder. An entry that cannot
be read (truncated, corrupted: the archive's CRC, of another layout) counts as missing: the file
is parsed and the entry written again.

Entries are written on a thread of their own (:func:`store_later`) while the caller goes on:
writing 22 3DC participants' entries took 1-1.5 s inside the reading, most of it waiting for
the disk. :func:`finish_writes` waits for them; an entry being written is waited for before it
is read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import uuid
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bmelearn.compute.arrays import load_arrays

#: What an entry's samples may be stored as, smallest first (:func:`_compact`).
_STORED_TYPES = (np.dtype(np.int16), np.dtype(np.int32), np.dtype(np.float32), np.dtype(np.float64))


def _compact(data: np.ndarray) -> np.ndarray:
    """``data`` (float64, C order) in the first of :data:`_STORED_TYPES` that gives every value back
    bit for bit (a -0.0, a NaN or a fraction stays float)."""
    for dtype in _STORED_TYPES[:-1]:
        with np.errstate(invalid="ignore", over="ignore"):
            stored = data.astype(dtype)
        if np.array_equal(stored.astype(np.float64).view(np.uint64), data.view(np.uint64)):
            return stored
    return data


def entry_key(path: Path, stat: os.stat_result, parser: str) -> tuple[str, str, str, str]:
    """What identifies one parse of the file at ``path`` (resolved): path, size, mtime (ns), parser version."""
    return str(path), str(stat.st_size), str(stat.st_mtime_ns), parser


def entry_path(folder: Path, key: tuple[str, ...]) -> Path:
    """The entry file of ``key`` in ``folder``."""
    return Path(folder) / f"{hashlib.sha256(chr(0).join(key).encode('utf-8', 'surrogatepass')).hexdigest()[:40]}.npz"


def load_recording(folder: Path, key: tuple[str, ...]) -> tuple[np.ndarray, list[str] | None] | None:
    """The samples (n_samples, n_columns) and header names cached under ``key``; None if there is no
    usable entry (missing, unreadable, or written for another key)."""
    path = entry_path(folder, key)
    with _lock:
        writing = _pending.get(path)
    if writing is not None:
        writing.exception()  # its outcome is seen by finish_writes
    try:
        arrays = load_arrays(path)
    except Exception:  # noqa: BLE001 (a damaged entry of any kind is a miss; it is written again)
        return None
    if arrays is None:
        return None
    data, header, stored = arrays.get("data"), arrays.get("header"), arrays.get("key")
    if (
        data is None or stored is None or stored.dtype.kind != "U" or stored.tolist() != list(key)
        or data.dtype not in _STORED_TYPES or data.ndim != 2
        or (header is not None and (header.dtype.kind != "U" or header.shape != (data.shape[0],)))
    ):
        return None
    return data.astype(np.float64, copy=False).T, (header.tolist() if header is not None else None)


def store_recording(folder: Path, key: tuple[str, ...], data: np.ndarray, header: list[str] | None) -> None:
    """Cache ``data`` (n_samples, n_columns) and ``header`` under ``key``: written under a temporary
    name, renamed when whole, the temporary file removed if the write fails or is interrupted. A
    folder that cannot be written is a warning, not an error: the recording was read, only not kept."""
    if header is not None and any(name.endswith("\0") for name in header):
        return  # NumPy's strings drop trailing NULs: such a name would not come back as it was
    arrays = {"data": _compact(np.ascontiguousarray(data.T, dtype=np.float64)), "key": np.array(key)}
    if header is not None:
        arrays["header"] = np.array(header, dtype=str)
    path = entry_path(folder, key)
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as file:
            np.savez(file, **arrays)
        os.replace(temporary, path)
    except OSError as exc:
        warnings.warn(f"{folder}: cannot write the cache of parsed recordings there ({exc.strerror or exc}); "
                      "text files are parsed again next time. Check the cache folder (execution.cache).", stacklevel=2)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


_lock = threading.Lock()
_writer: ThreadPoolExecutor | None = None
#: The entries being written, by path, and what writes them.
_pending: dict[Path, Future] = {}


def store_later(folder: Path, key: tuple[str, ...], data: np.ndarray, header: list[str] | None) -> None:
    """:func:`store_recording` on the cache's writing thread: ``data`` must not be changed until
    :func:`finish_writes` returns (the entry is made from it there; holding no copy of it keeps
    the memory of a run as it was)."""
    global _writer
    with _lock:
        if _writer is None:
            _writer = ThreadPoolExecutor(1, thread_name_prefix="bmelearn-recordings-cache")
        _pending[entry_path(folder, key)] = _writer.submit(store_recording, folder, key, data, header)


def finish_writes() -> None:
    """Wait until every entry given to :func:`store_later` is written; the first error of a write
    (an interruption: a folder that cannot be written is a warning) is raised here."""
    with _lock:
        pending = dict(_pending)
    try:
        for future in pending.values():
            future.result()
    finally:
        with _lock:
            for path, future in pending.items():
                if _pending.get(path) is future:
                    del _pending[path]
