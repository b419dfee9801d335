"""scikit-learn classifiers and regressors by name, each a Pipeline with scaling where the model needs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from bmelearn.models.ordinal import OrdinalLogit

# name -> (description, factory(random_state) -> estimator with bmelearn's defaults, needs scaling)
CLASSIC: dict[str, tuple[str, Callable[[int | None], Any], bool]] = {
    "lda": ("linear discriminant analysis (the myoelectric-control baseline)", lambda rs: LinearDiscriminantAnalysis(), False),
    "svm": ("support vector machine, RBF kernel", lambda rs: SVC(random_state=rs), True),
    "rf": ("random forest (100 trees)", lambda rs: RandomForestClassifier(random_state=rs, n_jobs=-1), False),
    "knn": ("k-nearest neighbours (k = 5)", lambda rs: KNeighborsClassifier(), True),
    "logreg": ("multinomial logistic regression", lambda rs: LogisticRegression(max_iter=2000, random_state=rs), True),
    # standardises its inputs itself: its coefficients stay in the features' units
    "ordinal_logit": ("ordinal logistic regression (proportional odds) for ordered classes (a stage 0-4)",
                      lambda rs: OrdinalLogit(), False),
    # regressors of a continuous target (random_state: Ridge's sag and saga solvers only)
    "ridge": ("ridge regression (least squares with an L2 penalty, alpha = 1) of a continuous target",
              lambda rs: Ridge(random_state=rs), True),
    "rf_regressor": ("random-forest regression (100 trees) of a continuous target",
                     lambda rs: RandomForestRegressor(random_state=rs, n_jobs=-1), False),
}


def make_classic(name: str, random_state: int | None = None) -> Pipeline:
    """The named model with its defaults, as a Pipeline (scaler first where the model needs it)."""
    _, factory, needs_scaling = CLASSIC[name]
    steps = [("scale", StandardScaler())] if needs_scaling else []
    return Pipeline([*steps, (name, factory(random_state))])
