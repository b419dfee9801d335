"""The sections of the report, in page order: each module's ``section(run)`` turns the run
folder's tables (:class:`~bmelearn.report.run.RunData`) into its
:class:`~bmelearn.report.page.Section`, or None when the run has nothing for it. A new section
is a new module here (with a template of its own only for a layout of its own)."""

from bmelearn.report.sections import (
    adaptation,
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
    regression,
    robustness,
    suspects,
    training,
    transfer,
    tripod,
)

#: The modules of the sections, in page order.
ORDER = (headline, notes, introduction, methods, metrics, data, flow, quality, examples, per_subject, regression, clinical,
         calibration, ordinal, raters, per_class, confusion, suspects, comparison, robustness, learning, transfer, adaptation,
         control,
         training, tripod, configuration)
#: The sections that speak of classes (accuracy, per-class scores, confusions), left out of a regression's report.
OF_CLASSES = (headline, metrics, per_subject, per_class, confusion)
SECTIONS = tuple(m.section for m in ORDER)
#: The sections of a regression's report.
REGRESSION_SECTIONS = tuple(m.section for m in ORDER if m not in OF_CLASSES)

__all__ = ["REGRESSION_SECTIONS", "SECTIONS"]
