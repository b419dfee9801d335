"""The self-contained HTML report of an experiment, written for a clinician.

:func:`write_report` turns a run folder (its tables, read through :mod:`bmelearn.runs.folder`)
and the example recordings into one HTML file with every figure and style inline, so it can be
mailed, archived or printed as is. The page is a :class:`Report`, a list of sections, each built
by one module of :mod:`bmelearn.report.sections`.
"""

from bmelearn.report.build import build_report, write_report
from bmelearn.report.page import Report, Section

__all__ = ["Report", "Section", "build_report", "write_report"]
