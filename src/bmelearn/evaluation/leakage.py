"""The leakage guard: no group of windows may appear on both sides of a split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bmelearn.errors import LeakageError

#: Windows sharing these keys are not independent and must stay on one side of a split.
GROUP_KEYS = ("subject", "session", "repetition")


class LeakageGuard:
    """The leakage guard of one table of windows: its (subject, session, repetition) groups and
    its trials coded once (grouping 100,000 windows takes milliseconds, and a run checks every
    fold of every protocol), then each split checked against them (:meth:`check`)."""

    def __init__(self, meta: pd.DataFrame):
        self.meta = meta
        self.groups = [(columns, meta.groupby(columns, sort=False, dropna=False).ngroup().to_numpy())
                       for columns in (list(GROUP_KEYS), ["trial"]) if set(columns) <= set(meta.columns)]
        self.counts = [int(group.max(initial=-1)) + 1 for _, group in self.groups]

    def check(self, train: np.ndarray, test: np.ndarray, protocol: str = "split") -> None:
        """Raise :class:`LeakageError` if a window, a (subject, session, repetition) group or a trial
        is in ``train`` and ``test`` (row positions in the table)."""
        overlap = _shared(train, test, len(self.meta))
        if len(overlap):
            raise LeakageError(f"{protocol}: {len(overlap)} window(s) are in both the training and the test set.")
        for (columns, group), count in zip(self.groups, self.counts, strict=True):
            shared = _shared(group[train], group[test], count)
            if len(shared):
                first = self.meta.iloc[int(np.flatnonzero(group == shared[0])[0])]
                example = {k: str(first[k]) for k in columns}
                raise LeakageError(
                    f"{protocol}: {len(shared)} group(s) of windows are in both training and test, e.g. {example}. "
                    "Windows of one repetition are strongly correlated (and may overlap in time), so this would "
                    "overstate accuracy. Split by repetition, session or subject instead."
                )


def _shared(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """The codes (0 … n − 1) in both ``a`` and ``b``, ascending."""
    in_a, in_b = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    in_a[a], in_b[b] = True, True
    return np.flatnonzero(in_a & in_b)


def check_split(meta: pd.DataFrame, train: np.ndarray, test: np.ndarray, protocol: str = "split") -> None:
    """Raise :class:`LeakageError` if a (subject, session, repetition) group or a trial is in train and test
    (:class:`LeakageGuard` of ``meta``, for one split)."""
    LeakageGuard(meta).check(train, test, protocol)
