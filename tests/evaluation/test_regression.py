"""Regression metrics over weight rows, their bootstrap intervals and Bland–Altman agreement."""

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from bmelearn.evaluation.bootstrap import replicate_weights
from bmelearn.evaluation.regression import REGRESSION_METRICS, bland_altman, regression_replicates, regression_rows

NAMES = ["r2", "rmse", "mae", "pearson_r"]


def data(n=200, seed=0):
    """A target far from 0 (rounding would show) and a noisy, slightly biased prediction of it."""
    rng = np.random.default_rng(seed)
    y = 50 + 10 * rng.standard_normal(n)
    return y, 0.8 * y + 12 + 4 * rng.standard_normal(n)


def reference(y, p, w=None):
    return {"r2": r2_score(y, p, sample_weight=w), "rmse": root_mean_squared_error(y, p, sample_weight=w),
            "mae": mean_absolute_error(y, p, sample_weight=w), "pearson_r": pearsonr(y, p).statistic if w is None else None}


def test_registry_lists_the_metrics_with_labels_directions_and_descriptions():
    assert list(REGRESSION_METRICS) == NAMES
    assert {n: e.metadata["higher_is_better"] for n, e in REGRESSION_METRICS.items()} == {
        "r2": True, "rmse": False, "mae": False, "pearson_r": True}
    assert all(e.metadata["label"] and e.metadata["scope"] == "regression" for e in REGRESSION_METRICS.values())
    assert all("units of the target" in REGRESSION_METRICS[n].description for n in ("rmse", "mae"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unit_weights_give_scikit_learns_and_scipys_metrics(seed):
    y, p = data(seed=seed)
    got = regression_replicates(y, p, np.ones((1, len(y))))
    assert set(got) == set(NAMES) and all(v.shape == (1,) for v in got.values())
    for name, expected in reference(y, p).items():
        assert got[name][0] == pytest.approx(expected, rel=1e-12, abs=1e-12), name


def test_a_weight_of_two_equals_duplicating_the_window_and_rows_are_independent():
    y, p = data(n=60)
    rng = np.random.default_rng(5)
    weights = rng.integers(0, 4, size=(5, len(y))).astype(float)
    got = regression_replicates(y, p, weights)
    for i, row in enumerate(weights):
        repeated = np.repeat(np.arange(len(y)), row.astype(int))
        once = regression_replicates(y[repeated], p[repeated], np.ones((1, len(repeated))))
        alone = regression_replicates(y, p, row[None, :])
        for name in NAMES:
            assert got[name][i] == pytest.approx(once[name][0], rel=1e-12, abs=1e-12), name
            assert got[name][i] == pytest.approx(alone[name][0], rel=1e-12, abs=1e-12), name
        expected = reference(y, p, row)
        for name in ("r2", "rmse", "mae"):
            assert got[name][i] == pytest.approx(expected[name], rel=1e-12, abs=1e-12), name
        assert got["pearson_r"][i] == pytest.approx(pearsonr(y[repeated], p[repeated]).statistic, rel=1e-12, abs=1e-12)


def test_undefined_metrics_are_nan():
    y, p = data(n=6)
    constant = np.full(6, 0.1)  # its plain mean is not exactly 0.1: rounding must not pass for variance
    got = regression_replicates(constant, p, np.ones((1, 6)))
    assert np.isnan(got["r2"][0]) and np.isnan(got["pearson_r"][0])
    assert got["mae"][0] == pytest.approx(np.mean(np.abs(p - 0.1)))
    flat = regression_replicates(y, np.full(6, 3.0), np.ones((1, 6)))
    assert np.isnan(flat["pearson_r"][0]) and np.isfinite(flat["r2"][0])
    # a replicate that weights only one window (a single trial drawn), and one that weights none
    got = regression_replicates(y, p, np.array([[0, 0, 3, 0, 0, 0], [0.0] * 6]))
    assert np.isnan(got["r2"]).all() and np.isnan(got["pearson_r"]).all()
    assert got["mae"][0] == pytest.approx(abs(y[2] - p[2])) and np.isnan(got["mae"][1]) and np.isnan(got["rmse"][1])


def test_a_replicate_of_one_constant_trial_is_undefined_not_rounding():
    # a replicate that draws only a trial of constant target, among other trials: Σwy² − (Σwy)²/Σw
    # is then a rounding residue (often ~1e-14, not 0), which must not pass for a variance
    rng = np.random.default_rng(0)
    level = 50 + 10 * rng.standard_normal(50)
    y = np.column_stack([np.repeat(level[:, None], 4, axis=1), 50 + 10 * rng.standard_normal((50, 4))])
    weights = np.r_[[1.0, 2.0, 3.0, 1.0], [0.0] * 4][None, :]
    for row in y:
        got = regression_replicates(row, row + rng.standard_normal(8), weights)
        assert np.isnan(got["r2"][0]) and np.isnan(got["pearson_r"][0])


def trials(n_trials=30, windows=8, seed=0):
    """Trials whose windows are identical copies (perfectly correlated): truth, prediction, trial."""
    y, p = data(n=n_trials, seed=seed)
    return np.repeat(y, windows), np.repeat(p, windows), np.repeat([f"t{i}" for i in range(n_trials)], windows)


def test_rows_hold_the_estimate_inside_their_interval_and_are_reproducible():
    y, p, trial = trials()
    rows = regression_rows(y, p, trial, n_boot=300, confidence=0.95, rng=np.random.default_rng(7))
    assert [r[0] for r in rows] == NAMES and all(r[1] == "" for r in rows)
    plain = regression_replicates(y, p, np.ones((1, len(y))))
    for metric, _, value, low, high in rows:
        assert value == pytest.approx(plain[metric][0], rel=1e-12)  # BLAS may sum in another order
        assert low < value < high, metric
    assert rows == regression_rows(y, p, trial, n_boot=300, confidence=0.95, rng=np.random.default_rng(7))
    assert rows != regression_rows(y, p, trial, n_boot=300, confidence=0.95, rng=np.random.default_rng(8))


def test_resampling_correlated_windows_as_one_cluster_gives_wider_intervals():
    # 8 identical windows per trial hold the information of one: resampling the windows as if
    # independent pretends to 8 times as many units and gives intervals about √8 times too narrow
    y, p, trial = trials()
    by_trial = regression_rows(y, p, trial, n_boot=400, confidence=0.95, rng=np.random.default_rng(1))
    by_window = regression_rows(y, p, np.arange(len(y)), n_boot=400, confidence=0.95, rng=np.random.default_rng(1))
    for (metric, _, value, low, high), (same, _, value_w, low_w, high_w) in zip(by_trial, by_window, strict=True):
        assert metric == same and value == pytest.approx(value_w, rel=1e-12)
        assert high - low > 2 * (high_w - low_w), metric


def test_rows_leave_out_an_undefined_metric():
    y = np.repeat([1.0, 2.0], 5)
    rows = regression_rows(np.full(10, 2.0), y, np.repeat(["a", "b"], 5), n_boot=20, confidence=0.95,
                           rng=np.random.default_rng(0))
    assert [r[0] for r in rows] == ["rmse", "mae"]


def test_bland_altman_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.5, 2.0, 3.5, 5.0])  # differences 0.5, 0, 0.5, 1: mean 0.5, SD √(0.5/3)
    out = bland_altman(y, p)
    sd, t = np.sqrt(0.5 / 3), 3.182446305284263  # t quantile 0.975 with 3 degrees of freedom
    assert out["n"] == 4 and out["unit"] == "window"
    assert out["bias"] == pytest.approx(0.5) and out["sd"] == pytest.approx(sd)
    assert out["lower"] == pytest.approx(0.5 - 1.96 * sd) and out["upper"] == pytest.approx(0.5 + 1.96 * sd)
    assert (out["bias_ci_low"], out["bias_ci_high"]) == pytest.approx((0.5 - t * sd / 2, 0.5 + t * sd / 2))
    half = t * np.sqrt(3 * sd**2 / 4)
    assert (out["lower_ci_low"], out["lower_ci_high"]) == pytest.approx((out["lower"] - half, out["lower"] + half))
    assert (out["upper_ci_low"], out["upper_ci_high"]) == pytest.approx((out["upper"] - half, out["upper"] + half))


def test_bland_altman_per_cluster_averages_the_differences_first():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    p = y + np.array([0.5, 0.0, 0.5, 1.0, 0.0, 2.0])  # cluster means 0.25, 0.75, 1.0 (b has one window more)
    out = bland_altman(y, p, clusters=np.array(["a", "a", "b", "b", "c", "c"]))
    means = np.array([0.25, 0.75, 1.0])
    sd, t = means.std(ddof=1), 4.302652729911275  # 2 degrees of freedom
    assert out["n"] == 3 and out["unit"] == "cluster"
    assert out["bias"] == pytest.approx(means.mean()) and out["sd"] == pytest.approx(sd)
    assert out["upper"] == pytest.approx(means.mean() + 1.96 * sd)
    assert out["bias_ci_high"] - out["bias"] == pytest.approx(t * sd / np.sqrt(3))
    assert out["upper_ci_high"] - out["upper"] == pytest.approx(t * sd * np.sqrt(3 / 3))
    one = bland_altman(y[:2], p[:2], clusters=["a", "a"])
    assert one["n"] == 1 and one["bias"] == 0.25 and np.isnan(one["sd"]) and np.isnan(one["upper_ci_high"])
    with pytest.raises(ValueError):
        bland_altman(y, p[:3])


def test_weights_from_the_bootstrap_are_accepted_whole():
    y, p, trial = trials(n_trials=10, windows=3)
    weights = replicate_weights(trial, np.zeros(len(y)), 50, np.random.default_rng(0))
    got = regression_replicates(y, p, weights)
    assert all(v.shape == (weights.shape[0],) for v in got.values())
    assert np.isfinite(got["rmse"]).all() and (got["rmse"] >= got["mae"]).all()
