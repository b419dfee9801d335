"""Parsed text recordings cached on disk, so that a second run does not parse the same text files again.

An entry holds one file's samples (float64, stored channels × samples), its header names, if
any, and the key it was written for, as a ``.npz`` archive of plain ``.npy`` arrays (never
unpickled). It is named by a hash of the key: the file's resolved absolute path, its size, its
modification time (ns) and the parser's version, so that an edited, replaced or re-exported
file, or a new parser, misses the cache and is parsed again; an entry is used only when the key
it holds matches. Entries are written under a temporary name and renamed: an interrupted run
leaves whole entries or none, and several processes can share one folder. An entry that cannot
be read (truncated, corrupted: the archive's CRC, of another layout) counts as missing: the file
is parsed and the entry written again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
import warnings
from pathlib import Path

import numpy as np

from bmelearn.compute.arrays import load_arrays


def entry_key(path: Path, stat: os.stat_result, parser: str) -> tuple[str, str, str, str]:
    """What identifies one parse of the file at ``path`` (resolved): path, size, mtime (ns), parser version."""
    return str(path), str(stat.st_size), str(stat.st_mtime_ns), parser


def entry_path(folder: Path, key: tuple[str, ...]) -> Path:
    """The entry file of ``key`` in ``folder``."""
    return Path(folder) / f"{hashlib.sha256(chr(0).join(key).encode('utf-8', 'surrogatepass')).hexdigest()[:40]}.npz"


def load_recording(folder: Path, key: tuple[str, ...]) -> tuple[np.ndarray, list[str] | None] | None:
    """The samples (n_samples, n_columns) and header names cached under ``key``; None if there is no
    usable entry (missing, unreadable, or written for another key)."""
    try:
        arrays = load_arrays(entry_path(folder, key))
    except Exception:  # noqa: BLE001 (a damaged entry of any kind is a miss; it is written again)
        return None
    if arrays is None:
        return None
    data, header, stored = arrays.get("data"), arrays.get("header"), arrays.get("key")
    if (
        data is None or stored is None or stored.dtype.kind != "U" or stored.tolist() != list(key)
        or data.dtype != np.float64 or data.ndim != 2
        or (header is not None and (header.dtype.kind != "U" or header.shape != (data.shape[0],)))
    ):
        return None
    return data.T, (header.tolist() if header is not None else None)


def store_recording(folder: Path, key: tuple[str, ...], data: np.ndarray, header: list[str] | None) -> None:
    """Cache ``data`` (n_samples, n_columns) and ``header`` under ``key``: written under a temporary
    name, renamed when whole, the temporary file removed if the write fails or is interrupted. A
    folder that cannot be written is a warning, not an error: the recording was read, only not kept."""
    if header is not None and any(name.endswith("\0") for name in header):
        return  # NumPy's strings drop trailing NULs: such a name would not come back as it was
    arrays = {"data": np.ascontiguousarray(data.T), "key": np.array(key)}
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
                      "text files are parsed again next time. Check the cache folder (execution.cache).", stacklevel=3)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
