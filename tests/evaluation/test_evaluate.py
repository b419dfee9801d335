import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_val_score

from bmelearn.errors import ConfigError, LeakageError
from bmelearn.evaluation import (
    CrossSession,
    LeakageGuard,
    LeaveOneSubjectOut,
    WithinSession,
    check_split,
    classification_metrics,
    evaluate,
    make_protocol,
    summarize,
)
from bmelearn.evaluation.evaluate import mean_over_subjects
from bmelearn.features import FeatureExtractor
from bmelearn.models import make_model
from bmelearn.signals.windowing import cut_windows


def _meta(subjects=(1, 2, 3), sessions=("a", "b"), reps=(0, 1, 2, 3), windows=3, labels=("x", "y")):
    rows = [
        {"subject": s, "session": se, "repetition": r, "label": lab, "trial": f"{s}/{se}/{r}/{lab}", "window": w}
        for s in subjects
        for se in sessions
        for r in reps
        for lab in labels
        for w in range(windows)
    ]
    return pd.DataFrame(rows)


def _groups(meta, idx):
    return set(map(tuple, meta.iloc[idx][["subject", "session", "repetition"]].to_numpy()))


def test_within_session_folds_hold_out_whole_repetitions():
    meta = _meta()
    splits = list(WithinSession(n_splits=4).split(None, groups=meta))
    assert len(splits) == 3 * 2 * 4
    for train, test in splits:
        assert not _groups(meta, train) & _groups(meta, test)
        one = meta.iloc[np.r_[train, test]]
        assert one["subject"].nunique() == 1 and one["session"].nunique() == 1
        assert meta.iloc[test]["repetition"].nunique() == 1


def test_cross_session_trains_on_one_session_and_tests_on_the_other():
    meta = _meta()
    splits = list(CrossSession(train=["a"], test=["b"]).split(None, groups=meta))
    assert len(splits) == 3
    for train, test in splits:
        assert set(meta.iloc[train]["session"]) == {"a"} and set(meta.iloc[test]["session"]) == {"b"}
        assert meta.iloc[np.r_[train, test]]["subject"].nunique() == 1
    # default: first session in data order for training
    assert len(list(CrossSession().split(None, groups=meta))) == 3
    with pytest.raises(ConfigError, match=r"sessions \['c'\] are not in the data"):
        list(CrossSession(train=["c"]).split(None, groups=meta))
    with pytest.raises(ConfigError, match="both training and testing"):
        list(CrossSession(train=["a"], test=["a"]).split(None, groups=meta))


def test_loso_tests_each_subject_once_and_never_trains_on_it():
    meta = _meta()
    splits = list(LeaveOneSubjectOut().split(None, groups=meta))
    assert [set(meta.iloc[t]["subject"]) for _, t in splits] == [{1}, {2}, {3}]
    for train, test in splits:
        assert not set(meta.iloc[train]["subject"]) & set(meta.iloc[test]["subject"])


def test_a_leaky_split_is_refused():
    meta = _meta()
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(len(meta))  # a window-level shuffle split: the classic mistake
    with pytest.raises(LeakageError, match="both training and test"):
        check_split(meta, shuffled[: len(meta) // 2], shuffled[len(meta) // 2 :])
    with pytest.raises(LeakageError, match="both the training and the test set"):
        check_split(meta, np.arange(10), np.arange(5, 15))


def test_the_guard_names_the_groups_and_trials_shared():
    meta = _meta()  # 3 subjects x 2 sessions x 4 repetitions x 2 labels x 3 windows, a trial per label
    guard = LeakageGuard(meta)
    first_rep = np.flatnonzero((meta["subject"] == 2) & (meta["session"] == "b") & (meta["repetition"] == 1))
    second_rep = np.flatnonzero((meta["subject"] == 3) & (meta["session"] == "a") & (meta["repetition"] == 0))
    rest = np.setdiff1d(np.arange(len(meta)), np.r_[first_rep, second_rep])
    guard.check(rest, np.r_[first_rep, second_rep])  # whole repetitions held out: no leak
    # a window of each of the two repetitions on the training side: 2 groups shared, the first named
    with pytest.raises(LeakageError, match=r"2 group\(s\) .*'subject': '2', 'session': 'b', 'repetition': '1'"):
        guard.check(np.r_[rest, first_rep[:1], second_rep[:1]], np.r_[first_rep[1:], second_rep[1:]])
    # without the repetition column, a trial split across the sides is still caught
    trials = LeakageGuard(meta.drop(columns="repetition"))
    with pytest.raises(LeakageError, match=r"1 group\(s\) .*'trial': '2/b/1/x'"):
        trials.check(np.r_[rest, first_rep[:1]], first_rep[1:])
    with pytest.raises(LeakageError, match="2 window"):
        guard.check(np.r_[rest, first_rep[:2]], first_rep)


def test_protocols_plug_into_scikit_learn(simulated):
    w = cut_windows(simulated.select(modalities="emg"), 0.2, 0.2)
    X = FeatureExtractor(["HTD"], fs=1000).fit_transform(w.X)
    scores = cross_val_score(make_model("lda"), X, w.y, groups=w.meta, cv=LeaveOneSubjectOut())
    assert len(scores) == 3 and scores.mean() > 2 / 7  # chance is 1/7
    with pytest.raises(ConfigError, match="metadata"):
        list(LeaveOneSubjectOut().split(X, w.y))


def test_metrics_from_a_known_confusion():
    y_true = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 2)
    y_pred = np.array(["a", "a", "a", "b", "b", "b", "a", "a", "c", "c"])
    rows = {(m, c): v for m, c, v in classification_metrics(y_true, y_pred, ["a", "b", "c"])}
    assert rows[("accuracy", "")] == pytest.approx(7 / 10)
    assert rows[("sensitivity", "a")] == pytest.approx(3 / 4)
    assert rows[("sensitivity", "b")] == pytest.approx(2 / 4)
    assert rows[("balanced_accuracy", "")] == pytest.approx((3 / 4 + 2 / 4 + 1) / 3)
    # specificity of a: negatives 6 (b, c), of which 2 predicted a
    assert rows[("specificity", "a")] == pytest.approx(4 / 6)
    assert rows[("specificity", "c")] == pytest.approx(1.0)


def test_absent_class_has_no_sensitivity_row():
    rows = classification_metrics(np.array(["a", "a"]), np.array(["a", "b"]), ["a", "b"])
    assert ("sensitivity", "b") not in {(m, c) for m, c, _ in rows}


def test_evaluate_gives_a_tidy_table_and_summary(simulated):
    w = cut_windows(simulated.select(modalities="emg"), 0.2, 0.1)
    X = FeatureExtractor(["HTD"], fs=1000).fit_transform(w.X)
    protocols = {"cross_session": make_protocol("cross_session"), "loso": make_protocol("loso")}
    evaluation = evaluate(X, w.meta, {"lda": make_model("lda")}, protocols, simulated.classes, "sim", n_boot=200)
    results, confusion = evaluation.results, evaluation.confusion
    assert list(results.columns) == ["dataset", "pipeline", "protocol", "subject", "metric", "class", "value", "ci_low",
                                     "ci_high"]
    assert set(results["subject"]) == {"1", "2", "3"}
    assert results["value"].between(0, 1).all()
    acc = results[(results.metric == "accuracy")]
    assert len(acc) == 3 + 3
    assert (acc["ci_low"] <= acc["value"]).all() and (acc["value"] <= acc["ci_high"]).all()
    # every test window is predicted once per protocol, and the confusion counts add up to them
    assert confusion.groupby("protocol")["count"].sum()["loso"] == len(w)
    assert confusion.groupby("protocol")["count"].sum()["cross_session"] == (w.meta.session == "session2").sum()
    assert evaluation.predictions.groupby("protocol")["window"].nunique()["loso"] == len(w)
    summary = summarize(results)
    cs = summary["cross_session"]["lda"]["accuracy"]
    assert cs["mean"] == pytest.approx(np.mean([s["value"] for s in cs["per_subject"].values()]))
    assert cs["ci_low"] <= cs["mean"] <= cs["ci_high"]
    # within-subject beats a new subject
    assert cs["mean"] > summary["loso"]["lda"]["accuracy"]["mean"]


def test_a_groups_interval_over_subjects_does_not_depend_on_the_other_groups():
    rng = np.random.default_rng(4)
    accuracy = pd.DataFrame({"pipeline": "lda", "subject": list("1234567"), "value": rng.uniform(0.7, 0.95, 7)})
    other = accuracy.assign(pipeline="svm", value=rng.uniform(0.6, 0.9, 7))
    alone = mean_over_subjects(accuracy, ["pipeline"], 300, seed=2)
    after = mean_over_subjects(pd.concat([other, accuracy]), ["pipeline"], 300, seed=2)  # another group drawn first
    pd.testing.assert_frame_equal(after[after.pipeline == "lda"].reset_index(drop=True), alone)
    assert alone.loc[0, "ci_low"] < alone.loc[0, "mean"] < alone.loc[0, "ci_high"]
    # the seed still counts: another seed resamples the subjects differently
    assert mean_over_subjects(accuracy, ["pipeline"], 300, seed=3).loc[0, "ci_low"] != alone.loc[0, "ci_low"]


def test_unknown_protocol_is_a_clear_error():
    with pytest.raises(ConfigError, match="choose from"):
        make_protocol("kfold")
    with pytest.raises(ConfigError, match="n_splits"):
        list(WithinSession(n_splits=1).split(None, groups=_meta()))
