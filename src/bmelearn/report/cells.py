"""Table cells of the report: the Table the template renders, and percentages as text."""

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


def percent(value: float) -> str:
    """A fraction as a percentage with one decimal, ``–`` if missing."""
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:.1f}"


def percent_range(low: float, high: float) -> str:
    """``70.0–95.0``, or ``–`` if missing."""
    return "–" if not (np.isfinite(low) and np.isfinite(high)) else f"{percent(low)}–{percent(high)}"
