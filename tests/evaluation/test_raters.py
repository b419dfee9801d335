"""Agreement between raters and targets from their labels: Fleiss' κ on Fleiss' own kind of
table (the textbook example of 10 items and 14 raters), Cohen's κ against scikit-learn's,
Krippendorff's α worked out by hand, intervals over subjects, and each bad ratings file."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from bmelearn.errors import DataError
from bmelearn.evaluation.raters import agreement, cohen_kappa, consensus, fleiss_kappa, read_ratings


def _write(tmp_path, rows, header="trial,subject,rater,label"):
    path = tmp_path / "ratings.csv"
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def test_fleiss_kappa_of_the_textbook_example():
    """10 items, 14 raters, 5 categories (the worked example of Fleiss' κ in the literature and
    on Wikipedia): P = 0.378, Pe = 0.213, κ = 0.210."""
    counts = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
              [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert fleiss_kappa(np.array(counts)) == pytest.approx(0.210, abs=0.0005)


def test_cohen_kappa_is_scikit_learns_plain_and_quadratic():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, 300)
    b = np.where(rng.random(300) < 0.6, a, rng.integers(0, 4, 300))
    assert cohen_kappa(a, b, 4, weighted=False) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    assert cohen_kappa(a, b, 4, weighted=True) == pytest.approx(cohen_kappa_score(a, b, weights="quadratic"), abs=1e-12)


def test_agreement_of_a_small_table_by_hand(tmp_path):
    """Two raters, four trials: (1,1), (2,2), (3,3), (1,2). Krippendorff's α (nominal): the
    coincidences give Do = 2/8 and De = 42/56, so α = 1 - (1/4)/(3/4) = 2/3. Cohen's κ: 3 of 4
    agree, chance (2·1 + 1·2 + 1·1)/16 = 5/16, κ = (3/4 - 5/16)/(11/16) = 7/11."""
    path = _write(tmp_path, [(1, "s1", "A", 1), (1, "s1", "B", 1), (2, "s2", "A", 2), (2, "s2", "B", 2),
                             (3, "s3", "A", 3), (3, "s3", "B", 3), (4, "s4", "A", 1), (4, "s4", "B", 2)])
    table = agreement(read_ratings(path), "nominal", n_boot=200).set_index("measure")
    assert table.loc["Krippendorff's alpha", "value"] == pytest.approx(2 / 3)
    assert table.loc["Cohen's kappa", "value"] == pytest.approx(7 / 11)
    assert table.loc["Cohen's kappa", "raters"] == "A & B" and table.loc["Cohen's kappa", "items"] == 4
    assert "Fleiss' kappa" not in table.index  # two raters: Cohen's


def test_intervals_resample_subjects_and_cover_the_estimate():
    """Three simulated raters (correct 90, 80 and 60 % of the time on 3 classes) of 40 subjects
    with 5 trials each: the intervals hold the estimates, the better pair agrees more, and the
    same seed gives the same intervals. Raters who agree on every trial of some subjects and
    on none of others: resampling subjects, as done, gives a wider interval than resampling
    trials as if each were a subject (about √5 as wide)."""
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, 200)
    rows = []
    for rater, right in (("A", 0.9), ("B", 0.8), ("C", 0.6)):
        said = np.where(rng.random(200) < right, truth, rng.integers(0, 3, 200))
        rows += [(k, f"s{k // 5}", rater, f"stage{v}") for k, v in enumerate(said)]
    ratings = pd.DataFrame(rows, columns=["item", "subject", "rater", "label"])
    table = agreement(ratings, "nominal", n_boot=300).set_index(["measure", "raters"])
    assert ((table["ci_low"] <= table["value"]) & (table["value"] <= table["ci_high"])).all()
    assert table.loc[("Cohen's kappa", "A & B"), "value"] > table.loc[("Cohen's kappa", "B & C"), "value"]
    assert {"Fleiss' kappa", "Krippendorff's alpha"} <= set(table.index.get_level_values(0))
    pd.testing.assert_frame_equal(table, agreement(ratings, "nominal", n_boot=300).set_index(["measure", "raters"]))
    agreeing = np.repeat(rng.random(40) < 0.5, 5)  # per subject: B says what A says, or anything
    b = np.where(agreeing, truth, (truth + rng.integers(1, 3, 200)) % 3)
    pair = pd.DataFrame([(k, f"s{k // 5}", "A", str(v)) for k, v in enumerate(truth)]
                        + [(k, f"s{k // 5}", "B", str(v)) for k, v in enumerate(b)], columns=ratings.columns)
    width = {name: agreement(p, "nominal", n_boot=400).set_index("measure").loc["Cohen's kappa", ["ci_low", "ci_high"]]
             .diff().iloc[-1] for name, p in (("subjects", pair), ("trials", pair.assign(subject=pair["item"])))}
    assert width["subjects"] > 1.6 * width["trials"]


def test_ordinal_labels_are_weighted_by_distance():
    """Stages 0-4: a rater one stage off agrees more, on the ordinal scale, than one who says
    any other stage as often; on the nominal scale they are the same."""
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 5, 300)
    near = np.where(truth < 4, truth + 1, truth - 1)  # always one stage off
    far = (truth + rng.integers(2, 4, 300)) % 5
    wrong = rng.random(300) < 0.4
    rows = [(k, k, "truth", str(v)) for k, v in enumerate(truth)]
    rows += [(k, k, "near", str(v)) for k, v in enumerate(np.where(wrong, near, truth))]
    rows += [(k, k, "far", str(v)) for k, v in enumerate(np.where(wrong, far, truth))]
    ratings = pd.DataFrame(rows, columns=["item", "subject", "rater", "label"])
    ordinal = agreement(ratings, "ordinal", n_boot=50).set_index(["measure", "raters"])["value"]
    nominal = agreement(ratings, "nominal", n_boot=50).set_index(["measure", "raters"])["value"]
    weighted = "Cohen's kappa (quadratic weights)"
    assert ordinal[(weighted, "truth & near")] > ordinal[(weighted, "truth & far")] + 0.2
    assert abs(nominal[("Cohen's kappa", "truth & near")] - nominal[("Cohen's kappa", "truth & far")]) < 0.1


def test_targets_from_raters(tmp_path):
    path = _write(tmp_path, [(1, "s1", "A", "mild"), (1, "s1", "B", "mild"), (1, "s1", "C", "severe"),
                             (2, "s1", "A", "none"), (2, "s1", "B", "severe"),
                             (3, "s2", "A", "severe"), (3, "s2", "C", "severe")])
    ratings = read_ratings(path, ["none", "mild", "severe"])
    majority = consensus(ratings, "majority", ["none", "mild", "severe"])
    assert list(majority["label"]) == ["mild", "none", "severe"] and list(majority["tie"]) == [False, True, False]
    soft = consensus(ratings, "soft", ["none", "mild", "severe"])
    np.testing.assert_allclose(soft.to_numpy(), [[0, 2 / 3, 1 / 3], [0.5, 0, 0.5], [0, 0, 1]])
    assert consensus(ratings, "rater:C").to_dict()["label"] == {"1": "severe", "3": "severe"}


def test_bad_ratings_files_name_the_fault(tmp_path):
    with pytest.raises(DataError, match=r"ratings.csv: no column rater; .* Found: \['trial', 'who', 'label'\]"):
        read_ratings(_write(tmp_path, [(1, "A", "x")], header="trial,who,label"))
    with pytest.raises(DataError, match=r"ratings.csv, line 3: rater 'A' rated trial '1' a second time"):
        read_ratings(_write(tmp_path, [(1, "s", "A", "x"), (1, "s", "A", "y")]))
    with pytest.raises(DataError, match=r"ratings.csv, line 2: an empty trial, rater or label"):
        read_ratings(_write(tmp_path, [(1, "s", "A", ""), (2, "s", "A", "y")]))
    with pytest.raises(DataError, match=r"labels \['moderate'\] are not among the categories \['none', 'mild'\]"):
        read_ratings(_write(tmp_path, [(1, "s", "A", "moderate")]), ["none", "mild"])
    with pytest.raises(DataError, match=r"agreement needs two raters or more"):
        agreement(read_ratings(_write(tmp_path, [(1, "s", "A", "x"), (2, "s", "A", "y")])))


def test_the_command_line_prints_the_agreement(tmp_path):
    from typer.testing import CliRunner

    from bmelearn.cli import app

    path = _write(tmp_path, [(k, f"s{k % 6}", r, (k + (r == "B") * (k % 3 == 0)) % 3) for k in range(30) for r in "ABC"])
    result = CliRunner().invoke(app, ["raters", str(path), "--level", "ordinal", "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "Agreement of 3 raters on 30 items (ordinal labels; 95 % intervals over 6 subjects)" in out
    assert "Cohen's kappa (quadratic weights)" in out and "Krippendorff's alpha" in out and "A & C" in out
    assert re.search(r"The Dawid-Skene truth, .* differs from the majority on \d+ item\(s\)", out)
    bad = CliRunner().invoke(app, ["raters", str(tmp_path / "missing.csv")])
    assert bad.exit_code == 2 and "missing.csv: not a readable CSV table of ratings" in " ".join(bad.output.split())


def test_dawid_skene_trusts_the_raters_who_are_right():
    """Simulated: 3000 items of 3 categories, two careful raters (right 90 % of the time) and
    three careless ones (right 40 %, else any other category). The majority follows the
    careless ones; the Dawid–Skene truth is right more often, and the confusion matrix it
    learns of a careful rater has the 90 % on its diagonal."""
    from bmelearn.evaluation.raters import dawid_skene, rating_matrix

    rng = np.random.default_rng(3)
    truth = rng.choice(3, 3000, p=[0.5, 0.3, 0.2])
    rows = []
    for rater, right in (("careful 1", 0.9), ("careful 2", 0.9), ("careless 1", 0.4), ("careless 2", 0.4),
                         ("careless 3", 0.4)):
        said = np.where(rng.random(3000) < right, truth, (truth + rng.integers(1, 3, 3000)) % 3)
        rows += [(k, k, rater, f"c{v}") for k, v in enumerate(said)]
    ratings = pd.DataFrame(rows, columns=["item", "subject", "rater", "label"])
    expected = np.array([f"c{v}" for v in truth], dtype=object)
    majority = consensus(ratings, "majority")["label"].to_numpy()
    latent = consensus(ratings, "dawid-skene")
    assert (latent["label"].to_numpy() == expected).mean() > (majority == expected).mean() + 0.05
    assert (latent["label"].to_numpy() == expected).mean() > 0.88
    np.testing.assert_allclose(latent.filter(like="p:").sum(axis=1), 1.0)
    _, confusion, prior = dawid_skene(rating_matrix(ratings, ["c0", "c1", "c2"])[0], 3)
    np.testing.assert_allclose(np.diag(confusion[0]), 0.9, atol=0.06)
    np.testing.assert_allclose(prior, [0.5, 0.3, 0.2], atol=0.05)
