"""Notes and warnings raised during the run."""

from __future__ import annotations

from bmelearn.report.page import Section
from bmelearn.report.run import RunData


def section(run: RunData) -> Section:
    return Section("notes", "Notes and warnings", template="notes.html", extra={"notes": [str(n) for n in run.notes]})
