"""Clinical metrics, intervals, statistics, robustness, operating point and the leakage guard."""

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.model_selection import KFold

from bmelearn.errors import ConfigError, LeakageError
from bmelearn.evaluation import evaluate
from bmelearn.evaluation.bootstrap import cluster_weights
from bmelearn.evaluation.evaluate import score_rows
from bmelearn.evaluation.metrics import classification_metrics, metric_replicates
from bmelearn.evaluation.operating_point import with_operating_point
from bmelearn.evaluation.robustness import PERTURBATIONS, additive_noise, channel_dropout, electrode_shift
from bmelearn.evaluation.statistics import compare_pipelines, holm, paired_test, rank_pipelines
from bmelearn.features import FeatureExtractor
from bmelearn.models import make_model
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run
from bmelearn.signals.windowing import cut_windows


def test_binary_metrics_from_a_hand_counted_case():
    # 5 patients with the disease, 5 without; 4 found, 1 missed, 1 false alarm
    y_true = np.array(["sick"] * 5 + ["well"] * 5)
    y_pred = np.array(["sick"] * 4 + ["well"] + ["sick"] + ["well"] * 4)
    p_sick = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.65, 0.3, 0.2, 0.1, 0.05])
    scores = np.column_stack([p_sick, 1 - p_sick])
    m = {(k, c): v for k, c, v in classification_metrics(y_true, y_pred, ["sick", "well"], scores)}
    assert m[("sensitivity", "sick")] == pytest.approx(4 / 5)
    assert m[("specificity", "sick")] == pytest.approx(4 / 5)
    assert m[("ppv", "sick")] == pytest.approx(4 / 5)
    assert m[("npv", "sick")] == pytest.approx(4 / 5)
    assert m[("f1", "sick")] == pytest.approx(0.8)
    assert m[("kappa", "")] == pytest.approx((0.8 - 0.5) / (1 - 0.5))
    # ROC AUC: of the 25 (sick, well) pairs the sick one scores higher in all but 0.6 < 0.65, 0.2 < 0.65,
    # 0.2 < 0.3, and 0.2 = 0.2 (a tie counts half)
    assert m[("roc_auc", "sick")] == pytest.approx((25 - 3 - 0.5) / 25)
    # average precision: recall steps of 1/5 at precisions 1/1, 2/2, 3/3 (0.9, 0.8, 0.7), 4/5 (0.6, after the
    # well at 0.65), and 5/8 at the tied 0.2
    assert m[("pr_auc", "sick")] == pytest.approx((1 + 1 + 1 + 4 / 5 + 5 / 8) / 5)
    assert m[("brier", "sick")] == pytest.approx(np.mean((p_sick - (y_true == "sick")) ** 2))


def test_weighted_metrics_equal_scikit_learn_for_every_weighting():
    rng = np.random.default_rng(0)
    classes = ["a", "b", "c"]
    t = rng.choice(classes, 300)
    p = np.where(rng.random(300) < 0.7, t, rng.choice(classes, 300))
    scores = rng.dirichlet(np.ones(3), 300).round(2)  # ties in the scores
    weights = rng.integers(0, 3, (4, 300)).astype(float)
    got = metric_replicates(t, p, classes, weights, scores)
    for b, w in enumerate(weights):
        assert got[("kappa", "")][b] == pytest.approx(skm.cohen_kappa_score(t, p, sample_weight=w))
        assert got[("macro_f1", "")][b] == pytest.approx(skm.f1_score(t, p, average="macro", sample_weight=w))
        assert got[("balanced_accuracy", "")][b] == pytest.approx(skm.balanced_accuracy_score(t, p, sample_weight=w))
        for i, c in enumerate(classes):
            assert got[("roc_auc", c)][b] == pytest.approx(skm.roc_auc_score(t == c, scores[:, i], sample_weight=w))
            assert got[("pr_auc", c)][b] == pytest.approx(skm.average_precision_score(t == c, scores[:, i], sample_weight=w))
            assert got[("npv", c)][b] == pytest.approx(skm.precision_score(t != c, p != c, sample_weight=w))


def _one_subject(rng, n_trials=20, windows=40, rate=(4, 1)):
    """Windows of trials whose own correct-rate varies (Beta(4, 1): mean 0.8), as real trials do."""
    truth = np.array(["sick"] * (n_trials * windows) + ["well"] * (n_trials * windows))
    trial = np.repeat(np.arange(2 * n_trials), windows)
    correct = rng.random(len(truth)) < np.repeat(rng.beta(*rate, 2 * n_trials), windows)
    predicted = np.where(correct, truth, np.where(truth == "sick", "well", "sick"))
    return truth, predicted, trial


def _sensitivity_interval(truth, predicted, units, rng):
    rows = score_rows(truth, predicted, None, units, truth, ["sick", "well"], 400, 0.95, rng)
    return next((low, high) for metric, cls, _, low, high in rows if (metric, cls) == ("sensitivity", "sick"))


def test_intervals_over_trials_cover_the_true_sensitivity():
    rng = np.random.default_rng(1)
    covered, naive = [], []
    for _ in range(200):
        truth, predicted, trial = _one_subject(rng)
        for units, out in ((trial, covered), (np.arange(len(truth)), naive)):
            low, high = _sensitivity_interval(truth, predicted, units, rng)
            out.append(low <= 0.8 <= high)
    assert np.mean(covered) >= 0.90
    # resampling windows as if they were independent gives intervals far too narrow
    assert np.mean(naive) < np.mean(covered) - 0.2


def test_cluster_bootstrap_keeps_each_stratum_size():
    w = cluster_weights(np.array([0, 0, 1, 2, 3, 3]), np.array(["x", "x", "x", "y", "y", "y"]), 50, np.random.default_rng(0))
    # clusters 0, 1 are class x (3 windows), clusters 2, 3 class y; two draws per class
    assert set(np.round(w[:, :3].sum(axis=1) / 1.0)) <= {2.0, 3.0, 4.0, 6.0}
    assert np.all(w[:, 0] == w[:, 1])  # the two windows of one trial are drawn together


def test_statistics_on_a_known_table():
    assert list(holm([0.01, 0.04, 0.03])) == pytest.approx([0.03, 0.06, 0.06])
    test, p, smallest = paired_test(np.array([0.1, 0.2, 0.3, 0.4]))
    assert test == "exact permutation" and p == pytest.approx(2 / 16) and smallest == pytest.approx(2 / 16)
    assert paired_test(np.arange(1, 25) / 100)[0] == "wilcoxon signed-rank"
    rows = [(p, s, v) for s in range(6) for p, v in (("lda", 0.70 + s / 100), ("rf", 0.80 + s / 100), ("svm", 0.75 + s / 50))]
    results = pd.DataFrame([("d", p, "cs", s, "balanced_accuracy", "", v, 0, 0) for p, s, v in rows],
                           columns=["dataset", "pipeline", "protocol", "subject", "metric", "class", "value", "ci_low", "ci_high"])
    pairs = compare_pipelines(results).set_index(["pipeline_a", "pipeline_b"])
    assert pairs.loc[("lda", "rf"), "difference"] == pytest.approx(-0.10)
    assert pairs.loc[("lda", "rf"), "p_value"] == pytest.approx(2 / 64)  # all six subjects agree
    assert pairs["p_holm"].max() <= 1 and (pairs["p_holm"] >= pairs["p_value"]).all()
    ranks = rank_pipelines(results).set_index("pipeline")
    assert ranks.loc["rf", "mean_rank"] < ranks.loc["lda", "mean_rank"]
    assert ranks.loc["lda", "mean_rank"] == 3 and not ranks.loc["lda", "tied_with_best"]


def test_perturbations_do_what_they_say():
    X = np.arange(2 * 4 * 8, dtype=float).reshape(2, 4, 8)
    np.testing.assert_array_equal(electrode_shift(X, 1), X[:, [1, 2, 3, 0]])
    np.testing.assert_allclose(electrode_shift(X, 0.5), 0.5 * X + 0.5 * X[:, [1, 2, 3, 0]])
    np.testing.assert_array_equal(electrode_shift(X, 0), X)
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((200, 3, 400))
    noise = additive_noise(signal, 10.0, rng) - signal
    assert np.mean(noise**2) == pytest.approx(np.mean(signal**2) / 10, rel=0.02)
    dropped = channel_dropout(signal, 2, rng)
    assert (np.abs(dropped).sum(axis=(0, 2)) == 0).sum() == 2
    with pytest.raises(ConfigError, match="dropout"):
        channel_dropout(signal, 5, rng)
    assert all(entry.metadata["axis"] for entry in PERTURBATIONS.values())  # the report's axis label


def test_operating_point_reaches_its_target_on_training_data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(1.2, 1, (200, 2))])
    y = np.array(["well"] * 200 + ["sick"] * 200)
    model = with_operating_point(make_model("logreg"), "sick", "sensitivity", 0.95).fit(X, y)
    predicted = model.predict(X)
    assert np.mean(predicted[y == "sick"] == "sick") >= 0.93
    assert model.best_threshold_ < 0.5  # a screening threshold is lower than the default
    default = make_model("logreg").fit(X, y).predict(X)
    assert np.mean(predicted[y == "sick"] == "sick") > np.mean(default[y == "sick"] == "sick")


def test_evaluate_refuses_a_leaky_splitter_from_anywhere(simulated):
    w = cut_windows(simulated.select(modalities="emg"), 0.2, 0.1)
    X = FeatureExtractor(["MAV"], fs=1000).fit_transform(w.X)
    with pytest.raises(LeakageError, match="both training and test"):
        evaluate(X, w.meta, {"lda": make_model("lda")}, {"shuffled": KFold(3, shuffle=True, random_state=0)},
                 simulated.classes, n_boot=0)


SMALL_BINARY = [
    "dataset.n_subjects=4", "dataset.n_repetitions=3", "dataset.duration=1.0", "dataset.classes=[rest, hand close]",
    "models=[lda, logreg]", "protocols=[cross_session]", "evaluation.n_boot=200",
    "evaluation.positive=hand close", "evaluation.operating_point={target: sensitivity, value: 0.9}",
    "evaluation.robustness={electrode_shift: [0, 1, 2], snr_db: [0]}",
]


def test_binary_run_with_operating_point_robustness_and_comparisons(tmp_path):
    result = run(load_config(None, SMALL_BINARY), tmp_path / "run")
    assert set(result.robustness["perturbation"]) == {"electrode_shift", "snr_db"}
    shift = result.robustness[(result.robustness.metric == "balanced_accuracy") & (result.robustness.perturbation == "electrode_shift")]
    at = shift.groupby("level")["value"].mean()
    clean = result.results.query("metric == 'balanced_accuracy'")["value"].mean()
    assert at[0.0] == pytest.approx(clean)  # a shift of 0 is the clean test set
    columns = ["pipeline", "subject", "metric", "class", "value", "ci_low", "ci_high"]
    shifts = result.robustness[result.robustness.perturbation == "electrode_shift"]
    unshifted = shifts[shifts.level == 0.0][columns].sort_values(columns[:4]).reset_index(drop=True)
    as_results = result.results[columns].sort_values(columns[:4]).reset_index(drop=True)
    pd.testing.assert_frame_equal(unshifted, as_results)  # the same intervals too: the same resamples at every level
    assert at[2.0] < at[0.0]  # rotating the armband hurts
    predictions = pd.read_parquet(result.folder / "predictions.parquet")
    assert predictions["threshold"].between(0, 1).all()
    assert len(result.comparisons) == 1 and result.comparisons["min_p"].iloc[0] == pytest.approx(2 / 16)
    report = (result.folder / "report.html").read_text()
    for heading in ("Which model is better?", "Robustness", "ROC curve", "Calibration", "Sensitivity (hand close)"):
        assert heading in report, heading


def test_evaluation_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="operating_point.*needs a value"):
        load_config(None, ["evaluation.operating_point={target: sensitivity}"])
    with pytest.raises(ConfigError, match="evaluation.confidence"):
        load_config(None, ["evaluation.confidence=1.5"])


def test_positive_class_must_exist_and_the_task_be_binary(tmp_path):
    with pytest.raises(ConfigError, match="evaluation: positive and operating_point apply to binary tasks"):
        run(load_config(None, ["dataset.n_subjects=2", "dataset.duration=1.0", "evaluation.positive=rest"]), tmp_path / "a")
    binary = ["dataset.n_subjects=2", "dataset.duration=1.0", "dataset.classes=[rest, hand close]"]
    with pytest.raises(ConfigError, match="evaluation.positive: 'sick' is not a class"):
        run(load_config(None, [*binary, "evaluation.positive=sick"]), tmp_path / "b")


def test_breast_cancer_table_runs_as_an_experiment_with_an_operating_point(tmp_path):
    cfg = load_config("examples/breast-cancer.yaml", ["evaluation.n_boot=200", "models=[logreg]"])
    result = run(cfg, tmp_path / "bc")
    assert result.positive == "malignant"
    rows = result.results.set_index(["metric", "class"])
    # every patient is tested once, by a model that never saw them
    predictions = pd.read_parquet(result.folder / "predictions.parquet")
    assert len(predictions) == 569 and predictions["window"].is_unique
    sensitivity = rows.loc[("sensitivity", "malignant")]
    assert sensitivity["value"] >= 0.9 and sensitivity["ci_low"] < sensitivity["value"] < sensitivity["ci_high"]
    assert rows.loc[("roc_auc", "malignant"), "value"] > 0.95
    assert (result.results["subject"] == "all").all()
    report = (result.folder / "report.html").read_text()
    assert "Patient k-fold" in report and "Sensitivity (malignant)" in report


def test_subject_kfold_holds_out_whole_subjects_and_checks_n_splits():
    from bmelearn.evaluation import SubjectKFold

    meta = pd.DataFrame({"subject": np.repeat(np.arange(10), 3), "session": "s", "repetition": 0,
                         "label": np.repeat(["a", "b"] * 5, 3)})
    tested = []
    for train, test in SubjectKFold(5).split(None, groups=meta):
        assert not set(meta.subject[train]) & set(meta.subject[test])
        tested.extend(meta.subject[test].unique())
    assert sorted(tested) == list(range(10))
    with pytest.raises(ConfigError, match="subject_kfold.n_splits"):
        list(SubjectKFold(11).split(None, groups=meta))


def test_short_windows_name_the_features_that_need_more_samples():
    from bmelearn.errors import DataError

    X = np.ones((4, 2, 1))
    assert FeatureExtractor(["MEAN", "MAX"]).fit_transform(X).shape == (4, 4)
    with pytest.raises(DataError, match=r"too short for \['WL'\]"):
        FeatureExtractor(["MEAN", "WL"]).fit(X)


def test_whole_trial_windows_need_trials_of_one_length():
    from bmelearn.errors import DataError
    from bmelearn.signals.recording import Recording, RecordingSet
    from bmelearn.signals.windowing import whole_trials

    def rec(n, trial):
        return Recording(np.zeros((2, n)), 100.0, ("a", "b"), ("misc", "misc"), modality="clinical",
                         meta={"subject": trial, "session": "s", "repetition": 0, "label": "x", "trial": trial})

    windows = whole_trials(RecordingSet([rec(5, "1"), rec(5, "2")]))
    assert windows.X.shape == (2, 2, 5) and windows.length == pytest.approx(0.05)
    with pytest.raises(DataError, match="trial 2: 7 clinical samples where the first trial has 5"):
        whole_trials(RecordingSet([rec(5, "1"), rec(7, "2")]))


def test_majority_vote_and_rejection_give_the_control_metrics_by_hand():
    from bmelearn.evaluation.control import Decisions, control_rows, decisions

    part = pd.DataFrame({
        "trial": ["t1"] * 6 + ["t2"] * 4, "window": range(10), "true": ["a"] * 6 + ["b"] * 4,
        "predicted": ["a", "b", "b", "a", "a", "a", "b", "a", "b", "b"],
        "p:a": [0.9, 0.4, 0.3, 0.8, 0.9, 0.9, 0.2, 0.55, 0.1, 0.1],
    }).assign(**{"p:b": lambda d: 1 - d["p:a"]})
    # a vote over 3 windows never reaches back into the previous trial; ties go to the first class
    assert list(decisions(part, ["a", "b"], Decisions(vote=3))) == ["a", "a", "b", "b", "a", "a", "b", "a", "b", "b"]
    rows = {m: v for m, v, _, _ in control_rows(part, ["a", "b"], Decisions(reject_below=0.6), 0, 0.95, np.random.default_rng(0))}
    assert rows["rejection_rate"] == pytest.approx(1 / 10)  # window 7: p = 0.55
    assert rows["active_error"] == pytest.approx(2 / 9)  # windows 1 and 2 say b in a trial of a
    assert rows["instability"] == pytest.approx(4 / 8)  # a→b, b→a, b→(none), (none)→b over 8 pairs
    assert rows["decision_accuracy"] == pytest.approx(7 / 9)
    with_rest = {m: v for m, v, _, _ in control_rows(part, ["a", "b"], Decisions(rest="b"), 0, 0.95, np.random.default_rng(0))}
    # decisions of the rest class b do not move the device: 5 moving decisions (a), one wrong (window 7, during b)
    assert with_rest["active_error"] == pytest.approx(1 / 5)


def test_debounce_holds_the_output_until_a_new_decision_lasts():
    from bmelearn.evaluation.control import Decisions, control_rows, debounced, decisions

    part = pd.DataFrame({
        "trial": ["t1"] * 8 + ["t2"] * 3, "window": range(11), "true": ["a"] * 8 + ["b"] * 3,
        "predicted": ["a", "a", "b", "a", "b", "b", "b", "a", "b", "b", "a"],
        "p:a": [0.9, 0.9, 0.3, 0.9, 0.2, 0.2, 0.2, 0.45, 0.2, 0.2, 0.9],
    }).assign(**{"p:b": lambda d: 1 - d["p:a"]})
    # a lone b (window 2) does not switch; bbb does at its third window; a new trial starts undecided
    assert list(decisions(part, ["a", "b"], Decisions(debounce=3))) == \
        ["", "", "", "", "", "", "b", "b", "", "", ""]
    assert list(decisions(part, ["a", "b"], Decisions(debounce=2))) == \
        ["", "a", "a", "a", "a", "b", "b", "b", "", "b", "b"]
    # a stream going on from its last output holds it; rejected windows (p < 0.5: window 7) count as a decision
    raw = decisions(part.iloc[:8], ["a", "b"], Decisions(reject_below=0.5))
    assert list(debounced(raw, np.arange(8) == 0, 2, before="b")) == ["b", "a", "a", "a", "a", "b", "b", "b"]
    rows = {m: v for m, v, _, _ in control_rows(part, ["a", "b"], Decisions(debounce=2), 0, 0.95, np.random.default_rng(0))}
    assert rows["rejection_rate"] == pytest.approx(2 / 11)  # the first window of each trial
    assert rows["instability"] == pytest.approx(3 / 9)  # (none)→a, a→b in t1, (none)→b in t2


def test_a_subjects_control_intervals_do_not_depend_on_the_other_pipelines():
    from bmelearn.evaluation.control import Decisions, control_table

    rng = np.random.default_rng(1)
    n = 120
    predictions = pd.DataFrame({
        "pipeline": "lda", "protocol": "cross_session", "subject": "1", "trial": np.repeat([f"t{i}" for i in range(12)], 10),
        "window": np.arange(n), "true": np.repeat(["a", "b"] * 6, 10),
    })
    predictions["predicted"] = np.where(rng.random(n) < 0.8, predictions["true"], np.where(predictions["true"] == "a", "b", "a"))
    other = predictions.assign(pipeline="svm", predicted=rng.permutation(predictions["predicted"].to_numpy()))
    alone = control_table(predictions, ["a", "b"], Decisions(vote=3), 200, 0.95, seed=5)
    after = control_table(pd.concat([other, predictions]), ["a", "b"], Decisions(vote=3), 200, 0.95, seed=5)
    pd.testing.assert_frame_equal(after[after.pipeline == "lda"].reset_index(drop=True), alone)
    assert (alone["ci_low"] < alone["ci_high"]).any()


def test_control_metrics_in_a_run(tmp_path):
    cfg = load_config(None, ["dataset.n_subjects=2", "dataset.duration=1.5", "models=[lda]", "protocols=[cross_session]",
                             "evaluation.n_boot=100", "evaluation.control={vote: 3, reject_below: 0.5, rest: rest, debounce: 2}"])
    result = run(cfg, tmp_path / "c")
    control = pd.read_csv(result.folder / "control.csv")
    assert set(control["metric"]) == {"active_error", "instability", "rejection_rate", "decision_accuracy"}
    assert control["value"].between(0, 1).all()
    report = (result.folder / "report.html").read_text()
    assert "Decisions for control" in report and "a new output only after 2 windows in a row" in report
    with pytest.raises(ConfigError, match="reject_below needs class probabilities, which \\['svm'\\]"):
        run(load_config(None, ["models=[svm]", "evaluation.control={reject_below: 0.5}"]), tmp_path / "d")


def test_learning_curve_trains_on_fewer_repetitions(tmp_path):
    cfg = load_config(None, ["dataset.n_subjects=2", "dataset.n_repetitions=3", "dataset.duration=1.0", "models=[lda]",
                             "protocols=[cross_session]", "evaluation.n_boot=100", "evaluation.learning_curve=[1, 3]"])
    result = run(cfg, tmp_path / "l")
    curve = pd.read_csv(result.folder / "learning_curve.csv")
    assert set(curve["repetitions"]) == {1, 3}
    at = curve[curve.metric == "balanced_accuracy"].groupby("repetitions")["value"].mean()
    clean = result.results.query("metric == 'balanced_accuracy'")["value"].mean()
    assert at[3] == pytest.approx(clean)  # all three repetitions: the full training set
    assert "How much training data?" in (result.folder / "report.html").read_text()


def _daphnet_file(path, subject, rng):
    """A synthetic run in the Daphnet release format: 2 s outside the experiment, then walking
    (1.5 Hz steps) alternating with freezing episodes (a 6 Hz trembling of small amplitude)."""
    labels = np.r_[np.zeros(128), np.tile(np.r_[np.ones(64 * 12), np.full(64 * 6, 2)], 5)].astype(int)
    t = np.arange(len(labels)) / 64.0
    walking = 300 * np.sin(2 * np.pi * 1.5 * t)[:, None] * rng.uniform(0.5, 1.5, 9)
    trembling = 60 * np.sin(2 * np.pi * 6.0 * t)[:, None] * rng.uniform(0.5, 1.5, 9)
    signal = np.where((labels == 2)[:, None], trembling, walking) + 20 * rng.standard_normal((len(t), 9))
    table = np.column_stack([1000 * t, signal.round(), labels])
    np.savetxt(path / f"S{subject:02d}R01.txt", table, fmt="%d")


def test_daphnet_episodes_and_the_fog_example_on_synthetic_recordings(tmp_path):
    from bmelearn.datasets import load_dataset

    rng = np.random.default_rng(0)
    for subject in (1, 2, 3):
        _daphnet_file(tmp_path, subject, rng)
    recordings = load_dataset("daphnet", path=str(tmp_path))
    meta = recordings.meta
    assert len(meta) == 3 * 10 and set(meta["label"]) == {"walk", "freeze"}  # 5 walks + 5 freezes a run
    assert (meta.loc[meta.label == "freeze", "duration"].round(3) == 6.0).all()
    cfg = load_config("examples/fog.yaml", [f"dataset.path={tmp_path}", "evaluation.n_boot=200"])
    result = run(cfg, tmp_path / "fog")
    sensitivity = result.results.query("metric == 'sensitivity' and `class` == 'freeze'")
    assert len(sensitivity) == 2 * 3 and sensitivity["value"].mean() > 0.8
    assert (sensitivity["ci_low"] <= sensitivity["value"]).all()


def test_daphnet_timeeval_csv_and_bad_files(tmp_path):
    from bmelearn.datasets import load_dataset
    from bmelearn.errors import DataError

    t = pd.date_range("1970-01-01 00:04:40", periods=300, freq="15625us")
    table = pd.DataFrame(np.random.default_rng(0).normal(0, 100, (300, 9)), columns=[f"c{i}" for i in range(9)])
    table.insert(0, "timestamp", t)
    table["is_anomaly"] = np.r_[np.zeros(200), np.ones(100)].astype(int)
    table.to_csv(tmp_path / "S06R02E0.csv", index=False)
    recordings = load_dataset("daphnet", path=str(tmp_path / "S06R02E0.csv"))
    assert list(recordings.meta["label"]) == ["walk", "freeze"] and set(recordings.meta["subject"]) == {6}
    (tmp_path / "S01R01.txt").write_text("0 1 2 3\n")
    with pytest.raises(DataError, match="S01R01.txt: 4 columns; a Daphnet file has 11"):
        load_dataset("daphnet", path=str(tmp_path / "S01R01.txt"))
    with pytest.raises(DataError, match="no window of class \\['freeze'\\]"):
        table["is_anomaly"] = 0
        table.to_csv(tmp_path / "S06R02E0.csv", index=False)
        run(load_config("examples/fog.yaml", [f"dataset.path={tmp_path / 'S06R02E0.csv'}", "windows.length=1.0"]),
            tmp_path / "none")


def test_pooled_protocols_compare_pipelines_patient_by_patient():
    from bmelearn.evaluation.statistics import per_subject_scores

    rng = np.random.default_rng(0)
    truth = rng.choice(["a", "b"], 60)
    good = np.where(rng.random(60) < 0.95, truth, "x")
    poor = np.where(rng.random(60) < 0.6, truth, "x")
    predictions = pd.concat([pd.DataFrame({"protocol": "k", "pipeline": name, "subject": np.arange(60).astype(str),
                                           "true": truth, "predicted": predicted})
                             for name, predicted in (("good", good), ("poor", poor))])
    scores = per_subject_scores(predictions, ["k"], "accuracy")
    assert len(scores) == 120 and set(scores["value"]) <= {0.0, 1.0}
    pairs = compare_pipelines(scores.assign(dataset="d", ci_low=np.nan, ci_high=np.nan), "accuracy")
    row = pairs.iloc[0]
    assert row["test"] == "wilcoxon signed-rank" and row["n_subjects"] == 60 and row["p_value"] < 0.01
    assert row["difference"] == pytest.approx(np.mean(good == truth) - np.mean(poor == truth))


def test_a_window_tested_twice_is_refused(simulated):
    from bmelearn.evaluation import LeaveOneSubjectOut

    class Twice(LeaveOneSubjectOut):  # every subject's fold, twice
        def _folds(self, meta):
            yield from super()._folds(meta)
            yield from super()._folds(meta)

    w = cut_windows(simulated.select(modalities="emg"), 0.2, 0.2)
    X = FeatureExtractor(["MAV"], fs=1000).fit_transform(w.X)
    with pytest.raises(ConfigError, match="tested in more than one fold"):
        evaluate(X, w.meta, {"lda": make_model("lda")}, {"twice": Twice()}, simulated.classes, n_boot=0)


def test_the_jackknife_of_thousands_of_clusters_leaves_out_groups_of_them():
    from bmelearn.evaluation.bootstrap import JACKKNIFE_GROUPS, bca_interval, jackknife_weights, replicate_weights

    few = np.repeat(np.arange(30), 3)  # 30 trials of 3 windows: a row per trial, as before
    weights = jackknife_weights(few)
    assert weights.shape == (30, 90) and (weights.sum(axis=1) == 87).all()
    patients = np.arange(3 * JACKKNIFE_GROUPS + 7)  # a table of one row per patient
    weights = jackknife_weights(patients)
    assert weights.shape == (JACKKNIFE_GROUPS, len(patients))
    assert (weights.sum(axis=0) == JACKKNIFE_GROUPS - 1).all()  # each patient left out once
    # the BCa interval of a mean with the groups, against the plain percentile interval of the same
    # resamples: a symmetric statistic gets almost the same interval either way
    rng = np.random.default_rng(0)
    x = rng.normal(size=len(patients))
    rows = replicate_weights(patients, np.zeros(len(patients)), 400, rng)
    means = rows @ x / rows.sum(axis=1)
    low, high = bca_interval(means[0], means[1:401], means[401:])
    assert len(means) == 1 + 400 + JACKKNIFE_GROUPS
    assert low < x.mean() < high and high - low == pytest.approx(2 * 1.96 * x.std() / np.sqrt(len(x)), rel=0.15)
