"""The self-contained HTML report of an experiment, written for a clinician.

:func:`write_report` turns the results of a run (tidy tables, confusion counts, example
recordings) into one HTML file with every figure and style inline, so it can be mailed,
archived or printed as is.
"""

from bmelearn.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
