"""Quadratic-weighted κ and mean absolute error on an ordinal scale, from a predictions table."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from bmelearn.evaluation.evaluate import RESULT_COLUMNS, mean_over_subjects
from bmelearn.evaluation.ordinal import SUMMARY_KEYS, ordinal_scores

STAGES = ["0", "1", "2", "3", "4"]


def predictions(n_trials_per_stage=8, subjects=("s1", "s2", "s3"), windows=5, seed=0, stages=STAGES):
    """Simulated predictions: each trial's windows off by the same −1, 0 or +1 stage (a trial's
    windows are correlated), then a tenth of the windows one stage further off, within the scale."""
    rng = np.random.default_rng(seed)
    rows = []
    for subject in subjects:
        for k, stage in enumerate(stages):
            for trial in range(n_trials_per_stage):
                shift = rng.choice([-1, 0, 0, 0, 1])
                for _ in range(windows):
                    off = shift + (rng.random() < 0.1) * rng.choice([-1, 1])
                    rows.append(("lda", "loso", subject, f"{subject}/{stage}/{trial}", stage,
                                 stages[int(np.clip(k + off, 0, len(stages) - 1))]))
    return pd.DataFrame(rows, columns=["pipeline", "protocol", "subject", "trial", "true", "predicted"])


def test_kappa_equals_scikit_learns_and_the_error_is_the_mean_distance():
    table = predictions()
    per_subject, _ = ordinal_scores(table, n_boot=50)
    assert list(per_subject.columns) == RESULT_COLUMNS and set(per_subject["class"]) == {""}
    for subject, part in table.groupby("subject"):
        rows = per_subject[per_subject["subject"] == subject].set_index("metric")["value"]
        assert rows["quadratic_kappa"] == pytest.approx(
            cohen_kappa_score(part["true"], part["predicted"], labels=STAGES, weights="quadratic"), abs=1e-12)
        assert rows["quadratic_kappa"] == pytest.approx(
            cohen_kappa_score(part["true"], part["predicted"], weights="quadratic"), abs=1e-12)
        error = np.abs(part["true"].astype(int) - part["predicted"].astype(int)).mean()
        assert rows["mean_absolute_error"] == pytest.approx(error, abs=1e-12)


def test_every_category_of_the_scale_counts_and_distances_are_values_or_positions():
    table = pd.DataFrame({"pipeline": "p", "protocol": "loso", "subject": "s", "trial": ["a", "b", "c", "d"],
                          "true": ["0", "0.5", "3", "3"], "predicted": ["0.5", "0.5", "1", "3"]})
    cdr = [0, 0.5, 1, 2, 3]  # the Clinical Dementia Rating: its values are unevenly spaced
    scores = ordinal_scores(table, cdr, n_boot=0)[0].set_index("metric")["value"]
    assert scores["mean_absolute_error"] == pytest.approx((0.5 + 0 + 2 + 0) / 4)  # in the scale's units
    assert scores["quadratic_kappa"] == pytest.approx(
        cohen_kappa_score(table["true"], table["predicted"], labels=["0", "0.5", "1", "2", "3"], weights="quadratic"))
    named = table.replace({"0": "none", "0.5": "questionable", "1": "mild", "2": "moderate", "3": "severe"})
    words = ordinal_scores(named, ["none", "questionable", "mild", "moderate", "severe"], n_boot=0)[0]
    assert words.set_index("metric")["value"]["mean_absolute_error"] == pytest.approx((1 + 0 + 2 + 0) / 4)  # steps
    with pytest.raises(ValueError, match="give the order"):
        ordinal_scores(named)
    with pytest.raises(ValueError, match=r"the labels \['severe'\] are not in order"):
        ordinal_scores(named, ["none", "questionable", "mild", "moderate"])


def test_intervals_contain_the_value_and_narrow_with_more_trials():
    few, _ = ordinal_scores(predictions(n_trials_per_stage=4, seed=1), n_boot=500)
    many, _ = ordinal_scores(predictions(n_trials_per_stage=40, seed=1), n_boot=500)
    for scores in (few, many):
        assert (scores["ci_low"] <= scores["value"]).all() and (scores["value"] <= scores["ci_high"]).all()
    width = {name: (s["ci_high"] - s["ci_low"]).groupby(s["metric"]).mean() for name, s in (("few", few), ("many", many))}
    assert (width["many"] < 0.6 * width["few"]).all()  # about 1/√10 of it


def test_the_same_seed_gives_the_same_numbers_and_the_summary_is_the_mean_over_subjects():
    table = predictions()
    first, summary = ordinal_scores(table, STAGES, n_boot=200, seed=3)
    again, summary_again = ordinal_scores(table, STAGES, n_boot=200, seed=3)
    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(summary, summary_again)
    other, _ = ordinal_scores(table, STAGES, n_boot=200, seed=4)
    np.testing.assert_array_equal(other["value"], first["value"])
    assert not np.allclose(other["ci_low"], first["ci_low"])
    means = first.groupby("metric")["value"].mean()
    assert summary.set_index("metric")["mean"].to_dict() == pytest.approx(means.to_dict())
    assert (summary["n_subjects"] == 3).all()
    pd.testing.assert_frame_equal(summary, mean_over_subjects(first, SUMMARY_KEYS, 200, seed=3))
