"""Feature selection inside cross-validation: selectors are scikit-learn transformers placed in
front of the model, so they are fit on the training fold only.

- ``forward``: sequential forward selection of whole features (MAV on all channels is one
  candidate) by the cross-validated accuracy of the model itself (a wrapper method). The
  inner folds are contiguous (no shuffling), so that overlapping neighbouring windows of
  one trial stay on the same side of each inner split.
- ``mutual_info`` and ``anova``: filter methods keeping the k columns with the highest mutual
  information with the class (Kraskov et al. 2004, scikit-learn) or ANOVA F-value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.feature_selection import SelectKBest, f_classif, mutual_info_classif
from sklearn.feature_selection._base import SelectorMixin
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from bmelearn.errors import ConfigError


class ForwardSelection(SelectorMixin, BaseEstimator):
    """Sequential forward selection over groups of columns.

    Parameters
    ----------
    estimator : estimator
        Scored by cross-validated accuracy on each candidate set (cloned, never fitted itself).
    groups : sequence of str, optional
        The feature each column belongs to (``MAV`` for ``MAV_EMG1`` …); default: each column alone.
    n_features : int
        How many groups to select (fewer if adding one no longer improves the score by ``tol``).
    cv : int
        Number of contiguous inner folds.
    tol : float
        Smallest accuracy gain that justifies adding a group (default 0: stop when nothing helps).
    """

    def __init__(self, estimator: Any, groups: Any = None, n_features: int = 4, cv: int = 3, tol: float = 0.0):
        self.estimator = estimator
        self.groups = groups
        self.n_features = n_features
        self.cv = cv
        self.tol = tol

    def fit(self, X: np.ndarray, y: np.ndarray) -> ForwardSelection:
        X = np.asarray(X)
        groups = np.asarray(self.groups if self.groups is not None else [str(i) for i in range(X.shape[1])])
        if len(groups) != X.shape[1]:
            raise ConfigError(f"selection: {len(groups)} group labels for {X.shape[1]} feature columns.")
        candidates = list(dict.fromkeys(groups))
        folds = KFold(self.cv, shuffle=False)
        chosen: list[str] = []
        self.scores_: list[tuple[str, float]] = []
        best = -np.inf
        while candidates and len(chosen) < self.n_features:
            scores = {
                g: cross_val_score(clone(self.estimator), X[:, np.isin(groups, [*chosen, g])], y, cv=folds).mean() for g in candidates
            }
            pick = max(scores, key=scores.get)
            if chosen and scores[pick] - best <= self.tol:
                break
            chosen.append(pick)
            candidates.remove(pick)
            best = scores[pick]
            self.scores_.append((pick, float(best)))
        self.selected_ = chosen
        self.support_ = np.isin(groups, chosen)
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_


def mutual_information(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mutual information of each column with the class (nats), with a fixed seed for repeatability."""
    return mutual_info_classif(X, y, random_state=0)


def with_selection(model: Pipeline, method: str, n_features: int, groups: list[str], cv: int = 3) -> Pipeline:
    """``model`` preceded by a selector (``forward``, ``mutual_info`` or ``anova``)."""
    if method == "forward":
        selector: Any = ForwardSelection(clone(model), groups=groups, n_features=n_features, cv=cv)
    elif method in ("mutual_info", "anova"):
        score = mutual_information if method == "mutual_info" else f_classif
        selector = SelectKBest(score, k=min(n_features, len(groups)))
    else:
        raise ConfigError(f"selection.method: unknown {method!r}; choose forward, mutual_info or anova.")
    return Pipeline([("select", selector), *model.steps])
