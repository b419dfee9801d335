"""Notes and warnings raised during the run, and the channels the quality checks flagged (also
when the run folder is reported on again, without the run's warnings)."""

from __future__ import annotations

from bmelearn.report.page import Section
from bmelearn.report.run import RunData
from bmelearn.signals.quality import channel_notes


def section(run: RunData) -> Section:
    notes = list(dict.fromkeys([*(str(n) for n in run.notes), *channel_notes(run.channel_quality)]))
    return Section("notes", "Notes and warnings", template="notes.html", extra={"notes": notes})
