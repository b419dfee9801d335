"""Several raters of the same trials or subjects: how well they agree, and what target to learn.

In clinical work a label is often a physician's judgement, and physicians disagree. A table
of ratings (one row per item and rater: ``trial`` or ``subject``, ``rater``, ``label``) gives

- **agreement**, each with a bootstrap interval over subjects (items resampled with their
  subject, so a subject's trials stay together):
  - Cohen's κ for each pair of raters (Cohen, Educ. Psychol. Meas. 20(1), 1960), weighted by
    the squared distance between categories for ordinal and interval labels (Cohen, Psychol.
    Bull. 70(4), 1968);
  - Fleiss' κ over all raters, on the items every rater rated (Fleiss, Psychol. Bull. 76(5),
    1971), for nominal labels;
  - Krippendorff's α over all raters at the labels' level of measurement, missing ratings
    allowed (Krippendorff, Content Analysis, 2004; the ``krippendorff`` package);
- **targets**: one rater's labels, the majority (ties go to the category listed first), soft
  labels (the share of raters per category), or the latent truth of the Dawid–Skene model
  (Dawid & Skene, J. R. Stat. Soc. C 28(1), 1979), which learns each rater's confusion matrix
  by expectation-maximisation and so trusts the raters who agree with the others' consensus.
  (crowd-kit implements it too, but needs transformers and NLTK; the model is 30 lines.)
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd

from bmelearn.errors import ConfigError, DataError

LEVELS = ("nominal", "ordinal", "interval")
#: Columns a ratings table may name its items by, in the order they are looked for.
ITEM_COLUMNS = ("trial", "subject")


def read_ratings(path: str | Path, order: list[str] | None = None) -> pd.DataFrame:
    """The ratings in ``path`` (CSV: ``rater``, ``label`` and ``trial`` or ``subject``): a table
    of ``item``, ``subject`` (the item's subject, or the item itself), ``rater`` and ``label``
    (text), whose ``attrs["by"]`` says what the items are (``trial`` or ``subject``). With
    ``order``, every label must be one of its categories."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV table of ratings ({exc}).") from None
    item = next((c for c in ITEM_COLUMNS if c in table.columns), None)
    missing = [c for c in ("rater", "label") if c not in table.columns] + ([] if item else ["trial or subject"])
    if missing:
        raise DataError(f"{path}: no column {', '.join(missing)}; a ratings table has one row per item and rater, "
                        f"with columns trial (or subject), rater and label. Found: {list(table.columns)}.")
    ratings = pd.DataFrame({"item": table[item], "subject": table["subject"] if "subject" in table else table[item],
                            "rater": table["rater"], "label": table["label"].str.strip()})
    line = 2 + np.flatnonzero((ratings[["item", "rater", "label"]] == "").any(axis=1))  # the header is line 1
    if len(line):
        raise DataError(f"{path}, line {line[0]}: an empty {item}, rater or label; fill it or remove the line.")
    twice = ratings.duplicated(["item", "rater"], keep="first")
    if twice.any():
        at = int(np.flatnonzero(twice)[0])
        raise DataError(f"{path}, line {at + 2}: rater {ratings['rater'][at]!r} rated {item} {ratings['item'][at]!r} "
                        "a second time; keep one rating per rater and item.")
    if order is not None:
        unknown = sorted(set(ratings["label"]) - set(order))
        if unknown:
            raise DataError(f"{path}: labels {unknown} are not among the categories {order}; add them or correct them.")
    ratings.attrs["by"] = item
    return ratings


def categories(ratings: pd.DataFrame, order: list[str] | None = None) -> list[str]:
    """The categories in ``order``, or else the labels in sorted order (numbers by value)."""
    if order is not None:
        return list(order)
    labels = pd.unique(ratings["label"])
    numeric = pd.to_numeric(pd.Series(labels), errors="coerce")
    return [str(x) for x in (labels[np.argsort(numeric.to_numpy())] if numeric.notna().all() else sorted(labels))]


def rating_matrix(ratings: pd.DataFrame, order: list[str]) -> tuple[np.ndarray, list[str], list[str]]:
    """Raters × items of category numbers (0 for the first of ``order``), NaN where a rater did
    not rate an item; with the raters and the items, in order of appearance."""
    code = {c: float(k) for k, c in enumerate(order)}
    wide = ratings.assign(code=ratings["label"].map(code)).pivot(index="rater", columns="item", values="code")
    raters, items = list(pd.unique(ratings["rater"])), list(pd.unique(ratings["item"]))
    return wide.loc[raters, items].to_numpy(dtype=float), raters, items


def cohen_kappa(a: np.ndarray, b: np.ndarray, n_categories: int, weighted: bool,
                scores: np.ndarray | None = None) -> float:
    """Cohen's κ of two raters' category numbers (items rated by both), with quadratic weights
    when ``weighted`` (the squared differences of the categories' ``scores``, by default their
    numbers); NaN when chance agreement is complete."""
    observed = np.zeros((n_categories, n_categories))
    np.add.at(observed, (a.astype(int), b.astype(int)), 1.0)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / max(observed.sum(), 1.0)
    k = np.arange(n_categories, dtype=float) if scores is None else np.asarray(scores, dtype=float)
    weights = (k[:, None] - k[None, :]) ** 2.0 if weighted else (k[:, None] != k[None, :]).astype(float)
    chance = (weights * expected).sum()
    return float(1 - (weights * observed).sum() / chance) if chance > 0 else float("nan")


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' κ of items × categories counts (how many raters put each item in each category;
    the same number of raters for every item)."""
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)[0]
    shares = counts.sum(axis=0) / counts.sum()
    agreement = ((counts * (counts - 1)).sum(axis=1) / (m * (m - 1))).mean()
    chance = (shares**2).sum()
    return float((agreement - chance) / (1 - chance)) if chance < 1 else float("nan")


def _scores(order: list[str], level: str) -> np.ndarray:
    """The value of each category: its number in ``order``, or for interval labels that are
    all numbers, the numbers themselves (interval α and weighted κ see their differences)."""
    numbers = pd.to_numeric(pd.Series(order, dtype=object), errors="coerce")
    return numbers.to_numpy(dtype=float) if level == "interval" and numbers.notna().all() else np.arange(len(order), dtype=float)


def _measures(matrix: np.ndarray, raters: list[str], n_categories: int, level: str,
              scores: np.ndarray | None = None, with_rater: int | None = None) -> dict[tuple[str, str], float]:
    """(measure, raters) → value for the raters × items ``matrix`` (category numbers; their
    ``scores`` for the distances of interval labels); with ``with_rater`` (an index), only the
    pairs of that rater."""
    out = {}
    for i, j in combinations(range(len(raters)), 2):
        if with_rater is not None and with_rater not in (i, j):
            continue
        both = ~np.isnan(matrix[i]) & ~np.isnan(matrix[j])
        if both.sum() > 1:
            name = "Cohen's kappa" if level == "nominal" else "Cohen's kappa (quadratic weights)"
            out[(name, f"{raters[i]} & {raters[j]}")] = cohen_kappa(matrix[i, both], matrix[j, both], n_categories,
                                                                   level != "nominal", scores)
    if with_rater is not None:
        return out
    complete = ~np.isnan(matrix).any(axis=0)
    if level == "nominal" and len(raters) > 2 and complete.sum() > 1:
        codes = matrix[:, complete].T.astype(int)
        out[("Fleiss' kappa", "all")] = fleiss_kappa(np.stack([(codes == c).sum(axis=1) for c in range(n_categories)], 1))
    if (~np.isnan(matrix)).sum(axis=0).max() > 1:
        values = np.unique(matrix[~np.isnan(matrix)])
        data = matrix if scores is None else np.where(np.isnan(matrix), np.nan, scores[np.nan_to_num(matrix).astype(int)])
        out[("Krippendorff's alpha", "all")] = (float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
                                                if len(values) > 1 else float("nan"))
    return out


def agreement(ratings: pd.DataFrame, level: str = "nominal", order: list[str] | None = None, n_boot: int = 1000,
              confidence: float = 0.95, seed: int = 0, with_rater: str | None = None) -> pd.DataFrame:
    """Agreement between the raters of ``ratings`` (:func:`read_ratings`) at ``level``
    (``nominal``, ``ordinal`` or ``interval``; for the last two the categories are taken in
    ``order``, or sorted): measure, raters, value, ci_low, ci_high (a percentile interval over
    ``n_boot`` resamples of the subjects) and items (rated by the raters compared). With
    ``with_rater``, only that rater's pairs (the same values and intervals as among all)."""
    if level not in LEVELS:
        raise ConfigError(f"level: {level!r} is not one of {list(LEVELS)}.")
    order = categories(ratings, order)
    matrix, raters, items = rating_matrix(ratings, order)
    if len(raters) < 2:
        raise DataError(f"agreement needs two raters or more; the ratings have {raters}.")
    scores = _scores(order, level)
    only = None if with_rater is None else raters.index(with_rater)
    point = _measures(matrix, raters, len(order), level, scores, only)
    subject_of = ratings.drop_duplicates("item").set_index("item")["subject"]
    subjects = subject_of.loc[items].to_numpy()
    unique = pd.unique(subjects)
    columns = [np.flatnonzero(subjects == s) for s in unique]
    rng = np.random.default_rng(seed)
    replicates: dict[tuple[str, str], list[float]] = {key: [] for key in point}
    for _ in range(n_boot):
        drawn = np.concatenate([columns[k] for k in rng.integers(0, len(unique), len(unique))])
        for key, value in _measures(matrix[:, drawn], raters, len(order), level, scores, only).items():
            if key in replicates:
                replicates[key].append(value)
    tail = 100 * (1 - confidence) / 2
    rows = []
    for (measure, who), value in point.items():
        values = np.asarray(replicates[(measure, who)], dtype=float)
        values = values[np.isfinite(values)]
        low, high = np.percentile(values, [tail, 100 - tail]) if len(values) else (np.nan, np.nan)
        pair = [raters.index(r) for r in who.split(" & ")] if who != "all" else list(range(len(raters)))
        rated = ((~np.isnan(matrix)).sum(axis=0) > 1).sum() if measure == "Krippendorff's alpha" else \
            (~np.isnan(matrix[pair])).all(axis=0).sum()
        rows.append((measure, who, value, float(low), float(high), int(rated)))
    return pd.DataFrame(rows, columns=["measure", "raters", "value", "ci_low", "ci_high", "items"])


def dawid_skene(matrix: np.ndarray, n_categories: int, iterations: int = 200,
                tolerance: float = 1e-7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Dawid–Skene model fitted to raters × items category numbers (NaN: not rated), from
    the soft majority: (items × categories posterior of each item's true category, raters ×
    true × said confusion matrices, prior of each category). Counts are smoothed by 0.01."""
    rated = ~np.isnan(matrix)
    said = np.zeros((*matrix.shape, n_categories))  # one-hot of what each rater said of each item
    said[rated, matrix[rated].astype(int)] = 1.0
    posterior = said.sum(axis=0)
    posterior /= np.maximum(posterior.sum(axis=1, keepdims=True), 1e-12)
    for _ in range(iterations):
        prior = posterior.mean(axis=0)
        confusion = np.einsum("ik,jil->jkl", posterior, said) + 0.01
        confusion /= confusion.sum(axis=2, keepdims=True)
        log_post = np.log(prior) + np.einsum("jil,jkl->ik", said, np.log(confusion))
        updated = np.exp(log_post - log_post.max(axis=1, keepdims=True))
        updated /= updated.sum(axis=1, keepdims=True)
        change, posterior = np.abs(updated - posterior).max(), updated
        if change < tolerance:
            break
    return posterior, confusion, prior


def consensus(ratings: pd.DataFrame, how: str = "majority", order: list[str] | None = None) -> pd.DataFrame:
    """The target of each item from its ratings: ``majority`` (a ``label`` column; ties go to
    the category listed first in ``order``, and are marked in ``tie``), ``rater:NAME`` (that
    rater's ``label``; items it did not rate are left out), ``soft`` (the share of the item's
    raters per category, a column per category) or ``dawid-skene`` (a ``label`` column, the
    most probable true category, and its probability per category, ``p:CATEGORY``)."""
    order = categories(ratings, order)
    if how.startswith("rater:"):
        name = how.partition(":")[2]
        if name not in set(ratings["rater"]):
            raise ConfigError(f"target {how!r}: no rater {name!r} among {sorted(set(ratings['rater']))}.")
        return ratings.loc[ratings["rater"] == name, ["item", "label"]].set_index("item")
    counts = pd.crosstab(ratings["item"], ratings["label"]).reindex(columns=order, fill_value=0)
    counts = counts.loc[pd.unique(ratings["item"])]
    if how == "soft":
        return counts.div(counts.sum(axis=1), axis=0)
    if how == "majority":
        most = counts.to_numpy()
        winner = most.argmax(axis=1)
        tie = (most == most.max(axis=1, keepdims=True)).sum(axis=1) > 1
        return pd.DataFrame({"label": np.asarray(order, dtype=object)[winner], "tie": tie}, index=counts.index)
    if how == "dawid-skene":
        matrix, _, items = rating_matrix(ratings, order)
        posterior, _, _ = dawid_skene(matrix, len(order))
        return pd.DataFrame({"label": np.asarray(order, dtype=object)[posterior.argmax(axis=1)],
                             **{f"p:{c}": posterior[:, k] for k, c in enumerate(order)}}, index=pd.Index(items, name="item"))
    raise ConfigError(f"target {how!r}: choose majority, soft, dawid-skene or rater:NAME.")
