"""Table cells of the report: the Table the template renders, and percentages (with intervals) as text."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Table:
    """A table ready for the page: every cell already a string; the first cell of a row is its header."""

    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    footer: list[list[str]] = field(default_factory=list)
    id: str = ""


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
