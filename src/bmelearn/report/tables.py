"""The run folder's tables arranged for the page: per-subject scores, the means over subjects of
summary.json, confusion matrices, and the counts of the data.

Scores stay fractions in [0, 1] here; turning them into percent strings is the page's job.
Each per-subject score comes with its confidence interval (``ci_low``, ``ci_high``); every
summary over subjects averages the per-subject scores, so each subject weighs the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bmelearn.errors import DataError

RESULT_COLUMNS = ("pipeline", "protocol", "subject", "metric", "class", "value")  # ci_low, ci_high optional
CONFUSION_COLUMNS = ("pipeline", "protocol", "subject", "true", "predicted", "count")
SUMMARY_COLUMNS = ("subject", "session", "label", "trial", "modality", "fs", "n_channels", "duration")
TRIAL_KEYS = ("subject", "session", "repetition", "label", "trial")


def require_columns(table: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    """Raise a :class:`DataError` naming the columns ``table`` lacks."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"report: the {name} table lacks the columns {missing}; it has {list(table.columns)}.")


def unique_in_order(values: Iterable) -> list:
    """Distinct non-missing values, in the order they first appear."""
    return list(dict.fromkeys(v for v in values if not pd.isna(v)))


def natural_order(values: Iterable) -> list[str]:
    """Distinct values as strings, sorted so that ``S2`` comes before ``S10``."""

    def key(text: str) -> list[tuple]:
        return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]

    return sorted({str(v) for v in values if not pd.isna(v)}, key=key)


def typed(frame: pd.DataFrame, text: Sequence[str], numbers: Sequence[str]) -> pd.DataFrame:
    """The ``text`` columns of ``frame`` as strings (missing: ``""``) and its ``numbers`` columns
    as floats (missing or unreadable: NaN)."""
    return pd.DataFrame({**{c: frame[c].fillna("").astype(str) for c in text},
                         **{c: pd.to_numeric(frame[c], errors="coerce") if c in frame.columns else np.nan
                            for c in numbers}})


def class_order(classes: Sequence[str], seen: Iterable) -> list[str]:
    """The canonical classes, then any other class name found in the data."""
    names = [str(c) for c in classes]
    return names + [c for c in unique_in_order(str(v) for v in seen if not pd.isna(v)) if c and c not in names]


@dataclass
class ResultSummary:
    """Per-subject scores with their intervals, and the orders in which to show them."""

    subject_scores: pd.DataFrame
    protocols: list[str]
    pipelines: list[str]
    subjects: list[str]
    classes: list[str]

    @classmethod
    def from_results(cls, results: pd.DataFrame, classes: Sequence[str]) -> ResultSummary:
        require_columns(results, RESULT_COLUMNS, "results")
        r = typed(results, ["protocol", "pipeline", "subject", "metric", "class"], ["value", "ci_low", "ci_high"])
        keys = ["protocol", "pipeline", "subject", "metric", "class"]
        scores = r.groupby(keys, sort=False)[["value", "ci_low", "ci_high"]].mean().reset_index()
        return cls(
            subject_scores=scores,
            protocols=unique_in_order(r["protocol"]),
            pipelines=unique_in_order(r["pipeline"]),
            subjects=natural_order(r["subject"]),
            classes=class_order(classes, r["class"]),
        )

    def _select(self, **where: str) -> pd.DataFrame:
        s = self.subject_scores
        mask = np.ones(len(s), dtype=bool)
        for column, value in where.items():
            mask &= (s[column] == value).to_numpy()
        return s[mask]

    def conditions(self) -> list[tuple[str, str]]:
        """The (protocol, pipeline) pairs present, protocol-major."""
        present = set(zip(self.subject_scores["protocol"], self.subject_scores["pipeline"], strict=True))
        return [(p, m) for p in self.protocols for m in self.pipelines if (p, m) in present]

    def subject_table(self, protocol: str, metric: str, column: str = "value", cls: str = "") -> pd.DataFrame:
        """``column`` (value, ci_low or ci_high) of each subject (rows) for each pipeline (columns)."""
        part = self._select(protocol=protocol, metric=metric, **{"class": cls})
        table = part.groupby(["subject", "pipeline"])[column].mean().unstack("pipeline")
        pipelines = unique_in_order(part["pipeline"])
        return table.reindex(
            index=[s for s in self.subjects if s in set(part["subject"])],
            columns=[p for p in self.pipelines if p in pipelines],
        )


def summary_stats(summary: Mapping[str, Any], protocol: str, pipeline: str, metric: str,
                  cls: str = "") -> dict[str, Any] | None:
    """The mean over subjects of ``metric`` (of class ``cls``) from the protocols of summary.json
    (mean, ci_low, ci_high, std, min, max, per_subject); None if the run did not measure it."""
    return summary.get(protocol, {}).get(pipeline, {}).get(f"{metric}:{cls}" if cls else metric)


def confusion_matrices(confusion: pd.DataFrame, classes: Sequence[str], protocols: Sequence[str] = (),
                       pipelines: Sequence[str] = ()) -> dict[tuple[str, str], pd.DataFrame]:
    """Counts summed over subjects, one true × predicted table per (protocol, pipeline).

    Rows and columns follow ``classes`` (then any other class found); missing cells are 0.
    ``protocols`` and ``pipelines`` give a preferred order (e.g. that of the results table).
    """
    require_columns(confusion, CONFUSION_COLUMNS, "confusion")
    c = typed(confusion, ["protocol", "pipeline", "true", "predicted"], ["count"]).fillna({"count": 0})
    order = class_order(classes, [*c["true"], *c["predicted"]])
    protocol_order = unique_in_order([*map(str, protocols), *c["protocol"]])
    pipeline_order = unique_in_order([*map(str, pipelines), *c["pipeline"]])
    out = {}
    for protocol in protocol_order:
        for pipeline in pipeline_order:
            part = c[(c["protocol"] == protocol) & (c["pipeline"] == pipeline)]
            if part.empty:
                continue
            counts = part.groupby(["true", "predicted"])["count"].sum().unstack("predicted")
            out[(protocol, pipeline)] = counts.reindex(index=order, columns=order).fillna(0)
    return out


@dataclass
class DatasetOverview:
    """Head counts of the dataset and one row of facts per modality."""

    n_subjects: int
    sessions: list[str]
    n_trials: int
    modalities: pd.DataFrame  # modality, n_recordings, minutes, fs (list), n_channels (list)


def dataset_overview(summary: pd.DataFrame) -> DatasetOverview:
    """Subjects, sessions, trials and, per modality, minutes recorded, sampling rates and channel counts."""
    require_columns(summary, SUMMARY_COLUMNS, "dataset summary")
    rows = []
    for modality in unique_in_order(summary["modality"]):
        part = summary[summary["modality"] == modality]
        rows.append(
            {
                "modality": str(modality),
                "n_recordings": len(part),
                "minutes": pd.to_numeric(part["duration"], errors="coerce").sum() / 60.0,
                "fs": sorted(unique_in_order(pd.to_numeric(part["fs"], errors="coerce"))),
                "n_channels": sorted(unique_in_order(part["n_channels"])),
            }
        )
    return DatasetOverview(
        n_subjects=summary["subject"].nunique(),
        sessions=[str(s) for s in unique_in_order(summary["session"])],
        n_trials=len(_trials(summary)),
        modalities=pd.DataFrame(rows, columns=["modality", "n_recordings", "minutes", "fs", "n_channels"]),
    )


def _trials(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per trial (the modalities of a trial share its metadata)."""
    keys = [k for k in TRIAL_KEYS if k in summary.columns]
    return summary[keys].astype(str).drop_duplicates()


def trials_per_class_and_session(summary: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """Number of trials of each class (rows) in each session (columns)."""
    require_columns(summary, SUMMARY_COLUMNS, "dataset summary")
    trials = _trials(summary)
    sessions = [str(s) for s in unique_in_order(summary["session"])]
    table = trials.groupby(["label", "session"]).size().unstack("session")
    return table.reindex(index=class_order(classes, trials["label"]), columns=sessions).fillna(0).astype(int)
