"""Reading numeric text files (CSV, TSV, whitespace) into sample × column arrays.

Two parsers give one result. A well-formed file, the common case, is read by pyarrow's CSV
reader from the file's bytes (1.7× pandas on one thread, more on pyarrow's threads outside a
unit of work; see benchmarks/reading.py). Anything that reader refuses, and any file that holds
a NaN or an infinity, is read again by pandas, which also finds the line at fault for the error
message (file, line, value). Both convert numbers with correct rounding (the float nearest to
the decimal text, as Python's ``float`` gives), so they agree to the bit; so does the array's
memory layout (Fortran order, as pandas gives it).

Parsed files can be kept in a cache folder (:func:`recordings_cache`, set by
:func:`bmelearn.datasets.load_dataset`; see :mod:`bmelearn.compute.recordings_cache`), so that
a second run reads binary arrays instead of parsing the text again.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from bmelearn.compute.backends import on_threads
from bmelearn.compute.recordings_cache import entry_key, finish_writes, load_recordings, store_later
from bmelearn.errors import DataError

#: Most values a line may hold (one per channel); pandas takes about 1 kB per column.
MAX_COLUMNS = 4096
#: The version of what the parser gives for a file; part of the cache key. Bump it when the
#: arrays or header names read from some file change.
PARSER_VERSION = "text-2"
#: Outside a unit of work, a file of at least two blocks of this size (bytes) is parsed on pyarrow's
#: threads, in as many blocks as there are cores (no smaller than this): 1.4× faster on 2 cores
#: for 3DC's 190 kB files, at 1.3× the CPU time (measured by benchmarks/reading.py).
THREAD_BLOCK_BYTES = 48 * 2**10
#: The block of pyarrow's reader on one thread (its default).
BLOCK_BYTES = 2**20
# ASCII digits only: pandas reads no other (Arabic-Indic, full-width ...)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf)$", re.IGNORECASE | re.ASCII)
# the ASCII characters that str.lstrip() removes
_LEADING_SPACE = re.compile(rb"[\t\n\x0b\x0c\r\x1c-\x1f ]*")
# the delimiter of pyarrow's reader for each delimiter found: a single space for whitespace runs
# (np.savetxt's layout); runs of blanks and tabs then make empty values, which send the file to pandas
_ARROW_DELIMITER = {",": ",", ";": ";", "\t": "\t", r"\s+": " "}

_CACHE: ContextVar[Path | None] = ContextVar("bmelearn_recordings_cache", default=None)


@contextmanager
def recordings_cache(folder: str | Path | None) -> Iterator[None]:
    """Inside the block, :func:`read_matrix` keeps what it parses in ``folder`` and reads it from
    there next time (None: no cache). The entries are written while the block goes on; its end
    waits for them."""
    token = _CACHE.set(None if folder is None else Path(folder))
    try:
        yield
    except BaseException:
        with contextlib.suppress(BaseException):  # the block's own error is the one to see
            finish_writes()
        raise
    else:
        finish_writes()
    finally:
        _CACHE.reset(token)


def _delimiter(line: str) -> str:
    for sep in (",", ";"):
        if sep in line:
            return sep
    if "\t" in line:
        # numbers separated by spaces and tabs mixed are whitespace-separated; names may hold spaces
        mixed = any(len(f.split()) > 1 for f in line.strip().split("\t"))
        return r"\s+" if mixed and all(_NUMBER.match(f) for f in line.split()) else "\t"
    return r"\s+"


def _first_bad_line(text: str, sep: str, n_cols: int | None) -> tuple[int, str, str]:
    """Line number (1-based), content and reason of the first line that is not numeric."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in re.split(sep, line.strip())]
        if n_cols is not None and len(fields) != n_cols:
            return number, line, f"{len(fields)} values where the first line has {n_cols}"
        bad = [f for f in fields if not _NUMBER.match(f)]
        if bad:
            return number, line, f"{bad[0]!r} is not a number" if bad[0] else "an empty value"
    return 0, "", "unknown"


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"{path}: file not found. Check the dataset path and file pattern.")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror}). Check the file's permissions.") from None


def read_text(path: str | Path) -> str:
    """The file's text (a byte-order mark dropped); a clear error when it is missing."""
    return _read_bytes(Path(path)).decode("utf-8-sig", errors="replace")


class _Layout(NamedTuple):
    skipped: int  # blank lines before the first line
    sep: str  # the delimiter, a regular expression for pandas
    first: list[str]  # the first line's values or names
    has_header: bool


def _layout(head: str, source: str | Path) -> _Layout:
    """The delimiter and header of a text, from its beginning ``head`` (the whole text, or at
    least through the line break after its first line and one character more); a DataError for
    an empty text, a first line too wide or neither names nor numbers, a header alone."""
    if not head.strip():
        raise DataError(f"{source}: the file is empty. Remove it or re-export the recording.")
    skipped = head[: len(head) - len(head.lstrip())].count("\n")
    lines = head.lstrip().splitlines()
    sep = _delimiter(lines[0])
    first = [f.strip().strip('"') for f in re.split(sep, lines[0].strip())]
    if len(first) > MAX_COLUMNS:
        raise DataError(
            f"{source}, line {skipped + 1}: {len(first)} values, more than the {MAX_COLUMNS} channels a line may hold. "
            "Write one sample per line, one column per channel (transpose the file if it holds one channel per line)."
        )
    numeric = [bool(_NUMBER.match(f)) for f in first]
    has_header = not any(numeric)
    if not has_header and not all(numeric):
        bad = first[numeric.index(False)]
        reason = f"{bad!r} is not a number" if bad else "an empty value"
        raise DataError(
            f"{source}, line {skipped + 1}: cannot read {lines[0].strip()[:80]!r} ({reason}). "
            "A header line must hold only channel names; a sample line only numbers. Fix or delete that line."
        )
    if has_header and len(lines) < 2:
        raise DataError(f"{source}: only a header line, no samples. Re-export the recording.")
    return _Layout(skipped, sep, first, has_header)


def _head(text: str, start: int) -> str:
    """``text`` through the first line break after ``start`` and one character more."""
    end = text.find("\n", start)
    return text if end < 0 else text[: end + 2]


def _parse_fast(data: bytes | memoryview, layout: _Layout) -> np.ndarray | None:
    """The samples of ``data`` (the text from its first line on, as UTF-8), read by pyarrow; None
    when pyarrow cannot read it exactly as pandas would (it then goes to :func:`_parse_pandas`):
    a value that is not a number, a line of another width, no sample, a NaN or an infinity."""
    delimiter = _ARROW_DELIMITER.get(layout.sep)
    if delimiter is None:
        return None
    names = [str(i) for i in range(len(layout.first))]
    threads, block = _threads(len(data))
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=int(layout.has_header), use_threads=threads,
                                           block_size=block),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True, escape_char=False,
                                             newlines_in_values=False, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64()), null_values=[],
                                                 true_values=[], false_values=[], strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False, check_utf8=False),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows == 0 or table.num_columns != len(names):
        return None
    # one row per column, then transposed: the layout (Fortran order) pandas gives
    values = np.empty((table.num_columns, table.num_rows))
    for row, column in zip(values, table.columns, strict=True):
        if column.null_count:
            return None
        np.concatenate([chunk.to_numpy(zero_copy_only=False) for chunk in column.chunks], out=row)
    del table
    if not np.isfinite(values).all():
        return None  # pandas decides which spellings of NaN and infinity are numbers
    return values.T


def _threads(n_bytes: int) -> tuple[bool, int]:
    """Whether pyarrow's reader parses a file of ``n_bytes`` on its threads, and its block size: on
    the calling thread in blocks of :data:`BLOCK_BYTES` inside a unit of work
    (:func:`~bmelearn.compute.backends.single_threaded`), for a small file or on one core; else on
    pyarrow's threads, in a block per core."""
    cores = pa.cpu_count()
    if n_bytes < 2 * THREAD_BLOCK_BYTES or cores < 2:
        return False, BLOCK_BYTES
    from bmelearn.compute.backends import in_unit_of_work

    if in_unit_of_work():
        return False, BLOCK_BYTES
    return True, min(BLOCK_BYTES, max(THREAD_BLOCK_BYTES, -(-n_bytes // cores)))


def _parse_pandas(text: str, source: str | Path) -> np.ndarray:
    """The samples of ``text`` read by pandas, or the DataError naming the line at fault."""
    layout = _layout(text, source)
    stripped = text.lstrip()
    sep, first, has_header, skipped = layout.sep, layout.first, layout.has_header, layout.skipped

    def bad_line() -> DataError | None:
        lines = stripped.splitlines()
        body = "\n".join(lines[1:]) if has_header else "\n".join(lines)
        number, line, reason = _first_bad_line(body, sep, len(first))
        if not number:
            return None
        number += int(has_header) + skipped
        return DataError(
            f"{source}, line {number}: cannot read {line.strip()[:80]!r} ({reason}). "
            "Fix or delete that line; every line must hold one numeric sample per channel."
        )

    try:
        frame = pd.read_csv(
            io.StringIO(stripped),
            sep=sep,
            header=None,
            skiprows=int(has_header),
            dtype=np.float64,
            engine="c",
            skip_blank_lines=True,
            float_precision="round_trip",  # correctly rounded, as pyarrow: pandas' default is not (off by 1 ulp)
        )
    except (ValueError, pd.errors.ParserError) as exc:
        error = bad_line() or DataError(f"{source}: cannot read it as a numeric table ({exc}). Check the file is a complete export.")
        raise error from exc
    data = frame.to_numpy()
    if data.shape[1] != len(first) or np.isnan(data).any():
        # a short line or an empty value is read as NaN: report it unless every NaN is a literal "nan"
        error = bad_line()
        if error is not None:
            raise error
    return data


def parse_matrix(text: str, source: str | Path) -> tuple[np.ndarray, list[str] | None]:
    """Parse numeric text into an array (n_samples, n_columns) and the header names, if any.

    The delimiter (comma, semicolon, tab or whitespace) and a header line (names only, no
    number) are detected from the first line. An unparsable line, or one with more or fewer
    values than the first, is an error naming the file, the line and the value.
    """
    start = len(text) - len(text.lstrip())
    layout = _layout(_head(text, start), source)
    try:
        data = text[start:].encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        data = None
    values = None if data is None else _parse_fast(data, layout)
    if values is None:
        values = _parse_pandas(text, source)
    return values, layout.first if layout.has_header else None


def parse_bytes(raw: bytes, source: str | Path) -> tuple[np.ndarray, list[str] | None]:
    """:func:`parse_matrix` of the bytes of a UTF-8 file (a byte-order mark dropped, undecodable
    bytes replaced), without decoding the whole of a well-formed file."""
    offset = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    start = _LEADING_SPACE.match(raw, offset).end()
    end = raw.find(b"\n", start)
    if start == len(raw) or raw[start] >= 0x80 or end < 0:  # blank, other leading space, or one line: as text
        return parse_matrix(raw.decode("utf-8-sig", errors="replace"), source)
    layout = _layout(raw[offset : end + 2].decode("utf-8", errors="replace"), source)
    values = _parse_fast(memoryview(raw)[start:], layout)
    if values is None:
        values = _parse_pandas(raw.decode("utf-8-sig", errors="replace"), source)
    return values, layout.first if layout.has_header else None


def read_matrix(path: str | Path) -> tuple[np.ndarray, list[str] | None]:
    """Read a numeric text file: an array (n_samples, n_columns) and its header names, if any.

    Inside :func:`recordings_cache`, a file read before (same path, size and modification time)
    comes from the cache folder, and a file parsed now is kept there."""
    return read_matrices([Path(path)])[0]


def read_matrices(paths: Sequence[Path]) -> list[tuple[np.ndarray, list[str] | None]]:
    """:func:`read_matrix` of every path, in order: those in the cache read from it, the others
    parsed on a thread per core (pyarrow's parser releases the GIL: 22 3DC participants, 1,936
    files, 4.8 s to 3.0 s on 2 cores) and given together to the cache's writing thread."""
    folder = _CACHE.get()
    keys = [_entry_key(Path(path)) if folder is not None else None for path in paths]
    known = [i for i, key in enumerate(keys) if key is not None]
    found: list[tuple[np.ndarray, list[str] | None] | None] = [None] * len(paths)
    if folder is not None:
        for i, entry in zip(known, load_recordings(folder, [keys[i] for i in known]), strict=True):
            found[i] = entry
    missed = [i for i, entry in enumerate(found) if entry is None]
    for i, entry in zip(missed, on_threads(_parse_file, [Path(paths[i]) for i in missed]), strict=True):
        found[i] = entry
    if folder is not None:
        store_later(folder, [(keys[i], *found[i]) for i in missed if keys[i] is not None])
    return found


def _entry_key(path: Path) -> tuple[str, ...] | None:
    """The cache key of the file at ``path``, from its size and time before it is read (if it
    changes meanwhile, the next run misses the entry); None if it cannot be seen (the parse
    words the error)."""
    try:
        return entry_key(path.resolve(), os.stat(path), PARSER_VERSION)
    except OSError:
        return None


def _parse_file(path: Path) -> tuple[np.ndarray, list[str] | None]:
    return parse_bytes(_read_bytes(path), path)
