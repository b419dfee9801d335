"""Parsed text recordings cached on disk, so that a second run does not parse the same text files again.

The cache folder holds *packs*: one ``.npz`` archive of plain ``.npy`` arrays (never unpickled)
for each batch of files parsed together (the text files of a dataset that a run read). For each
file a pack holds its samples (stored channels × samples, in the smallest of int16, int32,
float32 and float64 that holds every value bit for bit: the integer ADC values most amplifiers
write take a quarter of the bytes, 3DC's 775 MB of 22 participants 194 MB), its header names,
if any, and the key it was written for: the file's resolved absolute path, its size, its
modification time (ns) and the parser's version, so that an edited, replaced or re-exported
file, or a new parser, misses the cache and is parsed again. One archive per batch rather than
one per file: writing the 1,936 files of 22 3DC participants as as many archives took 1.6 s of
CPU (1.3 s of it creating files in the file system), as one archive 0.3 s.

A file is looked up by its key among the packs of the folder (``pack-*.npz``), the newest
first; each pack's keys are read once per process. The one-file entries of earlier versions
are left aside unread. Packs are written under a temporary name and renamed: an interrupted
run leaves whole packs or none, and several processes can share one folder. An entry that cannot
be read (a pack truncated or corrupted: the archive's CRC, another layout) counts as missing:
the file is parsed again and kept in a new pack.

Packs are written on a thread of their own (:func:`store_later`) while the caller goes on;
:func:`finish_writes` waits for them, and an entry being written is waited for before it is read.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
import warnings
import zipfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: What an entry's samples may be stored as, smallest first (:func:`_compact`).
_STORED_TYPES = (np.dtype(np.int16), np.dtype(np.int32), np.dtype(np.float32), np.dtype(np.float64))

#: How a pack's file name begins.
_PACK = "pack-"

Key = tuple[str, ...]
#: One file's parse: its samples (n_samples, n_columns) and header names, if any.
Parsed = tuple[np.ndarray, list[str] | None]


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


@dataclass(frozen=True)
class _Pack:
    """A pack's file and the keys it holds, each with its entry's number in the pack."""

    path: Path
    numbers: dict[Key, int]


_lock = threading.Lock()
_writer: ThreadPoolExecutor | None = None
#: The entries being written, by folder and key, and what writes them.
_pending: dict[tuple[Path, Key], Future] = {}
#: The keys of each pack seen, by its path, size and modification time; None: a pack that cannot be read.
_seen: dict[tuple[Path, int, int], _Pack | None] = {}


def load_recordings(folder: Path, keys: Sequence[Key]) -> list[Parsed | None]:
    """The samples (n_samples, n_columns) and header names cached under each of ``keys``; None for
    a key without a usable entry (missing, unreadable, or of another layout)."""
    folder = Path(folder)
    with _lock:
        writing = {_pending[(folder, key)] for key in keys if (folder, key) in _pending}
    for future in writing:
        future.exception()  # its outcome is seen by finish_writes
    packs = _packs(folder)
    wanted: dict[Path, list[tuple[int, int]]] = {}  # by pack: (index in keys, entry number)
    for index, key in enumerate(keys):
        pack = next((p for p in packs if key in p.numbers), None)
        if pack is not None:
            wanted.setdefault(pack.path, []).append((index, pack.numbers[key]))
    found: list[Parsed | None] = [None] * len(keys)
    for path, entries in wanted.items():
        with contextlib.suppress(Exception), np.load(path, allow_pickle=False) as archive:  # a damaged pack: misses
            names = set(archive.files)
            for index, number in entries:
                found[index] = _entry(archive, names, number)
    return found


def _packs(folder: Path) -> list[_Pack]:
    """The readable packs of ``folder``, the newest first (temporary files, named ``.pack-*``, left aside)."""
    try:
        with os.scandir(folder) as listing:
            files = [(entry.stat(), Path(entry.path)) for entry in listing
                     if entry.name.startswith(_PACK) and entry.name.endswith(".npz") and entry.is_file()]
    except OSError:
        return []
    packs = []
    for stat, path in sorted(files, key=lambda item: (item[0].st_mtime_ns, item[1].name), reverse=True):
        stamp = (path, stat.st_size, stat.st_mtime_ns)
        with _lock:
            known, pack = stamp in _seen, _seen.get(stamp)
        if not known:
            pack = _read_keys(path)
            with _lock:
                _seen[stamp] = pack
        if pack is not None:
            packs.append(pack)
    return packs


def _read_keys(path: Path) -> _Pack | None:
    """The keys of the pack at ``path``; None when it cannot be read or holds no list of keys."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = archive["keys"]
    except Exception:  # noqa: BLE001 (a damaged pack of any kind, or another file: its entries are missing)
        return None
    if keys.dtype.kind != "U" or keys.ndim != 2:
        return None
    return _Pack(path, {tuple(key): number for number, key in enumerate(keys.tolist())})


def _entry(archive: np.lib.npyio.NpzFile, names: set[str], number: int) -> Parsed | None:
    """Entry ``number`` of an open pack (``names``: its members), or None if it cannot be read."""
    try:
        data = archive[f"data_{number}"]
        header = archive[f"header_{number}"] if f"header_{number}" in names else None
    except Exception:  # noqa: BLE001 (a damaged entry of any kind is a miss; it is written again)
        return None
    if (data.dtype not in _STORED_TYPES or data.ndim != 2
            or (header is not None and (header.dtype.kind != "U" or header.shape != (data.shape[0],)))):
        return None
    return data.astype(np.float64, copy=False).T, (header.tolist() if header is not None else None)


def store_recordings(folder: Path, entries: Sequence[tuple[Key, np.ndarray, list[str] | None]]) -> None:
    """Keep ``entries`` (key, samples (n_samples, n_columns), header names) in a new pack of
    ``folder``: written under a temporary name, renamed when whole, the temporary file removed if
    the write fails or is interrupted. A folder that cannot be written is a warning, not an error:
    the recordings were read, only not kept."""
    # NumPy's strings drop trailing NULs: such a name would not come back as it was
    entries = [e for e in entries if e[2] is None or not any(name.endswith("\0") for name in e[2])]
    if not entries:
        return
    folder = Path(folder)
    path = folder / f"{_PACK}{uuid.uuid4().hex}.npz"
    temporary = path.with_name(f".{path.stem}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            _write_array(archive, "keys", np.array([list(key) for key, _, _ in entries], dtype=str))
            for number, (_, data, header) in enumerate(entries):  # one at a time: no copy of the whole batch
                _write_array(archive, f"data_{number}", _compact(np.ascontiguousarray(data.T, dtype=np.float64)))
                if header is not None:
                    _write_array(archive, f"header_{number}", np.array(header, dtype=str))
        os.replace(temporary, path)
    except OSError as exc:
        warnings.warn(f"{folder}: cannot write the cache of parsed recordings there ({exc.strerror or exc}); "
                      "text files are parsed again next time. Check the cache folder (execution.cache).", stacklevel=2)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def _write_array(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    """``array`` as the member ``name.npy`` of ``archive``, as :func:`numpy.savez` writes it."""
    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array(member, array, allow_pickle=False)


def store_later(folder: Path, entries: Sequence[tuple[Key, np.ndarray, list[str] | None]]) -> None:
    """:func:`store_recordings` on the cache's writing thread: the arrays must not be changed until
    :func:`finish_writes` returns (the pack is made from them there; holding no copy of them keeps
    the memory of a run as it was)."""
    global _writer
    if not entries:
        return
    folder = Path(folder)
    with _lock:
        if _writer is None:
            _writer = ThreadPoolExecutor(1, thread_name_prefix="bmelearn-recordings-cache")
        future = _writer.submit(store_recordings, folder, list(entries))
        for key, _, _ in entries:
            _pending[(folder, key)] = future


def finish_writes() -> None:
    """Wait until every pack given to :func:`store_later` is written; the first error of a write
    (an interruption: a folder that cannot be written is a warning) is raised here."""
    with _lock:
        pending = dict(_pending)
    try:
        for future in dict.fromkeys(pending.values()):  # each pack once, in the order given
            future.result()
    finally:
        with _lock:
            for where, future in pending.items():
                if _pending.get(where) is future:
                    del _pending[where]
