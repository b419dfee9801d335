"""The sections of the report, in page order: each module's ``section(run)`` turns the run
folder's tables (:class:`~bmelearn.report.run.RunData`) into its
:class:`~bmelearn.report.page.Section`, or None when the run has nothing for it. A new section
is a new module here (with a template of its own only for a layout of its own)."""

from bmelearn.report.sections import (
    calibration,
    clinical,
    comparison,
    configuration,
    confusion,
    control,
    data,
    examples,
    headline,
    introduction,
    learning,
    methods,
    metrics,
    notes,
    per_class,
    per_subject,
    quality,
    robustness,
    training,
    transfer,
)

SECTIONS = tuple(m.section for m in (headline, notes, introduction, methods, metrics, data, quality, examples, per_subject,
                                     clinical, calibration, per_class, confusion, comparison, robustness, learning, transfer, control,
                                     training, configuration))

__all__ = ["SECTIONS"]
