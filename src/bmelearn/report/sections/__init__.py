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
    flow,
    headline,
    introduction,
    learning,
    methods,
    metrics,
    notes,
    ordinal,
    per_class,
    per_subject,
    quality,
    raters,
    robustness,
    suspects,
    training,
    transfer,
    tripod,
)

SECTIONS = tuple(m.section for m in (headline, notes, introduction, methods, metrics, data, flow, quality, examples,
                                     per_subject, clinical, calibration, ordinal, raters, per_class, confusion, suspects,
                                     comparison, robustness, learning, transfer, control, training, tripod, configuration))

__all__ = ["SECTIONS"]
