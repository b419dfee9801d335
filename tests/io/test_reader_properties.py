"""Whatever file it is given, every reader of ``bmelearn.io`` returns recordings or raises a
``BmeError`` (never a bare NumPy, pandas or Python error), within a bounded amount of memory.

The inputs: random bytes; valid files (text, quaternions, ``.npy``, ``.npz``, a long CSV, gzipped)
cut short or with one byte changed; ``.npy`` headers assembled from odd parts; numeric text with
odd delimiters, Unicode digits, huge numbers, NaN and infinity; long tables with outlier or
constant times; patterns assembled from odd parts. Examples are derandomized, so CI always
runs the same ones.
"""

from __future__ import annotations

import gzip
import io
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import bmelearn.io
from bmelearn.errors import BmeError
from bmelearn.io import (
    map_npy,
    match_files,
    npy_file,
    parse_matrix,
    parse_quaternions,
    read,
    read_array,
    read_continuous,
    read_described,
    read_edf,
    read_file,
    read_long_csv,
    read_matrix,
    read_named_files,
    read_pattern,
    read_quaternions,
    recordings_from_table,
)
from bmelearn.io.columns import Columns
from tests.io.formats_writers import write_c3d, write_trc, write_xdf, xdf_stream

#: Most memory (bytes, as tracemalloc counts it) one reader may take on one of these small inputs.
PEAK_BYTES = 32 * 2**20
SETTINGS = settings(derandomize=True, deadline=None, database=None)

PATTERN = "S{subject}/trial_{rep}_{label}"
LONG = {"channels": ["c0", "c1"], "time": "time", "time_unit": "ms"}
#: The columns of LONG_HEADER other than the channels, for readers of a file per trial.
TIMED = Columns(time="time", time_unit="ms", ignore=("label", "subject", "session"))


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="surrogateescape")  # undecodable bytes kept as lone surrogates


#: Every public reader of ``bmelearn.io``, called on the file at ``path`` (S1/trial_0_1.<suffix>
#: under a folder); test_every_public_reader_is_fuzzed keeps this list complete.
FILE_READERS: list[tuple[str, Callable[[Path], object]]] = [
    ("map_npy", map_npy),
    ("npy_file", npy_file),
    ("read_array", read_array),
    ("read_matrix", read_matrix),
    ("read_quaternions", read_quaternions),
    ("parse_matrix", lambda p: parse_matrix(_text(p), p)),
    ("parse_quaternions", lambda p: parse_quaternions(_text(p), p)),
    ("read_file", lambda p: read_file(p, fs=100.0)),
    ("read", lambda p: read(p, fs=100.0)),
    ("read", lambda p: read(p, **LONG)),
    ("read_long_csv", lambda p: read_long_csv(p, **LONG)),
    ("read_long_csv", lambda p: read_long_csv(p, **LONG, fs=1000.0)),
    ("read_long_csv", lambda p: read_long_csv(p, channels=["c0", "c1"], fs=100.0)),
    ("match_files", lambda p: match_files(p.parents[1], PATTERN + "".join(p.suffixes))),
    ("read_pattern", lambda p: read_pattern(p.parents[1], PATTERN + "".join(p.suffixes), fs=100.0, ch_names=["c0", "c1"])),
    ("read_pattern", lambda p: read_pattern(p.parents[1], PATTERN + "".join(p.suffixes), fs=1000.0, ch_names=["c0", "c1"],
                                            columns=TIMED)),
    ("read_edf", read_edf),
    ("read_described", read_described),
    ("read_named_files", lambda p: read_named_files(p.parents[1], PATTERN + "".join(p.suffixes))),
    ("read_continuous", lambda p: read_continuous(p.parents[1], "S{subject}/trial_{rep}_{x}" + "".join(p.suffixes),
                                                  events="sidecar", fs=100.0, ch_names=["c0", "c1"])),
]
#: Readers of something other than a file, each with its own test below.
OTHER_READERS = {"recordings_from_table"}  # a DataFrame: test_table_reader


def check(name: str, call: Callable[[], object]) -> None:
    """``call()`` returns or raises a BmeError, and its peak memory stays under PEAK_BYTES."""
    tracemalloc.start()
    try:
        call()
    except BmeError:
        pass
    except Exception as exc:  # noqa: BLE001 (any other error is the failure looked for)
        raise AssertionError(f"{name} raised {type(exc).__name__}: {exc}") from exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{name} took {peak / 2**20:.0f} MiB"


# ---------------------------------------------------------------------------------------
# inputs

TOKENS = [
    "0", "1", "-2.5", "3e-3", ".5", "+7", "٣", "３", "1e308", "-1e308", "1e309", "9" * 400, "nan", "NaN", "inf",
    "-inf", "Infinity", "", "x", "(", ")", "\ufeff", '"1"', "1,5", "0x10", "1_000",
]  # fmt: skip
DELIMITERS = [",", ";", "\t", " ", "   ", " \t ", ", ", ";\t"]
TIMES = ["0", "1", "10", "-5", "1e9", "1e12", "1e308", "-1e308", "inf", "nan", "", "x"]
LONG_HEADER = "time,c0,c1,label,subject,session"


def _npy(array: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def _npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, emg=np.ones((2, 20)))
    return buffer.getvalue()


def _long_csv(n: int = 30) -> str:
    return "\n".join([LONG_HEADER, *(f"{t},{t % 3},{t % 5},{'ab'[t // 15]},1,s1" for t in range(n))]) + "\n"


def _written(write, suffix: str) -> bytes:
    """The bytes of a file that ``write(path)`` writes."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"file{suffix}"
        write(path)
        return path.read_bytes()


def _c3d() -> bytes:
    """A C3D file: two markers at 100 Hz (one with a gap), two analog channels at 1000 Hz, an event."""
    arm = np.vstack([np.sin(np.arange(50) / 7), np.zeros(50), np.ones(50)])
    gapped = arm.copy()
    gapped[:, 20:24] = np.nan
    return _written(lambda p: write_c3d(p, {"ELB": arm, "WRI": gapped}, 100.0,
                                        {"EMG1": np.sin(np.arange(500) / 5), "Fz": np.ones(500)}, 1000.0,
                                        [(0.2, "General", "1")]), ".c3d")


def _xdf() -> bytes:
    """An XDF file: an EMG stream of two channels at 100 Hz and a marker stream."""
    return _written(lambda p: write_xdf(p, [
        xdf_stream("emg", "EMG", 100.0, 5 + np.arange(200) / 100, np.sin(np.arange(400) / 5).reshape(200, 2), ["c0", "c1"]),
        xdf_stream("markers", "Markers", 0, np.array([5.5, 6.5]), ["1", "2"], channel_format="string")]), ".xdf")


def _trc() -> bytes:
    return _written(lambda p: write_trc(p, {"ELB": np.vstack([np.arange(30.0)] * 3)}, 100.0), ".trc")


def _edf(kind: str) -> bytes:
    """An EDF+ (or BDF+) file of two signals ``c0``, ``c1`` at 100 Hz, 2 s, one annotation."""
    import io

    import edfio

    signal, file = (edfio.BdfSignal, edfio.Bdf) if kind == "bdf" else (edfio.EdfSignal, edfio.Edf)
    out = io.BytesIO()
    file([signal(np.sin(np.arange(200) / (5 + i)), 100.0, label=f"c{i}", physical_dimension="uV") for i in range(2)],
         annotations=[edfio.EdfAnnotation(0.5, 1.0, "1")]).write(out)
    return out.getvalue()


VALID = [
    b"EMG1,EMG2\n" + b"".join(f"{i},{-i / 3:.4f}\n".encode() for i in range(20)),
    b"".join(b"(0.62, -0.007, -0.15, 0.77)\n" for _ in range(10)),
    _npy(np.linspace(0, 1, 40).reshape(2, 20)),
    _npy(np.ones((2, 20), dtype=">f4"), allow_pickle=False),
    _npz(),
    _long_csv().encode(),
    gzip.compress(_long_csv().encode(), mtime=0),
    _edf("edf"),
    _edf("bdf"),
    _c3d(),
    _xdf(),
    _trc(),
]
ODD_NPY = [
    _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True),
    _npy(np.float64(1.0)),
    _npy(np.zeros((2, 3, 4))),
    _npy(np.array([["a", "b"]])),
    _npy(np.zeros((2, 2), complex)),
    _npy(np.full((2, 3), np.nan)),
    _npy(np.zeros((0, 0))),
    _npy(np.asfortranarray(np.ones((3, 2)))),
]
SPECIAL = [
    b"",
    b"\xef\xbb\xbf",
    b"\xef\xbb\xbf1,2\n3,4\n",
    b"\n\n\n",
    b"1," * 10_000 + b"1\n" + b"2," * 10_000 + b"2\n",
    b"1\n" * 50_000,
    b"1" * 200_000 + b"\n",
    b"x" * 200_000 + b"\n1\n",
]


@st.composite
def numeric_text(draw) -> bytes:
    """Rows of odd tokens, each row joined by its own delimiter, maybe under a header."""
    rows = draw(st.lists(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=5), max_size=8))
    lines = [draw(st.sampled_from(DELIMITERS)).join(row) for row in rows]
    header = draw(st.sampled_from([[], ["c0,c1"], [LONG_HEADER], ["\ufeffc0\tc1"]]))
    return draw(st.sampled_from(["\n", "\r\n"])).join(header + lines).encode()


@st.composite
def long_rows(draw) -> list[tuple]:
    """Rows of a long table: times on a grid at 1 ms (or constant), some replaced by odd values."""
    n = draw(st.integers(0, 30))
    step = draw(st.sampled_from([1.0, 0.0, 0.5]))
    times: list = [i * step for i in range(n)]
    for i, value in draw(st.lists(st.tuples(st.integers(0, max(n - 1, 0)), st.sampled_from(TIMES)), max_size=3)):
        if i < n:
            times[i] = value
    labels = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    values = draw(st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(TOKENS)), min_size=n, max_size=n))
    return [(t, c0, c1, label, 1, "s1") for t, (c0, c1), label in zip(times, values, labels, strict=True)]


def long_text(rows: list[tuple]) -> bytes:
    return "\n".join([LONG_HEADER, *(",".join(map(str, row)) for row in rows)]).encode()


@st.composite
def npy_header(draw) -> bytes:
    """An .npy magic string and a header of odd parts, then some bytes of data."""
    descr = draw(st.sampled_from(["'<f8'", "'|O'", "'<U3'", "'<c16'", "'V8'", "5", "[('a', '<f8')]", "'<f8", "'>f4'", "'<f2'"]))
    shape = draw(
        st.sampled_from(
            [
                "()",
                "(2, 3)",
                "(2, 3, 4)",
                "(-1, 2)",
                "(10**30,)",
                "(" + "9" * 30 + ", 2)",
                "(0, 0)",
                "(2, 100000)",
                "[2, 3]",
                "(True, 2)",
                "(2.0, 3)",
            ]
        )
    )
    order = draw(st.sampled_from(["False", "True", "1"]))
    header = f"{{'descr': {descr}, 'fortran_order': {order}, 'shape': {shape}, }}".encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    version = draw(
        st.sampled_from([b"\x01\x00" + len(header).to_bytes(2, "little"), b"\x02\x00" + len(header).to_bytes(4, "little")])
    )
    return np.lib.format.MAGIC_PREFIX + version + header + draw(st.binary(max_size=64))


def cut(files: list[bytes]) -> st.SearchStrategy[bytes]:
    """A file of ``files`` cut short, or with one byte changed."""
    return st.sampled_from(files).flatmap(
        lambda data: st.one_of(
            st.integers(0, len(data)).map(lambda i: data[:i]),
            st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)).map(
                lambda c: data[: c[0]] + bytes([c[1]]) + data[c[0] + 1 :]
            ),
        )
    )


FILES = st.one_of(
    st.binary(max_size=300),
    cut(VALID),
    st.sampled_from(VALID + ODD_NPY + SPECIAL),
    npy_header(),
    numeric_text(),
    long_rows().map(long_text),
)
SUFFIXES = [".npy", ".txt", ".csv", ".csv.gz", ".edf", ".bdf", ".c3d", ".xdf", ".trc", ".hea"]


# ---------------------------------------------------------------------------------------
# properties


def test_every_public_reader_is_fuzzed():
    public = {name for name in bmelearn.io.__all__ if callable(getattr(bmelearn.io, name))}
    assert public == {name for name, _ in FILE_READERS} | OTHER_READERS


@settings(SETTINGS, max_examples=200)
@given(data=FILES, suffix=st.sampled_from(SUFFIXES))
def test_file_readers(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "S1" / f"trial_0_1{suffix}"
        path.parent.mkdir()
        path.write_bytes(data)
        for name, reader in FILE_READERS:
            check(name, lambda: reader(path))  # noqa: B023 (called at once)


TIME_VALUES = st.one_of(st.floats(), st.sampled_from([0.0, 1.0, 1e9, 1e12, 1e308, -1e308]))


@st.composite
def tables(draw) -> pd.DataFrame:
    """A long table of samples, its times from long_rows or any float."""
    rows = draw(long_rows())
    frame = pd.DataFrame(rows, columns=LONG_HEADER.split(","))
    for column in ("c0", "c1", "time"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    if draw(st.booleans()):
        frame["time"] = draw(st.lists(TIME_VALUES, min_size=len(frame), max_size=len(frame)))
    return frame


@settings(SETTINGS, max_examples=150)
@given(table=tables(), fs=st.sampled_from([None, 1000.0, 1e-300, 1e300, float("nan"), 0.0]))
def test_table_reader(table, fs):
    check("recordings_from_table", lambda: recordings_from_table(table, **LONG, fs=fs))


PATTERN_PARTS = ["S{subject}", "trial_{rep}_{label}.csv", "{label}", "*", "?", "**", "..", ".", "", "/", "//", "[a]",
                 "{1x}", "{}", "{label}{rep}", "{x y}", "\x00", "~", "S1", "C:\\data"]  # fmt: skip


@settings(SETTINGS, max_examples=150)
@given(parts=st.lists(st.sampled_from(PATTERN_PARTS), max_size=4), absolute=st.booleans())
def test_patterns(parts, absolute):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "S1").mkdir()
        (root / "S1" / "trial_0_1.csv").write_text("1,2\n3,4\n")
        pattern = (f"{root}/" if absolute else "") + "/".join(parts)
        check("match_files", lambda: match_files(root, pattern))
        check("read_pattern", lambda: read_pattern(root, pattern, fs=100.0, ch_names=["c0", "c1"]))
