"""Table cells of the report: the Table the template renders, and percentages (with intervals) as text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Marks a mean whose interval is the range of its participants (see :func:`interval_is_range`).
RANGE_MARK = "*"


@dataclass
class Table:
    """A table ready for the page: every cell already a string; the first ``row_headers`` cells of a
    row name it (``Evaluation``, ``Model``). ``shades``, if given, holds for every data cell a value
    from 0 to 1 drawn as the depth of its background (a heat map, such as a confusion matrix)."""

    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    footer: list[list[str]] = field(default_factory=list)
    id: str = ""
    row_headers: int = 1
    shades: list[list[float]] | None = None

    def shade(self, row: int, column: int) -> str:
        """The inline style of data cell (``row``, ``column``): a blue background as deep as its shade,
        white text on the deepest; empty without shades."""
        if self.shades is None:
            return ""
        value = float(self.shades[row][column])
        return f"background: rgba(31, 95, 160, {value:.2f}); color: {'#fff' if value > 0.6 else 'inherit'}"


def number(value: float) -> str:
    """A number as written: ``1000.0`` → ``1000``, ``8`` → ``8``."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def percent(value: float) -> str:
    """A fraction as a percentage with one decimal, ``–`` if missing."""
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:.1f}"


def percent_range(low: float, high: float) -> str:
    """``70.0–95.0``, or ``–`` if missing."""
    return "–" if not (np.isfinite(low) and np.isfinite(high)) else f"{percent(low)}–{percent(high)}"


def with_interval(value: float, low: float, high: float) -> str:
    """``90.3 (87.1–93.0)`` in percent; the interval left out when unknown."""
    if not np.isfinite(value):
        return "–"
    if not (np.isfinite(low) and np.isfinite(high)):
        return percent(value)
    return f"{percent(value)} ({percent_range(low, high)})"


def interval_is_range(stats: Mapping[str, Any] | None) -> bool:
    """Whether the interval of a mean of summary.json over several participants reaches from the
    lowest to the highest of them: always so with three or fewer (resampling them cannot give a
    mean outside their range), and then it says little about a new participant."""
    if stats is None or len(stats.get("per_subject", ())) < 2:
        return False
    return bool(np.allclose([stats["ci_low"], stats["ci_high"]], [stats["min"], stats["max"]]))


def mean_with_interval(stats: Mapping[str, Any] | None) -> str:
    """A mean of summary.json as ``90.3 (87.1–93.0)``, marked ``90.3 (70.0–95.0)*`` when its
    interval is the participants' range (:func:`interval_is_range`); ``–`` if not measured."""
    if stats is None:
        return "–"
    return with_interval(stats["mean"], stats["ci_low"], stats["ci_high"]) + (RANGE_MARK if interval_is_range(stats) else "")
