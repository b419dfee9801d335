"""The two parsers of numeric text (pyarrow for the common case, pandas for the rest and for the
error messages) give the same arrays to the bit, and the same arrays as the reader before them.

The reference of "before" is the pandas call the reader made until pyarrow took over
(``pd.read_csv(..., dtype=float64)`` with pandas' default converter); it is exact for integers and
for decimals of up to 15 significant digits, and 1 ulp off for some 16-17 digit ones, where both
parsers now give the correctly rounded value (Python's ``float``).
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmelearn.compute.backends import single_threaded
from bmelearn.errors import DataError
from bmelearn.io import parse_matrix, read_matrix
from bmelearn.io import text as text_module
from bmelearn.io.text import _layout, _parse_fast, _parse_pandas, parse_bytes

SETTINGS = settings(derandomize=True, deadline=None, database=None)


def legacy(text: str) -> np.ndarray:
    """What the reader gave before the pyarrow path: pandas' default float converter."""
    layout = _layout(text, "legacy")
    return pd.read_csv(io.StringIO(text.lstrip()), sep=layout.sep, header=None, skiprows=int(layout.has_header),
                       dtype=np.float64, engine="c", skip_blank_lines=True).to_numpy()


def fast(raw: bytes) -> np.ndarray | None:
    """The pyarrow path alone on a file's bytes (None: it passes the file to pandas)."""
    text = raw.decode("utf-8-sig")
    return _parse_fast(text.lstrip().encode(), _layout(text, "fast"))


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    """Equal to the bit (NaN payloads and signed zeros included), in the same memory layout."""
    assert a.dtype == b.dtype == np.float64
    assert a.shape == b.shape and a.strides == b.strides
    np.testing.assert_array_equal(a.view(np.uint64), b.view(np.uint64))


def outcome(call) -> tuple:
    try:
        data, header = call()
    except DataError as exc:
        return "error", str(exc)
    return "ok", data.shape, data.strides, data.view(np.uint64).tobytes(), header


# ---------------------------------------------------------------------------------------
# real recordings


def test_3dc_files_fast_path_equals_fallback_and_legacy(shared_data):
    files = sorted((shared_data / "3dc").glob("Participant*/*/EMG/*.txt"))
    assert files
    for path in files:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
        quick = fast(raw)
        assert quick is not None, f"{path} was not read by the fast path"
        assert_same(quick, _parse_pandas(text, path))
        assert_same(quick, legacy(text))
        data, header = read_matrix(path)
        assert header is None
        assert_same(data, quick)


def test_3dc_quaternion_text_takes_the_fast_path(shared_data):
    path = next((shared_data / "3dc").glob("Participant1/train/IMU/*.txt"))
    text = path.read_text(encoding="utf-8-sig").replace("(", "").replace(")", "")
    quick = _parse_fast(text.lstrip().encode(), _layout(text, path))
    assert quick is not None
    assert_same(quick, _parse_pandas(text, path))
    assert_same(quick, legacy(text))


# ---------------------------------------------------------------------------------------
# generated files

RNG = np.random.default_rng(7)
INTS = RNG.integers(-40_000, 40_000, size=(300, 4))
FLOATS = RNG.normal(scale=300.0, size=(300, 4))
TINY = RNG.normal(scale=1e-5, size=(300, 4))


def lines(values: np.ndarray, fmt: str, sep: str = ",") -> list[str]:
    return [sep.join(fmt % v for v in row) for row in values]


CASES = {
    "ints": (lines(INTS, "%d"), True),
    "negative-floats": (lines(-np.abs(FLOATS), "%.6f"), True),
    "floats-4-decimals": (lines(FLOATS, "%.4f"), True),
    "exponent": (lines(TINY, "%.6e"), True),
    "exponent-upper": (lines(TINY, "%.3E"), True),
    "float32-shortest": ([",".join(str(np.float32(v)) for v in row) for row in TINY], True),
    "savetxt-18e-space": (lines(FLOATS, "%.18e", " "), False),  # np.savetxt's default: 19 digits
    "repr-17-digits": ([",".join(repr(float(v)) for v in row) for row in FLOATS], False),
    "tab": (lines(INTS, "%d", "\t"), True),
    "semicolon": (lines(FLOATS, "%.3f", ";"), True),
    "one-column": (lines(INTS[:, :1], "%d"), True),
    "plus-sign-and-bare-point": (["+1,.5,5.,-0"] * 3, True),
}


@pytest.mark.parametrize("header", [None, "EMG1,EMG2,EMG3,EMG4", '"EMG 1","EMG 2","EMG 3","EMG 4"'], ids=["no-header", "header", "quoted-header"])
@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("last", [True, False], ids=["final-newline", "no-final-newline"])
@pytest.mark.parametrize("bom", [False, True], ids=["utf8", "bom"])
@pytest.mark.parametrize("case", list(CASES))
def test_generated_files(tmp_path, case, header, end, last, bom):
    rows, exact_before = CASES[case]
    if header and header.startswith('"') and not any(c in rows[0] for c in ",;\t"):
        pytest.skip("names with spaces in a whitespace-separated file are not one name each")
    n_cols = len(re.split(r"[,;\t ]", rows[0]))
    sep = next((c for c in ",;\t " if c in rows[0]), ",")
    if header is not None:
        header = sep.join(re.split(",", header)[:n_cols])
    text = end.join(([header] if header else []) + rows) + (end if last else "")
    raw = ("\ufeff" if bom else "").encode() + text.encode()
    path = tmp_path / "trial.csv"
    path.write_bytes(raw)

    data, names = read_matrix(path)
    quick = fast(raw)
    assert quick is not None, "a well-formed file is read by the fast path"
    assert_same(data, quick)
    assert_same(quick, _parse_pandas(text, path))  # the fallback, to the bit
    tokens = [re.split(r"[,;\t ]", row) for row in rows]
    np.testing.assert_array_equal(data, np.array([[float(t) for t in row] for row in tokens]))  # correctly rounded
    if exact_before:
        assert_same(data, legacy(text))
    assert names == (None if header is None else [n.strip('"') for n in header.split(sep)])
    # the text API (predictions from uploads) gives the same
    parsed, parsed_names = parse_matrix(raw.decode("utf-8-sig"), path)
    assert_same(parsed, data)
    assert parsed_names == names


def test_seventeen_digits_are_rounded_correctly():
    # pandas' default converter reads this 1 ulp low; both parsers now give the nearest float
    token = "0.24137544808057113"
    data, _ = parse_matrix(f"{token},1\n{token},2\n", "digits.csv")
    assert data[0, 0] == float(token)
    assert legacy(f"{token},1\n{token},2\n")[0, 0] != float(token)
    assert_same(_parse_pandas(f"{token},1\n{token},2\n", "digits.csv"), data)


@pytest.mark.parametrize(
    "text",
    [
        "1,2\n3,nan\n",  # a literal NaN: pandas decides which spellings count
        "1,inf\n2,-Infinity\n",
        "1  2\n3 4\n",  # whitespace runs: pyarrow's single-space delimiter makes empty values
        "1 2\n 3 4\n",
        "1,2\n\n  \n3,4\n",  # a line of blanks
    ],
    ids=["nan", "inf", "space-runs", "leading-space", "blank-line-of-spaces"],
)
def test_files_the_fast_path_passes_on(text):
    assert fast(text.encode()) is None
    assert outcome(lambda: parse_matrix(text, "f.csv")) == outcome(lambda: (_parse_pandas(text, "f.csv"), None))


def test_fast_path_ignores_empty_lines_as_pandas_does():
    text = "\n\nEMG1,EMG2\n1,2\n\n3,4\n\n"
    data, names = parse_matrix(text, "blank.csv")
    assert names == ["EMG1", "EMG2"]
    assert fast(text.encode()) is not None
    assert_same(data, _parse_pandas(text, "blank.csv"))


def test_undecodable_bytes_in_a_header_keep_the_fast_path(tmp_path):
    raw = b"EMG\xff1,EMG2\n1,2\n3,4\n"
    path = tmp_path / "latin1.csv"
    path.write_bytes(raw)
    data, names = read_matrix(path)
    assert names == ["EMG\ufffd1", "EMG2"]
    np.testing.assert_array_equal(data, [[1, 2], [3, 4]])


def test_error_messages_come_from_the_fallback(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2,3\n4,x,6\n")
    with pytest.raises(DataError, match=r"bad\.csv, line 2: cannot read '4,x,6' \('x' is not a number\)"):
        read_matrix(path)


# ---------------------------------------------------------------------------------------
# any text: the fast path changes no outcome

TOKENS = ["0", "1", "-2.5", "3e-3", ".5", "+7", "5.", "-0", "٣", "1e308", "1e309", "9" * 40, "nan", "NaN", "nAn", "+nan",
          "inf", "-Infinity", "", "x", '"1"', '""', "1,5", "0x10", "1_000", " 1", "1 ", "\t2", "1d5", "1.2.3", "--1",
          "0.24137544808057113", "4.9e-324", "1e-400", "\x00", "\x0c", "\x85", "\u2028", "\ufeff"]  # fmt: skip
GOOD = ["0", "12", "-3", "4.25", "-1e-3", "7E2", "-0.5", "123456", "0.24137544808057113", "1.5e+300"]


@st.composite
def numeric_files(draw) -> bytes:
    """Mostly well-formed numeric text, with odd values, delimiters, line ends and headers mixed in."""
    n = draw(st.integers(1, 4))
    sep = draw(st.sampled_from([",", ";", "\t", " ", ", ", "  "]))
    odd = draw(st.sampled_from([0.0, 0.0, 0.2, 0.5, 1.0]))  # how often a value or a width is odd
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        width = n if draw(st.floats(0, 1)) > odd / 4 else draw(st.integers(1, 5))
        rows.append(sep.join(draw(st.sampled_from(TOKENS if draw(st.floats(0, 1)) < odd / 3 else GOOD)) for _ in range(width)))
    header = draw(st.sampled_from([[], [], [sep.join(f"c{i}" for i in range(n))], [sep.join(f'"c {i}"' for i in range(n))],
                                   ['"a b",c'], ["µV\tmV"], [""]]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lead = draw(st.sampled_from(["", "", "\n\n", " \n", "\ufeff", "\u3000"]))
    tail = draw(st.sampled_from(["", end, end * 2, " ", "\x1a"]))
    return (lead + end.join(header + rows) + tail).encode()


def _from_pandas(text: str, source: str):
    layout = _layout(text, source)
    return _parse_pandas(text, source), layout.first if layout.has_header else None


@settings(SETTINGS, max_examples=400)
@given(raw=numeric_files())
def test_fast_path_gives_what_the_fallback_gives(raw):
    text = raw.decode("utf-8-sig", errors="replace")
    reference = outcome(lambda: _from_pandas(text, "f.csv"))
    got = outcome(lambda: parse_bytes(raw, "f.csv"))
    assert outcome(lambda: parse_matrix(text, "f.csv")) == got
    if reference[0] == "error" and "cannot read it as a numeric table" in reference[1] and got[0] == "ok":
        # pandas failed on a file whose every line holds numbers (its C tokenizer with CR line ends): pyarrow read it
        assert "\r" in text
        return
    assert got == reference


# ---------------------------------------------------------------------------------------
# threads


def test_pyarrow_threads_only_outside_units():
    small, large = 2 * text_module.THREAD_BLOCK_BYTES - 1, 2 * text_module.THREAD_BLOCK_BYTES
    assert text_module._threads(small) == (False, text_module.BLOCK_BYTES)
    threads, block = text_module._threads(large)
    assert threads == (pa.cpu_count() > 1) and block <= text_module.BLOCK_BYTES
    with single_threaded():
        assert text_module._threads(100 * text_module.BLOCK_BYTES) == (False, text_module.BLOCK_BYTES)


def test_threads_and_blocks_give_the_same_arrays(monkeypatch):
    rows = lines(np.tile(FLOATS, (200, 1)), "%.5f")
    raw = ("EMG1,EMG2,EMG3,EMG4\n" + "\n".join(rows) + "\n").encode()
    assert len(raw) > 2 * text_module.BLOCK_BYTES  # several blocks on one thread too
    with single_threaded():
        alone = parse_bytes(raw, "big.csv")
    for block in (2**14, 10_007, 2**17):
        monkeypatch.setattr(text_module, "_threads", lambda n, block=block: (True, block))
        threaded = parse_bytes(raw, "big.csv")
        assert threaded[1] == alone[1] == ["EMG1", "EMG2", "EMG3", "EMG4"]
        assert_same(threaded[0], alone[0])
