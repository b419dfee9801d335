"""The report of a run folder: its sections built from the folder's tables and written into it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bmelearn import __version__
from bmelearn.report.page import Report
from bmelearn.report.run import RunData
from bmelearn.report.sections import REGRESSION_SECTIONS, SECTIONS
from bmelearn.runs import folder as run_folder
from bmelearn.signals.recording import Recording


def build_report(run: RunData, title: str, version: str = "") -> Report:
    """The sections the run has something for, in page order; ``version`` defaults to the installed bmelearn's."""
    sections = REGRESSION_SECTIONS if run.regression else SECTIONS
    return Report((s for make in sections if (s := make(run)) is not None), title, version or __version__)


def write_report(folder: str | Path, *, config: dict[str, Any], title: str,
                 examples: Sequence[tuple[str, Recording]] = (), notes: Sequence[str] = (), version: str = "") -> Path:
    """Write the report of the run folder ``folder`` (read through :mod:`bmelearn.runs.folder`) as
    its report.html, and return that path. ``config`` is the experiment configuration as
    config.yaml holds it; ``examples`` are (caption, Recording) pairs drawn over their first 5 s,
    ``notes`` the warnings of the run. The page is rendered in full before it replaces the file
    atomically; raises :class:`~bmelearn.errors.DataError` if a table lacks a required column."""
    path = Path(folder) / run_folder.REPORT
    build_report(RunData(Path(folder), config, examples, notes), title, version).save(path)
    return path
