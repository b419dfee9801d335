"""Neural networks: tiny ones, few epochs (full-size runs live in examples/ and benchmarks/)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score

from bmelearn.datasets.simulator import simulate
from bmelearn.errors import ConfigError
from bmelearn.models import make_model
from bmelearn.models.deep import NeuralNetwork, NeuralNetworkRegressor
from bmelearn.runs.config import load_config
from tests.models.test_models import simulated_linear_target

pytest.importorskip("torch", reason="the neural networks need PyTorch (pip install -e '.[test]')")


def _two_tones(n=120, channels=3, times=64, seed=0):
    """Windows of class 'low' (a 3-cycle sine) and 'high' (a 12-cycle sine), with noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(times) / times
    y = np.array(["low", "high"] * (n // 2))
    cycles = np.where(y == "low", 3, 12)[:, None, None]
    X = np.sin(2 * np.pi * cycles * t) * rng.uniform(0.5, 2, (n, channels, 1)) + 0.3 * rng.standard_normal((n, channels, times))
    return X, y


@pytest.mark.parametrize("architecture", ["cnn", "lstm", "gru", "tcn", "transformer"])
def test_raw_window_networks_learn_two_tones(architecture):
    X, y = _two_tones()
    model = NeuralNetwork(architecture, hidden=(8,), blocks=2, max_epochs=15, lr=1e-2, patience=15).fit(X, y)
    X_test, y_test = _two_tones(seed=1)
    assert np.mean(model.predict(X_test) == y_test) > 0.9
    assert set(model.classes_) == {"low", "high"} and model.predict_proba(X_test).shape == (120, 2)
    assert model.history_[0]["epoch"] == 1 and "valid_loss" in model.history_[0] and model.train_seconds_ > 0


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam"])
def test_mlp_every_activation_and_optimizer(activation, optimizer):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((160, 4))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    model = make_model("mlp", 0, hidden=[16], activation=activation, optimizer=optimizer, lr=0.05, max_epochs=40, patience=40)
    model.fit(X, y)
    assert np.mean(model.predict(X) == y) > 0.8


@pytest.mark.parametrize("name", ["mlp", "mlp_regressor", "cnn"])
def test_networks_train_under_a_double_precision_default(name):
    import torch

    X, labels = _two_tones(n=40)
    X, y = (X.reshape(len(X), -1), labels) if name.startswith("mlp") else (X, labels)
    y = (labels == labels[0]).astype(float) if name == "mlp_regressor" else y
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # as a notebook may have set it
    try:
        model = make_model(name, 0, max_epochs=3).fit(X, y)
        assert len(model.predict(X)) == len(X)
    finally:
        torch.set_default_dtype(before)


def test_same_seed_same_network_and_clone():
    X, y = _two_tones(n=40)
    a = NeuralNetwork("cnn", hidden=(4,), blocks=1, max_epochs=3, random_state=3).fit(X, y).predict_proba(X)
    b = NeuralNetwork("cnn", hidden=(4,), blocks=1, max_epochs=3, random_state=3).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert clone(NeuralNetwork("gru", hidden=(5,))).get_params()["hidden"] == (5,)


def test_validation_windows_are_the_last_of_each_class():
    mask = NeuralNetwork(validation=0.25)._validation_mask(np.array([0] * 8 + [1] * 4))
    assert list(np.flatnonzero(mask)) == [6, 7, 11]


def test_bad_network_settings_are_config_errors():
    X, y = _two_tones(n=20)
    with pytest.raises(ConfigError, match="models.mlp: The 'optimizer' parameter of NeuralNetwork must be a str among"):
        NeuralNetwork(optimizer="adagrad").fit(X, y)
    with pytest.raises(ConfigError, match="takes raw windows"):
        NeuralNetwork("cnn").fit(X.reshape(20, -1), y)
    with pytest.raises(ConfigError, match=r"models: model mlp has no parameter\(s\) \['width'\]; allowed: \['activation'"):
        make_model("mlp", width=3)


def test_mlp_in_an_experiment(tmp_path):
    from bmelearn.runs.experiment import run

    cfg = load_config(None, ["dataset.n_subjects=2", "dataset.duration=1.0", "protocols=[cross_session]", "evaluation.n_boot=50",
                             "models=[{name: mlp, hidden: [16], max_epochs: 20}]"])
    result = run(cfg, tmp_path / "mlp")
    assert result.results.query("metric == 'accuracy'")["value"].mean() > 0.5


def test_saved_network_loads_without_pickle_and_predicts_the_same(tmp_path, deployable):
    from bmelearn.serving import load_model, save_model

    X, y = _two_tones(n=40)
    model = make_model("mlp", 0, hidden=[8], max_epochs=3).fit(X.reshape(40, -1), y)
    save_model(deployable(model, ["high", "low"]), tmp_path / "mlp.skops")
    loaded = load_model(tmp_path / "mlp.skops")
    np.testing.assert_allclose(loaded.estimator.predict_proba(X.reshape(40, -1)), model.predict_proba(X.reshape(40, -1)),
                               rtol=1e-6)
    assert loaded.classes == ["high", "low"]


def test_raw_window_network_beside_a_classical_model_in_an_experiment(tmp_path):
    from bmelearn.runs.experiment import run
    from bmelearn.serving import load_model

    cfg = load_config(None, [
        "dataset.n_subjects=2", "dataset.duration=1.0", "protocols=[cross_session]", "evaluation.n_boot=50",
        "models=[lda, {name: cnn, hidden: [8], blocks: 2, max_epochs: 5}]",
        "evaluation.robustness={electrode_shift: [0, 1]}", "evaluation.learning_curve=[1]",
    ])
    result = run(cfg, tmp_path / "cnn")
    assert set(result.results["pipeline"]) == {"lda", "cnn"}
    assert set(result.robustness["pipeline"]) == {"lda", "cnn"} and set(result.comparisons["pipeline_b"]) == {"cnn"}
    model = load_model(result.folder / "models" / "cnn.skops")
    assert model.card()["input"] == "raw emg windows" and model.estimator.steps[-1][1].input_shape_ == (8, 200)
    trial = simulate(n_subjects=1, n_repetitions=1, duration=1.0, seed=5).select(labels="hand close")
    table = model.predict({"emg": next(r for r in trial if r.modality == "emg")})  # raw EMG windows: no acc needed
    assert len(table) == 9 and np.allclose(table.filter(like="p:").sum(axis=1), 1.0)


class _GivenDraws:
    """A stand-in for a NumPy generator whose ``uniform`` draws are the given values (and which
    keeps the bounds it was asked for)."""

    def __init__(self, *values):
        self.values, self.bounds = list(values), []

    def uniform(self, low, high):
        self.bounds.append((low, high))
        return self.values.pop(0)


def test_electrode_shift_augmentation_interpolates_fractional_rotations():
    from bmelearn.evaluation.robustness import electrode_shift
    from bmelearn.models.networks import Augmented

    X = np.arange(2 * 4 * 10, dtype=np.float32).reshape(2, 4, 10)
    given = Augmented(X, np.array([0, 1]), {"shift": 1.5}, seed=0)
    given.rng = _GivenDraws(0.5, -0.5, 1.0, -1.25)
    half = given[0][0]
    np.testing.assert_allclose(half, (X[0] + np.roll(X[0], -1, axis=0)) / 2)  # half-way to the next electrode
    np.testing.assert_allclose(given[0][0], (X[0] + np.roll(X[0], 1, axis=0)) / 2)
    np.testing.assert_array_equal(given[1][0], np.roll(X[1], -1, axis=0))  # a whole electrode: a roll
    np.testing.assert_allclose(given[1][0], 0.25 * np.roll(X[1], 2, axis=0) + 0.75 * np.roll(X[1], 1, axis=0))
    assert given.rng.bounds == [(-1.5, 1.5)] * 4 and half.dtype == np.float32

    # drawn: channel c of an identity window is where electrode c went; its centre of mass is −k
    eye = np.eye(8, dtype=np.float32)[None]
    drawn = Augmented(eye, np.array([0]), {"shift": 1}, seed=0)
    amounts = []
    for _ in range(200):
        window = drawn[0][0]
        k = -float(window[:, 0] @ np.array([0, 1, 2, 3, -4, -3, -2, -1]))
        np.testing.assert_allclose(window, electrode_shift(eye, k)[0], atol=1e-6)
        amounts.append(k)
    assert -1 <= min(amounts) < -0.9 and 0.9 < max(amounts) <= 1  # uniform over [−1, 1], not only whole electrodes
    assert np.mean(np.isclose(amounts, np.round(amounts))) < 0.1 and abs(np.mean(amounts)) < 0.15


def test_augmentation_draws_new_variants_and_keeps_labels():
    from bmelearn.models.networks import Augmented

    X = np.arange(2 * 4 * 10, dtype=np.float32).reshape(2, 4, 10)
    dropped = Augmented(X + 1, np.array([0, 1]), {"dropout": 2}, seed=0)
    assert all((dropped[1][0] == 0).all(axis=1).sum() <= 2 for _ in range(20)) and dropped[1][1] == 1
    model = NeuralNetwork("cnn", hidden=(8,), blocks=2, max_epochs=5, augment={"shift": 1, "noise": 0.1, "scale": 0.2})
    X2, y2 = _two_tones(n=60)
    assert set(model.fit(X2, y2).predict(X2)) <= {"low", "high"}
    with pytest.raises(ConfigError, match="The 'augment' parameter of NeuralNetwork must be a mapping of .* Got {'warp': 1}"):
        NeuralNetwork("cnn", augment={"warp": 1}).fit(X2, y2)
    NeuralNetwork("cnn", augment={"shift": 0.5})._validate_params()  # a real amount of electrodes
    for bad in ({"shift": -0.5}, {"shift": True}, {"dropout": 1.5}, {"noise": float("inf")}):
        with pytest.raises(ConfigError, match=r"to amounts >= 0 \(integers for \['dropout'\]\)"):
            NeuralNetwork("cnn", augment=bad).fit(X2, y2)


def test_fine_tuning_starts_from_the_trained_weights_and_goes_on_training():
    X, y = _two_tones(n=80)
    features = X.std(axis=2) * np.where(y == "low", 1, -1)[:, None]  # a linearly separable MLP input
    model = NeuralNetwork("mlp", hidden=(8,), optimizer="sgd", lr=0.1, max_epochs=30, patience=30).fit(features, y)
    before = model.predict_proba(features)
    model.fine_tune(features, y, lr=0.0, max_epochs=2)  # no step: the same network, two more epochs in the history
    np.testing.assert_allclose(model.predict_proba(features), before, rtol=1e-5)
    assert [h["stage"] for h in model.history_[-2:]] == ["fine_tune"] * 2 and model.history_[0]["stage"] == "fit"
    swapped = np.where(y == "low", "high", "low")
    model.fine_tune(features, swapped, lr=0.1, max_epochs=30)  # it learns: the labels swap
    assert np.mean(model.predict(features) == swapped) > 0.9
    with pytest.raises(ConfigError, match="classes \\['other'\\] were not in the pretraining data"):
        model.fine_tune(features, np.array(["other"] * len(y)))


def test_no_validation_split_trains_every_epoch_on_all_windows():
    X, y = _two_tones(n=40)
    model = NeuralNetwork("cnn", hidden=(4,), blocks=1, max_epochs=4, validation=0).fit(X, y)
    assert len(model.history_) == 4 and "valid_loss" not in model.history_[0]
    with pytest.raises(ConfigError, match=r"The 'validation' parameter of NeuralNetwork must be a float in the range \[0.0, 1.0\)"):
        NeuralNetwork(validation=1.0).fit(X, y)


def test_every_epoch_is_reported_to_the_progress_listener():
    from bmelearn.models.deep import training_progress

    X, y = _two_tones(n=40)
    seen = []
    with training_progress(seen.append):
        NeuralNetwork("gru", hidden=(4,), max_epochs=3, patience=5).fit(X, y)
    NeuralNetwork("gru", hidden=(4,), max_epochs=2).fit(X, y)  # outside the block: nobody listens
    assert [s["epoch"] for s in seen] == [1, 2, 3] and {s["network"] for s in seen} == {"gru"}
    assert all(s["max_epochs"] == 3 and 0 <= s["valid_acc"] <= 1 and s["train_loss"] > 0 for s in seen)


def _subjects_with_one_swapped(n_subjects=3, swapped="3"):
    """Two-tone windows of subjects 1..n (2 sessions × 2 repetitions × 2 classes, 10 windows per
    trial); for subject ``swapped`` the tones of the two classes are exchanged."""
    rows, arrays = [], []
    for s in range(1, n_subjects + 1):
        for session in ("train", "test"):
            for rep in range(2):
                for label in ("low", "high"):
                    tone = label if str(s) != swapped else {"low": "high", "high": "low"}[label]
                    X, _ = _two_tones(n=20, seed=len(rows))
                    X = X[np.array(["low", "high"] * 10) == tone]
                    arrays.append(X)
                    rows += [{"subject": str(s), "session": session, "repetition": rep, "label": label,
                              "trial": f"{s}/{session}/{rep}/{label}", "window": i} for i in range(len(X))]
    import pandas as pd

    return np.concatenate(arrays), pd.DataFrame(rows)


def test_transfer_curve_fine_tunes_a_pretrained_network_to_a_new_subject():
    from bmelearn.evaluation import make_protocol
    from bmelearn.evaluation.transfer import transfer_curve

    X, meta = _subjects_with_one_swapped()
    network = make_model("cnn", 0, hidden=[8], blocks=2, max_epochs=15, lr=0.01, patience=15, batch_size=8)
    curve = transfer_curve(X, meta, {"cnn": network}, {"cross_session": make_protocol("cross_session")}, [1, 2],
                           ["high", "low"], n_boot=20)
    accuracy = curve.query("metric == 'accuracy'").set_index(["subject", "training", "repetitions"])["value"]
    assert set(accuracy.index.get_level_values("repetitions")) == {0, 1, 2}
    assert accuracy["3", "subject-independent", 0] < 0.2  # pretrained on subjects whose tones are the other way round
    assert accuracy["3", "fine-tuned", 2] > 0.8 and accuracy["3", "from scratch", 2] > 0.8
    assert accuracy["1", "subject-independent", 0] < 0.8  # subjects 2 and 3 disagree: pretraining cannot learn both
    assert (curve["ci_low"] <= curve["value"]).all() and (curve["value"] <= curve["ci_high"]).all()


def test_transfer_needs_folds_that_train_and_test_within_one_subject():
    from bmelearn.evaluation import make_protocol
    from bmelearn.evaluation.transfer import transfer_curve

    X, meta = _subjects_with_one_swapped()
    network = make_model("mlp", 0, hidden=[4], max_epochs=1)
    with pytest.raises(ConfigError, match="trains on no window of the test subject"):
        transfer_curve(X.reshape(len(X), -1), meta, {"mlp": network}, {"loso": make_protocol("loso")}, [1], ["high", "low"])
    with pytest.raises(ConfigError, match="cannot be fine-tuned"):
        transfer_curve(X.reshape(len(X), -1), meta, {"lda": make_model("lda")}, {"loso": make_protocol("loso")}, [1],
                       ["high", "low"])


def test_transfer_curve_training_curves_and_timings_in_an_experiment(tmp_path):
    import pandas as pd

    from bmelearn.runs.experiment import run

    cfg = load_config(None, [
        "dataset.n_subjects=2", "dataset.duration=1.0", "protocols=[cross_session]", "evaluation.n_boot=20",
        "models=[lda, {name: cnn, hidden: [8], blocks: 2, max_epochs: 3}]", "evaluation.transfer=[1]",
    ])
    folder = run(cfg, tmp_path / "transfer").folder
    transfer = pd.read_csv(folder / "transfer.csv")
    assert set(transfer["pipeline"]) == {"cnn"} and set(transfer["training"]) == {"subject-independent", "from scratch",
                                                                                    "fine-tuned"}
    history = pd.read_csv(folder / "training_history.csv")
    assert set(history["pipeline"]) == {"cnn"} and len(history) >= 1
    timings = pd.read_csv(folder / "timings.csv")
    assert set(timings["pipeline"]) == {"lda", "cnn"} and (timings["fit_seconds"] > 0).all()
    html = (folder / "report.html").read_text()
    assert "Learning from other participants" in html and 'id="timings-table"' in html and "epochs" in html
    with pytest.raises(ConfigError, match="evaluation.transfer: no model can be fine-tuned"):
        run(load_config(None, ["dataset.n_subjects=2", "models=[lda]", "evaluation.transfer=[1]"]), tmp_path / "none")


@pytest.mark.parametrize("name", ["minirocket", "multirocket"])
def test_rocket_classifiers_learn_two_tones_and_reload_safely(name, tmp_path, deployable):
    pytest.importorskip("aeon", reason="ROCKET needs aeon (pip install -e '.[test]')")
    from bmelearn.serving import load_model, save_model

    X, y = _two_tones()
    model = make_model(name, 0, n_kernels=500).fit(X, y)
    X_test, y_test = _two_tones(seed=1)
    assert np.mean(model.predict(X_test) == y_test) > 0.9
    save_model(deployable(model), tmp_path / f"{name}.skops")
    loaded = load_model(tmp_path / f"{name}.skops").estimator
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))


def test_a_rocket_fit_too_large_for_memory_is_refused_with_a_size_that_fits():
    from bmelearn.models.rocket import check_memory

    check_memory("multirocket", 2_000, 10_000, total_bytes=24 * 10**9)  # 2.4 GB: fits
    with pytest.raises(ConfigError, match=r"multirocket: 17387 windows × 50000 features would need about 28 GB, more than "
                                          r"this machine's 24 GB; set n_kernels to 6888 or fewer"):
        check_memory("multirocket", 17_387, 10_000, total_bytes=24 * 10**9)


def test_transfer_units_give_one_curve_on_every_backend_and_resume_from_the_checkpoint(tmp_path):
    import pandas as pd

    from bmelearn.compute.backends import Execution, running
    from bmelearn.compute.checkpoint import Checkpoint
    from bmelearn.evaluation import make_protocol
    from bmelearn.evaluation.transfer import transfer_curve

    X, meta = _subjects_with_one_swapped()
    args = (X.reshape(len(X), -1), meta, {"mlp": make_model("mlp", 0, hidden=[4], max_epochs=5)},
            {"cross_session": make_protocol("cross_session")}, [1], ["high", "low"])
    with running(Execution("sequential")):
        sequential = transfer_curve(*args, n_boot=20, checkpoint=Checkpoint(tmp_path))
    n_subjects = meta["subject"].nunique()
    assert len(list(tmp_path.glob("*.npz"))) == n_subjects  # one unit per test subject
    with running(Execution("processes", 2)):
        pd.testing.assert_frame_equal(transfer_curve(*args, n_boot=20), sequential)
    steps = []
    resumed = transfer_curve(*args, n_boot=20, checkpoint=Checkpoint(tmp_path), on_fit=steps.append)
    assert len(steps) == n_subjects and all(s.endswith("(done before)") for s in steps)
    pd.testing.assert_frame_equal(resumed, sequential)


def _windows_of_random_amplitude(n=200, channels=2, times=32, seed=0):
    """Raw windows of white noise, each at its own amplitude (SD drawn uniformly in 0.2-2), and
    their RMS: a continuous target that only the windows' amplitude tells."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.2, 2.0, (n, 1, 1)) * rng.standard_normal((n, channels, times))
    return X, np.sqrt((X**2).mean(axis=(1, 2)))


def test_mlp_regressor_learns_a_simulated_linear_target_in_its_units():
    X, y = simulated_linear_target()
    X_test, y_test = simulated_linear_target(seed=1)
    model = make_model("mlp_regressor", 0, hidden=[32], lr=0.01, max_epochs=40, patience=10).fit(X, 1000 * y + 5000)
    network = model.steps[-1][1]
    assert abs(network.target_mean_ - 1000 * y.mean() - 5000) < 1e-6 and abs(network.target_scale_ - 1000 * y.std()) < 1e-3
    predicted = model.predict(X_test)
    assert predicted.shape == (400,) and predicted.dtype == np.float64
    assert r2_score(1000 * y_test + 5000, predicted) > 0.9  # measured 0.985: predictions back in the target's units
    assert "valid_loss" in network.history_[0] and "valid_acc" not in network.history_[0]


def test_cnn_regressor_learns_the_amplitude_of_raw_windows_with_augmentation():
    X, y = _windows_of_random_amplitude()
    X_test, y_test = _windows_of_random_amplitude(seed=1)
    # rolling the electrodes or the time axis keeps a window's RMS: augmentations that keep the target
    model = make_model("cnn_regressor", 0, hidden=[8], blocks=2, lr=0.02, max_epochs=15, patience=15, batch_size=32,
                       augment={"shift": 1, "time_shift": 0.25}).fit(X, y)
    assert r2_score(y_test, model.predict(X_test)) > 0.8  # measured 0.99


def test_same_seed_same_network_regressor_and_another_seed_another():
    X, y = _windows_of_random_amplitude(n=40)

    def predictions(seed):
        network = NeuralNetworkRegressor("cnn", hidden=(4,), blocks=1, max_epochs=3, random_state=seed)
        return network.fit(X, y).predict(X)

    np.testing.assert_array_equal(predictions(3), predictions(3))
    assert not np.allclose(predictions(3), predictions(4))


def test_regressor_validation_windows_are_the_last_in_their_order():
    assert list(np.flatnonzero(NeuralNetworkRegressor(validation=0.25)._validation_mask(np.linspace(5, 0, 12)))) == [9, 10, 11]
    assert not NeuralNetworkRegressor(validation=0)._validation_mask(np.ones(12)).any()
    X, y = _windows_of_random_amplitude(n=40)
    model = NeuralNetworkRegressor("cnn", hidden=(4,), blocks=1, max_epochs=4, validation=0).fit(X, y)
    assert len(model.history_) == 4 and "valid_loss" not in model.history_[0]


def test_bad_regressor_targets_and_settings_are_refused():
    X, y = _windows_of_random_amplitude(n=20)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        NeuralNetworkRegressor("cnn").fit(X, np.where(np.arange(20) == 3, np.nan, y))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        NeuralNetworkRegressor("cnn").fit(X, y[:-1])
    with pytest.raises(ConfigError, match="models.cnn_regressor takes raw windows"):
        NeuralNetworkRegressor("cnn").fit(X.reshape(20, -1), y)
    with pytest.raises(ConfigError, match="models.mlp_regressor: The 'augment' parameter of NeuralNetworkRegressor must be None"):
        NeuralNetworkRegressor("mlp", augment={"noise": 0.1}).fit(X.reshape(20, -1), y)


def test_fine_tuning_a_regressor_keeps_its_target_units_and_goes_on_training():
    X, y = simulated_linear_target(n=200)
    model = NeuralNetworkRegressor("mlp", hidden=(16,), lr=0.01, max_epochs=20, patience=20).fit(X, y)
    before, units = model.predict(X), (model.target_mean_, model.target_scale_)
    model.fine_tune(X, y, lr=0.0, max_epochs=2)  # no step: the same predictions, two more epochs
    np.testing.assert_allclose(model.predict(X), before, rtol=1e-5)
    assert (model.target_mean_, model.target_scale_) == units and [h["stage"] for h in model.history_[-2:]] == ["fine_tune"] * 2
    mirrored = 2 * units[0] - y  # the same mean and SD
    model.fine_tune(X, mirrored, lr=0.02, max_epochs=40)  # it learns the mirrored target, in the same units
    assert r2_score(mirrored, model.predict(X)) > 0.9


def test_regressor_epochs_are_reported_under_its_registry_name():
    from bmelearn.models.deep import training_progress

    X, y = _windows_of_random_amplitude(n=40)
    seen = []
    with training_progress(seen.append):
        make_model("cnn_regressor", 0, hidden=[4], blocks=1, max_epochs=2, patience=5).fit(X, y)
    assert [s["epoch"] for s in seen] == [1, 2] and {s["network"] for s in seen} == {"cnn_regressor"}
    assert all("valid_loss" in s and "valid_acc" not in s for s in seen)


def test_a_saved_network_regressor_loads_without_pickle_and_predicts_the_same(tmp_path, deployable):
    from bmelearn.serving import load_model, save_model

    X, y = _windows_of_random_amplitude(n=40)
    model = make_model("cnn_regressor", 0, hidden=[4], blocks=1, max_epochs=3).fit(X, y)
    save_model(deployable(model), tmp_path / "cnn_regressor.skops")
    loaded = load_model(tmp_path / "cnn_regressor.skops").estimator
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
    assert loaded.steps[-1][1].target_scale_ == model.steps[-1][1].target_scale_


@pytest.mark.parametrize("architecture", ["tcn", "transformer"])
@pytest.mark.parametrize("shape", [(8, 40), (10, 200)], ids=["myo-200ms", "3dc-200ms"])
def test_new_architectures_take_myo_and_3dc_windows(architecture, shape):
    import torch

    from bmelearn.models.networks import build

    module = build(architecture, shape, 5, (16, 32), "relu", 3, 0.1).eval()
    with torch.no_grad():
        assert module(torch.randn(7, *shape)).shape == (7, 5)
    if architecture == "transformer":  # 40 samples: patches of 2; 200: of 8
        assert module.position.shape == (1, {40: 20, 200: 25}[shape[1]], 16) and module.encoder[0].self_attn.num_heads == 4
        assert len(module.encoder) == 3 and module.encoder[0].self_attn.batch_first
    else:
        assert [block.path[1].dilation for block in module[:3]] == [(1,), (2,), (4,)]
        assert [block.path[1].out_channels for block in module[:3]] == [16, 32, 32]  # hidden, its last width beyond
        assert isinstance(module[2].residual, torch.nn.Identity) and module[0].residual.kernel_size == (1,)


def test_tcn_is_causal():
    import torch

    from bmelearn.models.networks import build

    blocks = build("tcn", (3, 64), 2, (8,), "relu", 3, 0.0).eval()[:3]
    x = torch.randn(4, 3, 64)
    later = x.clone()
    later[:, :, 40:] = torch.randn(4, 3, 24)
    with torch.no_grad():
        a, b = blocks(x), blocks(later)
    torch.testing.assert_close(a[:, :, :40], b[:, :, :40])  # no output sees a later sample
    assert not torch.allclose(a[:, :, 40:], b[:, :, 40:])


@pytest.mark.parametrize("architecture", ["cnn", "lstm", "gru", "tcn", "transformer"])
def test_the_number_of_trainable_parameters_of_a_fitted_network(architecture):
    X, y = _two_tones(n=20, times=40)
    network = NeuralNetwork(architecture, hidden=(4,), blocks=1, max_epochs=1).fit(X, y)
    assert network.n_parameters_ == sum(p.numel() for p in network.module_.parameters()) > 0
    if architecture == "cnn":  # convolution 3·4·5 + 4, batch normalization 4 + 4 (not its running statistics), linear 4·2 + 2
        assert network.n_parameters_ == 64 + 8 + 10
    if architecture == "transformer":  # the positional embedding of 20 tokens (patches of 2 samples) is learned
        assert network.module_.position.numel() == 20 * 4


@pytest.mark.parametrize("architecture", ["tcn", "transformer"])
def test_saved_new_architectures_load_without_pickle_and_predict_the_same(architecture, tmp_path, deployable):
    from bmelearn.serving import load_model, save_model

    X, y = _two_tones(n=40)
    model = make_model(architecture, 0, hidden=[8], blocks=2, max_epochs=3).fit(X, y)
    save_model(deployable(model, ["high", "low"]), tmp_path / f"{architecture}.skops")
    loaded = load_model(tmp_path / f"{architecture}.skops").estimator
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-6)
    assert loaded.steps[-1][1].n_parameters_ == model.steps[-1][1].n_parameters_


def _parameters(network):
    return {name: p.detach().clone() for name, p in network.module_.named_parameters()}


def test_adapting_a_cnn_re_estimates_its_batch_normalization_on_the_new_windows():
    import torch

    X, y = _two_tones(n=40)
    network = NeuralNetwork("cnn", hidden=(4,), blocks=2, dropout=0.5, max_epochs=3).fit(X, y)
    before, norm = _parameters(network), network.module_[1]
    trained_mean = norm.running_mean.clone()
    new, _ = _two_tones(n=30, seed=2)
    new = 3 * new[:, ::-1] + np.array([1.0, -2.0, 0.5])[:, None]  # another day: other gains, offsets, electrodes
    assert network.adapt_to(new) is network and network.adapted_windows_ == 30
    after = _parameters(network)
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)  # the weights stay
    np.testing.assert_allclose(network.mean_, new.mean(axis=(0, 2))[:, None], rtol=1e-5)
    np.testing.assert_allclose(network.scale_, new.std(axis=(0, 2))[:, None], rtol=1e-5)
    with torch.no_grad():  # the input of the first batch normalization: the first convolution of the standardized windows
        inputs = network.module_[0](torch.from_numpy(((new - network.mean_) / network.scale_).astype(np.float32)))
    assert not torch.allclose(norm.running_mean, trained_mean)
    torch.testing.assert_close(norm.running_mean, inputs.mean(dim=(0, 2)), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(norm.running_var, inputs.transpose(0, 1).reshape(4, -1).var(dim=1), rtol=1e-4, atol=1e-6)
    assert not any(m.training for m in network.module_.modules()) and norm.momentum == 0.1  # as before
    assert set(network.predict(new)) <= {"low", "high"}


def test_adaptation_averages_every_batch_and_does_not_drop_out(monkeypatch):
    import torch

    from bmelearn.models import deep

    X, y = _two_tones(n=48, times=32)
    network = NeuralNetwork("tcn", hidden=(4,), blocks=2, dropout=0.5, max_epochs=2).fit(X, y)
    new = 2 * _two_tones(n=48, times=32, seed=3)[0] + 1
    monkeypatch.setattr(deep, "PREDICTION_BATCH", 16)  # three batches of 16 windows
    torch.manual_seed(1)
    network.adapt_to(new)
    stats = {k: v.clone() for k, v in network.module_.state_dict().items() if "running" in k}
    norm = network.module_[0].path[2]
    with torch.no_grad():
        inputs = network.module_[0].path[:2](torch.from_numpy(((new - network.mean_) / network.scale_).astype(np.float32)))
    torch.testing.assert_close(norm.running_mean, inputs.mean(dim=(0, 2)), rtol=1e-5, atol=1e-6)  # over all 48 windows
    assert norm.num_batches_tracked == 3
    torch.manual_seed(2)  # other dropout masks would give other statistics, were dropout active
    network.adapt_to(new)
    assert all(torch.equal(v, network.module_.state_dict()[k]) for k, v in stats.items())


@pytest.mark.parametrize("architecture", ["lstm", "transformer"])
def test_adapting_a_network_without_batch_normalization_re_standardizes_its_inputs(architecture):
    import torch

    X, y = _two_tones(n=40)
    network = NeuralNetwork(architecture, hidden=(4,), blocks=1, max_epochs=2).fit(X, y)
    weights = {k: v.clone() for k, v in network.module_.state_dict().items()}
    new, trained = 5 * X + 2, network.predict_proba(X)  # another gain and offset on every channel
    assert not np.allclose(network.predict_proba(new), trained, atol=1e-3)
    network.adapt_to(new)
    assert all(torch.equal(v, network.module_.state_dict()[k]) for k, v in weights.items())
    np.testing.assert_allclose(network.predict_proba(new), trained, atol=1e-5)  # standardized as the training windows were
    with pytest.raises(ConfigError, match=r"adaptation needs windows of the training shape \(3, 64\); got an array of shape "
                                          r"\(4, 2, 64\)"):
        network.adapt_to(new[:4, :2])


def test_the_new_architectures_are_models_of_the_registry():
    from typer.testing import CliRunner

    from bmelearn.cli import app
    from bmelearn.models import MODELS, capabilities

    listed = CliRunner().invoke(app, ["list", "models"], env={"COLUMNS": "300"})
    assert listed.exit_code == 0 and "temporal convolutional network" in listed.stdout and "transformer encoder" in listed.stdout
    assert "adversarial=0.0" in listed.stdout  # domain-adversarial training: off by default
    assert {"tcn", "transformer"} <= set(MODELS)
    assert capabilities(make_model("transformer")).input == "windows" and MODELS["tcn"].metadata["task"] == "classification"
    assert make_model("tcn", hidden=[8], blocks=4, augment={"shift": 0.5}).steps[-1][1].blocks == 4


def test_the_gradient_reversal_layer_is_the_identity_forward_and_negates_the_gradient():
    import torch

    from bmelearn.models.networks import GradientReversal

    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(5, 3, dtype=torch.float64)
    reversed_ = GradientReversal.apply(x)
    torch.testing.assert_close(reversed_, x, rtol=0, atol=0)
    (gradient,) = torch.autograd.grad(reversed_, x, upstream)
    torch.testing.assert_close(gradient, -upstream, rtol=0, atol=0)
    (through_a_layer,) = torch.autograd.grad(torch.tanh(GradientReversal.apply(x)).sum(), x)
    (plain,) = torch.autograd.grad(torch.tanh(x).sum(), x)
    torch.testing.assert_close(through_a_layer, -plain, rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):  # torch.autograd.gradcheck.GradcheckError
        torch.autograd.gradcheck(GradientReversal.apply, (x,))  # the backward is not the forward's derivative


def _weights(network):
    return {k: v.detach().clone() for k, v in network.module_.state_dict().items()}


def test_without_unlabelled_windows_or_adversarial_weight_the_training_is_the_plain_one():
    import torch

    X, y = _two_tones(n=40)
    new = _two_tones(n=20, seed=2)[0] + 1.0
    settings = {"hidden": (4,), "blocks": 1, "dropout": 0.2, "max_epochs": 3, "random_state": 3,
                "augment": {"shift": 1, "noise": 0.1}}
    plain = NeuralNetwork("tcn", **settings).fit(X, y)
    unused = NeuralNetwork("tcn", **settings, adversarial=0.0).fit(X, y, unlabelled=new)
    no_windows = NeuralNetwork("tcn", **settings, adversarial=0.5).fit(X, y)
    adversarial = NeuralNetwork("tcn", **settings, adversarial=0.5).fit(X, y, unlabelled=new)
    reference = _weights(plain)
    for same in (unused, no_windows):
        assert _weights(same).keys() == reference.keys()
        assert all(torch.equal(_weights(same)[k], reference[k]) for k in reference)
        assert [h["train_loss"] for h in same.history_] == [h["train_loss"] for h in plain.history_]
        assert "domain_loss" not in same.history_[0]
    assert not all(torch.equal(_weights(adversarial)[k], reference[k]) for k in reference)


def test_the_domain_weight_rises_from_zero_as_ganin_et_al_schedule_it():
    from bmelearn.models.networks import domain_weight

    assert domain_weight(0.8, 0.0) == 0.0
    assert domain_weight(0.8, 0.5) == pytest.approx(0.8 * (2 / (1 + np.exp(-5)) - 1))
    assert domain_weight(0.8, 1.0) == pytest.approx(0.8 * 0.99991, abs=1e-5)
    rising = [domain_weight(1.0, p) for p in np.linspace(0, 1, 11)]
    assert rising == sorted(rising) and rising[1] == pytest.approx(0.4621, abs=1e-4)


def test_unlabelled_windows_are_drawn_in_shuffled_passes_over_them():
    import torch

    from bmelearn.models.networks import DomainAdversarialClassifier

    net = DomainAdversarialClassifier(torch.nn.Linear(1, 2), unlabelled=np.arange(5.0)[:, None], adversarial=1.0,
                                      total_steps=10, seed=0)
    drawn = np.concatenate([net.unlabelled_batch(3)[:, 0] for _ in range(5)])  # 15 windows: three passes over five
    assert all(sorted(drawn[i : i + 5]) == [0, 1, 2, 3, 4] for i in (0, 5, 10))
    assert len(net.unlabelled_batch(12)) == 12  # more than there are: on through further passes


def test_a_domain_adversarial_cnn_in_a_pipeline_records_its_domain_loss_and_saves_without_its_head(tmp_path, deployable):
    from bmelearn.models.networks import build, domain_weight
    from bmelearn.serving import load_model, save_model

    X, y = _two_tones(n=60)
    new = 2 * _two_tones(n=30, seed=2)[0] + 1.0  # the new condition: another gain and offset
    model = make_model("cnn", 0, hidden=[4], blocks=1, max_epochs=3, patience=5, batch_size=16, adversarial=0.5)
    model.fit(X, y, cnn__unlabelled=new)
    network = model.steps[-1][1]
    history = network.history_
    assert [h["epoch"] for h in history] == [1, 2, 3] and all(0 < h["domain_loss"] < 2 and "valid_acc" in h for h in history)
    # 48 training windows in batches of 16: 3 steps an epoch, λ of each epoch's last step
    assert [h["domain_weight"] for h in history] == pytest.approx([domain_weight(0.5, s / 9) for s in (2, 5, 8)])
    plain = build("cnn", (3, 64), 2, (4,), "relu", 1, 0.0)
    assert list(network.module_.state_dict()) == list(plain.state_dict())  # the network alone, no domain head
    assert network.n_parameters_ == sum(p.numel() for p in plain.parameters())
    assert not any(m._forward_pre_hooks for m in network.module_.modules()) and not network.module_.training
    save_model(deployable(model, ["high", "low"]), tmp_path / "cnn.skops")
    loaded = load_model(tmp_path / "cnn.skops").estimator
    np.testing.assert_allclose(loaded.predict_proba(new), model.predict_proba(new), rtol=1e-6)
    assert loaded.steps[-1][1].adversarial == 0.5 and "domain_loss" in loaded.steps[-1][1].history_[0]


def _two_domains(n, seed, offset=3.0):
    """Feature vectors of 8 channels, the class from channels 0 and 1, and the same vectors in another
    domain: a constant offset on channels 4-7 (half of them)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 8)).astype(np.float32)
    shifted = X.copy()
    shifted[:, 4:] += offset
    return X, shifted, np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")


def _penultimate(network, X):
    """The inputs of the network's final linear layer for ``X`` (the features the domain head sees)."""
    from bmelearn.models.networks import output_layer

    kept = []
    hook = output_layer(network.module_).register_forward_pre_hook(lambda layer, inputs: kept.append(inputs[0].numpy()))
    try:
        network.predict_proba(X)
    finally:
        hook.remove()
    return np.concatenate(kept)


def _domain_gap(a, b):
    """The distance between the means of two sets of features, in units of their within-set spread."""
    return np.linalg.norm(a.mean(axis=0) - b.mean(axis=0)) / np.sqrt((a.var(axis=0).sum() + b.var(axis=0).sum()) / 2)


def test_domain_adversarial_training_brings_the_features_of_two_domains_together():
    X, _, y = _two_domains(300, seed=0)
    _, unlabelled, _ = _two_domains(300, seed=100)
    source, target, y_test = _two_domains(300, seed=200)
    gaps = {}
    for adversarial in (0.0, 1.0):
        network = NeuralNetwork("mlp", hidden=(16,), lr=1e-3, max_epochs=100, batch_size=32, validation=0, random_state=0,
                                adversarial=adversarial).fit(X, y, unlabelled=unlabelled)
        gaps[adversarial] = _domain_gap(_penultimate(network, source), _penultimate(network, target))
        assert np.mean(network.predict(source) == y_test) > 0.85
    # measured for data and network seeds 0-7: 1.13 → 0.41 here, ratios 0.19-0.38
    assert gaps[1.0] < 0.6 * gaps[0.0]
    assert 0.3 < network.history_[-1]["domain_loss"] < 1.2  # the domain head is kept guessing (log 2 = 0.69)


def test_a_regressor_trains_domain_adversarially_too_and_bad_settings_are_refused():
    X, y = _windows_of_random_amplitude(n=40)
    new = _windows_of_random_amplitude(n=20, seed=1)[0] + 0.5
    network = NeuralNetworkRegressor("cnn", hidden=(4,), blocks=1, max_epochs=2, adversarial=0.3).fit(X, y, unlabelled=new)
    assert "domain_loss" in network.history_[-1] and network.predict(new).shape == (20,)
    with pytest.raises(ConfigError, match=r"models.cnn: The 'adversarial' parameter of NeuralNetwork must be a float in the "
                                          r"range \[0.0, inf\)"):
        NeuralNetwork("cnn", adversarial=-0.1).fit(X, y > 1)
    with pytest.raises(ConfigError, match=r"models.cnn_regressor: the unlabelled windows of domain-adversarial training must "
                                          r"be windows of the training shape \(2, 32\); got an array of shape \(20, 3, 32\)"):
        NeuralNetworkRegressor("cnn", adversarial=0.3).fit(X, y, unlabelled=np.zeros((20, 3, 32)))
    assert make_model("cnn").steps[-1][1].get_params()["adversarial"] == 0.0


@pytest.mark.parametrize("architecture", ["mlp", "cnn", "lstm", "gru", "tcn", "transformer"])
def test_the_domain_head_reads_the_input_of_every_networks_final_linear_layer(architecture):
    import torch

    from bmelearn.models.networks import DomainAdversarial, build, output_layer

    shape = (12,) if architecture == "mlp" else (3, 40)
    network = build(architecture, shape, 4, (6,), "relu", 1, 0.0).eval()
    final = output_layer(network)
    assert final is [m for m in network.modules() if isinstance(m, torch.nn.Linear)][-1] and final.out_features == 4
    wrapped = DomainAdversarial(network).eval()
    x = torch.randn(5, *shape)
    with torch.no_grad():
        torch.testing.assert_close(wrapped(x), network(x))
        torch.testing.assert_close(final(wrapped.features), network(x))  # the features kept are what the outputs read
        assert wrapped.domain_logits().shape == (5,) and wrapped.domain[0].in_features == 6 == final.in_features
    assert wrapped.release() is network and not final._forward_pre_hooks
