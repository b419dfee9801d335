"""Evaluation: protocols (splitters), metrics with intervals, the leakage guard, evaluate(),
statistics across pipelines, robustness perturbations and the operating point."""

from bmelearn.evaluation.evaluate import RESULT_COLUMNS, count_fits, evaluate, summarize
from bmelearn.evaluation.leakage import LeakageGuard, check_split
from bmelearn.evaluation.metrics import classification_metrics
from bmelearn.evaluation.protocols import (
    PROTOCOLS,
    CrossSession,
    LeaveOneSubjectOut,
    SubjectKFold,
    WithinSession,
    make_protocol,
)

__all__ = [
    "PROTOCOLS",
    "RESULT_COLUMNS",
    "CrossSession",
    "LeaveOneSubjectOut",
    "SubjectKFold",
    "WithinSession",
    "LeakageGuard",
    "check_split",
    "classification_metrics",
    "count_fits",
    "evaluate",
    "make_protocol",
    "summarize",
]
