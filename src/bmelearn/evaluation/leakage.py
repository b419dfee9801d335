"""The leakage guard: no group of windows may appear on both sides of a split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bmelearn.errors import LeakageError

#: Windows sharing these keys are not independent and must stay on one side of a split.
GROUP_KEYS = ("subject", "session", "repetition")


def check_split(meta: pd.DataFrame, train: np.ndarray, test: np.ndarray, protocol: str = "split") -> None:
    """Raise :class:`LeakageError` if a (subject, session, repetition) group or a trial is in train and test."""
    overlap = np.intersect1d(train, test)
    if len(overlap):
        raise LeakageError(f"{protocol}: {len(overlap)} window(s) are in both the training and the test set.")
    keys = [k for k in (*GROUP_KEYS, "trial") if k in meta.columns]
    for columns in (list(GROUP_KEYS), ["trial"]):
        if not set(columns) <= set(keys):
            continue
        group = meta.groupby(columns, sort=False, dropna=False).ngroup().to_numpy()
        shared = np.intersect1d(group[train], group[test])
        if len(shared):
            first = meta.iloc[int(np.flatnonzero(group == shared[0])[0])]
            example = {k: str(first[k]) for k in columns}
            raise LeakageError(
                f"{protocol}: {len(shared)} group(s) of windows are in both training and test, e.g. {example}. "
                "Windows of one repetition are strongly correlated (and may overlap in time), so this would "
                "overstate accuracy. Split by repetition, session or subject instead."
            )
