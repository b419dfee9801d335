"""Ordinal logistic regression: the proportional-odds (cumulative logit, "all-threshold") model.

For classes in their order on the scale, c_0 < c_1 < … < c_{K−1} (a stage 0–4),
P(y ≤ c_k | x) = σ(θ_k − wᵀx) for k = 0 … K − 2, with θ_0 < θ_1 < … (McCullagh, Regression
models for ordinal data, J. R. Stat. Soc. B 42(2), 1980). One direction w and K − 1 ordered
thresholds, p + K − 1 parameters where multinomial logistic regression has (p + 1)(K − 1):
the order of the classes is knowledge the model does not have to learn from few samples.

The order is explicit: bmelearn passes class labels as text, whose sorted order puts "10"
before "2". The scale is ``order`` (a list of the class names, e.g. the config's
``dataset.classes``, or ``[0, 1, 2, 3, 4]`` in YAML, matched to the labels "0" … "4"), or else
the labels sorted, by value when every label is a number. A label and an entry of the order
are the same category when they are equal as numbers ("2", 2, 2.0) or else as text.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from bmelearn.models.capabilities import BmelearnTags, bmelearn_tags


def category_key(value: Any) -> float | str:
    """What identifies a category: its value when it reads as a number ("2", 2 and 2.0 are one
    category), else its text."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def ordinal_scale(labels: Sequence | np.ndarray, order: Sequence | None = None) -> list:
    """The categories of the scale from lowest to highest: ``order`` as given, or else the distinct
    ``labels`` sorted (by value when every one is a number, else as text). A ValueError when
    ``order`` names a category twice or misses one of the labels."""
    if order is None:
        distinct = list(dict.fromkeys(np.asarray(labels).tolist()))
        keys = [category_key(label) for label in distinct]
        numeric = all(isinstance(k, float) for k in keys)
        return [label for _, label in sorted(zip(keys, distinct, strict=True),
                                             key=lambda pair: pair[0] if numeric else str(pair[1]))]
    scale = list(order)
    keys = [category_key(c) for c in scale]
    if len(set(keys)) < len(keys):
        raise ValueError(f"order {scale} names a category more than once.")
    known = set(keys)
    missing = sorted({str(label) for label in np.asarray(labels).tolist() if category_key(label) not in known})
    if missing:
        raise ValueError(f"the labels {missing} are not in order {scale}; add them where they belong on the scale.")
    return scale


def scale_positions(labels: Sequence | np.ndarray, scale: Sequence) -> np.ndarray:
    """The position on ``scale`` (0 for its lowest category) of every label, as integers."""
    position = {category_key(c): k for k, c in enumerate(scale)}
    return np.array([position[category_key(label)] for label in np.asarray(labels).tolist()], dtype=np.intp)


class OrdinalLogit(ClassifierMixin, BaseEstimator):
    """Proportional-odds logistic regression (see the module text), fitted by L-BFGS with an
    analytic gradient on inputs standardised inside (mean 0, SD 1 per column of the training
    data), minimising Σ_i −log P(y_i | x_i) + (α/2)‖w‖² over the standardised weights (the
    thresholds are not penalised). Thresholds stay ordered by fitting θ_0 and the logarithms of
    the gaps θ_k − θ_{k−1}.

    ``order``: the classes from lowest to highest (None: sorted, numbers by value); entries
    absent from the training labels are skipped. ``alpha`` ≥ 0: the L2 penalty (1 as scikit-learn's
    LogisticRegression(C=1)). ``max_iter`` and ``tol``: L-BFGS stops after ``max_iter`` iterations,
    when no gradient component of the objective divided by the number of samples exceeds ``tol``,
    or when the objective stops decreasing (SciPy's ``ftol``).

    After ``fit``: ``classes_`` (sorted, the columns of ``predict_proba``, as scikit-learn
    requires), ``order_`` (the same classes from lowest to highest), ``coef_`` (w, in the units
    of the input columns: per unit of each feature), ``thresholds_`` (θ, K − 1, increasing, for
    the raw inputs) and ``n_iter_``.

    ``predict`` gives the most probable class (the mode), as ``argmax(predict_proba)`` does, so
    that accuracy, the confusion matrix and a tuned operating point read the same decision. The
    median class (the first, from the lowest, whose cumulative probability reaches 0.5) minimises
    the expected absolute error instead; it can be read from ``predict_proba`` with the columns
    taken in the order of ``order_``, and differs from the mode when the distribution is wide or
    skewed.
    """

    #: What each parameter may be (scikit-learn's parameter validation, also at config time).
    _parameter_constraints: ClassVar[dict] = {
        "order": ["array-like", None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, order: Sequence | None = None, alpha: float = 1.0, max_iter: int = 1000, tol: float = 1e-6):
        self.order = order
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: np.ndarray, y: np.ndarray) -> OrdinalLogit:
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_class = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"OrdinalLogit needs at least 2 classes to fit; got one class, {self.classes_[0]!r}.")
        scale = ordinal_scale(self.classes_, self.order)
        rank = scale_positions(self.classes_, scale)
        if len(np.unique(rank)) < len(rank):
            raise ValueError(f"the labels {self.classes_.tolist()} name one category of the scale in two ways.")
        self.order_ = self.classes_[np.argsort(rank)]
        level = np.argsort(np.argsort(rank))[y_class]  # 0 … K − 1 from lowest to highest
        mean, sd = X.mean(axis=0), X.std(axis=0)
        sd[sd == 0] = 1.0
        Z = (X - mean) / sd
        n_levels, n_features = len(self.order_), X.shape[1]
        cumulative = np.cumsum(np.bincount(level, minlength=n_levels))[:-1] / len(level)
        start_thresholds = np.log(cumulative / (1 - cumulative))  # logits of the class frequencies, with w = 0
        start = np.concatenate([np.zeros(n_features), start_thresholds[:1], np.log(np.diff(start_thresholds))])
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # line-search trials far out
            result = minimize(_objective, start, args=(Z, level, n_levels, self.alpha), jac=True, method="L-BFGS-B",
                              options={"maxiter": self.max_iter, "gtol": self.tol})
        if not result.success:
            warnings.warn(f"OrdinalLogit did not converge in {result.nit} iterations ({result.message}); "
                          "raise max_iter or alpha.", ConvergenceWarning, stacklevel=2)
        weights, thresholds = result.x[:n_features], _thresholds(result.x[n_features:])
        self.coef_ = weights / sd
        self.thresholds_ = thresholds + self.coef_ @ mean
        self.n_iter_ = int(result.nit)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(class | x), shape (n_samples, n_classes), columns in the order of ``classes_``."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        below = expit(self.thresholds_[None, :] - (X @ self.coef_)[:, None])  # P(y ≤ c_k), k = 0 … K − 2
        n = len(X)
        in_order = np.diff(np.hstack([np.zeros((n, 1)), below, np.ones((n, 1))]), axis=1)
        return in_order[:, scale_positions(self.classes_, self.order_)]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most probable class of each sample (see the class text for the median)."""
        most_probable = self.predict_proba(X).argmax(axis=1)
        return self.classes_[most_probable]

    def __sklearn_tags__(self) -> BmelearnTags:
        """Features, uncalibrated probabilities (a likelihood model), no fine-tuning."""
        return bmelearn_tags(super().__sklearn_tags__(), probabilities="uncalibrated", fine_tunable=False)


def _thresholds(raw: np.ndarray) -> np.ndarray:
    """θ from the cumulative parametrisation: θ_0, then the logarithms of the gaps."""
    return np.cumsum(np.concatenate([raw[:1], np.exp(raw[1:])]))


def _objective(params: np.ndarray, Z: np.ndarray, level: np.ndarray, n_levels: int,
               alpha: float) -> tuple[float, np.ndarray]:
    """(Σ −log P(y | x) + α/2 ‖w‖²) / n and its gradient, for w and the raw thresholds."""
    n, n_features = Z.shape
    weights, raw = params[:n_features], params[n_features:]
    bounds = np.concatenate([[-np.inf], _thresholds(raw), [np.inf]])
    linear = Z @ weights
    upper, lower = bounds[level + 1] - linear, bounds[level] - linear  # P(y = c_j) = σ(upper) − σ(lower)
    gap = upper - lower
    # log(σ(u) − σ(l)) = log σ(u) + log σ(−l) + log(1 − e^(l − u)), stable in both tails
    log_p = log_expit(upper) + log_expit(-lower) + np.log(-np.expm1(-gap))
    d_upper = expit(-upper) + 1 / np.expm1(gap)  # ∂ log P / ∂ upper
    d_lower = -expit(lower) - 1 / np.expm1(gap)  # ∂ log P / ∂ lower
    d_thresholds = -(np.bincount(level, d_upper, n_levels)[:-1] + np.bincount(level, d_lower, n_levels)[1:])
    d_raw = np.cumsum(d_thresholds[::-1])[::-1]  # θ_k depends on every raw entry up to k
    d_raw[1:] *= np.exp(raw[1:])
    d_weights = Z.T @ (d_upper + d_lower) + alpha * weights
    value = -log_p.sum() + 0.5 * alpha * weights @ weights
    return value / n, np.concatenate([d_weights, d_raw]) / n
