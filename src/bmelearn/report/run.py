"""What a report is made from: the tables of a run folder, read through :mod:`bmelearn.runs.folder`
when a section first asks for them, the experiment configuration, and what the folder cannot
hold: the example recordings and the warnings of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from bmelearn.errors import DataError
from bmelearn.report.tables import DatasetOverview, ResultSummary, dataset_overview
from bmelearn.runs import folder as run_folder
from bmelearn.signals.recording import Recording


@dataclass
class RunData:
    """A run folder and its configuration (``config``, as ``config.yaml`` holds it); ``examples``
    are (caption, Recording) pairs to draw, ``notes`` the warnings raised during the run."""

    folder: Path
    config: dict[str, Any]
    examples: Sequence[tuple[str, Recording]] = ()
    notes: Sequence[str] = ()
    _tables: dict[str, pd.DataFrame | None] = field(default_factory=dict, init=False, repr=False)

    def table(self, name: str) -> pd.DataFrame | None:
        """The table ``name`` of the run folder (a :mod:`bmelearn.runs.folder` file), None if the run did not write it."""
        if name not in self._tables:
            self._tables[name] = run_folder.read_table(self.folder, name)
        return self._tables[name]

    def means(self, name: str, metric: str) -> pd.DataFrame | None:
        """The rows of the summary table ``name`` (means over subjects of a curve) for ``metric``
        over all classes, None if the run did not measure that curve."""
        means = self.table(name)
        return None if means is None else means[(means["metric"] == metric) & (means["class"] == "")]

    def require(self, name: str) -> pd.DataFrame:
        """The table ``name``, which every run folder has."""
        table = self.table(name)
        if table is None:
            raise DataError(f"report: the run folder {self.folder} has no {name}.")
        return table

    @property
    def channel_quality(self) -> pd.DataFrame | None:
        """The EMG channel checks of each subject's session (channel_quality.csv; see
        :mod:`bmelearn.runs.folder`), None for a run folder without them."""
        return self.table(run_folder.CHANNEL_QUALITY)

    @cached_property
    def summary(self) -> dict[str, Any]:
        """summary.json (see :mod:`bmelearn.runs.folder` for its keys)."""
        return run_folder.read_json(self.folder, run_folder.SUMMARY)

    @cached_property
    def window_counts(self) -> pd.Series:
        """The number of analysis windows of each class, in class order."""
        return self.require(run_folder.WINDOWS).set_index("class")["n_windows"]

    @property
    def classes(self) -> list[str]:
        return list(self.window_counts.index)

    @property
    def chance(self) -> float:
        """The accuracy of guessing: one over the number of classes."""
        return 1.0 / len(self.classes)

    @cached_property
    def scores(self) -> ResultSummary:
        return ResultSummary.from_results(self.require(run_folder.RESULTS_PARQUET), self.classes)

    @cached_property
    def overview(self) -> DatasetOverview:
        return dataset_overview(self.require(run_folder.RECORDINGS))

    @cached_property
    def protocols(self) -> pd.DataFrame:
        """Per protocol (the index): pooled, description."""
        return self.require(run_folder.PROTOCOLS).set_index("protocol")

    @property
    def positive(self) -> str | None:
        """The positive class of a binary task, None otherwise."""
        return self.summary[run_folder.SUMMARY_POSITIVE]

    @property
    def confidence(self) -> float:
        return self.config["evaluation"]["confidence"]

    @property
    def regression(self) -> bool:
        """Whether the run learnt a continuous value (evaluation.task: regression), not classes."""
        return self.config["evaluation"].get("task") == "regression"

    @property
    def compare(self) -> str:
        """The metric of the pipeline comparisons and of the curves."""
        return self.config["evaluation"]["compare"]
