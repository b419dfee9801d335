"""The adaptation curve: calibration repetitions of each test session, the methods, the
leakage guard, and the paired comparisons with the unadapted model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from bmelearn.compute.backends import Execution, running
from bmelearn.errors import ConfigError
from bmelearn.evaluation.adaptation import (
    ADVERSARIAL_WEIGHT,
    adaptation_curve,
    compare_adaptations,
    plan,
    rotations,
    split_sessions,
)
from bmelearn.evaluation.protocols import CrossSession
from bmelearn.evaluation.robustness import electrode_shift

N_CHANNELS, N_TIMES, N_REPS, N_CLASSES = 8, 40, 6, 4


def armband(n_subjects: int = 3, seed: int = 0):
    """Raw windows of a simulated armband (class c: electrode 2c active), 2 sessions per subject,
    ``N_REPS`` repetitions of 5 windows per class; on day 2 every electrode's gain differs."""
    rng = np.random.default_rng(seed)
    X, rows = [], []
    for subject in range(1, n_subjects + 1):
        gains = {"day1": np.ones(N_CHANNELS), "day2": rng.uniform(0.5, 2.0, N_CHANNELS)}
        for session in ("day1", "day2"):
            for repetition in range(N_REPS):
                for c in range(N_CLASSES):
                    for _ in range(5):
                        x = rng.normal(0, 0.3, (N_CHANNELS, N_TIMES))
                        x[2 * c] += rng.normal(0, 0.4, N_TIMES)
                        x[(2 * c + 1) % N_CHANNELS] += rng.normal(0, 0.2, N_TIMES)
                        X.append(x * gains[session][:, None])
                        rows.append((str(subject), session, repetition, f"g{c}"))
    meta = pd.DataFrame(rows, columns=["subject", "session", "repetition", "label"])
    return np.array(X), meta


def features(X: np.ndarray) -> np.ndarray:
    return np.log(np.mean(X**2, axis=2))


@pytest.fixture(scope="module")
def data():
    return armband()


def views_of(raw: np.ndarray):
    def views(pool, keys):
        return {(s, r): features(electrode_shift(electrode_shift(raw[pool], s), r)) for s, r in keys}
    return views


def test_calibration_takes_the_first_k_repetitions_of_each_test_session_and_tests_after_the_largest(data):
    _, meta = data
    train, test = next(CrossSession().split(None, None, meta))
    session = split_sessions(meta, train, test, [0, 1, 2], "cross_session")
    pooled = meta.iloc[session.pool]
    assert set(pooled["session"]) == {"day2"} and set(pooled["subject"]) == {"1"}
    assert set(pooled.iloc[session.test]["repetition"]) == set(range(2, N_REPS))  # the same test windows for every k
    assert len(session.calibration[0]) == 0
    for k in (1, 2):
        calibration = pooled.iloc[session.calibration[k]]
        assert set(calibration["repetition"]) == set(range(k))
        assert calibration.groupby("label").size().tolist() == [5 * k] * N_CLASSES
    with pytest.raises(ConfigError, match=f"{N_REPS} calibration repetitions leave nothing to test"):
        split_sessions(meta, train, test, [0, N_REPS], "cross_session")


def test_the_plan_leaves_out_what_does_not_apply_to_a_model():
    lda, svm = Pipeline([("lda", LinearDiscriminantAnalysis())]), Pipeline([("svm", SVC())])
    methods = ["none", "recentre", "self_train", "retrain", "adaptive", "align"]
    assert plan(methods, [0, 1], [0.0], lda) == [(0.0, 0, "none"), (0.0, 0, "recentre"), (0.0, 0, "self_train"),
                                                 (0.0, 1, "self_train"), (0.0, 1, "retrain"), (0.0, 1, "adaptive"),
                                                 (0.0, 1, "align")]
    assert (0.0, 1, "adaptive") not in plan(methods, [0, 1], [0.0], svm)
    assert (0.0, 0, "self_train") in plan(methods, [0, 1], [0.0], svm)  # any model on features is trained again
    assert rotations(8) == [-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
    assert rotations(7) == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]  # an armband with a channel left out


@pytest.fixture(scope="module")
def curve(data):
    raw, meta = data
    pipelines = {"lda": Pipeline([("lda", LinearDiscriminantAnalysis())])}
    return adaptation_curve(features(raw), meta, pipelines, {"cross_session": CrossSession()}, [0, 1, 2],
                            ["none", "recentre", "retrain", "adaptive", "align", "align_adaptive"], [0.0, 1.0],
                            [f"g{c}" for c in range(N_CLASSES)], views_of(raw), N_CHANNELS, n_boot=50)


def accuracy(table: pd.DataFrame, method: str, k: int, shift: float) -> pd.Series:
    rows = table[(table["metric"] == "accuracy") & (table["method"] == method) & (table["repetitions"] == k)
                 & (table["shift"] == shift)]
    return rows.set_index("subject")["value"]


def test_the_unadapted_model_is_scored_on_the_test_repetitions_as_by_hand(data, curve):
    raw, meta = data
    table, _ = curve
    X = features(raw)
    for subject in ("1", "2", "3"):
        train = (meta["subject"] == subject) & (meta["session"] == "day1")
        test = (meta["subject"] == subject) & (meta["session"] == "day2") & (meta["repetition"] >= 2)
        model = LinearDiscriminantAnalysis().fit(X[train], meta["label"][train])
        by_hand = np.mean(model.predict(X[test]) == meta["label"][test])
        assert accuracy(table, "none", 0, 0.0)[subject] == pytest.approx(by_hand)
        rotated = features(electrode_shift(raw[test.to_numpy()], 1.0))
        assert accuracy(table, "none", 0, 1.0)[subject] == pytest.approx(np.mean(model.predict(rotated) == meta["label"][test]))


def test_adaptation_wins_back_what_the_new_day_and_the_rotation_cost(curve):
    table, chosen = curve
    none, rotated = accuracy(table, "none", 0, 0.0).mean(), accuracy(table, "none", 0, 1.0).mean()
    assert rotated < 0.5 < none
    assert accuracy(table, "recentre", 0, 0.0).mean() > none  # the gains of the new day, learnt without labels
    assert accuracy(table, "adaptive", 1, 0.0).mean() > none
    assert accuracy(table, "align", 1, 1.0).mean() == pytest.approx(none)  # the rotation found and undone exactly
    assert set(chosen.loc[(chosen["shift"] == 1.0), "rotation"]) == {-1.0}
    assert set(chosen.loc[(chosen["shift"] == 0.0), "rotation"]) == {0.0}
    assert accuracy(table, "align_adaptive", 2, 1.0).mean() == pytest.approx(accuracy(table, "adaptive", 2, 0.0).mean())
    rows = table[table["metric"] == "accuracy"]
    assert (rows["ci_low"] <= rows["value"]).all() and (rows["value"] <= rows["ci_high"]).all()


def test_each_adapted_variant_is_compared_with_the_unadapted_model_paired_over_subjects(curve):
    table, _ = curve
    comparisons = compare_adaptations(table, "accuracy")
    row = comparisons[(comparisons["method"] == "align") & (comparisons["shift"] == 1.0) & (comparisons["repetitions"] == 1)]
    assert len(row) == 1
    d = accuracy(table, "align", 1, 1.0) - accuracy(table, "none", 0, 1.0)
    assert row["difference"].iloc[0] == pytest.approx(d.mean())
    assert row["baseline"].iloc[0] == pytest.approx(accuracy(table, "none", 0, 1.0).mean())
    assert row["n_subjects"].iloc[0] == 3 and row["min_p"].iloc[0] == pytest.approx(0.25)
    assert (comparisons["p_holm"] >= comparisons["p_value"] - 1e-12).all()
    assert "none" not in set(comparisons["method"]) and set(comparisons["against"]) == {"none"}  # no scratch curve


def test_a_raw_window_model_is_rotated_in_its_unit(data):
    raw, meta = data
    from sklearn.preprocessing import FunctionTransformer

    pipelines = {"lda": Pipeline([("features", FunctionTransformer(features)), ("lda", LinearDiscriminantAnalysis())])}
    table, chosen = adaptation_curve(raw, meta, pipelines, {"cross_session": CrossSession()}, [1], ["none", "align"],
                                     [1.0], [f"g{c}" for c in range(N_CLASSES)], lambda pool, keys: None, N_CHANNELS,
                                     n_boot=20)
    assert set(chosen["rotation"]) == {-1.0}
    assert accuracy(table, "align", 1, 1.0).mean() > accuracy(table, "none", 0, 1.0).mean() + 0.15


def test_recentring_reads_the_windows_before_the_test_ones_never_the_test_windows(data, monkeypatch):
    import bmelearn.evaluation.adaptation as adaptation

    raw, meta = data
    seen = []

    def spy(model, X_source, X_new):
        seen.append(X_new)
        return model

    monkeypatch.setattr(adaptation, "recentred", spy)
    X = features(raw)
    with running(Execution("sequential")):  # the spy sees the units in this process
        adaptation_curve(X, meta, {"lda": Pipeline([("lda", LinearDiscriminantAnalysis())])}, {"cross_session": CrossSession()},
                         [0, 2], ["recentre"], [0.0], [f"g{c}" for c in range(N_CLASSES)], views_of(raw), N_CHANNELS,
                         n_boot=10)
    first = ((meta["session"] == "day2") & (meta["repetition"] < 2)).to_numpy()
    for subject, windows in zip("123", seen, strict=True):
        np.testing.assert_array_equal(windows, X[first & (meta["subject"] == subject).to_numpy()])


def noisy_curve(X: np.ndarray, meta: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """The adaptation curve of LDA on features ``X`` (no rotation), k = 0, 1, 2."""
    table, _ = adaptation_curve(X, meta, {"lda": Pipeline([("lda", LinearDiscriminantAnalysis())])},
                                {"cross_session": CrossSession()}, [0, 1, 2], methods, [0.0],
                                [f"g{c}" for c in range(N_CLASSES)], lambda pool, keys: {key: X[pool] for key in keys},
                                N_CHANNELS, n_boot=10)
    return table


def test_self_training_is_fitted_as_by_hand_on_the_windows_before_the_test_ones(data):
    raw, meta = data
    # noise enough that the model guesses a fifth of the new day's windows wrong: its guesses matter
    X, y = features(raw) + np.random.default_rng(1).normal(0, 0.5, (len(raw), N_CHANNELS)), meta["label"].to_numpy()
    table = noisy_curve(X, meta, ["none", "recentre", "self_train"])
    for subject in ("1", "2", "3"):
        mine = (meta["subject"] == subject).to_numpy()
        day2 = mine & (meta["session"] == "day2").to_numpy()
        train = mine & (meta["session"] == "day1").to_numpy()
        before, test = day2 & (meta["repetition"] < 2).to_numpy(), day2 & (meta["repetition"] >= 2).to_numpy()
        offset = X[train].mean(axis=0) - X[before].mean(axis=0)  # every window before the test ones, labels unread
        # k = 0: the model trained on day 1 labels them all
        source = LinearDiscriminantAnalysis().fit(X[train], y[train])
        refit = LinearDiscriminantAnalysis().fit(np.concatenate([X[train], X[before] + offset]),
                                                 np.concatenate([y[train], source.predict(X[before] + offset)]))
        assert accuracy(table, "self_train", 0, 0.0)[subject] == pytest.approx(np.mean(refit.predict(X[test] + offset) == y[test]))
        # k = 1: repetition 0 brings its labels, 5 times (CALIBRATION_WEIGHT); repetition 1 is guessed
        first, second = day2 & (meta["repetition"] == 0).to_numpy(), day2 & (meta["repetition"] == 1).to_numpy()
        X_known = np.concatenate([X[train], *[X[first] + offset] * 5])
        y_known = np.concatenate([y[train], *[y[first]] * 5])
        guessed = LinearDiscriminantAnalysis().fit(X_known, y_known).predict(X[second] + offset)
        refit = LinearDiscriminantAnalysis().fit(np.concatenate([X_known, X[second] + offset]), np.concatenate([y_known, guessed]))
        assert accuracy(table, "self_train", 1, 0.0)[subject] == pytest.approx(np.mean(refit.predict(X[test] + offset) == y[test]))
    # the guesses are not the truth, and self-training is not recentring
    assert accuracy(table, "recentre", 0, 0.0).max() < 0.9
    assert (accuracy(table, "self_train", 0, 0.0) != accuracy(table, "recentre", 0, 0.0)).any()


def test_self_training_without_labels_reads_none_of_the_new_days(data):
    raw, meta = data
    X = features(raw) + np.random.default_rng(1).normal(0, 0.5, (len(raw), N_CHANNELS))
    shuffled = meta.copy()
    before = ((meta["session"] == "day2") & (meta["repetition"] < 2)).to_numpy()
    shuffled.loc[before, "label"] = np.random.default_rng(2).permutation(meta.loc[before, "label"].to_numpy())
    honest, poisoned = noisy_curve(X, meta, ["self_train"]), noisy_curve(X, shuffled, ["self_train"])
    pd.testing.assert_series_equal(accuracy(honest, "self_train", 0, 0.0), accuracy(poisoned, "self_train", 0, 0.0))
    assert not accuracy(honest, "self_train", 1, 0.0).equals(accuracy(poisoned, "self_train", 1, 0.0))  # k = 1 reads them


def test_from_scratch_and_retrained_models_are_fitted_as_by_hand(data):
    raw, meta = data
    X = features(raw)
    table, _ = adaptation_curve(X, meta, {"lda": Pipeline([("lda", LinearDiscriminantAnalysis())])},
                                {"cross_session": CrossSession()}, [0, 1], ["scratch", "retrain"], [0.0],
                                [f"g{c}" for c in range(N_CLASSES)], views_of(raw), N_CHANNELS, n_boot=10)
    mine = (meta["subject"] == "2").to_numpy()
    train = mine & (meta["session"] == "day1").to_numpy()
    calibration = mine & (meta["session"] == "day2").to_numpy() & (meta["repetition"] == 0).to_numpy()
    test = mine & (meta["session"] == "day2").to_numpy() & (meta["repetition"] >= 1).to_numpy()
    y = meta["label"].to_numpy()
    scratch = LinearDiscriminantAnalysis().fit(X[calibration], y[calibration])
    assert accuracy(table, "scratch", 1, 0.0)["2"] == pytest.approx(np.mean(scratch.predict(X[test]) == y[test]))
    weighted = np.concatenate([np.flatnonzero(train), np.tile(np.flatnonzero(calibration), 5)])  # CALIBRATION_WEIGHT
    retrained = LinearDiscriminantAnalysis().fit(X[weighted], y[weighted])
    assert accuracy(table, "retrain", 1, 0.0)["2"] == pytest.approx(np.mean(retrained.predict(X[test]) == y[test]))
    # retraining with the training sessions, against training on the calibration repetitions alone
    against = compare_adaptations(table, "accuracy").query("against == 'scratch'")
    assert against[["method", "repetitions"]].values.tolist() == [["retrain", 1]]
    d = accuracy(table, "retrain", 1, 0.0) - accuracy(table, "scratch", 1, 0.0)
    assert against["difference"].iloc[0] == pytest.approx(d.mean())


def test_a_network_is_trained_domain_adversarially_on_the_windows_before_the_test_ones(data, monkeypatch):
    pytest.importorskip("skorch")
    from bmelearn.models import make_model
    from bmelearn.models.deep import NeuralNetwork

    raw, meta = data
    keep = (meta["subject"] == "1").to_numpy()
    network = make_model("cnn", random_state=0, hidden=[8], blocks=1, max_epochs=2, validation=0)
    lda = Pipeline([("lda", LinearDiscriminantAnalysis())])
    assert plan(["adversarial"], [0, 1], [0.0], network) == [(0.0, 0, "adversarial")]
    assert plan(["adversarial"], [0, 1], [0.0], lda) == []  # not a network: left out
    fits = []
    fit = NeuralNetwork.fit

    def spy(self, X, y, unlabelled=None):
        fits.append((self.adversarial, None if unlabelled is None else np.asarray(unlabelled)))
        return fit(self, X, y, unlabelled)

    monkeypatch.setattr(NeuralNetwork, "fit", spy)
    with running(Execution("sequential")):
        table, _ = adaptation_curve(raw[keep].astype(np.float32), meta[keep], {"cnn": network},
                                    {"cross_session": CrossSession()}, [0, 1], ["none", "adversarial"], [0.0],
                                    [f"g{c}" for c in range(N_CLASSES)], lambda pool, keys: None, N_CHANNELS, n_boot=10)
    assert set(table["method"]) == {"none", "adversarial"}
    (plain, none), (weight, unlabelled) = fits  # the unadapted network, then the adversarial one
    assert plain == 0.0 and none is None and weight == ADVERSARIAL_WEIGHT
    first = (meta["session"] == "day2").to_numpy() & (meta["repetition"] == 0).to_numpy() & keep
    np.testing.assert_allclose(unlabelled, raw[first].astype(np.float32))


def test_each_test_session_of_a_fold_is_adapted_on_its_own(data):
    """Limb position: one fold tests several sessions; here day 2 turned by +1 and day 3 by −1."""
    raw, meta = data
    day3 = meta[meta["session"] == "day2"].assign(session="day3")
    meta3 = pd.concat([meta, day3], ignore_index=True)
    raw3 = np.concatenate([raw, raw[(meta["session"] == "day2").to_numpy()]])
    turned = raw3.copy()
    turned[(meta3["session"] == "day2").to_numpy()] = electrode_shift(raw3[(meta3["session"] == "day2").to_numpy()], 1)
    turned[(meta3["session"] == "day3").to_numpy()] = electrode_shift(raw3[(meta3["session"] == "day3").to_numpy()], -1)
    protocol = CrossSession(train=["day1"], test=["day2", "day3"])
    table, chosen = adaptation_curve(features(turned), meta3, {"lda": Pipeline([("lda", LinearDiscriminantAnalysis())])},
                                     {"cross_session": protocol}, [0, 1], ["none", "align"], [0.0],
                                     [f"g{c}" for c in range(N_CLASSES)], views_of(turned), N_CHANNELS, n_boot=10)
    undone = chosen.set_index(["subject", "session"])["rotation"]
    assert (undone.xs("day2", level="session") == -1.0).all() and (undone.xs("day3", level="session") == 1.0).all()
    assert accuracy(table, "align", 1, 0.0).mean() > accuracy(table, "none", 0, 0.0).mean() + 0.2


def test_an_armband_of_an_odd_number_of_channels_is_aligned(data):
    raw, meta = data
    seven = raw[:, :7]
    table, chosen = adaptation_curve(features(seven), meta, {"lda": Pipeline([("lda", LinearDiscriminantAnalysis())])},
                                     {"cross_session": CrossSession()}, [0, 1], ["none", "align"], [0.0, 1.0],
                                     [f"g{c}" for c in range(N_CLASSES)], views_of(seven), 7, n_boot=10)
    assert set(chosen.loc[chosen["shift"] == 1.0, "rotation"]) == {-1.0}
    assert set(chosen.loc[chosen["shift"] == 0.0, "rotation"]) == {0.0}


def test_calibration_takes_whole_repetitions_even_when_a_class_misses_its_first(data):
    _, meta = data
    missing = ~((meta["session"] == "day2") & (meta["label"] == "g1") & (meta["repetition"] == 0))
    meta = meta[missing.to_numpy()].reset_index(drop=True)
    train, test = next(CrossSession().split(None, None, meta))
    session = split_sessions(meta, train, test, [0, 1], "cross_session")  # the leakage guard passes
    pooled = meta.iloc[session.pool]
    assert set(pooled.iloc[session.calibration[1]]["repetition"]) == {0}  # g1 has no calibration window: none borrowed
    assert 0 not in set(pooled.iloc[session.test]["repetition"])


def test_retraining_puts_the_new_session_first_so_a_networks_validation_stays_on_the_training_data(data, monkeypatch):
    raw, meta = data
    X = features(raw)
    seen = []
    fit = LinearDiscriminantAnalysis.fit

    def spy(self, X_fit, y_fit):
        seen.append(np.asarray(X_fit))
        return fit(self, X_fit, y_fit)

    monkeypatch.setattr(LinearDiscriminantAnalysis, "fit", spy)
    keep = (meta["subject"] == "1").to_numpy()
    with running(Execution("sequential")):
        adaptation_curve(X[keep], meta[keep], {"lda": Pipeline([("lda", LinearDiscriminantAnalysis())])},
                         {"cross_session": CrossSession()}, [0, 1], ["retrain"], [0.0], [f"g{c}" for c in range(N_CLASSES)],
                         views_of(raw[keep]), N_CHANNELS, n_boot=10)
    retrained = seen[-1]
    first = ((meta["session"] == "day2") & (meta["repetition"] == 0)).to_numpy()[keep]
    np.testing.assert_array_equal(retrained[:first.sum()], X[keep][first])
    np.testing.assert_array_equal(retrained[-int((meta[keep]["session"] == "day1").sum()):],
                                  X[keep][(meta[keep]["session"] == "day1").to_numpy()])


def test_the_unlabelled_windows_of_a_domain_adversarial_fit_pass_the_steps_before_the_network(data, monkeypatch):
    pytest.importorskip("skorch")
    from sklearn.preprocessing import FunctionTransformer

    from bmelearn.evaluation.adaptation import adversarial
    from bmelearn.models.deep import NeuralNetwork

    raw, meta = data
    X, y = features(raw), meta["label"].to_numpy()
    seen = []
    fit = NeuralNetwork.fit

    def spy(self, X_fit, y_fit, unlabelled=None):
        seen.append(np.asarray(unlabelled))
        return fit(self, X_fit, y_fit, unlabelled)

    monkeypatch.setattr(NeuralNetwork, "fit", spy)
    pipeline = Pipeline([("first3", FunctionTransformer(lambda F: F[:, :3])),
                         ("mlp", NeuralNetwork("mlp", hidden=(8,), max_epochs=2, validation=0, random_state=0))])
    model = adversarial(pipeline, X[:200], y[:200], X[200:260])
    np.testing.assert_allclose(seen[0], X[200:260, :3])
    assert model.predict(X[:5]).shape == (5,) and model[-1].adversarial == ADVERSARIAL_WEIGHT
