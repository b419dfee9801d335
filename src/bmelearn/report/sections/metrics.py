"""How to read the numbers: what each metric and the intervals mean."""

from __future__ import annotations

from bmelearn.report.cells import percent
from bmelearn.report.page import Section
from bmelearn.report.run import RunData


def section(run: RunData) -> Section:
    return Section("metrics", "How to read the numbers", template="metrics.html",
                   extra={"confidence": f"{run.confidence:.0%}", "chance": percent(run.chance)})
