"""Parsed text recordings cached on disk, so that a second run does not parse the same text files again.

The cache folder holds *packs*: one ``.npz`` archive of plain ``.npy`` arrays (never unpickled)
for each batch of files parsed together (the text files of one of a dataset's modalities that a
run read, or a file read alone), named by its time of writing. For each
file a pack holds its samples (stored channels × samples, in the smallest of int16, int32,
float32 and float64 that holds every value bit for bit: the integer ADC values most amplifiers
write take a quarter of the bytes, 3DC's 775 MB of 22 participants 194 MB), its header names,
if any, and the key it was written for: the file's resolved absolute path, its size, its
modification time (ns) and the parser's version, so that an edited, replaced or re-exported
file, or a new parser, misses the cache and is parsed again. One archive per batch rather than
one per file: writing the 1,936 files of 22 3DC participants as as many archives took 1.6 s of
CPU (1.3 s of it creating files in the file system), as one archive 0.3 s.

A file is looked up by its key in this process's index of the folder's packs (``pack-*.npz``),
the newest first; the folder is listed again only for a key the index lacks and only when it
changed since (a pack another process wrote within the same tick of the folder's clock may be
missed: its files are parsed again), and each pack's keys are read once per process. An entry is used only when the pack's own list of keys holds its
key. The one-file entries of earlier versions are left aside unread. Packs are written under a
temporary name and renamed: an interrupted run leaves whole packs or none, and several processes
can share one folder. An entry that cannot be read (a pack truncated or corrupted: the archive's
CRC, another layout) gives way to an older pack's entry of the same key, else counts as missing:
the file is parsed again and kept in a new pack.

Packs are written on a thread of their own (:func:`store_later`) while the caller goes on;
:func:`finish_writes` waits for them, and an entry being written is waited for before it is read.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
import warnings
import zipfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
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


@dataclass
class _Index:
    """What this process knows of one cache folder: the packs it has seen (by name) and, for each
    key, the packs that hold it with the entry's number there, the newest pack first."""

    seen: set[str] = field(default_factory=set)
    where: dict[Key, list[tuple[str, int]]] = field(default_factory=dict)
    #: The folder's modification time (ns) when its packs were last all known; None: never.
    stamp: int | None = None

    def add(self, name: str, keys: Sequence[Key]) -> None:
        """Pack ``name`` holds ``keys`` (entry 0, 1 ...; none for a pack that cannot be read). Call under :data:`_lock`."""
        if name in self.seen:
            return
        self.seen.add(name)
        for number, key in enumerate(keys):
            holders = self.where.setdefault(tuple(key), [])
            holders.append((name, number))
            holders.sort(reverse=True)  # pack names begin with their time of writing: the newest first


_lock = threading.Lock()
_writer: ThreadPoolExecutor | None = None
#: The entries being written, by folder and key, and what writes them.
_pending: dict[tuple[Path, Key], Future] = {}
#: This process's index of each cache folder (:class:`_Index`).
_indexes: dict[Path, _Index] = {}


def load_recordings(folder: Path, keys: Sequence[Key]) -> list[Parsed | None]:
    """The samples (n_samples, n_columns) and header names cached under each of ``keys``; None for
    a key without a usable entry (missing, unreadable, or of another layout). An entry that
    cannot be read gives way to the same key's entry in an older pack, if there is one."""
    if not keys:
        return []
    folder = Path(folder)
    with _lock:
        writing = {_pending[(folder, key)] for key in keys if (folder, key) in _pending}
    for future in writing:
        future.exception()  # its outcome is seen by finish_writes
    index = _index(folder, keys)
    found: list[Parsed | None] = [None] * len(keys)
    with _lock:
        left = {i: list(index.where.get(tuple(key), ())) for i, key in enumerate(keys)}
    left = {i: holders for i, holders in left.items() if holders}
    while left:  # each key's newest pack first, each pack opened once a round
        by_pack: dict[str, list[tuple[int, int]]] = {}
        for i, holders in left.items():
            name, number = holders.pop(0)
            by_pack.setdefault(name, []).append((i, number))
        for name, entries in by_pack.items():
            with contextlib.suppress(Exception), np.load(folder / name, allow_pickle=False) as archive:  # damaged: misses
                members, held = set(archive.files), archive["keys"].tolist()  # the pack's own keys, not the index's
                for i, number in entries:
                    if number < len(held) and tuple(held[number]) == tuple(keys[i]):
                        found[i] = _entry(archive, members, number)
        left = {i: holders for i, holders in left.items() if found[i] is None and holders}
    return found


def _index(folder: Path, keys: Sequence[Key]) -> _Index:
    """This process's index of ``folder``; when it lacks one of ``keys``, first brought up to date
    with the packs written since (by this process or another), their keys read once."""
    with _lock:
        index = _indexes.setdefault(folder, _Index())
        complete = all(tuple(key) in index.where for key in keys)
    try:
        stamp = None if complete else os.stat(folder).st_mtime_ns
        if complete or stamp == index.stamp:  # nothing written there since it was last listed
            return index
        names = os.listdir(folder)
    except OSError:
        return index
    with _lock:
        new = sorted(set(names) - index.seen)
    for name in new:  # other files (temporary ones, entries of earlier versions) are seen, never opened
        held = (_read_keys(folder / name) or []) if name.startswith(_PACK) and name.endswith(".npz") else []
        with _lock:
            index.add(name, held)
    with _lock:
        index.stamp = stamp
    return index


def _read_keys(path: Path) -> list[Key] | None:
    """The keys of the pack at ``path``; None when it cannot be read or holds no list of keys."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = archive["keys"]
    except Exception:  # noqa: BLE001 (a damaged pack of any kind, or another file: its entries are missing)
        return None
    if keys.dtype.kind != "U" or keys.ndim != 2:
        return None
    return [tuple(key) for key in keys.tolist()]


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
    path = folder / f"{_PACK}{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.npz"
    temporary = path.with_name(f".{path.stem}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            _write_array(archive, "keys", np.array([list(key) for key, _, _ in entries], dtype=str))
            for number, (_, data, header) in enumerate(entries):  # one at a time: no copy of the whole batch
                _write_array(archive, f"data_{number}", _compact(np.ascontiguousarray(data.T, dtype=np.float64)))
                if header is not None:
                    _write_array(archive, f"header_{number}", np.array(header, dtype=str))
        before = os.stat(folder).st_mtime_ns
        os.replace(temporary, path)
        after = os.stat(folder).st_mtime_ns
        with _lock:
            index = _indexes.setdefault(folder, _Index())
            index.add(path.name, [key for key, _, _ in entries])
            if index.stamp == before:  # the folder changed by this pack alone: still all known
                index.stamp = after
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
