"""Evaluation protocols as scikit-learn splitters driven by the window metadata.

``split(X, y, groups)`` takes ``groups`` as the window metadata table (columns subject,
session, repetition), so the protocols also plug into scikit-learn's own tools
(``cross_validate(model, F, y, groups=meta, cv=CrossSession())``). Every split keeps all
windows of one (subject, session, repetition) on one side.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator, StratifiedGroupKFold

from bmelearn.errors import ConfigError
from bmelearn.evaluation.leakage import LeakageGuard
from bmelearn.registry import Entry, Registry


class MetadataSplitter(BaseCrossValidator):
    """Base class: subclasses implement ``_folds(meta)`` yielding (train mask, test mask)."""

    description = ""

    def split(self, X: Any, y: Any = None, groups: pd.DataFrame | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        meta = self._meta(X, groups)
        guard = LeakageGuard(meta)
        for train, test in self._folds(meta):
            train_idx, test_idx = np.flatnonzero(train), np.flatnonzero(test)
            if len(train_idx) and len(test_idx):
                guard.check(train_idx, test_idx, protocol=type(self).__name__)
                yield train_idx, test_idx

    def get_n_splits(self, X: Any = None, y: Any = None, groups: pd.DataFrame | None = None) -> int:
        return sum(1 for _ in self.split(X, y, groups))

    @staticmethod
    def _meta(X: Any, groups: pd.DataFrame | None) -> pd.DataFrame:
        meta = groups if groups is not None else X
        if not isinstance(meta, pd.DataFrame) or not {"subject", "session", "repetition"} <= set(meta.columns):
            raise ConfigError(
                "protocols: pass the window metadata (a DataFrame with subject, session and repetition columns) as groups."
            )
        return meta.reset_index(drop=True)

    def _folds(self, meta: pd.DataFrame) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        raise NotImplementedError


class WithinSession(MetadataSplitter):
    """k-fold over repetitions, separately for each subject and session (the optimistic case)."""

    description = "trained and tested within one session of one subject, on different repetitions (k-fold over repetitions)"

    def __init__(self, n_splits: int = 4):
        self.n_splits = n_splits

    def _folds(self, meta):
        if self.n_splits < 2:
            raise ConfigError(f"protocols.within_session.n_splits must be at least 2, got {self.n_splits}.")
        for (_, _), block in meta.groupby(["subject", "session"], sort=False):
            reps = pd.unique(block["repetition"])
            k = min(self.n_splits, len(reps))
            if k < 2:
                continue
            in_block = meta.index.isin(block.index)
            for fold in range(k):
                held_out = reps[fold::k]
                is_test = in_block & meta["repetition"].isin(held_out).to_numpy()
                yield in_block & ~is_test, is_test


class CrossSession(MetadataSplitter):
    """For each subject, train on ``train`` sessions and test on ``test`` sessions (the next-day case).

    By default, train on the first session (in the data's order) and test on all the others.
    """

    description = "trained on one recording session and tested on a later one, as a device is used on another day"

    def __init__(self, train: Sequence | None = None, test: Sequence | None = None):
        self.train = train
        self.test = test

    def _folds(self, meta):
        sessions = list(pd.unique(meta["session"]))
        train = list(self.train) if self.train is not None else sessions[:1]
        test = list(self.test) if self.test is not None else [s for s in sessions if s not in train]
        for name, wanted in (("train", train), ("test", test)):
            unknown = [s for s in wanted if s not in sessions and str(s) not in map(str, sessions)]
            if unknown:
                raise ConfigError(f"protocols.cross_session.{name}: sessions {unknown} are not in the data {sessions}.")
        if set(map(str, train)) & set(map(str, test)):
            raise ConfigError(f"protocols.cross_session: sessions {train} are used for both training and testing.")
        session = meta["session"].astype(str)
        is_train = session.isin(list(map(str, train))).to_numpy()
        is_test = session.isin(list(map(str, test))).to_numpy()
        for subject in pd.unique(meta["subject"]):
            mine = (meta["subject"] == subject).to_numpy()
            yield mine & is_train, mine & is_test


class LeaveOneSubjectOut(MetadataSplitter):
    """Train on all subjects but one, test on that one (the new-patient case)."""

    description = "trained on all other subjects and tested on a subject never seen in training (a new patient)"

    def _folds(self, meta):
        subjects = pd.unique(meta["subject"])
        if len(subjects) < 2:
            raise ConfigError("protocols.loso: leave-one-subject-out needs at least 2 subjects.")
        for subject in subjects:
            test = (meta["subject"] == subject).to_numpy()
            yield ~test, test


class SubjectKFold(MetadataSplitter):
    """k-fold over subjects (patients), stratified by label when each subject has one label:
    the new-patient question for many subjects, e.g. a table with one row per patient. Results
    are pooled over the test subjects of all folds (each subject is tested once)."""

    description = "trained on some patients and tested on others never seen in training (k-fold over patients)"
    pooled = True

    def __init__(self, n_splits: int = 5, seed: int = 0):
        self.n_splits = n_splits
        self.seed = seed

    def _folds(self, meta):
        subjects = meta["subject"].astype(str).to_numpy()
        if self.n_splits < 2 or self.n_splits > len(set(subjects)):
            raise ConfigError(
                f"protocols.subject_kfold.n_splits must be between 2 and the {len(set(subjects))} subjects, got {self.n_splits}."
            )
        splitter = StratifiedGroupKFold(self.n_splits, shuffle=True, random_state=self.seed)
        for train, test in splitter.split(meta, meta["label"].astype(str), subjects):
            yield np.isin(np.arange(len(meta)), train), np.isin(np.arange(len(meta)), test)


#: The protocols by name: the splitter class, its own ``description``, the short ``label`` of the
#: report, the ``question`` it answers (how the model does on …) and its ``hardness``: how far
#: the test data is from the training data (new patients 2, another day 1, the same session 0).
PROTOCOLS: Registry[Entry] = Registry("protocol", [
    Entry.of(cls, name, cls.description, label=label, question=question, hardness=hardness)
    for name, cls, label, question, hardness in (
        ("within_session", WithinSession, "Within-session", "the same session", 0),
        ("cross_session", CrossSession, "Cross-session", "another day", 1),
        ("loso", LeaveOneSubjectOut, "Leave-one-subject-out", "a new patient", 2),
        ("subject_kfold", SubjectKFold, "Patient k-fold", "new patients", 2),
    )
])


def headline_protocol(names: Sequence[str], primary: str | None = None) -> str | None:
    """The protocol a run is summed up by: ``primary`` (``evaluation.primary``) if it is one of
    ``names``, else the hardest of ``names`` by :data:`PROTOCOLS`' ``hardness`` (the first of
    equals; one not registered counts as the easiest); None without protocols."""
    if primary in names:
        return primary
    hardness = {n: PROTOCOLS[n].metadata["hardness"] if n in PROTOCOLS else -1 for n in names}
    return max(names, key=hardness.__getitem__, default=None)


def protocol_title(name: str) -> str:
    """The protocol's label and its question: ``Leave-one-subject-out: a new patient``."""
    if name not in PROTOCOLS:
        return name
    return f"{PROTOCOLS[name].metadata['label']}: {PROTOCOLS[name].metadata['question']}"


def make_protocol(name: str, **params: Any) -> MetadataSplitter:
    """Build the named protocol of :data:`PROTOCOLS` (``within_session``, ``cross_session``, ``loso``, ``subject_kfold``)."""
    return PROTOCOLS.check_parameters(name, params, "protocols").obj(**params)


class LimitedTraining(MetadataSplitter):
    """The folds of ``protocol`` with the training set cut to the first ``repetitions``
    repetitions of each class in each (subject, session): for learning curves, how the metric
    grows with the amount of training data."""

    def __init__(self, protocol: MetadataSplitter, repetitions: int):
        self.protocol = protocol
        self.repetitions = repetitions

    @property
    def pooled(self) -> bool:
        return getattr(self.protocol, "pooled", False)

    def _folds(self, meta):
        if self.repetitions < 1:
            raise ConfigError(f"evaluation.learning_curve: {self.repetitions} is not a number of repetitions (1 or more).")
        for train, test in self.protocol._folds(meta):
            yield first_repetitions(meta, train, self.repetitions), test


def first_repetitions(meta: pd.DataFrame, rows: np.ndarray, repetitions: int,
                      per: Sequence[str] = ("subject", "session", "label")) -> np.ndarray:
    """The windows among ``rows`` (a mask) of the first ``repetitions`` repetition numbers of each
    group of ``per`` (by default each class in each (subject, session); ``("subject",
    "session")``: whatever the class, no label read), in the order they appear; a mask."""
    order = meta[rows].groupby(list(per), sort=False)["repetition"].transform(
        lambda r: pd.Series(pd.factorize(r)[0], index=r.index))
    kept = np.zeros(len(meta), dtype=bool)
    kept[np.flatnonzero(rows)[order.to_numpy() < repetitions]] = True
    return kept
