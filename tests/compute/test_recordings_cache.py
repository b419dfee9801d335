"""The cache of parsed text recordings: a second read parses nothing, a changed file is parsed
again, a damaged entry is ignored and written again, an interrupted write leaves no entry, and
the files parsed together are kept in one pack."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from bmelearn.compute import recordings_cache as cache_module
from bmelearn.datasets import load_dataset
from bmelearn.errors import DataError
from bmelearn.io import read_matrix
from bmelearn.io import text as text_module
from bmelearn.io.text import recordings_cache


@pytest.fixture
def parses(monkeypatch) -> list[Path]:
    """The sources parsed (the cache's misses), in order."""
    seen: list = []
    parse = text_module.parse_bytes

    def counting(raw, source):
        seen.append(Path(source))
        return parse(raw, source)

    monkeypatch.setattr(text_module, "parse_bytes", counting)
    return seen


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def packs(folder: Path) -> list[Path]:
    cache_module.finish_writes()  # the packs are written on a thread of their own
    return sorted(folder.glob("*.npz"))  # pack names begin with their time of writing


def entries(folder: Path) -> list[tuple[str, ...]]:
    """The keys of every pack's entries, the oldest pack first."""
    keys = []
    for pack in packs(folder):
        with np.load(pack) as archive:
            keys += [tuple(key) for key in archive["keys"].tolist()]
    return keys


def same(a: tuple, b: tuple) -> None:
    assert a[1] == b[1]  # header names
    assert a[0].dtype == b[0].dtype and a[0].shape == b[0].shape and a[0].strides == b[0].strides
    np.testing.assert_array_equal(a[0].view(np.uint64), b[0].view(np.uint64))


def test_second_read_comes_from_the_cache(tmp_path, parses):
    path = write(tmp_path / "data" / "trial.csv", "EMG1,EMG2,EMG3\n1,-2.5,3e-3\n4,5,6\n0.1,0.2,0.3\n")
    folder = tmp_path / "cache"
    with recordings_cache(folder):
        first = read_matrix(path)
        assert parses == [path]
        second = read_matrix(path)
    assert parses == [path]  # not parsed again
    same(first, second)
    same(first, read_matrix(path))  # no cache outside the block: as parsed
    assert len(entries(folder)) == 1
    assert [p.suffix for p in folder.iterdir()] == [".npz"]  # no temporary file left


def test_without_header_and_layout_kept(tmp_path, parses):
    path = write(tmp_path / "trial.csv", "1,2\n3,4\n5,6\n")
    with recordings_cache(tmp_path / "cache"):
        first, second = read_matrix(path), read_matrix(path)
    assert len(parses) == 1
    same(first, second)
    assert second[1] is None and second[0].flags.f_contiguous and second[0].flags.writeable


def test_changed_file_is_parsed_again(tmp_path, parses):
    path = write(tmp_path / "trial.csv", "1,2\n3,4\n")
    folder = tmp_path / "cache"
    with recordings_cache(folder):
        read_matrix(path)
        write(path, "1,2\n3,4\n5,6\n")  # another size
        data, _ = read_matrix(path)
        assert data.shape == (3, 2) and len(parses) == 2
        stat = path.stat()
        write(path, "7,8\n9,0\n1,2\n")  # the same size, another modification time
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        data, _ = read_matrix(path)
        assert len(parses) == 3
        np.testing.assert_array_equal(data, [[7, 8], [9, 0], [1, 2]])
        read_matrix(path)
        assert len(parses) == 3


def test_new_parser_version_parses_again(tmp_path, parses, monkeypatch):
    path = write(tmp_path / "trial.csv", "1,2\n3,4\n")
    with recordings_cache(tmp_path / "cache"):
        read_matrix(path)
        monkeypatch.setattr(text_module, "PARSER_VERSION", "text-test")
        read_matrix(path)
    assert len(parses) == 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # an entry cut short
        lambda b: b"",
        lambda b: b[:200] + bytes([b[200] ^ 0xFF]) + b[201:],  # one byte of the keys changed (zip CRC)
        lambda b: (lambda i: b[:i] + bytes([b[i] ^ 0xFF]) + b[i + 1:])(b.index(b"data_0.npy") + 400),  # one of the samples
        lambda b: b"not an archive at all",
    ],
    ids=["truncated", "empty", "flipped-key-byte", "flipped-sample-byte", "garbage"],
)
def test_damaged_entry_is_ignored_and_written_again(tmp_path, parses, damage):
    path = write(tmp_path / "trial.csv", "EMG1,EMG2\n" + "".join(f"{i},{-i / 7:.5f}\n" for i in range(100)))
    folder = tmp_path / "cache"
    with recordings_cache(folder):
        first = read_matrix(path)
        (pack,) = packs(folder)
        pack.write_bytes(damage(pack.read_bytes()))
        again = read_matrix(path)
        assert len(parses) == 2
        same(first, again)
        same(first, read_matrix(path))  # the entry was written again, whole, in a newer pack
    assert len(parses) == 2 and len(packs(folder)) == 2


def test_entry_of_another_file_is_not_used(tmp_path, parses):
    a = write(tmp_path / "a.csv", "1,2\n3,4\n")
    b = write(tmp_path / "b.csv", "5,6\n7,8\n")
    folder = tmp_path / "cache"
    with recordings_cache(folder):
        read_matrix(a)
        read_matrix(b)
        pack_a, pack_b = packs(folder)
        pack_b.write_bytes(pack_a.read_bytes())  # a file copied by hand over another
        data, _ = read_matrix(b)
    np.testing.assert_array_equal(data, [[5, 6], [7, 8]])
    assert len(parses) == 3


def test_interrupted_write_leaves_no_entry(tmp_path, parses, monkeypatch):
    path = write(tmp_path / "trial.csv", "1,2\n3,4\n")
    folder = tmp_path / "cache"
    write_array = cache_module._write_array

    def interrupted(archive, name, array):
        write_array(archive, name, array)
        if name.startswith("data"):
            raise KeyboardInterrupt  # Ctrl-C in the middle of the write

    monkeypatch.setattr(cache_module, "_write_array", interrupted)
    with pytest.raises(KeyboardInterrupt), recordings_cache(folder):  # raised as the block waits for its writes
        read_matrix(path)
    assert list(folder.iterdir()) == []  # no pack, no temporary file
    monkeypatch.setattr(cache_module, "_write_array", write_array)
    with recordings_cache(folder):
        data, _ = read_matrix(path)
        read_matrix(path)
    np.testing.assert_array_equal(data, [[1, 2], [3, 4]])
    assert len(parses) == 2 and len(entries(folder)) == 1


def test_temporary_files_are_never_entries(tmp_path, parses):
    path = write(tmp_path / "trial.csv", "1,2\n3,4\n")
    folder = tmp_path / "cache"
    with recordings_cache(folder):
        read_matrix(path)
        (pack,) = packs(folder)
        # what a process killed while writing leaves: a partial file under a temporary name
        pack.with_name(f".{pack.stem}.tmp").write_bytes(pack.read_bytes()[:40])
        pack.unlink()
        data, _ = read_matrix(path)
    np.testing.assert_array_equal(data, [[1, 2], [3, 4]])
    assert len(parses) == 2 and len(entries(folder)) == 1


def test_errors_are_not_cached(tmp_path, parses):
    path = write(tmp_path / "bad.csv", "1,2,3\n4,x,6\n")
    with recordings_cache(tmp_path / "cache"):
        for _ in range(2):
            with pytest.raises(DataError, match=r"bad\.csv, line 2: .*'x' is not a number"):
                read_matrix(path)
        with pytest.raises(DataError, match=r"missing\.csv: file not found"):
            read_matrix(tmp_path / "missing.csv")
    assert len(parses) == 2


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a folder this user cannot write")
def test_unwritable_cache_folder_is_a_warning(tmp_path, parses):
    path = write(tmp_path / "trial.csv", "1,2\n3,4\n")
    folder = tmp_path / "cache"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.warns(UserWarning, match="cannot write the cache of parsed recordings"), recordings_cache(folder):
            data, _ = read_matrix(path)
    finally:
        folder.chmod(0o700)
    np.testing.assert_array_equal(data, [[1, 2], [3, 4]])


def test_cache_folder_that_is_a_file_is_a_warning(tmp_path, parses):
    path = write(tmp_path / "trial.csv", "1,2\n3,4\n")
    folder = write(tmp_path / "cache", "a file where the folder should be")
    with pytest.warns(UserWarning, match="cannot write the cache of parsed recordings"), recordings_cache(folder):
        data, _ = read_matrix(path)
    np.testing.assert_array_equal(data, [[1, 2], [3, 4]])


def test_load_dataset_passes_the_cache_to_the_readers(tmp_path, parses):
    for subject in (1, 2):
        for rep in range(2):
            write(tmp_path / "data" / f"S{subject}" / f"t_{rep}_{rep % 2}.csv",
                  "EMG1,EMG2\n" + "".join(f"{i * subject},{rep - i}\n" for i in range(50)))
    options = {"path": str(tmp_path / "data"), "pattern": "S{subject}/t_{rep}_{label}.csv", "fs": 100.0,
               "ch_names": ["EMG1", "EMG2"]}
    folder = tmp_path / "cache"
    plain = load_dataset("files", **options)
    assert len(parses) == 4
    first = load_dataset("files", cache=folder, **options)
    second = load_dataset("files", cache=folder, **options)
    assert len(parses) == 8 and len(entries(folder)) == 4 and len(packs(folder)) == 1  # parsed together, kept together
    for a, b, c in zip(plain, first, second, strict=True):
        assert a.meta == b.meta == c.meta
        np.testing.assert_array_equal(a.data, c.data)
        np.testing.assert_array_equal(b.data, c.data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset("files", **options)  # outside: no cache again
    assert len(parses) == 12


def test_3dc_from_the_cache_equals_the_parsed(shared_data, tmp_path, parses):
    folder = tmp_path / "cache"
    parsed = load_dataset("3dc", path=str(shared_data / "3dc"), subjects=[1], cache=folder)
    n = len(parses)
    assert n == len(parsed) == len(entries(folder))
    cached = load_dataset("3dc", path=str(shared_data / "3dc"), subjects=[1], cache=folder)
    assert len(parses) == n
    for a, b in zip(parsed, cached, strict=True):
        assert a.meta == b.meta and a.ch_names == b.ch_names
        assert a.data.strides == b.data.strides
        np.testing.assert_array_equal(a.data.view(np.uint64), b.data.view(np.uint64))


@pytest.mark.parametrize(("text", "stored"), [
    ("1,-2\n30000,-32768\n", np.int16),  # ADC integers: a quarter of the bytes
    ("1,-2\n40000,-32769\n", np.int32),
    ("0.5,-2.25\n1267650600228229401496703205376,3\n", np.float32),  # 2**100: exact in float32
    ("0.1,2\n3,4\n", np.float64),  # 0.1 is not
    ("-0,1\n2,3\n", np.float32),  # -0.0 would come back as 0.0 from an integer
    ("1e300,1\n2,3\n", np.float64),
])
def test_an_entry_is_stored_in_the_smallest_type_that_gives_every_value_back(tmp_path, text, stored):
    path = write(tmp_path / "data" / "trial.csv", text)
    folder = tmp_path / "cache"
    with recordings_cache(folder):
        parsed = read_matrix(path)
        cached = read_matrix(path)
    same(parsed, cached)  # float64, same layout, the same bits
    with np.load(packs(folder)[0]) as archive:
        assert archive["data_0"].dtype == stored


def test_an_entry_being_written_is_waited_for_before_it_is_read(tmp_path, parses, monkeypatch):
    path = write(tmp_path / "trial.csv", "1,2\n3,4\n")
    write_pack = cache_module.store_recordings

    def slow(*args):
        time.sleep(0.3)  # the disk is busy
        write_pack(*args)

    monkeypatch.setattr(cache_module, "store_recordings", slow)
    with recordings_cache(tmp_path / "cache"):
        first = read_matrix(path)
        second = read_matrix(path)  # while the first one's entry is still being written
    same(first, second)
    assert len(parses) == 1


def test_the_block_ends_once_its_entries_are_written(tmp_path, parses, monkeypatch):
    paths = [write(tmp_path / f"trial{i}.csv", f"{i},2\n3,4\n") for i in range(5)]
    write_pack = cache_module.store_recordings
    monkeypatch.setattr(cache_module, "store_recordings", lambda *args: (time.sleep(0.05), write_pack(*args)))
    with recordings_cache(tmp_path / "cache"):
        for path in paths:
            read_matrix(path)
    assert len(sorted((tmp_path / "cache").glob("*.npz"))) == 5
    assert not list((tmp_path / "cache").glob(".*.tmp"))


def test_only_files_not_kept_are_parsed_and_kept_in_a_new_pack(tmp_path, parses):
    paths = [write(tmp_path / f"trial{i}.csv", f"{i},1\n2,3\n") for i in range(3)]
    folder = tmp_path / "cache"
    with recordings_cache(folder):
        text_module.read_matrices(paths[:2])
    with recordings_cache(folder):
        read = text_module.read_matrices(paths)
    assert parses == paths  # the first two once, the third once
    keys = [cache_module.entry_key(p.resolve(), p.stat(), text_module.PARSER_VERSION) for p in paths]
    assert entries(folder) == keys  # the first pack holds two entries, the newer one the third
    assert len(packs(folder)) == 2
    for i, (data, header) in enumerate(read):
        np.testing.assert_array_equal(data, [[i, 1], [2, 3]])
        assert header is None


def test_entries_of_earlier_versions_are_left_aside_unread(tmp_path, parses, monkeypatch):
    path = write(tmp_path / "trial.csv", "1,2\n3,4\n")
    folder = tmp_path / "cache"
    folder.mkdir()
    for i in range(3):  # one-file entries, as bmelearn wrote them before packs
        np.savez(folder / f"{i:040x}.npz", data=np.zeros((2, 2)), key=np.array(["a", "b", "c", "d"]))
    opened = []
    load = np.load
    monkeypatch.setattr(np, "load", lambda file, *a, **k: opened.append(Path(file).name) or load(file, *a, **k))
    with recordings_cache(folder):
        read_matrix(path)
    with recordings_cache(folder):
        data, _ = read_matrix(path)
    np.testing.assert_array_equal(data, [[1, 2], [3, 4]])
    assert len(parses) == 1 and all(name.startswith("pack-") for name in opened) and opened


def test_a_damaged_newer_entry_gives_way_to_an_older_one(tmp_path, parses):
    path = write(tmp_path / "trial.csv", "EMG1,EMG2\n" + "".join(f"{i},{-i / 7:.5f}\n" for i in range(100)))
    folder = tmp_path / "cache"
    with recordings_cache(folder):
        first = read_matrix(path)
    (pack,) = packs(folder)
    raw = pack.read_bytes()
    at = raw.index(b"data_0.npy") + 400  # one of the samples
    newer = folder / "pack-99999999999999999999-damaged.npz"  # the newest name: a later copy, damaged
    newer.write_bytes(raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1:])
    cache_module._indexes.clear()  # as a new process finds the folder
    with recordings_cache(folder):
        again = read_matrix(path)
    same(first, again)
    assert len(parses) == 1  # read from the older pack, not parsed again


def test_files_read_one_at_a_time_list_the_folder_only_for_keys_it_lacks(tmp_path, parses, monkeypatch):
    paths = [write(tmp_path / "data" / f"trial{i}.csv", f"{i},1\n2,3\n") for i in range(30)]
    folder = tmp_path / "cache"
    with recordings_cache(folder):
        for path in paths:  # as a reader of one file at a time does: a pack each
            read_matrix(path)
    assert len(packs(folder)) == 30 and len(parses) == 30
    cache_module._indexes.clear()  # a new process
    listed, opened = [], []
    listdir, read_keys = os.listdir, cache_module._read_keys
    monkeypatch.setattr(os, "listdir", lambda where: listed.append(where) or listdir(where))
    monkeypatch.setattr(cache_module, "_read_keys", lambda pack: opened.append(pack) or read_keys(pack))
    with recordings_cache(folder):
        for path in paths:
            read_matrix(path)
    assert len(parses) == 30  # every one from the cache
    assert len(listed) == 1 and len(opened) == 30  # the folder listed once, each pack's keys read once
