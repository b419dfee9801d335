"""Reading numeric text files (CSV, TSV, whitespace) into sample × column arrays."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from bmelearn.errors import DataError

#: Most values a line may hold (one per channel); pandas takes about 1 kB per column.
MAX_COLUMNS = 4096
# ASCII digits only: pandas reads no other (Arabic-Indic, full-width ...)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf)$", re.IGNORECASE | re.ASCII)


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


def read_text(path: str | Path) -> str:
    """The file's text (a byte-order mark dropped); a clear error when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Check the dataset path and file pattern.")
    try:
        return path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror}). Check the file's permissions.") from None


def parse_matrix(text: str, source: str | Path) -> tuple[np.ndarray, list[str] | None]:
    """Parse numeric text into an array (n_samples, n_columns) and the header names, if any.

    The delimiter (comma, semicolon, tab or whitespace) and a header line (names only, no
    number) are detected from the first line. An unparsable line, or one with more or fewer
    values than the first, is an error naming the file, the line and the value.
    """
    if not text.strip():
        raise DataError(f"{source}: the file is empty. Remove it or re-export the recording.")
    skipped = text[: len(text) - len(text.lstrip())].count("\n")  # blank lines before the first line
    lines = text.lstrip().splitlines()
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

    def bad_line() -> DataError | None:
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
            io.StringIO(text.lstrip()),
            sep=sep,
            header=None,
            skiprows=int(has_header),
            dtype=np.float64,
            engine="c",
            skip_blank_lines=True,
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
    return data, first if has_header else None


def read_matrix(path: str | Path) -> tuple[np.ndarray, list[str] | None]:
    """Read a numeric text file: an array (n_samples, n_columns) and its header names, if any."""
    return parse_matrix(read_text(path), path)
